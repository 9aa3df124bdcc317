"""Slack ack latency over HTTP with signed requests, at 1,000 and 100,000 jobs in the workspace.

    .venv/bin/python bench/bench_slack.py [--sizes 1000 100000] [--requests 200] [--postgres URL]

Measures `/job list` (answered in the ack), a modal submission (`/job new` window: creates a job and
answers with the next window) and the Home tab render. Target: ack p95 < 200 ms. Runs on SQLite by
default; `--postgres URL` runs on a fresh schema of that server instead.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot.home import HomeState, render_home  # noqa: E402
from pipeline.core.actors import Actor, Who
from pipeline.jobs.workspaces import ensure_member, ensure_workspace  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Job, JobStatus, Workspace  # noqa: E402
from tests.acceptance.harness import running_app  # noqa: E402
from tests.standins.slack_api import DEFAULT_USER_ID, TEAM_ID  # noqa: E402
from tests.standins.slack_requests import date_value, text_value  # noqa: E402

NAMES = [
    "Maria Gonzalez",
    "Tom Whitaker",
    "Zoë Müller",
    "Seán O'Connor",
    "Chidi Okafor",
    "Ana Ferreira",
    "Björn Svensson",
    "Isabella de la Cruz",
    "Kwame Mensah-Boateng",
    "Priya Natarajan",
]


def seed(db: Database, n: int) -> int:
    with db.session() as s:
        ws = ensure_workspace(s, TEAM_ID, "Bench Shop")
        ensure_member(s, ws, DEFAULT_USER_ID, "alice")
        ws.next_job_number = 1001 + n
        ws_id = ws.id
    rng = random.Random(3)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    rows = []
    for k in range(n):
        name = f"{rng.choice(NAMES)} ({rng.randint(1, 500)})"
        rows.append(
            {
                "workspace_id": ws_id,
                "number": 1001 + k,
                "customer_name": name,
                "customer_email": f"c{k}@ex.com",
                "reference": f"PO-{k}",
                "due_date": date(2026, 12, 1) + timedelta(days=k % 90),
                "status": rng.choice(JobStatus.ALL),
                "customer_sort": name.casefold(),
                "search_text": f"{name} po-{k}".casefold(),
                "preflight_errors": k % 7 == 0,
                "created_at": now - timedelta(minutes=k),
                "updated_at": now,
                "status_changed_at": now,
                "approval_skipped": False,
                "preflight_warnings": 0,
                "preflight_infos": 0,
                "urgency": "",
                "last_actor": "",
                "created_by": "",
                "version": 1,
                "slack_posted_event_id": 0,
                "due_sort": date(2026, 12, 1) + timedelta(days=k % 90),
            }
        )
    with db.engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Job), rows[i : i + 5000])
        conn.exec_driver_sql("ANALYZE")
    return ws_id


def pct(values: list[float]) -> str:
    q = statistics.quantiles(values, n=100)
    return f"p50={q[49]:.1f} ms  p95={q[94]:.1f} ms  max={max(values):.1f} ms"


def measure(db: Database, data_dir: Path, n: int, requests: int) -> None:
    ws_id = seed(db, n)
    with running_app(db, data_dir) as app:
        list_ms, submit_ms = [], []
        words = ["", "maria", "müller po-1", "proofing", "--sort due", "--sort customer o'connor"]
        for i in range(requests):
            t = time.perf_counter()
            r = app.slack.slash_command("/job", f"list {words[i % len(words)]}")
            list_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
        for i in range(max(20, requests // 4)):
            values = {
                "customer_name": {"value": text_value(f"Bench Customer {i}")},
                "customer_email": {"value": text_value(f"b{i}@example.com")},
                "reference": {"value": text_value(None)},
                "due_date": {"value": date_value(None)},
                "notes": {"value": text_value(None)},
            }
            t = time.perf_counter()
            r = app.slack.view_submission("job_new", values=values, private_metadata="{}")
            submit_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.json()["response_action"] == "update", r.text
        app.settle(120)
        home_ms = []
        who = Who(ws_id, Actor.user(DEFAULT_USER_ID, "alice", "owner"))
        for state in [
            HomeState(),
            HomeState(sort="customer"),
            HomeState(status="proofing", search="maria"),
        ] * 10:
            t = time.perf_counter()
            view = render_home(app.runtime, who.ws_id, state)
            home_ms.append((time.perf_counter() - t) * 1000)
            assert len(view["blocks"]) <= 100
    print(f"{n:>7,} jobs  /job list ack        {pct(list_ms)}")
    print(f"{n:>7,} jobs  modal submission ack {pct(submit_ms)}")
    print(f"{n:>7,} jobs  Home tab render      {pct(home_ms)}")
    with db.read() as s:
        assert s.get(Workspace, ws_id) is not None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--postgres", help="a PostgreSQL URL (a fresh schema is made and dropped)")
    args = ap.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            if args.postgres:
                schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(args.postgres)
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                db = Database(f"{args.postgres}?options=-csearch_path%3D{schema}")
            else:
                db = Database(f"sqlite:///{tmp}/bench.db")
            upgrade(db)
            try:
                measure(db, Path(tmp) / "data", n, args.requests)
            finally:
                db.dispose()
                if args.postgres:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
