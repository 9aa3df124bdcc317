"""The export's manifest.json: what is on which sheet, where, and on what authority.

Deterministic like the sheets: no timestamps, no ids that change between runs, keys in a fixed
order, UTF-8 with the customer's characters kept as they are.
"""

from __future__ import annotations

import json
from typing import Any

MANIFEST_VERSION = 1

CONVENTIONS = {
    "units": "mm",
    "coordinates": "x, y are each item's top-left corner in mm from the bed's top-left corner, y down",
    "cut": "item outlines: closed rectangles, a 0.0254 mm (0.001 in) hairline in the cut colour, no fill",
    "engrave": "text: filled in the engrave colour, no stroke (curves: glyph outlines; text: live text)",
    "artwork": (
        "template artwork: vector artwork as filled shapes in the engrave colour (strokes expanded "
        "to their outline, white left out); PNG/JPEG artwork as an image at the item's size"
    ),
    "score": (
        "with a score colour in the profile: template artwork strokes at most score_width_mm wide as "
        "lines (their centrelines) in the score colour, a 0.0254 mm hairline, instead of filled bands"
    ),
    "groups": (
        "SVG groups / DXF layers ARTWORK, ENGRAVE, SCORE (when scoring), CUT; engraving comes before "
        "scoring, scoring before cutting in each file"
    ),
    "lightburn": (
        "LightBurn projects (.lbrn2): mm, y up from the bed's bottom-left corner (Start From: Absolute "
        "Coords); layers ENGRAVE (text and artwork, fill or line), SCORE, CUT with the profile's laser "
        "settings, run in that order; each item a group of its shapes; text as curves"
    ),
}


def approval_label(approved_via: str | None, skipped: bool) -> str:
    if approved_via is not None:
        return "approved"
    return "approval skipped" if skipped else "not approved"


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def build_manifest(
    *,
    job: dict[str, Any],
    template: dict[str, Any],
    profile: dict[str, Any],
    output: dict[str, Any],
    approval: dict[str, Any],
    fonts_needed: list[dict[str, Any]],
    notes: list[str],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": "CraftStage",
        "job": job,
        "template": template,
        "profile": profile,
        "output": output,
        "conventions": CONVENTIONS,
        "approval": approval,
        "fonts_needed": fonts_needed,
        "notes": notes,
        "items": items,
    }
