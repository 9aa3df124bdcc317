"""Migrations build the schema the models describe, on both databases, are idempotent, and carry the
stored data along (activity events: sentences to identifiers and back)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel, col, select

from pipeline.jobs.activity import Event, describe
from storage.db import Database
from storage.migrate import alembic_config, current, upgrade
from storage.models import ActivityEvent


def test_schema_matches_models_and_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)  # already at head: nothing to do, no error
    assert current(db) == ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    with db.engine.connect() as conn:
        # the task queue's own tables (PostgreSQL) are not the models'
        opts = {"include_name": lambda name, type_, parents: not (name or "").startswith("procrastinate")}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), SQLModel.metadata)
    assert diff == []


def _event_types(db: Database) -> list[str]:
    with db.read() as s:
        return [e.event_type for e in s.exec(select(ActivityEvent).order_by(col(ActivityEvent.id)))]


def test_activity_events_are_identifiers_and_a_downgrade_brings_the_sentences_back(
    db: Database, ws_id: int
) -> None:
    with db.session() as s:
        for kind in (Event.JOB_CREATED, Event.TEMPLATE_IMPORTED, "written by a later version"):
            s.add(ActivityEvent(workspace_id=ws_id, event_type=kind, actor_kind="user", details={}))
    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        assert _event_types(db) == ["Job created", "Template imported", "written by a later version"]
    finally:
        upgrade(db)
    assert _event_types(db) == ["job_created", "template_imported", "written by a later version"]
    assert [describe(t) for t in _event_types(db)] == [
        "Job created",
        "Template imported",
        "written by a later version",
    ]
