"""Requests already handled: a retried event or a window submitted twice is done once."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.db import Database
from storage.models import SeenRequest, utcnow


def first_time_in(session: Session, key: str) -> bool:
    """Record `key` in this transaction; False when it was already recorded (a retry or double submit)."""
    try:
        with session.begin_nested():
            session.add(SeenRequest(key=key[:200]))
            session.flush()
        return True
    except IntegrityError:
        return False


def first_time(db: Database, key: str) -> bool:
    """`first_time_in` on its own: one atomic statement (on PostgreSQL one round trip)."""
    insert = sqlite_insert if db.is_sqlite else pg_insert
    stmt = (
        insert(SeenRequest.__table__)  # type: ignore[attr-defined]
        .values(key=key[:200], created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(SeenRequest.__table__.c.id)  # type: ignore[attr-defined]
    )
    with db.single() as conn:
        return conn.execute(stmt).first() is not None
