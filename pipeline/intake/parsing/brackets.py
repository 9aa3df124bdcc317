"""Brackets the order says to engrave.

A name's bracketed remark is usually a note for the shop ('Peanut (Helen's dog)') and comes off the
name; honours are the exception ('Sgt. Thomas Bell (MM)' keeps its letters). When the order itself
says the brackets go on the piece ('The decorations in brackets go on the same line after the name —
brackets and all', 'including the honours in brackets'), every bracket it moved off is put back.
"""

from __future__ import annotations

import re

from .model import ParsedItem

# the order asks for the brackets to be engraved
_KEEP_BRACKETS = re.compile(
    r"brackets\s+and\s+all|parenthes[ie]s\s+and\s+all|including\s+the\s+\w+\s+in\s+(?:brackets|parenthes[ie]s)"
    r"|in\s+(?:brackets|parenthes[ie]s)\s+(?:go(?:es)?\s+on\s+the\s+same\s+line|stays?\s+(?:on|with)\s+the\s+name"
    r"|(?:are|is)\s+engraved|(?:are|is)\s+part\s+of\s+the\s+name)"
    r"|(?:keep|engrave)\s+the\s+(?:brackets|parenthes[ie]s)",
    re.IGNORECASE,
)


def keep_brackets(items: list[ParsedItem], lines: list[str]) -> None:
    """Put bracketed text taken off a name back on it, when the order says the brackets are engraved."""
    if not any(_KEEP_BRACKETS.search(line) for line in lines):
        return
    for item in items:
        name = item.values.get("name", "")
        for key in ("note", "title"):
            moved = item.values.get(key, "")
            if moved and f"{name} ({moved})" in item.raw:
                item.values["name"] = f"{name} ({moved})"
                del item.values[key]
                item.reasons[:] = [r for r in item.reasons if f"({moved})" not in r]
                item.reasons.append(f"({moved}) kept with the name: the order says the brackets are engraved")
                break
