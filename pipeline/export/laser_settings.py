"""A machine profile's optional laser settings per operation (engrave, score, cut): speed in the
profile's unit per second, power in percent, passes, and the engrave fill's line interval and fill or
line mode. They become the layers of a LightBurn project (docs/export.md, "LightBurn projects"); an
empty one leaves LightBurn's own default."""

from __future__ import annotations

from typing import Any

from pipeline.export.entered import choice, number, unset
from storage.models import MachineProfile

ENGRAVE_MODES = ("fill", "line")
MAX_SPEED_MM_S = 20000.0  # galvo lasers mark at up to ~10 m/s; faster is a typo
MAX_PASSES = 100
MAX_INTERVAL_MM = 2.0  # fill line spacing; wider leaves stripes, not an engraving
OPERATIONS = ("engrave", "score", "cut")
# laser settings per operation: (entered name, column, kind); speeds and the interval are entered
# in the profile's unit (per second), power in percent, passes as a whole number
LASER_COLUMNS = tuple(
    (f"{op}_{name}", f"{op}_{column}", kind)
    for op in OPERATIONS
    for name, column, kind in (
        ("speed", "speed_mm_s", "speed"),
        ("power", "power_pct", "power"),
        ("passes", "passes", "passes"),
        ("interval", "interval_mm", "interval"),
    )
    if kind != "interval" or op == "engrave"
)
LASER_FIELDS = ("engrave_mode", *(entered for entered, _column, _kind in LASER_COLUMNS))


def check_laser(
    errors: dict[str, str], values: dict[str, Any], units: str | None, factor: float
) -> dict[str, Any]:
    """The optional laser settings (columns), checked; an empty value is unset (None)."""
    out: dict[str, Any] = {}
    unit = units or "mm"
    for entered, column, kind in LASER_COLUMNS:
        raw = values.get(entered)
        out[column] = None
        if unset(raw):
            continue
        amount = number(errors, entered, raw)
        if amount is None:
            continue
        if kind == "passes":
            if amount != int(amount) or not 1 <= amount <= MAX_PASSES:
                errors[entered] = f"must be a whole number from 1 to {MAX_PASSES} (got {amount:g})"
            else:
                out[column] = int(amount)
        elif kind == "power":
            if not 0 < amount <= 100:
                errors[entered] = (
                    f"is a percentage of the laser's power: more than 0, at most 100 (got {amount:g})"
                )
            else:
                out[column] = amount
        else:
            mm = amount * factor
            limit = MAX_SPEED_MM_S if kind == "speed" else MAX_INTERVAL_MM
            shown = f"{unit}/s" if kind == "speed" else unit
            if not 0 < mm <= limit:
                errors[entered] = (
                    f"must be more than 0 and at most {limit:g} {'mm/s' if kind == 'speed' else 'mm'} "
                    f"(got {amount:g} {shown})"
                )
            else:
                out[column] = round(mm, 6)
    mode = choice(errors, "engrave_mode", values.get("engrave_mode") or "fill", ENGRAVE_MODES)
    out["engrave_mode"] = mode
    return out


def laser_entered(row: MachineProfile, factor: float) -> dict[str, Any]:
    out: dict[str, Any] = {"engrave_mode": row.engrave_mode}
    for entered, column, kind in LASER_COLUMNS:
        value = getattr(row, column)
        if value is not None and kind in ("speed", "interval"):
            value = round(value / factor, 6)
        out[entered] = value
    return out


def laser_settings(row: MachineProfile) -> dict[str, Any]:
    """The profile's laser settings per operation, stored units (mm/s, %, mm), None when unset."""
    return {
        "engrave_mode": row.engrave_mode,
        **{column: getattr(row, column) for _e, column, _k in LASER_COLUMNS},
    }


def describe_laser(v: dict[str, Any], unit: str) -> str:
    """'; laser: engrave fill 300 mm/s 20% ×1 every 0.08 mm, cut 10 mm/s 80% ×2' (set values only)."""
    parts = []
    for op in OPERATIONS:
        said = []
        if v.get(f"{op}_speed") is not None:
            said.append(f"{v[f'{op}_speed']:g} {unit}/s")
        if v.get(f"{op}_power") is not None:
            said.append(f"{v[f'{op}_power']:g}%")
        if v.get(f"{op}_passes") is not None:
            said.append(f"×{v[f'{op}_passes']}")
        if op == "engrave" and v.get("engrave_interval") is not None:
            said.append(f"every {v['engrave_interval']:g} {unit}")
        mode = f" {v['engrave_mode']}" if op == "engrave" and v.get("engrave_mode") != "fill" else ""
        if said or mode:
            parts.append(f"{op}{mode} " + " ".join(said) if said else f"{op}{mode}")
    return f"; laser: {', '.join(parts)}" if parts else ""
