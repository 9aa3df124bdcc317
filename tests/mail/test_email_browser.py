"""The HTML email as a phone shows it: the message the SMTP server received, rendered in Debian's
Chromium at 390 px, loads nothing from anywhere, fits the screen, and its button opens the approval page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, sync_playwright

from pipeline.background.mailer import MailSender
from pipeline.core.actors import Actor
from storage.db import Database
from tests.handlers.approval_fixtures import LiveServer, make_runtime, seed_job, serve
from tests.handlers.test_approval_browser import ARGS, ARTIFACTS, CHROMIUM, PHONE
from tests.mail.test_customer_mail import ask_email, make_link, parts
from tests.standins.smtp_server import SmtpStandIn

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is missing ({CHROMIUM}); install it with scripts/bootstrap")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[tuple[LiveServer, SmtpStandIn]]:
    with SmtpStandIn() as smtp:
        runtime, notifier = make_runtime(db, tmp_path, smtp_url=smtp.url(), mail_from="proofs@shop.example")
        with serve(runtime, notifier) as server:
            yield server, smtp


def test_the_html_email_fits_a_phone_loads_nothing_and_its_button_opens_the_page(
    db: Database, ws_id: int, owner: Actor, live: tuple[LiveServer, SmtpStandIn], browser: Browser
) -> None:
    server, smtp = live
    job_id = seed_job(db, ws_id, owner, server.files_dir, items=3)
    linked = make_link(db, server, job_id, owner)
    ask_email(db, server, linked, owner)
    MailSender(server.runtime).flush()
    _, html = parts(smtp.received[0].message)

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    requested: list[str] = []

    def refuse(route: Route) -> None:
        requested.append(route.request.url)
        route.abort()

    context.route("**/*", refuse)
    page = context.new_page()
    page.set_content(html, wait_until="load")
    assert requested == [], "the email loads nothing: no images, fonts or trackers"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the email is {width} px wide on a {PHONE['width']} px phone"
    button = page.get_by_role("link", name="Review and approve the proofs")
    box = button.bounding_box()
    assert (
        box is not None and box["height"] >= 44 and box["width"] >= 0.8 * PHONE["width"] - 40
    )  # easy to tap
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"email-{db.engine.dialect.name}.png"), full_page=True)
    href = button.get_attribute("href")
    assert href == linked.url
    context.unroute("**/*")
    page.goto(href)
    assert page.locator("h1").inner_text() == "Order PO-4471"
    context.close()
