"""Shared fixtures: every storage and pipeline test runs on SQLite and on PostgreSQL.

PostgreSQL comes from CRAFTSTAGE_TEST_POSTGRES (default: the local server's `test` database); each test
run gets a schema of its own so runs never collide. Set CRAFTSTAGE_TEST_POSTGRES=off to run SQLite
only on a machine without PostgreSQL; otherwise an unreachable server fails the tests, never skips them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from pipeline.core.actors import Actor
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace
from storage.db import Database
from storage.migrate import upgrade

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_base() -> str | None:
    url = os.environ.get("CRAFTSTAGE_TEST_POSTGRES", PG_DEFAULT)
    return None if url.lower() in ("", "off", "0", "no") else url


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if _pg_base() else ["sqlite"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests run last: one of them restarts the PostgreSQL server."""
    items.sort(key=lambda item: "tests/e2e/" in item.nodeid.replace("\\", "/"))


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema for this test run, dropped at the end."""
    base = _pg_base()
    if base is None:
        pytest.skip("PostgreSQL disabled by CRAFTSTAGE_TEST_POSTGRES=off")
    schema = f"cs_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, pool_pre_ping=True)  # the e2e fault tests restart the server
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any failure to reach it ends the test with its reason
        pytest.fail(f"PostgreSQL at {base} is unreachable: {exc}")
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating every time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def _truncate_all(db: Database) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=_backends())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        path = tmp_path / "craftstage.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        database = Database(f"sqlite:///{path}")
    else:
        database = Database(request.getfixturevalue("pg_url"))
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def ws_id(db: Database) -> int:
    with db.session() as s:
        ws = ensure_workspace(s, "T0001", "Lakeside Trophies")
        ensure_member(s, ws, "U_OWNER", "Olive Owner")
        return ws.id


@pytest.fixture
def owner(db: Database, ws_id: int) -> Actor:
    with db.session() as s:
        from storage.models import Workspace

        ws = s.get(Workspace, ws_id)
        return actor_for(ensure_member(s, ws, "U_OWNER", "Olive Owner"))


@pytest.fixture
def member(db: Database, ws_id: int, owner: Actor) -> Actor:
    with db.session() as s:
        from storage.models import Workspace

        ws = s.get(Workspace, ws_id)
        return actor_for(ensure_member(s, ws, "U_MEMBER", "Max Member"))
