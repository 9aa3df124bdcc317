"""`serve` and two `worker` processes on one PostgreSQL database (CRAFTSTAGE_BACKGROUND=workers): the
web process only queues the work; the workers parse, proof, preflight, export and post to Slack. One
worker is killed outright (SIGKILL) in the middle of two 500-item proof runs: the other one takes its
work back from the queue and finishes it, every proof and the export exactly once, every thread
message exactly once, and no process is left behind."""

from __future__ import annotations

import io
import signal
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from pipeline.jobs.activity import Event
from storage.models import ActivityEvent, Export, Item, Job, ProofVersion, Task
from tests.e2e.server import ServedApp, WorkerApp, served_app, wait_for
from tests.e2e.shop import Shop
from tests.e2e.test_crash import check_proofs_whole, hidden_partials, new_shop, processes_of, read, roster
from tests.e2e.test_faults import check_delivered_exactly_once
from tests.standins.slack_api import FakeSlack
from tests.standins.slack_requests import files_value, select_value

pytestmark = pytest.mark.e2e


def proofs_stored(app: ServedApp, ref: str) -> int:
    return read(
        app,
        lambda s: len(
            s.exec(
                select(Item.id).join(Job).where(Job.number == int(ref[2:]), Item.proof_status == "generated")
            ).all()
        ),
    )


def status(app: ServedApp, ref: str) -> str:
    return read(app, lambda s: s.exec(select(Job.status).where(Job.number == int(ref[2:]))).one())


