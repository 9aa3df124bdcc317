"""Clean values: the one check for text a person or a parsed order hands to CraftStage.

Control characters (other than tab and newline where a field allows them), NUL and lone surrogates are
refused with a message naming the field; they break proofs, Slack windows and PostgreSQL's JSON. A
value is never changed silently: entry points refuse it, and parse results are flagged for review with
the offending character replaced by U+FFFD and the reason written next to the item.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from pipeline.core.errors import InvalidInput

MULTILINE = "\n\t"
REPLACEMENT = "\ufffd"


def _bad(ch: str, allow: str) -> bool:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate: no character at all, cannot be encoded
        return True
    return ch not in allow and unicodedata.category(ch) == "Cc"


def problem(value: str, *, allow: str = "") -> str | None:
    """What is wrong with `value` in words (the first bad character), or None when it is clean."""
    for position, ch in enumerate(value, 1):
        if _bad(ch, allow):
            code = ord(ch)
            if 0xD800 <= code <= 0xDFFF:
                kind = f"a broken character (lone surrogate U+{code:04X})"
            elif code == 0:
                kind = "a NUL character (U+0000)"
            else:
                kind = f"a control character (U+{code:04X})"
            return f"{kind} at position {position}"
    return None


def message(label: str, what: str) -> str:
    return f"{label} contains {what}; remove it and try again."


def check(field: str, value: Any, *, allow: str = "", label: str | None = None) -> None:
    """Refuse `value` (InvalidInput keyed by `field`) when it holds a character that is not allowed."""
    if isinstance(value, str) and (what := problem(value, allow=allow)) is not None:
        raise InvalidInput({field: message(label or _label(field), what)})


def check_all(values: Mapping[str, Any], *, allow: str = "", prefix: str = "") -> None:
    """`check` for every value, all problems reported together (keys are `prefix + key`)."""
    errors = {}
    for key, value in values.items():
        if isinstance(value, str) and (what := problem(value, allow=allow)) is not None:
            errors[prefix + key] = message(_label(key), what)
    if errors:
        raise InvalidInput(errors)


def flagged(value: str, *, allow: str = "") -> tuple[str, str | None]:
    """For parse results: (value with each bad character shown as U+FFFD, why) or (value, None)."""
    what = problem(value, allow=allow)
    if what is None:
        return value, None
    return "".join(REPLACEMENT if _bad(ch, allow) else ch for ch in value), what


def _label(field: str) -> str:
    return field.replace("_", " ").strip().capitalize() or "The value"
