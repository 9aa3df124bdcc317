"""Machine profiles (docs/export.md, "Machine profiles"): how a workspace's lasers want their files.

Lengths are entered in the profile's unit (``mm`` or ``in``: bed size, margin and gap alike) and
stored in millimetres; ``units`` remembers how the shop entered them so they can be shown back the
same way. Colours are exact ``#RRGGBB`` (stored upper-case): a laser maps operations by exact RGB,
so names and short forms are refused. Owners and admins change profiles; everyone may use them.
Optional laser settings per operation (engrave, score, cut: speed in the profile's unit per second,
power in percent, passes; the engrave fill's line interval and fill or line mode) become the layers
of a LightBurn project; left empty, LightBurn's own defaults apply.

Two built-in examples are installed per workspace on first use. They can be edited like any other
profile but not renamed or deleted (they would come back on the next use).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, PermissionDenied
from pipeline.core.units import MM_PER_IN
from pipeline.export.entered import choice, flag, number
from pipeline.export.laser_settings import (
    LASER_COLUMNS,
    LASER_FIELDS,
    check_laser,
    describe_laser,
    laser_entered,
    laser_settings,
)
from pipeline.jobs.activity import Event, record
from pipeline.rendering.codes import MIN_MODULE_MM
from storage.models import MachineProfile, Workspace

MAX_BED_MM = 5000.0  # 5 m: larger is a typo, not a laser
FORMATS = ("svg", "pdf", "dxf", "lbrn2")
TEXT_MODES = ("text", "curves")
UNITS = ("mm", "in")
ITEM_ORDERS = ("job", "name")
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
NAME_LIMIT = 100


@dataclass(frozen=True)
class Builtin:
    name: str
    bed_width: float
    bed_height: float
    units: str
    margin: float
    gap: float
    output_format: str
    text_mode: str


# Curves for both: the laser PC then needs no fonts (docs/export.md, "Curves and text"); a shop that
# wants live text switches the mode per export or edits the profile.
BUILTINS = (
    Builtin("CO2 600×400", 600, 400, "mm", 5, 3, "svg", "curves"),
    Builtin("Bed 24×12 in", 24, 12, "in", 0.25, 0.125, "pdf", "curves"),
)


# -- validation -------------------------------------------------------------------------------------
def check_color(field: str, value: Any) -> str:
    """An exact ``#RRGGBB`` colour, upper-cased; InvalidInput naming ``field`` otherwise."""
    if not isinstance(value, str) or not _HEX.match(value.strip()):
        raise InvalidInput(
            {field: f"{value!r} is not an exact colour: give six hex digits like #FF0000 (red) or #000000"}
        )
    return value.strip().upper()


