"""Background work survives a crash of the real server process (SIGKILL, nothing gets to clean up).

* Killed during a 500-item proof run: on restart the run picks up where it stopped (the card and the
  thread say so), every proof on disk is whole, and nothing half-written is left.
* Killed during the export of those 500 items: on restart the export is marked failed with a clear
  message on the card and in the thread, no export file or staging folder is left, the job is still
  production ready and exports again.
* Killed while parsing waits for the AI: on restart the parse is marked failed, the job is back in
  draft with its input kept, and the shop can parse again."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlmodel import select

from pipeline.jobs.activity import Event
from storage.models import ActivityEvent, Export, Item, Job, ProofVersion, Task
from tests.e2e.server import ServedApp, served_app, wait_for
from tests.e2e.shop import Person, Shop
from tests.standins.openai_api import OpenAIStandIn, Reply
from tests.standins.slack_api import FakeSlack
from tests.standins.slack_requests import files_value

pytestmark = pytest.mark.e2e

FIRST = ["Maria", "Tom", "Linh", "Zoë", "Seán", "Chidi", "Ana Lúcia", "Björn", "Isabella", "Kwame", "Priya"]
LAST = ["Gonzalez", "Whitaker", "Nguyen", "Müller", "O'Connor", "Okafor", "Ferreira", "Svensson", "Cruz"]
ROLES = ["Forward", "Midfield", "Defense", "Goalkeeper", "Coach", "Volunteer"]


def roster(n: int) -> bytes:
    rows = ["Name,Role"]
    for i in range(n):
        rows.append(f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i + 1},{ROLES[i % 6]}")
    return ("\n".join(rows) + "\n").encode()


def new_shop(app: ServedApp) -> Shop:
    shop = Shop(app, "T0CRASH001", "crashtest", "C0CRASHPRD", Person("U0OWEN0001", "owen"),
                Person("U0MIA00001", "mia"))  # fmt: skip
    app.fake.add_team(shop.team_id, "Crash Test Engraving", shop.domain)
    app.fake.add_channel(shop.channel, "production", team_id=shop.team_id)
    shop.command("channel")
    return shop


def task_row(app: ServedApp, kind: str) -> Task | None:
    with app.reading() as s:
        return s.exec(select(Task).where(Task.kind == kind).order_by(Task.id.desc())).first()


def proofed(app: ServedApp) -> int:
    """Items whose proof is stored (the proof run records them batch by batch)."""
    return read(app, lambda s: len(s.exec(select(Item.id).where(Item.proof_status == "generated")).all()))


def read(app: ServedApp, fn: Any) -> Any:
    with app.reading() as s:
        return fn(s)


def processes_of(app: ServedApp) -> list[int]:
    """Processes still running with this server's data folder in their environment (its children)."""
    marker = f"CRAFTSTAGE_DATA_DIR={app.data_dir}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def hidden_partials(files_dir: Path) -> list[Path]:
    return [p for p in files_dir.rglob(".*") if p.name.endswith(".part") or ".staging." in p.name]


