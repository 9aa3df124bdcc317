"""Draw docs/customer-email.png: the approval email's HTML part as Chromium shows it at phone width.

    .venv/bin/python scripts/email_screenshot.py

The message is built by the same code that sends it (pipeline/approval/mail.py), for a sample order.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.approval.mail import LinkEmail, build_message, message_id  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
OUT = ROOT / "docs" / "customer-email.png"


def main() -> int:
    sender = "proofs@lincoln-trophies.example"
    mail = LinkEmail(
        purpose="link",
        shop_name="Lincoln Trophies & Awards",
        customer_name="Maria Gonzalez",
        to="office@lincoln.example",
        sender=sender,
        reply_to="office@lincoln-trophies.example",
        job_ref="J-1042",
        reference="LYS-PLATES",
        items=24,
        due_date=date(2026, 12, 18),
        url="https://craftstage.example.com/approve/q4bX0yJ9rV2mZ7tL1cK8sW3nH5dF6gA0pE2uR9iO7lM",
        expires_local=datetime(2027, 1, 4, 14, 2, tzinfo=ZoneInfo("America/Chicago")),
        message_id=message_id(1, sender),
    )
    msg = build_message(mail, now=datetime.now(UTC))
    html = msg.get_body(preferencelist=("html",)).get_content()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 700}, device_scale_factor=2, is_mobile=True)
        page.route("**/*", lambda route: route.abort())  # the email loads nothing
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(OUT), full_page=True)
        browser.close()
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
