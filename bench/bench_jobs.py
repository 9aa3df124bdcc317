"""Dashboard list query at 100,000 jobs across 10 workspaces, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_jobs.py [--jobs 100000] [--queries 300] [--postgres URL | --no-postgres]

Prints p50/p95 of `list_jobs` (status filter + search + sort, first page). Target: p95 < 50 ms.
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

from pipeline.jobs import jobs  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Job, JobStatus, Workspace  # noqa: E402

FIRST = [
    "Maria",
    "Tom",
    "Linh",
    "Zoë",
    "Alexander",
    "Seán",
    "Chidi",
    "Ana",
    "Björn",
    "Isabella",
    "Kwame",
    "Priya",
    "James",
    "Anna",
    "Sam",
    "Grace",
    "Ada",
    "Olga",
    "Dmitri",
    "Yuki",
]
LAST = [
    "Gonzalez",
    "Whitaker",
    "Nguyen",
    "Müller",
    "Pemberton",
    "O'Connor",
    "Okafor",
    "Ferreira",
    "Svensson",
    "de la Cruz",
    "Mensah",
    "Natarajan",
    "O'Reilly",
    "Kowalski",
    "Lee",
    "Hopper",
]
ORGS = [
    "Lakeside Soccer",
    "Hillcrest School",
    "Acme Corp",
    "Riverside Rotary",
    "City Marathon",
    "Kennel Club",
]


def fill(db: Database, n_jobs: int, n_ws: int = 10) -> list[int]:
    rng = random.Random(7)
    now = datetime(2026, 11, 28, tzinfo=UTC)
    with db.session() as s:
        ws_ids = []
        for i in range(n_ws):
            ws = Workspace(
                slack_team_id=f"TBENCH{i}", name=f"Shop {i}", next_job_number=1001 + n_jobs // n_ws
            )
            s.add(ws)
            s.flush()
            ws_ids.append(ws.id)
    rows = []
    for k in range(n_jobs):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} ({rng.choice(ORGS)})"
        ref = f"PO-{rng.randint(1000, 99999)}" if rng.random() < 0.7 else None
        due = date(2026, 11, 1) + timedelta(days=rng.randint(0, 120)) if rng.random() < 0.8 else None
        rows.append(
            {
                "workspace_id": ws_ids[k % n_ws],
                "number": 1001 + k // n_ws,
                "customer_name": name,
                "customer_email": f"c{k}@example.com",
                "reference": ref,
                "due_date": due,
                "status": rng.choice(JobStatus.ALL),
                "customer_sort": name.casefold(),
                "search_text": f"{name} {ref or ''}".casefold(),
                "preflight_errors": rng.choice([0, 0, 0, 1, 3]),
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
                "due_sort": due or date(9999, 12, 31),
            }
        )
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Job), rows[start : start + 5000])
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return ws_ids


def measure(db: Database, ws_ids: list[int], queries: int) -> list[float]:
    rng = random.Random(11)
    terms = ["maria", "o'connor", "po-12", "müller", "lakeside", "zo", "kennel club", "de la", "xyz-none"]
    sorts = ["created", "due", "customer"]
    timings = []
    for q in range(queries):
        ws_id = ws_ids[q % len(ws_ids)]
        status = rng.choice([None, *JobStatus.ALL])
        start = time.perf_counter()
        with db.read() as s:
            ws = s.get(Workspace, ws_id)
            page = jobs.list_jobs(s, ws, status=status, search=rng.choice(terms), sort=rng.choice(sorts))
            _ = [r.urgency for r in page.rows]
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    q = statistics.quantiles(timings, n=100)
    print(
        f"{label:<11} queries={len(timings)}  p50={q[49]:.2f} ms  p95={q[94]:.2f} ms  "
        f"max={max(timings):.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    print(
        "dashboard list query (filter + search + sort, first page of 20), "
        f"{args.jobs:,} jobs in 10 workspaces"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        upgrade(db)
        t = time.perf_counter()
        ws_ids = fill(db, args.jobs)
        print(f"sqlite     filled in {time.perf_counter() - t:.1f} s")
        report("sqlite", measure(db, ws_ids, args.queries))
        db.dispose()
    if args.no_postgres:
        return
    schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        db = Database(f"{args.postgres}?options=-csearch_path%3D{schema}")
        upgrade(db)
        t = time.perf_counter()
        ws_ids = fill(db, args.jobs)
        print(f"postgresql filled in {time.perf_counter() - t:.1f} s")
        report("postgresql", measure(db, ws_ids, args.queries))
        db.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
