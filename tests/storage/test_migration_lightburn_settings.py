"""Migration 0012 (a machine profile's laser settings) on SQLite and PostgreSQL: profiles stored
before it keep every setting and read back with no laser settings (LightBurn's defaults) and the
engrave fill; a downgrade drops only the new columns."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from pipeline.core.actors import Actor
from pipeline.export import laser_settings, machines
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Workspace

STORED = {"engrave_mode", *(column for _entered, column, _kind in laser_settings.LASER_COLUMNS)}


def _columns(db: Database) -> set[str]:
    return {c["name"] for c in sa.inspect(db.engine).get_columns("machine_profile")}


def test_profiles_survive_the_laser_settings_migration(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        machines.create_profile(
            s, s.get(Workspace, ws_id), owner, name="Epilog", bed_width=600, bed_height=300,
            margin=5, gap=2, cut_color="#FF0000", engrave_color="#000000", cut_speed=9, engrave_mode="line",
        )  # fmt: skip
    cfg = alembic_config(db)
    try:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0011")
        assert not _columns(db) & STORED
        with db.engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT bed_width_mm, gap_mm FROM machine_profile WHERE name = 'Epilog'")
            ).one()
        assert tuple(row) == (600, 2)
    finally:
        upgrade(db)
    assert _columns(db) >= STORED
    with db.session() as s:
        row = machines.get_profile(s, s.get(Workspace, ws_id), "Epilog")
        assert (row.bed_width_mm, row.gap_mm, row.cut_color) == (600, 2, "#FF0000")
        assert machines.laser_settings(row) == {
            "engrave_mode": "fill",
            **dict.fromkeys(STORED - {"engrave_mode"}),
        }
