"""A machine profile's laser settings per operation (the layers of a LightBurn project), on SQLite
and PostgreSQL: optional, checked, stored in mm/s, percent and mm, shown back in the profile's unit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.export import laser_settings, machines
from pipeline.jobs.activity import Event
from storage.db import Database
from storage.models import ActivityEvent, MachineProfile, Workspace

BED = {"bed_width": 300, "bed_height": 200, "margin": 4, "gap": 2}
LASER = {
    "engrave_speed": 300,
    "engrave_power": "22.5",
    "engrave_passes": 1,
    "engrave_interval": "0,08",
    "score_speed": 120,
    "score_power": 12,
    "cut_speed": 8,
    "cut_power": 85,
    "cut_passes": "2",
}


def _create(db: Database, ws_id: int, actor: Actor, name: str, **values: Any) -> MachineProfile:
    with db.session() as s:
        return machines.create_profile(s, s.get(Workspace, ws_id), actor, name=name, **{**BED, **values})


def _update(db: Database, ws_id: int, actor: Actor, name: str, **changes: Any) -> MachineProfile:
    with db.session() as s:
        return machines.update_profile(s, s.get(Workspace, ws_id), actor, name, **changes)


def test_unset_by_default_and_on_the_built_ins(db: Database, ws_id: int, owner: Actor) -> None:
    row = _create(db, ws_id, owner, "Plain")
    assert machines.laser_settings(row) == {
        "engrave_mode": "fill",
        **{column: None for _e, column, _k in laser_settings.LASER_COLUMNS},
    }
    assert "laser" not in machines.describe(row)
    with db.session() as s:
        for builtin in machines.list_profiles(s, s.get(Workspace, ws_id)):
            assert builtin.engrave_mode == "fill" and builtin.cut_speed_mm_s is None


def test_stored_in_mm_per_second_percent_and_mm(db: Database, ws_id: int, owner: Actor) -> None:
    row = _create(db, ws_id, owner, "CO2 laser", output_format="lbrn2", **LASER)
    assert row.output_format == "lbrn2"
    assert machines.laser_settings(row) == {
        "engrave_mode": "fill",
        "engrave_speed_mm_s": 300,
        "engrave_power_pct": 22.5,
        "engrave_passes": 1,
        "engrave_interval_mm": 0.08,
        "score_speed_mm_s": 120,
        "score_power_pct": 12,
        "score_passes": None,
        "cut_speed_mm_s": 8,
        "cut_power_pct": 85,
        "cut_passes": 2,
    }
    stored = machines.profile_settings(row)
    assert stored["cut_passes"] == 2 and stored["engrave_interval_mm"] == 0.08
    entered = machines.entered_values(row)
    assert (entered["engrave_speed"], entered["engrave_interval"], entered["cut_passes"]) == (300, 0.08, 2)
    assert machines.describe(row).endswith(
        "; laser: engrave 300 mm/s 22.5% ×1 every 0.08 mm, score 120 mm/s 12%, cut 8 mm/s 85% ×2"
    )
    # read back from the database as stored
    with db.read() as s:
        again = s.exec(select(MachineProfile).where(col(MachineProfile.name) == "CO2 laser")).one()
        assert machines.laser_settings(again) == machines.laser_settings(row)


def test_inches_per_second_and_a_change_of_unit(db: Database, ws_id: int, owner: Actor) -> None:
    row = _create(
        db,
        ws_id,
        owner,
        "Inch shop",
        units="in",
        bed_width=24,
        bed_height=12,
        margin=0.25,
        gap=0.125,
        engrave_speed=10,
        engrave_interval=0.004,
        engrave_mode="line",
    )
    assert (row.engrave_speed_mm_s, row.engrave_interval_mm, row.engrave_mode) == (254, 0.1016, "line")
    assert machines.entered_values(row)["engrave_speed"] == 10
    assert "engrave line 10 in/s every 0.004 in" in machines.describe(row)
    # the same physical settings, shown in the new unit
    row = _update(db, ws_id, owner, "Inch shop", units="mm")
    assert (row.engrave_speed_mm_s, row.engrave_interval_mm) == (254, 0.1016)
    assert machines.entered_values(row)["engrave_speed"] == 254


def test_every_bad_setting_is_named_at_once(db: Database, ws_id: int, owner: Actor) -> None:
    with pytest.raises(InvalidInput) as err:
        _create(
            db,
            ws_id,
            owner,
            "Bad",
            engrave_mode="hatch",
            engrave_speed=0,
            engrave_power=150,
            engrave_passes=1.5,
            engrave_interval=3,
            score_speed="fast",
            cut_power=0,
            cut_passes=0,
            cut_speed=25000,
        )
    assert set(err.value.errors) == {
        "engrave_mode",
        "engrave_speed",
        "engrave_power",
        "engrave_passes",
        "engrave_interval",
        "score_speed",
        "cut_power",
        "cut_passes",
        "cut_speed",
    }
    assert "percentage" in err.value.errors["engrave_power"]
    assert "whole number" in err.value.errors["cut_passes"]
    with pytest.raises(InvalidInput) as err:
        _create(db, ws_id, owner, "Bad", score_interval=0.1)  # only the engrave fill has an interval
    assert list(err.value.errors) == ["score_interval"]


def test_cleared_and_changed_settings_are_recorded(db: Database, ws_id: int, owner: Actor) -> None:
    _create(db, ws_id, owner, "Fiber", **LASER)
    row = _update(db, ws_id, owner, "Fiber", cut_power="", cut_passes=None, engrave_mode="line")
    assert (row.cut_power_pct, row.cut_passes, row.cut_speed_mm_s) == (None, None, 8)
    assert row.engrave_mode == "line"
    with db.read() as s:
        last = s.exec(
            select(ActivityEvent)
            .where(ActivityEvent.event_type == Event.MACHINE_PROFILE_CHANGED)
            .order_by(col(ActivityEvent.id).desc())
        ).first()
    assert last.details["changes"] == {
        "engrave_mode": {"from": "fill", "to": "line"},
        "cut_power_pct": {"from": 85, "to": None},
        "cut_passes": {"from": 2, "to": None},
    }
