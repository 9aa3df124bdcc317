"""Requests already handled: a retried event or a window submitted twice is done once."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.db import Database
from storage.models import SeenRequest


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
    """`first_time_in` in a transaction of its own."""
    with db.session() as s:
        return first_time_in(s, key)