def test_killed_during_proofs_and_export_then_restarted(tmp_path: Path) -> None:
    with FakeSlack() as fake, served_app(tmp_path, fake=fake) as app:
        shop = new_shop(app)
        ref, parse_view = shop.create_job(
            name="Northside Youth League",
            email="office@northside.example",
            reference="NYL-500",
            due="2031-03-01",
        )
        upload = shop.upload("northside.csv", roster(500), mimetype="text/csv")
        template_view = shop.parse_and_review(parse_view, {"order_file": {"value": files_value(upload)}})
        shop.choose_template(template_view, "badge", {"name": "name", "title": "role"})

        # the proof run starts by itself after the mapping: kill the server in the middle of it, once
        # it has stored its first batch
        wait_for(lambda: 100 <= proofed(app) < 400, timeout=120, what="the proof run under way")
        app.kill()
        stored = proofed(app)
        assert 100 <= stored < 500
        files_dir = app.data_dir / "files"
        # the proof pool's worker processes do not outlive the server
        wait_for(lambda: not processes_of(app), timeout=15, what="the proof workers to exit")

        app.start()  # the restart: same data folder, same database
        text = shop.wait_thread(ref, "interrupted by a restart")
        assert "Proof generation was interrupted by a restart and picks up where it stopped" in text
        shop.wait_thread(ref, "Preflight", timeout=180)
        app.settle(timeout=180)
        check_proofs_whole(app, files_dir, 500)
        assert hidden_partials(files_dir) == []
        tasks = read(app, lambda s: s.exec(select(Task).where(Task.kind == "proofs").order_by("id")).all())
        assert [(t.state, t.error) for t in tasks] == [
            ("failed", "interrupted by a restart; resumed as a new task"),
            ("done", None),
        ]
        assert tasks[1].total == 500 - stored  # the resumed run only drew what was missing
        generated = read(
            app,
            lambda s: s.exec(
                select(ActivityEvent).where(ActivityEvent.event_type == Event.PROOFS_GENERATED).order_by("id")
            ).all(),
        )
        # the first run never finished; the resumed one kept what was stored before the crash
        assert len(generated) == 1
        assert (generated[0].details["skipped"], generated[0].details["generated"]) == (stored, 500 - stored)

        # skip approval on purpose (logged), then kill the server while it writes the DXF export
        shop.click("job_skip_approval", ref)
        modal = shop.wait_view("job_record_approval")
        radio = {"type": "radio_buttons", "selected_option": {"value": "skip"}}
        shop.submit(
            modal, {"how": {"value": radio}, "note": {"value": {"type": "plain_text_input", "value": "rush"}}}
        )
        wait_for(lambda: job(app).status == "production_ready", what="production ready")
        shop.export(ref, "dxf")
        wait_for(
            lambda: (t := task_row(app, "export")) is not None and t.state == "running" and t,
            what="the export under way",
        )
        time.sleep(0.2)  # into the middle of writing the sheets (500 badges take about a second)
        app.kill()
        assert read(app, lambda s: s.exec(select(Export)).all()) == []  # it really was cut off

        app.start()
        text = shop.wait_thread(ref, "Export failed")
        assert "Export was interrupted by a restart; start it again" in text
        card = shop.card(ref)
        assert job(app).status == "production_ready"  # the shop can act on it right away
        assert "Export" in json.dumps(card["blocks"])  # the card still offers the export
        exports_dir = files_dir / "exports"
        assert hidden_partials(files_dir) == []
        assert not exports_dir.exists() or [p for p in exports_dir.rglob("*") if p.is_file()] == []

        shop.export(ref, "svg")  # and it exports again
        shop.wait_thread(ref, "Export ready", timeout=120)
        app.settle(timeout=120)
        zips = [f for f in fake.uploaded_files() if f.name.endswith(".zip")]
        assert len(zips) == 1
        with zipfile.ZipFile(io.BytesIO(zips[0].content)) as zf:
            assert zf.testzip() is None
            assert json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json"))))
        assert "Traceback" not in app.log()


def job(app: ServedApp) -> Job:
    return read(app, lambda s: s.exec(select(Job)).one())


def check_proofs_whole(app: ServedApp, files_dir: Path, count: int) -> None:
    def load(s: Any) -> list[tuple[Item, list[ProofVersion]]]:
        items = s.exec(select(Item).order_by("position")).all()
        return [(i, s.exec(select(ProofVersion).where(ProofVersion.item_id == i.id)).all()) for i in items]

    rows = load_rows = read(app, load)
    assert len(load_rows) == count
    for item, versions in rows:
        assert item.proof_status == "generated" and [v.version for v in versions] == [1]
        pdf = pdfium.PdfDocument(str(files_dir / versions[0].pdf_path))
        assert len(pdf) == 1
        assert item.values["name"] in " ".join(pdf[0].get_textpage().get_text_range().split())
        with Image.open(files_dir / versions[0].png_path) as png:
            png.load()  # a truncated PNG fails here
            assert png.width > 300


def test_killed_while_parsing_then_restarted(tmp_path: Path) -> None:
    with (
        FakeSlack() as fake,
        OpenAIStandIn(default=Reply.hang(60)) as openai,
        served_app(tmp_path, fake=fake, openai=openai, OPENAI_TIMEOUT="90") as app,
    ):
        shop = new_shop(app)
        ref, parse_view = shop.create_job(
            name="Rebecca Stone", email="rebecca@lakeside.example", reference="LYS-25", due="2031-03-01"
        )
        answer = shop.submit(
            parse_view,
            {
                "order_text": {
                    "value": {
                        "type": "plain_text_input",
                        "value": "Plates please:\nMaria Gonzalez\nTom Whitaker",
                    }
                }
            },
        )
        assert answer["view"]["callback_id"] == "working"
        wait_for(lambda: openai.completion_requests, what="the AI being asked")
        assert job(app).status == "parsing"
        app.kill()

        openai.default = Reply.computed(_two_names)
        app.start()
        text = shop.wait_thread(ref, "Parsing failed")
        assert "Parsing was interrupted by a restart; start it again (everything saved is kept)" in text
        current = job(app)
        assert current.status == "draft" and current.last_error  # back where the shop can act on it

        # the input is kept: parsing again from the card works without pasting anything
        before = shop.count_views("job_parse")
        shop.click("job_parse", ref)
        reopened = shop.wait_view("job_parse", after=before)
        assert "Maria Gonzalez" in json.dumps(reopened["blocks"], ensure_ascii=False)
        assert "interrupted by a restart" in json.dumps(reopened["blocks"])
        app.settle()
        assert "Traceback" not in app.log()


def _two_names(body: dict[str, Any]) -> dict[str, Any]:
    return {"items": [], "unused_lines": []}
