"""One scheduler scan over 100,000 jobs in 10 workspaces (5 time zones), on PostgreSQL and SQLite.

    .venv/bin/python bench/bench_scheduler.py [--jobs 100000] [--postgres URL | --no-postgres] [--no-sqlite]

Every job has a creation event in the activity log; about 80% have a due date from a month ago to three
months ahead, 15% carry preflight errors, every job pending approval has a link (some expired). Each
timed scan is the whole `pipeline.schedule.scan.scan` (lock, all five checks, rendering, recording):

* first:    nothing flagged yet: about 34,000 alerts are due at once (a scheduler started on a full
            database). A scan records at most MAX_PER_CHECK new alerts per check, most pressing first;
            the rest follow in the next scans ("drain": how many, and their total time);
* steady:   a minute after that, nothing new (what almost every scan is);
* next day: a day later: jobs cross into due soon / overdue, links expire, the day's digests.

Target: a scan under 2 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from bot.scheduler import render_alert  # noqa: E402
from pipeline.schedule.alerts import ScanResult  # noqa: E402
from pipeline.schedule.scan import scan  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import ActivityEvent, ApprovalLink, Job, JobStatus, Member, Outbox, Workspace  # noqa: E402

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday: 10:00 in Berlin, 04:00 in New York
ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo", "Australia/Sydney"]


def fill(db: Database, n_jobs: int, n_ws: int = 10) -> None:
    rng = random.Random(7)
    today = NOW.date()
    with db.session() as s:
        ws_ids = []
        for i in range(n_ws):
            ws = Workspace(
                slack_team_id=f"TBENCH{i}",
                name=f"Shop {i}",
                timezone=ZONES[i % len(ZONES)],
                production_channel=f"C0BENCH{i:03d}",
                next_job_number=1001 + n_jobs // n_ws,
            )
            s.add(ws)
            s.flush()
            ws_ids.append(ws.id)
            s.add(Member(workspace_id=ws.id, slack_user_id=f"U0WS{i:03d}", display_name=f"Maker {i}"))
    jobs, links = [], []
    for k in range(n_jobs):
        status = rng.choice(JobStatus.ALL)
        errors = rng.random() < 0.15
        created = NOW - timedelta(days=rng.randint(1, 40), minutes=k % 1440)
        due = today + timedelta(days=rng.randint(-30, 90)) if rng.random() < 0.8 else None
        jobs.append(
            {
                "id": k + 1,
                "workspace_id": ws_ids[k % n_ws],
                "number": 1001 + k // n_ws,
                "customer_name": f"Customer {k} & Sons <Ltd>",
                "customer_email": f"c{k}@example.com",
                "due_date": due,
                "due_sort": due or date(9999, 12, 31),
                "status": status,
                "customer_sort": f"customer {k}",
                "search_text": f"customer {k}",
                "preflight_errors": rng.choice([1, 3]) if errors else 0,
                "preflight_errors_since": NOW - timedelta(hours=rng.randint(1, 240)) if errors else None,
                "created_at": created,
                "updated_at": created,
                "status_changed_at": created,
                "approval_skipped": False,
                "preflight_warnings": 0,
                "preflight_infos": 0,
                "urgency": "",
                "slack_posted_event_id": 0,
                "last_actor": "",
                "created_by": "",
                "version": 1,
            }
        )
        if status == JobStatus.PENDING_APPROVAL:
            sent = NOW - timedelta(hours=rng.randint(1, 120))
            links.append(
                {
                    "job_id": k + 1,
                    "token_hash": uuid.uuid4().hex,
                    "active": True,
                    "created_at": sent,
                    "expires_at": sent + timedelta(days=rng.choice([3, 30])),
                    "created_by": "",
                }
            )
    events = [
        {
            "workspace_id": j["workspace_id"],
            "job_id": j["id"],
            "event_type": "job_created",
            "actor_kind": "user",
            "actor_id": f"U0WS{(j['id'] - 1) % n_ws:03d}",
            "actor_display": "Maker",
            "details": {},
            "created_at": j["created_at"],
        }
        for j in jobs
    ]
    with db.engine.begin() as conn:
        for table, rows in ((Job, jobs), (ApprovalLink, links), (ActivityEvent, events)):
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])
        if not db.is_sqlite:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('job', 'id'), :n)"), {"n": n_jobs})
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def timed(db: Database, now: datetime) -> tuple[float, ScanResult]:
    start = time.perf_counter()
    result = scan(db, render_alert, now)
    return time.perf_counter() - start, result


def line(label: str, name: str, seconds: float, result: ScanResult) -> str:
    said = ", ".join(f"{n:,} {kind}" for kind, n in sorted(result.recorded.items())) or "nothing"
    more = "; more next scan" if result.backlog else ""
    return f"{label:<11} scan {name:<9} {seconds:6.3f} s   recorded {said}{more}"


def drain(label: str, db: Database, now: datetime) -> datetime:
    """Scan a minute apart until the backlog is recorded; returns the time of the last scan."""
    scans, total, recorded, slowest = 0, 0.0, 0, 0.0
    while True:
        now += timedelta(minutes=1)
        seconds, result = timed(db, now)
        scans, total, recorded = scans + 1, total + seconds, recorded + result.total
        slowest = max(slowest, seconds)
        if not result.backlog:
            break
    print(
        f"{label:<11} drain          {scans} more scan(s), {recorded:,} alerts, {total:.3f} s in all, "
        f"slowest {slowest:.3f} s"
    )
    return now


def report(label: str, db: Database, n_jobs: int) -> None:
    t = time.perf_counter()
    fill(db, n_jobs)
    print(f"{label:<11} filled in {time.perf_counter() - t:.1f} s")
    seconds, result = timed(db, NOW)
    print(line(label, "first", seconds, result))
    last = drain(label, db, NOW) if result.backlog else NOW
    seconds, result = timed(db, last + timedelta(minutes=1))
    print(line(label, "steady", seconds, result))
    later = NOW + timedelta(days=1)
    seconds, result = timed(db, later)
    print(line(label, "next day", seconds, result))
    if result.backlog:
        drain(label, db, later)
    with db.read() as s:
        rows = s.execute(select(func.count()).select_from(Outbox)).scalar_one()
    print(f"{label:<11} outbox rows in the end: {rows:,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    print(f"scheduler scan over {args.jobs:,} jobs in 10 workspaces, at {NOW.isoformat()} (target < 2 s)")
    if not args.no_postgres:
        schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            db = Database(f"{args.postgres}?options=-csearch_path%3D{schema}")
            upgrade(db)
            report("postgresql", db, args.jobs)
            db.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            upgrade(db)
            report("sqlite", db, args.jobs)
            db.dispose()


if __name__ == "__main__":
    main()
