"""Glyph outlines for the machine files, drawn from the layout's glyph run (never re-shaped).

Each glyph's outline is made once per (font file, glyph id) with the layout engine's own
``draw_placed_glyph`` at 1 pt with its origin at (0, 0), in millimetres, y down. An occurrence at
size ``s`` placed at (X, Y) mm is then every point scaled by ``s`` and moved by (X, Y): no pen runs
per occurrence. The shape is kept in the forms the writers need: an SVG path template with
``%.3f`` slots (1 µm), and contours flattened to polylines for DXF.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from threading import Lock

from fontTools.pens.basePen import BasePen
from fontTools.pens.boundsPen import BoundsPen

from pipeline.fonts import FontError, load_font
from pipeline.layout import FieldLayout, PlacedGlyph, draw_placed_glyph, glyph_placements

MM_PER_PT = 25.4 / 72.0
# Flattening tolerance at 1 pt, in mm: 0.0003 mm x size, i.e. 9 µm at 30 pt (a laser spot is ~100 µm).
FLAT_TOLERANCE = 0.0003
_MAX_STEPS = 64


class _SegmentPen(BasePen):
    """Records an outline as absolute M/L/Q/C/Z segments (BasePen splits TrueType's implied points)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.ops: list[tuple] = []

    def _moveTo(self, p: tuple[float, float]) -> None:
        self.ops.append(("M", p))

    def _lineTo(self, p: tuple[float, float]) -> None:
        self.ops.append(("L", p))

    def _qCurveToOne(self, p1: tuple[float, float], p2: tuple[float, float]) -> None:
        self.ops.append(("Q", p1, p2))

    def _curveToOne(self, p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]) -> None:
        self.ops.append(("C", p1, p2, p3))

    def _closePath(self) -> None:
        self.ops.append(("Z",))

    def _endPath(self) -> None:
        self.ops.append(("Z",))  # glyph contours are closed shapes even when a font forgets to say so


@dataclass(frozen=True, slots=True)
class GlyphShape:
    """One glyph at 1 pt, origin (0, 0), in mm, y down."""

    svg: str  # path data with %.3f slots, x and y alternating
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    contours: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...]  # flattened (xs, ys), closed
    bounds: tuple[float, float, float, float] | None  # exact ink bounds (x0, y0, x1, y1)

    @property
    def empty(self) -> bool:
        return not self.xs


def _flatten(ops: list[tuple]) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    contours: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    xs: list[float] = []
    ys: list[float] = []
    cur = (0.0, 0.0)

    def finish() -> None:
        if xs and (xs[-1], ys[-1]) == (xs[0], ys[0]):
            xs.pop()
            ys.pop()
        if len(xs) >= 3:
            contours.append((tuple(xs), tuple(ys)))
        xs.clear()
        ys.clear()

    for op in ops:
        kind = op[0]
        if kind == "M":
            finish()
            cur = op[1]
            xs.append(cur[0])
            ys.append(cur[1])
        elif kind == "L":
            cur = op[1]
            xs.append(cur[0])
            ys.append(cur[1])
        elif kind == "Z":
            finish()
        else:
            pts = (cur, *op[1:])
            # Steps from the control polygon's deviation: error <= d / (8 n^2) for a quadratic
            # (a cubic's bound is 3/4 of that with d its larger second difference).
            if kind == "Q":
                (x0, y0), (x1, y1), (x2, y2) = pts
                d = math.hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2)
            else:
                (x0, y0), (x1, y1), (x2, y2), (x3, y3) = pts
                d = 0.75 * max(
                    math.hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2),
                    math.hypot(x1 - 2 * x2 + x3, y1 - 2 * y2 + y3),
                )
            n = max(1, min(_MAX_STEPS, math.ceil(math.sqrt(d / (8 * FLAT_TOLERANCE)))))
            for k in range(1, n + 1):
                t = k / n
                u = 1 - t
                if kind == "Q":
                    a, b, c = u * u, 2 * u * t, t * t
                    xs.append(a * x0 + b * x1 + c * x2)
                    ys.append(a * y0 + b * y1 + c * y2)
                else:
                    a, b, c, e = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
                    xs.append(a * x0 + b * x1 + c * x2 + e * x3)
                    ys.append(a * y0 + b * y1 + c * y2 + e * y3)
            cur = op[-1]
    finish()
    return contours


def _shape(font_path: str, sha256: str, upem: int, gid: int) -> GlyphShape:
    unit = PlacedGlyph(font_path, sha256, upem, gid, 0.0, 0.0, 1.0)
    pen = _SegmentPen()
    draw_placed_glyph(unit, pen, scale=MM_PER_PT)
    parts: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for op in pen.ops:
        if op[0] == "Z":
            parts.append("Z")
            continue
        parts.append(op[0] + " ".join("%.3f %.3f" for _ in op[1:]))
        for x, y in op[1:]:
            xs.append(x)
            ys.append(y)
    bounds_pen = BoundsPen(None)
    draw_placed_glyph(unit, bounds_pen, scale=MM_PER_PT)
    return GlyphShape("".join(parts), tuple(xs), tuple(ys), tuple(_flatten(pen.ops)), bounds_pen.bounds)


_SHAPES: dict[tuple[str, int], GlyphShape] = {}
_LOCK = Lock()


def glyph_shape(font_path: str, sha256: str, upem: int, gid: int) -> GlyphShape:
    """The cached shape of a glyph; FontError if the font file changed since the layout."""
    key = (sha256, gid)
    shape = _SHAPES.get(key)
    if shape is None:
        with _LOCK:
            shape = _SHAPES.get(key)
            if shape is None:
                if load_font(font_path).sha256 != sha256:
                    raise FontError(f"font file {font_path} changed since the layout was computed")
                shape = _SHAPES[key] = _shape(font_path, sha256, upem, gid)
    return shape


@dataclass(frozen=True, slots=True)
class GlyphAt:
    shape: GlyphShape
    x: float  # mm on the bed: the glyph's origin on its baseline
    y: float
    size: float  # pt: the factor from the 1 pt shape


def field_glyphs(fl: FieldLayout, item_x: float, item_y: float) -> Iterator[GlyphAt]:
    """The drawn (non-blank) glyphs of a laid-out field whose item's top-left is at (item_x, item_y) mm."""
    for p in glyph_placements(fl):
        shape = glyph_shape(p.font_path, p.font_sha256, p.units_per_em, p.gid)
        if not shape.empty:
            yield GlyphAt(shape, item_x + p.x * MM_PER_PT, item_y + p.y * MM_PER_PT, p.size)


def svg_path_data(glyphs: Iterator[GlyphAt] | list[GlyphAt]) -> str:
    """SVG path data (absolute, mm, 3 decimals) of glyphs, one string."""
    out = []
    for g in glyphs:
        shape, x, y, s = g.shape, g.x, g.y, g.size
        values: list[float] = [0.0] * (2 * len(shape.xs))
        values[0::2] = [x + s * v for v in shape.xs]
        values[1::2] = [y + s * v for v in shape.ys]
        out.append(shape.svg % tuple(values))
    return "".join(out)
