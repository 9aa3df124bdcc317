"""Machine profiles (docs/export.md, "Machine profiles") on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, PermissionDenied
from pipeline.export import machines
from pipeline.jobs.activity import Event
from storage.db import Database
from storage.models import ActivityEvent, MachineProfile, Workspace

CUSTOM = {
    "bed_width": 300,
    "bed_height": 200,
    "margin": 4,
    "gap": 2,
    "output_format": "svg",
    "text_mode": "curves",
}


def _create(db: Database, ws_id: int, actor: Actor, name: str = "Small", **values: Any) -> MachineProfile:
    with db.session() as s:
        return machines.create_profile(s, s.get(Workspace, ws_id), actor, name=name, **{**CUSTOM, **values})


def _get(db: Database, ws_id: int, name: str) -> MachineProfile:
    with db.session() as s:
        return machines.get_profile(s, s.get(Workspace, ws_id), name)


def test_builtin_profiles_are_installed_on_first_use(db: Database, ws_id: int, member: Actor) -> None:
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        assert s.exec(select(MachineProfile)).all() == []
        profiles = machines.list_profiles(s, ws)
        machines.ensure_builtin_profiles(s, ws)  # idempotent
        assert [p.name for p in machines.list_profiles(s, ws)] == ["Bed 24×12 in", "CO2 600×400"]
    co2, bed = _get(db, ws_id, "CO2 600×400"), _get(db, ws_id, "Bed 24×12 in")
    assert [p.name for p in profiles] == ["Bed 24×12 in", "CO2 600×400"]
    assert (co2.bed_width_mm, co2.bed_height_mm, co2.units, co2.output_format, co2.text_mode) == (
        600,
        400,
        "mm",
        "svg",
        "curves",
    )
    assert (bed.bed_width_mm, bed.bed_height_mm, bed.units, bed.output_format, bed.text_mode) == (
        609.6,
        304.8,
        "in",
        "pdf",
        "curves",
    )
    assert (bed.margin_mm, bed.gap_mm) == (6.35, 3.175)
    assert machines.entered_values(bed)["bed_width"] == 24 and machines.entered_values(bed)["margin"] == 0.25
    assert co2.builtin and bed.builtin
    assert (co2.cut_color, co2.engrave_color, co2.cut_outline, co2.include_artwork, co2.item_order) == (
        "#FF0000",
        "#000000",
        True,
        True,
        "job",
    )
    assert "600 × 400 mm, SVG curves" in machines.describe(co2)


def test_profile_colours_default_to_the_workspace(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        ws.cut_color, ws.engrave_color = "#0000FF", "#00FF00"
        s.add(ws)
    row = _create(db, ws_id, owner)
    assert (row.cut_color, row.engrave_color) == ("#0000FF", "#00FF00")
    assert (_get(db, ws_id, "CO2 600×400").cut_color, _get(db, ws_id, "CO2 600×400").engrave_color) == (
        "#0000FF",
        "#00FF00",
    )


def test_create_in_inches_is_stored_in_millimetres(db: Database, ws_id: int, owner: Actor) -> None:
    row = _create(
        db,
        ws_id,
        owner,
        name="  Epilog   Zing ",
        bed_width="24",
        bed_height=12,
        units="in",
        margin=0.5,
        gap="0,25",
        output_format="PDF",
        text_mode="text",
        cut_color="#ff0000",
        engrave_color="#000000",
        cut_outline="no",
        include_artwork=False,
        item_order="name",
    )
    stored = _get(db, ws_id, "epilog zing")  # names match ignoring case and spacing
    assert stored.id == row.id and stored.name == "Epilog Zing"
    assert (stored.bed_width_mm, stored.bed_height_mm, stored.margin_mm, stored.gap_mm) == (
        609.6,
        304.8,
        12.7,
        6.35,
    )
    assert (stored.units, stored.output_format, stored.text_mode, stored.cut_color) == (
        "in",
        "pdf",
        "text",
        "#FF0000",
    )
    assert (stored.cut_outline, stored.include_artwork, stored.item_order) == (False, False, "name")
    assert machines.entered_values(stored)["gap"] == 0.25
    with db.read() as s:
        events = s.exec(
            select(ActivityEvent).where(ActivityEvent.event_type == Event.MACHINE_PROFILE_CHANGED)
        ).all()
        assert [e.details["action"] for e in events] == ["created"]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"cut_color": "red"}, "cut_color", "'red' is not an exact colour"),
        ({"cut_color": "#F00"}, "cut_color", "six hex digits"),
        ({"engrave_color": "#F00F"}, "engrave_color", "'#F00F' is not an exact colour"),
        ({"engrave_color": "#00000G"}, "engrave_color", "is not an exact colour"),
        ({"engrave_color": "#FF0000"}, "engrave_color", "must differ from the cut colour"),
        ({"bed_width": 0}, "bed_width", "greater than 0"),
        ({"bed_height": -5}, "bed_height", "greater than 0"),
        ({"bed_width": "wide"}, "bed_width", "not a number"),
        ({"bed_width": float("nan")}, "bed_width", "not a number"),
        ({"bed_width": 6000}, "bed_width", "larger than 5000 mm"),
        ({"margin": -1}, "margin", "must not be negative"),
        ({"gap": -0.5}, "gap", "must not be negative"),
        ({"margin": 100}, "margin", "leaves no room"),
        ({"units": "cm"}, "units", "one of: mm, in"),
        ({"output_format": "png"}, "output_format", "one of: svg, pdf, dxf"),
        ({"text_mode": "outline"}, "text_mode", "one of: text, curves"),
        ({"item_order": "size"}, "item_order", "one of: job, name"),
        ({"cut_outline": "maybe"}, "cut_outline", "yes or no"),
        ({"name": "   "}, "name", "is required"),
        ({"name": "x" * 101}, "name", "the limit is 100"),
        ({"laser_power": 80}, "laser_power", "not a machine profile setting"),
    ],
)
def test_invalid_profiles_are_refused_naming_the_field(
    db: Database, ws_id: int, owner: Actor, values: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        _create(db, ws_id, owner, **values)
    assert field in err.value.errors
    assert message in err.value.errors[field]
    with db.read() as s:
        assert not s.exec(select(MachineProfile).where(MachineProfile.builtin.is_(False))).all()


def test_all_problems_are_reported_together(db: Database, ws_id: int, owner: Actor) -> None:
    with pytest.raises(InvalidInput) as err:
        _create(db, ws_id, owner, cut_color="red", engrave_color="#F00F", gap=-1)
    assert set(err.value.errors) == {"cut_color", "engrave_color", "gap"}


def test_members_cannot_change_profiles_but_can_use_them(
    db: Database, ws_id: int, owner: Actor, member: Actor
) -> None:
    _create(db, ws_id, owner)
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        with pytest.raises(PermissionDenied):
            machines.create_profile(s, ws, member, name="Mine", **CUSTOM)
        with pytest.raises(PermissionDenied):
            machines.update_profile(s, ws, member, "Small", gap=5)
        with pytest.raises(PermissionDenied):
            machines.delete_profile(s, ws, member, "Small")
        assert {p.name for p in machines.list_profiles(s, ws)} == {"Small", "CO2 600×400", "Bed 24×12 in"}
    assert _get(db, ws_id, "Small").gap_mm == 2


def test_duplicate_names_are_refused(db: Database, ws_id: int, owner: Actor) -> None:
    _create(db, ws_id, owner)
    with pytest.raises(InvalidInput, match="already exists"):
        _create(db, ws_id, owner, name="SMALL")
    with pytest.raises(InvalidInput, match="already exists"):
        _create(db, ws_id, owner, name="co2 600×400")


def test_update_changes_only_what_is_given(db: Database, ws_id: int, owner: Actor) -> None:
    _create(db, ws_id, owner)
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        row = machines.update_profile(s, ws, owner, "Small", cut_color="#0000ff", output_format="dxf")
        assert (row.cut_color, row.output_format, row.bed_width_mm, row.gap_mm) == ("#0000FF", "dxf", 300, 2)
        # a new unit keeps the physical size of the lengths not given
        row = machines.update_profile(s, ws, owner, "Small", units="in", bed_width=12)
        assert (row.units, row.bed_width_mm, row.bed_height_mm, row.margin_mm) == ("in", 304.8, 200, 4)
        row = machines.update_profile(s, ws, owner, "Small", name="Shop floor")
        with pytest.raises(InvalidInput) as err:
            machines.update_profile(s, ws, owner, "Shop floor", engrave_color="black")
        assert "engrave_color" in err.value.errors
    assert _get(db, ws_id, "Shop floor").cut_color == "#0000FF"
    with pytest.raises(NotFound, match="no machine profile 'Small'"):
        _get(db, ws_id, "Small")
    with db.read() as s:
        events = s.exec(
            select(ActivityEvent).where(ActivityEvent.event_type == Event.MACHINE_PROFILE_CHANGED)
        ).all()
        first_update = [e.details for e in events if e.details["action"] == "updated"][0]
        assert first_update["changes"]["cut_color"] == {"from": "#FF0000", "to": "#0000FF"}


def test_builtins_can_be_edited_but_not_renamed_or_deleted(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        row = machines.update_profile(s, ws, owner, "CO2 600×400", gap=0, text_mode="text")
        assert (row.gap_mm, row.text_mode, row.builtin) == (0, "text", True)
        with pytest.raises(InvalidInput, match="keeps its name"):
            machines.update_profile(s, ws, owner, "CO2 600×400", name="Laser 1")
        with pytest.raises(InvalidInput, match="can't be deleted"):
            machines.delete_profile(s, ws, owner, "CO2 600×400")
    with db.session() as s:
        machines.ensure_builtin_profiles(s, s.get(Workspace, ws_id))  # the edit stays
    assert _get(db, ws_id, "CO2 600×400").text_mode == "text"


def test_delete_a_profile(db: Database, ws_id: int, owner: Actor) -> None:
    _create(db, ws_id, owner)
    with db.session() as s:
        machines.delete_profile(s, s.get(Workspace, ws_id), owner, "small")
    with pytest.raises(NotFound, match="profiles: 'Bed 24×12 in', 'CO2 600×400'"):
        _get(db, ws_id, "Small")


def test_profiles_belong_to_their_workspace(db: Database, ws_id: int, owner: Actor) -> None:
    from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace

    _create(db, ws_id, owner)
    with db.session() as s:
        other = ensure_workspace(s, "T0002", "Other Shop")
        boss = actor_for(ensure_member(s, other, "U_BOSS", "Boss"))
        assert [p.name for p in machines.list_profiles(s, other)] == ["Bed 24×12 in", "CO2 600×400"]
        machines.create_profile(s, other, boss, name="Small", **CUSTOM)  # same name, other shop
        with pytest.raises(NotFound):
            machines.get_profile(s, other, "Epilog")


def test_check_color() -> None:
    assert machines.check_color("cut_color", " #ff00aa ") == "#FF00AA"
    for bad in ("red", "#F00", "#F00F", "FF0000", "#FF00001", None, 0xFF0000):
        with pytest.raises(InvalidInput) as err:
            machines.check_color("cut_color", bad)
        assert list(err.value.errors) == ["cut_color"]


def test_score_settings(db: Database, ws_id: int, owner: Actor) -> None:
    off = _create(db, ws_id, owner, "Plain")
    assert off.score_color == "" and off.score_width_mm == machines.SCORE_WIDTH_MM
    assert "score" not in machines.describe(off)
    row = _create(db, ws_id, owner, "Scoring", score_color="#0000ff", score_width="0.3")
    assert row.score_color == "#0000FF" and row.score_width_mm == 0.3
    assert "score #0000FF (strokes up to 0.3 mm)" in machines.describe(row)
    inches = _create(db, ws_id, owner, "Inches", units="in", bed_width=20, bed_height=12, margin=0.2, gap=0.1,
                     score_color="#00FF00", score_width=0.01)  # fmt: skip
    assert inches.score_width_mm == 0.254 and machines.entered_values(inches)["score_width"] == 0.01
    for bad, field in (
        ({"score_color": "#000000"}, "score_color"),  # the engrave colour
        ({"score_color": "blue"}, "score_color"),
        ({"score_color": "#0000FF", "score_width": 0}, "score_width"),
        ({"score_color": "#0000FF", "score_width": 6}, "score_width"),
    ):
        with pytest.raises(InvalidInput) as err:
            _create(db, ws_id, owner, "Bad", **bad)
        assert field in err.value.errors, bad
    with db.session() as s:
        machines.update_profile(s, s.get(Workspace, ws_id), owner, "Scoring", score_color="off")
    assert _get(db, ws_id, "Scoring").score_color == ""
