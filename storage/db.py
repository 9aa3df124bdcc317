"""Engine and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode and write transactions start with BEGIN IMMEDIATE, so concurrent writers
wait for each other (busy timeout) instead of failing half-way through a read-then-write.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, CursorResult, Engine, Result, make_url
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
# what a request meets while the database is away for a moment (a restart, a failover, the network):
# answered with "try again in a minute", never a stack trace
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = _make_engine(url, echo=echo, sqlite=self.is_sqlite)
        # Reads on PostgreSQL run in autocommit: under READ COMMITTED every statement takes its own
        # snapshot anyway, so a transaction around them only adds a BEGIN and a ROLLBACK round trip.
        self._read_engine = self.engine.execution_options(
            **({"sqlite_begin": "DEFERRED"} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"})
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any exception."""
        with Session(self.engine, expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (never takes SQLite's write lock). Objects stay readable after it ends:
        closing detaches them with what was loaded (a rollback would expire them)."""
        with Session(self._read_engine, expire_on_commit=False) as s:
            yield s

    @contextmanager
    def single(self) -> Iterator[Connection]:
        """A connection for statements that are each whole on their own (an atomic upsert, say): on
        PostgreSQL in autocommit, one round trip per statement instead of a BEGIN, the statement and a
        COMMIT; on SQLite one write transaction."""
        if self.is_sqlite:
            with self.engine.begin() as conn:
                yield conn
        else:
            with self._read_engine.connect() as conn:  # the autocommit engine
                yield conn

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception as exc:  # reported by /healthz, never raised
            log.warning("database unreachable: %s", type(exc).__name__)
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (`Session.execute` types its result as a plain Result;
    for those statements it is a CursorResult)."""
    return cast(CursorResult[Any], result).rowcount


PING_AFTER_IDLE_S = 2.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle a while (a restarted server or a
    dropped link shows there). A connection in steady use is not pinged: a round trip on every checkout
    was a tenth of a busy server's database time, and should one fail anyway, SQLAlchemy drops the
    whole pool on the disconnect and the next request connects afresh."""

    @event.listens_for(engine, "checkin")
    def _used(_dbapi_conn: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        used_at = record.info.get("used_at")
        if used_at is None or time.monotonic() - used_at < PING_AFTER_IDLE_S:
            return  # new, or in steady use
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
        except Exception as exc:  # the pool retries the checkout with a new connection
            raise DisconnectionError(f"pooled connection unusable: {type(exc).__name__}") from exc


def _make_engine(url: str, *, echo: bool, sqlite: bool) -> Engine:
    if not sqlite:
        # connect_timeout: an unreachable server (a partition, not a refusal) fails a request in seconds
        # instead of hanging it; pool_timeout likewise when every connection is busy
        engine = create_engine(
            url,
            echo=echo,
            pool_size=10,
            max_overflow=20,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )
        _ping_when_idle(engine)
        return engine
    db_path = make_url(url).database
    if db_path and db_path != ":memory:":
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