def _clean_name(errors: dict[str, str], value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "is required"
        return None
    name = " ".join(value.split())
    if len(name) > NAME_LIMIT:
        errors["name"] = f"is {len(name)} characters long; the limit is {NAME_LIMIT}"
        return None
    return name


@dataclass(frozen=True)
class ProfileSettings:
    """A complete, valid set of profile values (lengths in mm)."""

    name: str
    bed_width_mm: float
    bed_height_mm: float
    units: str
    margin_mm: float
    gap_mm: float
    output_format: str
    text_mode: str
    cut_color: str
    engrave_color: str
    cut_outline: bool
    include_artwork: bool
    item_order: str
    score_color: str  # "" = thin strokes are filled with the rest of the artwork
    score_width_mm: float
    min_module_mm: float = 0.25  # the smallest module of a QR code or barcode this machine engraves
    invert_codes: bool = False  # the material engraves light (dark anodised aluminium): codes inverted
    # laser settings per operation (LightBurn layers); None: the laser program's default
    engrave_mode: str = "fill"
    engrave_speed_mm_s: float | None = None
    engrave_power_pct: float | None = None
    engrave_passes: int | None = None
    engrave_interval_mm: float | None = None
    score_speed_mm_s: float | None = None
    score_power_pct: float | None = None
    score_passes: int | None = None
    cut_speed_mm_s: float | None = None
    cut_power_pct: float | None = None
    cut_passes: int | None = None


_ENTERED = ("bed_width", "bed_height", "margin", "gap")  # given in the profile's units
_PLAIN = (
    "name",
    "units",
    "output_format",
    "text_mode",
    "cut_color",
    "engrave_color",
    "cut_outline",
    "include_artwork",
    "item_order",
    "score_color",
    "score_width",
    "min_module",
    "invert_codes",
)
FIELDS = _ENTERED + _PLAIN + LASER_FIELDS
SCORE_WIDTH_MM = 0.25  # strokes up to this wide are score lines when the profile has a score colour
MAX_SCORE_WIDTH_MM = 5.0
MAX_MIN_MODULE_MM = 5.0


def _sizes(
    errors: dict[str, str], values: dict[str, Any], units: str | None, factor: float
) -> dict[str, float]:
    """Bed size, margin and gap in mm, checked (a bed larger than 5 m is a typo)."""
    mm: dict[str, float] = {}
    for key in _ENTERED:
        amount = number(errors, key, values.get(key))
        if amount is None:
            continue
        if key.startswith("bed") and amount <= 0:
            errors[key] = f"must be greater than 0 (got {amount:g})"
        elif amount < 0:
            errors[key] = f"must not be negative (got {amount:g})"
        elif amount * factor > MAX_BED_MM:
            errors[key] = f"{amount:g} {units or 'mm'} is larger than {MAX_BED_MM:g} mm"
        else:
            mm[key] = round(amount * factor, 6)
    sized = "margin" in mm and "bed_width" in mm and "bed_height" in mm
    if sized and 2 * mm["margin"] >= min(mm["bed_width"], mm["bed_height"]):
        errors["margin"] = "leaves no room on the bed (twice the margin must be less than the bed size)"
    return mm


def _colours(errors: dict[str, str], values: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The cut and engrave colours, and the score colour ('' for none); the laser tells operations
    apart by colour, so they must differ."""
    colors: dict[str, str] = {}
    for key in ("cut_color", "engrave_color"):
        try:
            colors[key] = check_color(key, values.get(key))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if len(colors) == 2 and colors["cut_color"] == colors["engrave_color"]:
        errors["engrave_color"] = (
            "must differ from the cut colour (the laser tells operations apart by colour)"
        )
    score = values.get("score_color") or ""
    if isinstance(score, str) and score.strip().lower() in ("", "none", "off", "no"):
        score = ""
    else:
        try:
            score = check_color("score_color", score)
        except InvalidInput as exc:
            errors.update(exc.errors)
            score = ""
        if score and score in colors.values():
            errors["score_color"] = (
                "must differ from the cut and engrave colours (the laser tells operations apart by colour)"
            )
    return colors, score


def validate(values: dict[str, Any]) -> ProfileSettings:
    """Check a full set of entered values (lengths in ``units``); every problem is reported at once."""
    errors: dict[str, str] = {}
    unknown = sorted(set(values) - set(FIELDS))
    for key in unknown:
        errors[key] = "is not a machine profile setting"
    name = _clean_name(errors, values.get("name"))
    units = choice(errors, "units", values.get("units", "mm"), UNITS)
    factor = MM_PER_IN if units == "in" else 1.0
    mm = _sizes(errors, values, units, factor)
    colors, score = _colours(errors, values)
    score_width = number(errors, "score_width", values.get("score_width", SCORE_WIDTH_MM / factor))
    if score_width is not None and not 0 < score_width * factor <= MAX_SCORE_WIDTH_MM:
        errors["score_width"] = (
            f"must be more than 0 and at most {MAX_SCORE_WIDTH_MM:g} mm (got {score_width:g} {units or 'mm'})"
        )
    min_module = number(errors, "min_module", values.get("min_module", MIN_MODULE_MM / factor))
    if min_module is not None and not 0 < min_module * factor <= MAX_MIN_MODULE_MM:
        errors["min_module"] = (
            f"must be more than 0 and at most {MAX_MIN_MODULE_MM:g} mm (got {min_module:g} {units or 'mm'})"
        )
    invert_codes = flag(errors, "invert_codes", values.get("invert_codes", False))
    fmt = choice(errors, "output_format", values.get("output_format", "svg"), FORMATS)
    mode = choice(errors, "text_mode", values.get("text_mode", "curves"), TEXT_MODES)
    order = choice(errors, "item_order", values.get("item_order", "job"), ITEM_ORDERS)
    cut_outline = flag(errors, "cut_outline", values.get("cut_outline", True))
    include_artwork = flag(errors, "include_artwork", values.get("include_artwork", True))
    laser = check_laser(errors, values, units, factor)
    if errors:
        raise InvalidInput(errors)
    # a reader returns None only after recording an error, so with no errors every value is there
    assert name is not None and units is not None and score_width is not None and min_module is not None
    assert invert_codes is not None
    assert fmt is not None and mode is not None and order is not None
    assert cut_outline is not None and include_artwork is not None
    return ProfileSettings(
        name=name,
        bed_width_mm=mm["bed_width"],
        bed_height_mm=mm["bed_height"],
        units=units,
        margin_mm=mm["margin"],
        gap_mm=mm["gap"],
        output_format=fmt,
        text_mode=mode,
        cut_color=colors["cut_color"],
        engrave_color=colors["engrave_color"],
        cut_outline=cut_outline,
        include_artwork=include_artwork,
        item_order=order,
        score_color=score,
        score_width_mm=round(score_width * factor, 6),
        min_module_mm=round(min_module * factor, 6),
        invert_codes=invert_codes,
        **laser,
    )


def entered_values(row: MachineProfile) -> dict[str, Any]:
    """A profile's values as the shop entered them (lengths in its own unit)."""
    factor = MM_PER_IN if row.units == "in" else 1.0
    return {
        "name": row.name,
        "bed_width": round(row.bed_width_mm / factor, 6),
        "bed_height": round(row.bed_height_mm / factor, 6),
        "units": row.units,
        "margin": round(row.margin_mm / factor, 6),
        "gap": round(row.gap_mm / factor, 6),
        "output_format": row.output_format,
        "text_mode": row.text_mode,
        "cut_color": row.cut_color,
        "engrave_color": row.engrave_color,
        "cut_outline": row.cut_outline,
        "include_artwork": row.include_artwork,
        "item_order": row.item_order,
        "score_color": row.score_color,
        "score_width": round(row.score_width_mm / factor, 6),
        "min_module": round(row.min_module_mm / factor, 6),
        "invert_codes": row.invert_codes,
        **laser_entered(row, factor),
    }


def profile_settings(row: MachineProfile) -> dict[str, Any]:
    """Every setting of a profile, lengths in mm (what an export's manifest records)."""
    return {
        "name": row.name,
        "builtin": row.builtin,
        "bed_width_mm": row.bed_width_mm,
        "bed_height_mm": row.bed_height_mm,
        "units": row.units,
        "margin_mm": row.margin_mm,
        "gap_mm": row.gap_mm,
        "output_format": row.output_format,
        "text_mode": row.text_mode,
        "cut_color": row.cut_color,
        "engrave_color": row.engrave_color,
        "cut_outline": row.cut_outline,
        "include_artwork": row.include_artwork,
        "item_order": row.item_order,
        "score_color": row.score_color,
        "score_width_mm": row.score_width_mm,
        "min_module_mm": row.min_module_mm,
        "invert_codes": row.invert_codes,
        **laser_settings(row),
    }


def describe(row: MachineProfile) -> str:
    """One line for Slack: '600 × 400 mm, SVG curves, margin 5 mm, gap 3 mm, cut #FF0000 …'."""
    v = entered_values(row)
    u = row.units
    return (
        f"{v['bed_width']:g} × {v['bed_height']:g} {u}, {row.output_format.upper()} {row.text_mode}, "
        f"margin {v['margin']:g} {u}, gap {v['gap']:g} {u}, cut {row.cut_color}"
        f"{'' if row.cut_outline else ' (outlines off)'}, engrave {row.engrave_color}, "
        f"artwork {'on' if row.include_artwork else 'off'}, order by {row.item_order}"
        + (f", score {row.score_color} (strokes up to {v['score_width']:g} {u})" if row.score_color else "")
        + f", codes from {v['min_module']:g} {u} modules{' inverted' if row.invert_codes else ''}"
        + describe_laser(v, u)
    )


# -- storage ----------------------------------------------------------------------------------------
def _rows(session: Session, ws: Workspace) -> list[MachineProfile]:
    stmt = select(MachineProfile).where(MachineProfile.workspace_id == ws.id)
    return list(session.exec(stmt.order_by(col(MachineProfile.builtin).desc(), col(MachineProfile.name))))


def ensure_builtin_profiles(session: Session, ws: Workspace) -> None:
    """Install the built-in examples a workspace does not have yet (colours from the workspace)."""
    have = set(session.exec(select(MachineProfile.name).where(MachineProfile.workspace_id == ws.id)))
    cut, engrave = _workspace_colors(ws)
    for b in BUILTINS:
        if b.name in have:
            continue
        s = validate(
            {
                "name": b.name,
                "bed_width": b.bed_width,
                "bed_height": b.bed_height,
                "units": b.units,
                "margin": b.margin,
                "gap": b.gap,
                "output_format": b.output_format,
                "text_mode": b.text_mode,
                "cut_color": cut,
                "engrave_color": engrave,
            }
        )
        try:
            with session.begin_nested():  # another request may install it at the same moment
                session.add(MachineProfile(workspace_id=ws.pk, builtin=True, **_columns(s)))
                session.flush()
        except IntegrityError:
            pass


def _workspace_colors(ws: Workspace) -> tuple[str, str]:
    """The workspace's default colours, or the conventional red/black when they are unusable."""
    try:
        cut, engrave = check_color("cut_color", ws.cut_color), check_color("engrave_color", ws.engrave_color)
    except InvalidInput:
        return "#FF0000", "#000000"
    return (cut, engrave) if cut != engrave else ("#FF0000", "#000000")


def _columns(s: ProfileSettings) -> dict[str, Any]:
    return {k: getattr(s, k) for k in ProfileSettings.__dataclass_fields__}


def list_profiles(session: Session, ws: Workspace) -> list[MachineProfile]:
    """The workspace's profiles, built-ins first, then by name."""
    ensure_builtin_profiles(session, ws)
    return _rows(session, ws)


def get_profile(session: Session, ws: Workspace, name: str) -> MachineProfile:
    """A profile by name: exact, else the one whose name matches ignoring case and spacing."""
    ensure_builtin_profiles(session, ws)
    wanted = " ".join(str(name or "").split())
    rows = _rows(session, ws)
    for row in rows:
        if row.name == wanted:
            return row
    folded = [row for row in rows if row.name.casefold() == wanted.casefold()]
    if len(folded) == 1:
        return folded[0]
    names = ", ".join(f"'{r.name}'" for r in rows) or "none"
    raise NotFound(f"There is no machine profile {wanted!r} (profiles: {names}).")


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only an owner or admin can change machine profiles.")


def _name_taken(session: Session, ws: Workspace, name: str, except_id: int | None = None) -> bool:
    folded = name.casefold()
    return any(row.id != except_id and row.name.casefold() == folded for row in _rows(session, ws))


def create_profile(session: Session, ws: Workspace, actor: Actor, **values: Any) -> MachineProfile:
    """A new profile from entered values (see FIELDS); colours default to the workspace's."""
    _require_admin(actor)
    ensure_builtin_profiles(session, ws)
    cut, engrave = _workspace_colors(ws)
    entered = {"cut_color": cut, "engrave_color": engrave, **values}
    s = validate(entered)
    if _name_taken(session, ws, s.name):
        raise InvalidInput({"name": f"a profile named {s.name!r} already exists"})
    row = MachineProfile(workspace_id=ws.pk, builtin=False, **_columns(s))
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise InvalidInput({"name": f"a profile named {s.name!r} already exists"}) from None
    record(
        session,
        ws.pk,
        None,
        Event.MACHINE_PROFILE_CHANGED,
        actor,
        action="created",
        profile=s.name,
        settings=profile_settings(row),
    )
    return row


def update_profile(
    session: Session, ws: Workspace, actor: Actor, profile_name: str, /, **changes: Any
) -> MachineProfile:
    """Change some settings of a profile (``name=`` renames it). Lengths are in ``units`` (the new
    unit when it changes; lengths not given then keep their physical size)."""
    _require_admin(actor)
    row = get_profile(session, ws, profile_name)
    entered = entered_values(row)
    if "units" in changes and changes["units"] != row.units:
        factor = MM_PER_IN if str(changes["units"]).strip().lower() == "in" else 1.0
        for key in (*_ENTERED, "score_width", "min_module"):
            entered[key] = getattr(row, f"{key}_mm") / factor  # unrounded: converts back exactly
        for key, column, kind in LASER_COLUMNS:
            if kind in ("speed", "interval") and getattr(row, column) is not None:
                entered[key] = getattr(row, column) / factor
    entered.update(changes)
    s = validate(entered)
    if row.builtin and s.name != row.name:
        raise InvalidInput({"name": "a built-in profile keeps its name (create a new profile instead)"})
    if _name_taken(session, ws, s.name, except_id=row.id):
        raise InvalidInput({"name": f"a profile named {s.name!r} already exists"})
    before = profile_settings(row)
    for key, value in _columns(s).items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    after = profile_settings(row)
    diff = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if diff:
        record(
            session,
            ws.pk,
            None,
            Event.MACHINE_PROFILE_CHANGED,
            actor,
            action="updated",
            profile=row.name,
            changes=diff,
        )
    return row


def delete_profile(session: Session, ws: Workspace, actor: Actor, name: str) -> None:
    _require_admin(actor)
    row = get_profile(session, ws, name)
    if row.builtin:
        raise InvalidInput({"name": f"'{row.name}' is built in and can't be deleted (edit it instead)"})
    session.delete(row)
    session.flush()
    record(session, ws.pk, None, Event.MACHINE_PROFILE_CHANGED, actor, action="deleted", profile=row.name)
