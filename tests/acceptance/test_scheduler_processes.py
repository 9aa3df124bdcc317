"""Several scheduler processes against one database, as real OS processes, with the Slack stand-in:

* two processes run the same three days of simulated calendar at the same moment (each a scheduler and
  a Slack sender) against one PostgreSQL: every alert reaches Slack exactly once;
* `python app.py scheduler` itself, with the real clock: two copies against PostgreSQL (one on SQLite,
  the embedded default) post each card, alert and digest once, and stop cleanly on SIGTERM;
* `python app.py scheduler --once`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.notifier import SlackNotifier
from bot.slack_app import make_client
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from storage.db import Database
from storage.models import Job, JobStatus, Outbox
from tests.acceptance.test_scheduler_week import drain
from tests.pipeline.schedule.test_scans import add_job, add_link, configure
from tests.standins.slack_api import BOT_TOKEN, PRODUCTION_CHANNEL_ID, FakeSlack

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, tzinfo=UTC)  # Monday, the workspace runs on UTC

# One process: a scheduler and a Slack sender over a simulated calendar (one scan and one sending round
# per 30 minutes), starting at an agreed wall-clock moment so both processes really overlap.
WORKER = """
import json, os, sys, time
from datetime import datetime, timedelta
from bot.notifier import SlackNotifier
from bot.scheduler import SchedulerService
from bot.slack_app import make_client
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from storage.db import Database

settings = Settings.from_env()
runtime = Runtime(settings=settings, db=Database(settings.effective_database_url))
scheduler = SchedulerService(runtime)
sender = SlackNotifier(runtime, make_client(runtime, retries=0))
start = datetime.fromisoformat(os.environ["SIM_START"])
time.sleep(max(0.0, float(os.environ["GO_AT"]) - time.time()))
scans = skipped = sent = 0
for step in range(int(os.environ["SIM_STEPS"])):
    result = scheduler.run_once(start + timedelta(minutes=30 * step))
    scans += 1
    skipped += result.skipped
    sent += sender.flush()
