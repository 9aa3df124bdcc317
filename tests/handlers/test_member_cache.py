"""The member cache of every copy of the app hears a role change at once, on SQLite (one process) and
PostgreSQL (two copies on one database, each with its own connections and LISTEN): nobody keeps acting
on a role they lost, and a copy that could not listen for a while forgets what it cached."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from handlers.slack.context import FirstContact
from pipeline.core.actors import Actor, Who
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.jobs.workspaces import ensure_member
from pipeline.services import members
from storage.db import Database
from storage.models import Role, Workspace

TEAM = "T0001"  # the `ws_id` fixture's workspace


def _copy(db: Database, tmp_path: Path, name: str) -> Runtime:
    """A copy of the app: its own runtime and, on PostgreSQL, its own connections to the database."""
    own = db if db.is_sqlite else Database(db.url)
    return Runtime(settings=Settings(data_dir=tmp_path / name), db=own)


def _role(cache: FirstContact) -> str:
    return cache.who(TEAM, "U_DANA", "Dana Doe").actor.role


def _eventually(check: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def dana(db: Database, ws_id: int) -> None:
    with db.session() as s:
        ensure_member(s, s.get(Workspace, ws_id), "U_DANA", "Dana Doe")


def test_one_process_forgets_the_member_whose_role_changed(
    db: Database, ws_id: int, owner: Actor, dana: None, tmp_path: Path
) -> None:
    if not db.is_sqlite:
        pytest.skip("the PostgreSQL case is the next test")
    app = _copy(db, tmp_path, "one")
    cache = FirstContact(app)
    assert app.member_changes.heard_at_once
    assert _role(cache) == Role.MEMBER
    members.set_role(app, Who(ws_id, owner), "U_DANA", Role.ADMIN)
    assert _role(cache) == Role.ADMIN


def test_two_copies_hear_a_role_change_at_once(
    db: Database, ws_id: int, owner: Actor, dana: None, tmp_path: Path
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite serves one process")
    a, b = _copy(db, tmp_path, "a"), _copy(db, tmp_path, "b")
    try:
        cache_a, cache_b = FirstContact(a), FirstContact(b)
        for app in (a, b):
            assert app.member_changes.start().wait_listening(10)
        assert _role(cache_a) == _role(cache_b) == Role.MEMBER  # both cached now
        members.set_role(a, Who(ws_id, owner), "U_DANA", Role.ADMIN)
        assert _eventually(lambda: _role(cache_b) == Role.ADMIN), "copy b kept the old role"
        assert _role(cache_a) == Role.ADMIN

        # b stops hearing (its LISTEN connection is cut); a change made meanwhile is not lost on it
        with b.db.engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %craftstage_member_changed%' AND pid <> pg_backend_pid()"
                )
            )
        assert _eventually(lambda: not b.member_changes.heard_at_once, 5)
        members.set_role(a, Who(ws_id, owner), "U_DANA", Role.MEMBER)
        assert b.member_changes.wait_listening(10)  # back, and whatever it cached forgotten
        assert _role(cache_b) == Role.MEMBER
    finally:
        a.close()
        b.close()
