"""What a layout is: a field's lines with their glyph columns, the fonts they use, and the item's fields,
with the stored form (`to_dict`/`from_dict`) that proofs and exports reuse. Lengths are points from the
template's top-left corner, y down, rounded to 1e-4 pt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any, NamedTuple

from pipeline.rendering.codes import PlacedCode

LINE_HEIGHT = 1.2  # baseline-to-baseline distance as a multiple of the size

GRID = 0.5  # pt; the shrink policy's size grid

ELLIPSIS = "…"

EPS = 1e-9


def round_pt(v: float) -> float:
    return round(v, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


# -- results ----------------------------------------------------------------------------------------
class Glyph(NamedTuple):
    """One glyph of a line. Advances/offsets are in the units of ``FieldLayout.fonts[font]``."""

    font: int  # index into FieldLayout.fonts
    gid: int
    cluster: int  # index in FieldLayout.text of the first character this glyph draws
    advance: int
    dx: int  # x offset
    dy: int  # y offset, up


GlyphColumns = tuple[tuple[int, ...], ...]  # (font, gid, cluster, advance, dx, dy) columns


@dataclass(frozen=True, slots=True)
class FontRef:
    path: str
    sha256: str
    name: str
    units_per_em: int


@dataclass(frozen=True, slots=True)
class FontUse:
    """How the field's font was resolved; ``substituted`` feeds the MISSING_FONT warning."""

    requested_family: str
    requested_weight: str
    used_name: str
    used_family: str
    path: str
    sha256: str
    substituted: bool
    step: str  # exact | other_weight | alias | workspace_default | last_resort
    reason: str


@dataclass(frozen=True, slots=True)
class Line:
    """One laid-out line. The glyph run is stored as columns (see ``glyphs`` for tuples)."""

    text: str
    x: float  # pt from the template's left edge: where the pen starts
    baseline: float  # pt from the template's top edge
    width: float  # advance width, pt
    ink_top: float  # pt from the top edge: the ink bounds of the line's glyphs
    ink_bottom: float
    columns: GlyphColumns  # (font, gid, cluster, advance, dx, dy), one tuple each, visual order

    @property
    def glyphs(self) -> tuple[Glyph, ...]:
        return tuple(map(tuple.__new__, repeat(Glyph), zip(*self.columns, strict=True)))


@dataclass(frozen=True, slots=True)
class FieldLayout:
    key: str
    text: str  # the normalized input
    policy: str
    box: tuple[float, float, float, float]  # x, y, width, height in pt from the top-left
    size: float  # pt
    base_size: float
    shrink_ratio: float  # size / base_size
    lines: tuple[Line, ...]
    overflowed: bool
    truncated: bool
    removed_text: str  # what truncation cut off
    font: FontUse
    fonts: tuple[FontRef, ...]  # faces the glyphs use; [0] is the field's font
    missing: tuple[int, ...]  # code points no available face can draw (MISSING_GLYPH)
    fallback: tuple[int, ...]  # code points drawn with a fallback face
    empty: bool
    direction: str  # "ltr" or "rtl"
    code: PlacedCode | None = None  # a code field's symbol, placed in item mm (no lines then)
    natural_size: float | None = None  # the size it would have alone, when its copyfit group set it smaller

    @property
    def missing_chars(self) -> list[str]:
        return [chr(c) for c in self.missing]

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _FIELD_SCALARS}
        d["box"] = list(self.box)
        d["lines"] = [
            {
                "text": ln.text,
                "x": ln.x,
                "baseline": ln.baseline,
                "width": ln.width,
                "ink_top": ln.ink_top,
                "ink_bottom": ln.ink_bottom,
                **{name: list(col) for name, col in zip(_COLUMN_NAMES, ln.columns, strict=True)},
            }
            for ln in self.lines
        ]
        d["font"] = _as_dict(self.font)
        d["fonts"] = [_as_dict(f) for f in self.fonts]
        d["missing"] = list(self.missing)
        d["fallback"] = list(self.fallback)
        if self.code is not None:
            d["code"] = self.code.to_dict()
        if self.natural_size is not None:
            d["natural_size"] = self.natural_size
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FieldLayout:
        return cls(
            **{k: d[k] for k in _FIELD_SCALARS},
            box=tuple(d["box"]),
            lines=tuple(
                Line(
                    text=ln["text"],
                    x=ln["x"],
                    baseline=ln["baseline"],
                    width=ln["width"],
                    ink_top=ln["ink_top"],
                    ink_bottom=ln["ink_bottom"],
                    columns=tuple(tuple(ln[name]) for name in _COLUMN_NAMES),
                )
                for ln in d["lines"]
            ),
            font=FontUse(**d["font"]),
            fonts=tuple(FontRef(**f) for f in d["fonts"]),
            missing=tuple(d["missing"]),
            fallback=tuple(d["fallback"]),
            code=PlacedCode.from_dict(d["code"]) if d.get("code") else None,
            natural_size=d.get("natural_size"),
        )


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


_FIELD_SCALARS = ("key", "text", "policy", "size", "base_size", "shrink_ratio", "overflowed",
                  "truncated", "removed_text", "empty", "direction")  # fmt: skip

_COLUMN_NAMES = ("glyph_fonts", "gids", "clusters", "advances", "dx", "dy")


@dataclass(frozen=True, slots=True)
class ItemLayout:
    """All fields of one template for one item's values."""

    template_key: str
    template_hash: str
    width: float  # template size, pt
    height: float
    fields: tuple[FieldLayout, ...]

    def field(self, key: str) -> FieldLayout:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def overflowed(self) -> bool:
        return any(f.overflowed for f in self.fields)

    def font_hashes(self) -> tuple[str, ...]:
        return tuple(sorted({ref.sha256 for f in self.fields for ref in f.fonts}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "template_key": self.template_key,
            "template_hash": self.template_hash,
            "width": self.width,
            "height": self.height,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ItemLayout:
        return cls(
            template_key=d["template_key"],
            template_hash=d["template_hash"],
            width=d["width"],
            height=d["height"],
            fields=tuple(FieldLayout.from_dict(f) for f in d["fields"]),
        )
