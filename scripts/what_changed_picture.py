"""Draw docs/what-changed.png: the customer's approval page on a phone (390 px wide, 3× pixels) at a
trophy plate whose new proof follows their change request, with what changed since the proof they saw.

    .venv/bin/python scripts/what_changed_picture.py

Every step is the product's own: the plates proofed by the proof renderer, the customer's decisions
taken through the approval link, the shop's fix as an item edit, the new proof drawn by the proof run,
the page served by the web app and photographed in Debian's Chromium (Playwright, a test tool).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lighthouse_approval import Server  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from pipeline.approval import decisions, links  # noqa: E402
from pipeline.core.runtime import build_runtime  # noqa: E402
from pipeline.core.settings import Settings  # noqa: E402
from pipeline.intake.items import edit_item  # noqa: E402
from pipeline.jobs import jobs, lifecycle  # noqa: E402
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace  # noqa: E402
from pipeline.proofs.job import generate_job_proofs  # noqa: E402
from pipeline.templates import catalog  # noqa: E402
from storage.models import Item, Job, JobStatus, Workspace, utcnow  # noqa: E402

OUT = ROOT / "docs" / "what-changed.png"
PLATES = [
    ("Chloé Dubois", "Head Coach"),
    ("Seán O'Connor", "Most Improved Player"),
    ("Zoë Müller", "Team Captain"),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(Settings(data_dir=Path(tmp)))
        files = runtime.settings.files_dir
        with runtime.db.session() as s:
            ws = ensure_workspace(s, "TPICTURE", "Lakeside Trophies")
            actor = actor_for(ensure_member(s, ws, "UPICTURE", "Shop Owner"))
            job = jobs.create_job(
                s,
                ws,
                actor,
                customer_name="Rebecca Stone",
                customer_email="r@example.org",
                reference="PO-4471",
            )
            lifecycle.move(s, job, JobStatus.PARSING, actor)
            for pos, (name, achievement) in enumerate(PLATES):
                values = {"name": name, "achievement": achievement, "year": "2026"}
                s.add(Item(job_id=job.pk, position=pos, values=values, raw_values=values))
            s.flush()
            lifecycle.move(s, job, JobStatus.PROOFING, actor)
            tv = catalog.choose_template(s, s.get_one(Workspace, ws.pk), job, actor, "trophy-plate", files)
            catalog.apply_mapping(s, job, actor, catalog.suggested_pairs(s, job, catalog.template_of(tv)))
            job_id = job.pk
        generate_job_proofs(runtime, job_id, actor)
        with runtime.db.session() as s:
            job = s.get_one(Job, job_id)
            job.preflight_ran_at, job.preflight_errors = utcnow(), 0
            token = links.create_link(s, job, actor, base_url="http://127.0.0.1").token
            order = select(Item.id).where(Item.job_id == job_id).order_by(col(Item.position))
            first, second, _ = s.exec(order).all()
        with runtime.db.session() as s:  # the customer approves Chloé's plate and asks for a change on Seán's
            decisions.decide(s, token, first, 1, "approve")
            decisions.decide(
                s, token, second, 1, "change", "The award is Most Valuable Player, not Most Improved"
            )
        with runtime.db.session() as s:  # the shop fixes it; the proof run draws version 2
            edit_item(s, s.get_one(Job, job_id), second, actor, {"achievement": "Most Valuable Player"})
        generate_job_proofs(runtime, job_id, actor, item_ids={second})
        with Server(runtime) as server, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3)
            page.goto(f"{server.url}/approve/{token}")
            card = page.locator(f"#item-{second}")
            card.locator(".proof img").scroll_into_view_if_needed()
            page.wait_for_function(
                "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth }",
                arg=f"#item-{second} .proof img",
            )
            page.evaluate(f"document.getElementById('item-{second}').scrollIntoView()")
            box = card.bounding_box()
            assert box is not None
            shot = Path(tmp) / "card.png"
            page.screenshot(path=str(shot), clip={**box, "height": min(box["height"], 700)})
            browser.close()
        Image.open(shot).convert("RGB").quantize(64).save(OUT, optimize=True)  # 64 colours, as the others
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
