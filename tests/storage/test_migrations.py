"""Migrations build the schema the models describe, on both databases, and are idempotent."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from storage.db import Database
from storage.migrate import alembic_config, current, upgrade


def test_schema_matches_models_and_upgrade_is_idempotent(db: Database) -> None:
    upgrade(db)  # already at head: nothing to do, no error
    assert current(db) == ScriptDirectory.from_config(alembic_config(db)).get_current_head()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
