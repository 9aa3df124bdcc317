"""What a shop types into a machine profile, read: numbers (a decimal comma welcome), one of a few
choices, yes or no, and "left empty". Each reader records a problem under the field's name in
`errors` and returns None, so a form reports every problem at once."""

from __future__ import annotations

import math
from typing import Any


def number(errors: dict[str, str], field: str, value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        errors[field] = "must be a number"
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            errors[field] = f"{value!r} is not a number"
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        errors[field] = f"{value!r} is not a number"
        return None
    return float(value)


def choice(errors: dict[str, str], field: str, value: Any, options: tuple[str, ...]) -> str | None:
    v = value.strip().lower() if isinstance(value, str) else value
    if v not in options:
        errors[field] = f"{value!r} is not one of: {', '.join(options)}"
        return None
    return v


def flag(errors: dict[str, str], field: str, value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (
        "yes",
        "true",
        "on",
        "1",
        "no",
        "false",
        "off",
        "0",
    ):
        return value.strip().lower() in ("yes", "true", "on", "1")
    errors[field] = f"{value!r} must be yes or no"
    return None


def unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "default"))