def mapping_window(shop: Shop, template_view: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The badge template chosen: its mapping window and the values that submit it."""
    answer = shop.submit(template_view, {"template": {"value": select_value("badge")}})
    view = answer["view"]
    view["id"] = template_view["id"]
    values: dict[str, Any] = {"template": {"value": select_value("badge")}}
    for field, column in {"name": "name", "title": "role"}.items():
        values[f"map:{field}"] = {"value": select_value(column)}
        values[f"tf:{field}"] = {"value": select_value("none")}
    return view, values


def children_of(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def running_proofs_owner(app: ServedApp) -> int | None:
    """The pid of a worker with a proof run under way."""
    task = read(
        app,
        lambda s: s.exec(select(Task).where(Task.kind == "proofs", Task.state == "running")).first(),
    )
    return int(task.owner.split("~")[1]) if task is not None and task.owner else None


def test_serve_and_two_workers_finish_everything_once_when_a_worker_is_killed(tmp_path: Path) -> None:
    with FakeSlack() as fake, served_app(tmp_path, fake=fake, CRAFTSTAGE_BACKGROUND="workers") as app:
        health = httpx.get(app.url + "/healthz", timeout=5).json()
        assert health["roles"] == ["web", "scheduler"]
        assert health["queue"]["engine"] == "procrastinate" and health["queue"]["reachable"]
        workers = [
            WorkerApp(data_dir=app.data_dir, database_url=app.database_url, fake=fake, env=app.env, name=n)
            for n in ("worker-1", "worker-2")
        ]
        try:
            for worker in workers:
                worker.start()
            wait_for(
                lambda: httpx.get(app.url + "/healthz", timeout=5).json()["queue"]["workers"] == 2,
                what="both workers heard from",
            )
            shop = new_shop(app)
            refs, mappings = [], []
            for n, team in enumerate(("Northside Youth League", "Riverside Rowing Club")):
                ref, parse_view = shop.create_job(
                    name=team, email=f"office{n}@example.org", reference=f"R-{n}", due="2031-03-01"
                )
                upload = shop.upload(f"roster-{n}.csv", roster(500), mimetype="text/csv")
                # the review step reaches the window from the worker that parsed
                template_view = shop.parse_and_review(
                    parse_view, {"order_file": {"value": files_value(upload)}}
                )
                mappings.append(mapping_window(shop, template_view))
                refs.append(ref)
            for view, values in mappings:  # both proof runs start together
                answer = shop.submit(view, values)
                assert answer["view"]["callback_id"] == "info", answer

            # kill a worker that holds a proof run, once both runs have stored some proofs
            wait_for(
                lambda: min(proofs_stored(app, ref) for ref in refs) >= 30, timeout=180, what="both runs"
            )
            pid = wait_for(lambda: running_proofs_owner(app), what="a proof run on a worker")
            victim = next(w for w in workers if w.proc is not None and w.proc.pid == pid)
            survivor = next(w for w in workers if w is not victim)
            victim.kill()
            assert victim.proc is not None and victim.proc.returncode == -signal.SIGKILL
            assert any(proofs_stored(app, ref) < 500 for ref in refs)  # it really was cut off

            # the survivor takes the killed worker's runs back from the queue and finishes them
            for ref in refs:
                shop.wait_thread(ref, "Preflight", timeout=240)
            wait_for(
                lambda: all(proofs_stored(app, ref) == 500 for ref in refs), timeout=240, what="all proofs"
            )
            app.settle(timeout=180)
            assert "back on the queue" in survivor.log()
            assert app.proc is not None and children_of(app.proc.pid) == []  # serve drew nothing itself
            versions = read(app, lambda s: s.exec(select(ProofVersion.item_id, ProofVersion.version)).all())
            assert len(versions) == 1000 and {v for _, v in versions} == {1}  # each proof drawn once
            assert len({item for item, _ in versions}) == 1000
            # every proof on disk whole, read back by PDFium and Pillow: a page with the item's name
            check_proofs_whole(app, app.data_dir / "files", 1000)
            generated = read(
                app,
                lambda s: s.exec(
                    select(ActivityEvent).where(ActivityEvent.event_type == Event.PROOFS_GENERATED)
                ).all(),
            )
            # one finished run per job: a resumed run counts what the killed one had stored as skipped
            assert sorted(sum(e.details[k] for k in ("skipped", "generated")) for e in generated) == [
                500,
                500,
            ]
            states = read(
                app, lambda s: s.exec(select(Task.state, Task.error).where(Task.kind == "proofs")).all()
            )
            assert ("done", None) in states and all(
                st == "done" or err == "interrupted by a restart; resumed as a new task" for st, err in states
            )
            assert sum(err is not None for _, err in states) >= 1  # the killed worker's run was resumed

            # the export, by the survivor, exactly once
            ref = refs[0]
            shop.click("job_skip_approval", ref)
            modal = shop.wait_view("job_record_approval")
            radio = {"type": "radio_buttons", "selected_option": {"value": "skip"}}
            note = {"type": "plain_text_input", "value": "rush"}
            shop.submit(modal, {"how": {"value": radio}, "note": {"value": note}})
            wait_for(lambda: status(app, ref) == "production_ready", what="production ready")
            shop.export(ref, "svg")
            shop.wait_thread(ref, "Export ready", timeout=120)
            app.settle(timeout=120)
            assert len(read(app, lambda s: s.exec(select(Export)).all())) == 1
            zips = [f for f in fake.uploaded_files() if f.name.endswith(".zip")]
            assert len(zips) == 1
            with zipfile.ZipFile(io.BytesIO(zips[0].content)) as zf:
                assert zf.testzip() is None
            exports = read(app, lambda s: s.exec(select(Task.state).where(col(Task.kind) == "export")).all())
            assert exports == ["done"]

            check_delivered_exactly_once(app, channel=shop.channel)
            assert hidden_partials(app.data_dir / "files") == []
        finally:
            for worker in workers:
                worker.stop()  # SIGTERM: it finishes what it has, then exits
        for worker in workers:
            assert "Traceback" not in worker.log(), worker.log()[-3000:]
        assert workers[0].proc is not None and workers[1].proc is not None
        assert {w.proc.returncode for w in workers if w is not victim} == {0}
    # serve has stopped too: nothing with this data folder is left running (the proof pools included)
    wait_for(lambda: not processes_of(app), timeout=15, what="every process to exit")
