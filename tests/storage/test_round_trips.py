"""The database's short paths on SQLite and PostgreSQL: single statements (a retried event recorded
once, rate-limit counts), reads without a transaction on PostgreSQL, and a pooled connection the server
dropped while it sat idle replaced before use instead of failing the request."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, text

from pipeline.core.ratelimit import Limit, RateLimits
from pipeline.core.seen import first_time
from storage import db as db_module
from storage.db import Database


def test_a_key_is_new_once(db: Database) -> None:
    assert first_time(db, "event:Ev001") is True
    assert first_time(db, "event:Ev001") is False
    assert first_time(db, "event:Ev002") is True


def test_rate_limits_count_every_hit_and_block_past_the_limit(db: Database) -> None:
    limits = RateLimits(db, clock=lambda: 1_000_000.0)
    per_link, everyone = Limit("link", 3, 60), Limit("all", 100, 60)
    waits = [limits.hit((per_link, "token-a"), (everyone, "*")) for _ in range(4)]
    assert waits[:3] == [None, None, None] and waits[3] == 20.0  # the window ends at 1,000,020 s
    assert limits.hit((per_link, "token-b")) is None  # another key counts apart
    assert limits.over(everyone, "*") is None
    with db.read() as s:
        assert s.execute(text("SELECT hits FROM rate_limit WHERE kind = 'all'")).scalar() == 4


def test_reads_and_single_statements_take_one_round_trip_each_on_postgresql(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite is in the process: no round trips to save")
    with db.read() as s:  # warm the pool
        s.execute(text("SELECT 1"))
    sent: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: sent.append(a[2].split()[0].upper()))
    with db.read() as s:
        s.execute(text("SELECT 1")).all()
        s.execute(text("SELECT 2")).all()
        status = s.connection().connection.dbapi_connection.info.transaction_status
    first_time(db, "event:Ev003")
    assert sent == ["SELECT", "SELECT", "INSERT"]  # no ping
    assert status == TransactionStatus.IDLE  # autocommit: no BEGIN was sent, so none to roll back


def test_a_connection_dropped_while_idle_is_replaced_before_use(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite has no server to drop a connection")
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)
    with db.read() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = Database(db.url)
    try:
        with admin.engine.begin() as conn:  # the server ends that session (as a restart would)
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()
    with db.read() as s:  # the pool's ping finds it dead and connects afresh: no error here
        assert s.execute(text("SELECT pg_backend_pid()")).scalar() != pid