print(json.dumps({"scans": scans, "skipped": skipped, "sent": sent}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def _seed(db: Database, ws_id: int, owner: Actor) -> dict[str, int]:
    configure(db, ws_id, owner, production_channel=PRODUCTION_CHANNEL_ID)
    with db.session() as s:
        ids = {
            "soon": add_job(s, ws_id, owner, now=START, due=date(2026, 3, 3)).id,
            "later": add_job(s, ws_id, owner, now=START, due=date(2026, 3, 5)).id,
            "blocked": add_job(
                s, ws_id, owner, now=START, errors=1, errors_since=START + timedelta(hours=8)
            ).id,
            "waiting": add_job(s, ws_id, owner, now=START).id,
            "ready": add_job(s, ws_id, owner, now=START, status=JobStatus.PRODUCTION_READY).id,
        }
        link = add_link(
            s,
            s.get(Job, ids["waiting"]),
            created=START - timedelta(days=2),
            expires=START + timedelta(days=1, hours=12),
        )
        ids["link"] = link.id
    return ids


def _expected_keys(ids: dict[str, int], ws_id: int) -> list[str]:
    return sorted(
        [
            f"urgency:{ids['soon']}:due_soon:2026-03-03",
            f"urgency:{ids['soon']}:overdue:2026-03-03",
            f"urgency:{ids['later']}:due_soon:2026-03-05",
            f"preflight:{ids['blocked']}:{(START + timedelta(hours=8)).isoformat()}",
            f"approval_reminder:{ids['link']}",
            f"approval_expired:{ids['link']}",
            f"digest:{ws_id}:2026-03-02",
            f"digest:{ws_id}:2026-03-03",
            f"digest:{ws_id}:2026-03-04",
        ]
    )


def _posted_once(fake: FakeSlack, db: Database) -> list[str]:
    """The dedupe keys of the outbox rows that reached Slack; fails on any message posted twice."""
    posts = fake.messages(PRODUCTION_CHANNEL_ID)
    outbox_ids = [
        m["metadata"]["event_payload"]["outbox_id"]
        for m in posts
        if (m.get("metadata") or {}).get("event_payload", {}).get("outbox_id")
    ]
    assert [i for i, n in Counter(outbox_ids).items() if n > 1] == []
    texts = Counter(m["text"] for m in posts)
    assert [t for t, n in texts.items() if n > 1] == []
    with db.read() as s:
        keys = s.exec(select(Outbox.dedupe_key).where(col(Outbox.id).in_(outbox_ids))).all()
    return sorted(k or "" for k in keys)


def test_two_scheduler_processes_on_one_postgres_send_each_alert_once(
    db: Database, ws_id: int, owner: Actor
) -> None:
    if db.is_sqlite:
        pytest.skip("several copies of the app share PostgreSQL; SQLite runs one")
    ids = _seed(db, ws_id, owner)
    with FakeSlack() as fake:
        env = _env(
            DATABASE_URL=db.url,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=fake.base_url,
            SIM_START=START.isoformat(),
            SIM_STEPS=str(3 * 48),
            GO_AT=str(time.time() + 3),
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        stats = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err.decode()
            stats.append(json.loads(out.decode().strip().splitlines()[-1]))
        # whatever a last round left (the sender's lock is shared with test runs in other schemas)
        runtime = Runtime(Settings(slack_bot_token=BOT_TOKEN, slack_api_url=fake.base_url), db=db)
        drain(db, SlackNotifier(runtime, make_client(runtime, retries=0)))
        cards = [m for m in fake.messages(PRODUCTION_CHANNEL_ID) if m["text"].startswith("J-")]
        assert sorted(m["text"].split(" ")[0] for m in cards) == [f"J-{n}" for n in range(1001, 1006)]
        assert _posted_once(fake, db) == _expected_keys(ids, ws_id)
    # both worked the whole calendar, really at the same time (each found the lock taken now and then),
    # and between them every message went out once
    assert all(st["scans"] == 3 * 48 for st in stats)
    assert sum(st["skipped"] for st in stats) > 0


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_app_py_scheduler_copies_post_each_alert_once(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    copies = 1 if db.is_sqlite else 2
    configure(db, ws_id, owner, digest_time="00:00", digest_weekends=True)  # a digest is due at any hour
    now = datetime.now(UTC)
    tomorrow = now.date() + timedelta(days=1)
    with db.session() as s:
        soon = add_job(s, ws_id, owner, now=now, due=tomorrow).id
        add_job(s, ws_id, owner, now=now, status=JobStatus.PRODUCTION_READY)
    with FakeSlack() as fake:
        fake.add_channel(PRODUCTION_CHANNEL_ID, team_id="T0001")  # the default channel is this shop's
        env = _env(
            DATABASE_URL=db.url,
            CRAFTSTAGE_DATA_DIR=str(tmp_path / "data"),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=fake.base_url,
            CRAFTSTAGE_CHANNEL=PRODUCTION_CHANNEL_ID,
            CRAFTSTAGE_SCHEDULER_INTERVAL="0.2",
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "app.py", "scheduler"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(copies)
        ]
        try:
            _wait_for(lambda: len(fake.messages(PRODUCTION_CHANNEL_ID)) >= 4, 60, "cards, alert and digest")
            time.sleep(2)  # many more rounds of every copy: nothing more may arrive
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            results = [(proc.wait(timeout=30), proc.stderr.read() if proc.stderr else "") for proc in procs]
        assert [code for code, _ in results] == [0] * copies, results
        posts = fake.messages(PRODUCTION_CHANNEL_ID)
        cards = sorted(m["text"] for m in posts if "metadata" not in m)
        digests = [m["text"] for m in posts if "thread_ts" not in m and "metadata" in m]
        replies = [m for m in posts if m.get("thread_ts") not in (None, m["ts"])]
        assert cards == ["J-1001 for Rebecca Stone: Proofing", "J-1002 for Rebecca Stone: Production ready"]
        assert digests == [f"Daily digest {now.date()}: 1 due soon, 1 ready to export"]
        assert [m["text"].split(" ")[0] for m in replies] == [":alarm_clock:"]
        with db.read() as s:
            assert replies[0]["thread_ts"] == s.get(Job, soon).slack_ts


def test_app_py_scheduler_once(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    configure(db, ws_id, owner, digest_time="00:00", digest_weekends=True)
    with db.session() as s:
        add_job(s, ws_id, owner, now=datetime.now(UTC), due=datetime.now(UTC).date())
    with FakeSlack() as fake:
        fake.add_channel(PRODUCTION_CHANNEL_ID, team_id="T0001")  # the default channel is this shop's
        env = _env(
            DATABASE_URL=db.url,
            CRAFTSTAGE_DATA_DIR=str(tmp_path / "data"),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_API_URL=fake.base_url,
            CRAFTSTAGE_CHANNEL=PRODUCTION_CHANNEL_ID,
        )
        run = [sys.executable, "app.py", "scheduler", "--once"]
        first = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert first.returncode == 0, first.stderr
        assert "recorded 2 alert(s), sent 3 Slack message(s)" in first.stdout  # card, alert, digest
        again = subprocess.run(run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and "recorded 0 alert(s), sent 0 Slack message(s)" in again.stdout


@pytest.mark.parametrize("scheduler", ["on", "off"])
def test_serve_runs_the_scheduler_unless_turned_off(tmp_path: Path, scheduler: str) -> None:
    from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace
    from storage.migrate import upgrade
    from tests.acceptance.harness import free_port

    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'craftstage.db'}")
    upgrade(db)
    now = datetime.now(UTC)
    with db.session() as s:
        ws = ensure_workspace(s, "T0001", "Lakeside Trophies")
        owner = actor_for(ensure_member(s, ws, "U_OWNER", "Olive Owner"))
        add_job(s, ws.id, owner, now=now, due=now.date() + timedelta(days=1))
    port = free_port()
    env = _env(CRAFTSTAGE_DATA_DIR=str(data), PORT=str(port), CRAFTSTAGE_SCHEDULER=scheduler)
    proc = subprocess.Popen(
        [sys.executable, "app.py", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        import httpx

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return False

        _wait_for(healthy, 30, "/healthz")
        if scheduler == "on":  # the first scan runs at start: the alert waits for a Slack sender
            _wait_for(lambda: _outbox_kinds(db) == ["urgency"], 30, "the scheduler's first scan")
        else:
            time.sleep(1.5)
            assert _outbox_kinds(db) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal; a scan cut short just rolls back
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        db.dispose()


def _outbox_kinds(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.exec(select(Outbox.kind)).all())
