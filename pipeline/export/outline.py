"""Clean outlines: shapes united into non-overlapping contours with consistent winding (skia-pathops).

Laser programs fill the closed shapes of one colour by nesting (a shape inside or across another is
a hole, i.e. even-odd), while fonts and artwork rely on non-zero winding and overlapping contours.
A path that went through ``clean`` fills the same under both rules, so what the laser fills is what
the proof shows. Curves stay curves (quadratic or cubic Béziers); the writers decide whether to
flatten (``flatten``, for DXF).

``Outline`` is the writers' form: closed contours of absolute segments, in item millimetres, y down.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import pathops
from fontTools.pens.basePen import BasePen

Point = tuple[float, float]
# ("M", p) | ("L", p) | ("Q", p1, p2) | ("C", p1, p2, p3) | ("Z",)
Segment = tuple

_MAX_STEPS = 256


@dataclass(frozen=True, eq=False)
class Outline:
    """Closed, non-overlapping contours with consistent winding, as absolute segments."""

    ops: tuple[Segment, ...]
    bounds: tuple[float, float, float, float] | None

    @property
    def empty(self) -> bool:
        return not self.ops

    @cached_property
    def svg(self) -> str:
        """SVG path data with ``%.3f`` slots, x and y alternating (filled by ``values``)."""
        parts = []
        for op in self.ops:
            parts.append("Z" if op[0] == "Z" else op[0] + " ".join("%.3f %.3f" for _ in op[1:]))
        return "".join(parts)

    @cached_property
    def coords(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Every point of ``ops`` in order: (xs, ys)."""
        pts = [p for op in self.ops for p in op[1:]]
        return tuple(p[0] for p in pts), tuple(p[1] for p in pts)

    def pdf(self, places: int) -> str:
        """PDF path operators in the outline's own units (quadratics raised to cubics), no paint
        operator; cached per precision. The writer maps them onto the page with ``cm``."""
        cache = self.__dict__.setdefault("_pdf", {})
        hit = cache.get(places)
        if hit is None:
            hit = cache[places] = _pdf_ops(self.ops, places)
        return hit

    def flat(self, tolerance: float) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
        """Flattened contours as (xs, ys), cached per tolerance."""
        cache = self.__dict__.setdefault("_flat", {})
        hit = cache.get(tolerance)
        if hit is None:
            hit = cache[tolerance] = [
                (tuple(p[0] for p in c), tuple(p[1] for p in c)) for c in flatten(self.ops, tolerance)
            ]
        return hit


EMPTY = Outline((), None)


def path_of(contours: Iterable[Iterable[Point]], *, evenodd: bool = False) -> pathops.Path:
    """A pathops path of closed polygons (at least 3 points each) with the given fill rule."""
    path = pathops.Path()
    path.fillType = pathops.FillType.EVEN_ODD if evenodd else pathops.FillType.WINDING
    for contour in contours:
        pts = list(contour)
        if len(pts) < 3:
            continue
        path.moveTo(*pts[0])
        for p in pts[1:]:
            path.lineTo(*p)
        path.close()
    return path


def clean(path: pathops.Path) -> pathops.Path:
    """The path's filled area as non-overlapping contours (outer contours anticlockwise in y-down)."""
    return pathops.simplify(path, fix_winding=True, keep_starting_points=False, clockwise=False)


def united(paths: Iterable[pathops.Path]) -> pathops.Path:
    """The union of cleaned paths (each already consistent, so non-zero winding adds them up)."""
    whole = pathops.Path()
    for p in paths:
        whole.addPath(p)
    return clean(whole)


def minus(path: pathops.Path, other: pathops.Path) -> pathops.Path:
    """``path`` without ``other``'s area (only computed when their bounds meet)."""
    if not _meet(path, other):
        return path
    return pathops.op(path, other, pathops.PathOp.DIFFERENCE, fix_winding=True, keep_starting_points=False)


def _meet(a: pathops.Path, b: pathops.Path) -> bool:
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    return ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1 and ax0 < ax1 and bx0 < bx1


class _SegmentPen(BasePen):
    """Records absolute segments; BasePen splits implied on-curve points (and all-off-curve contours)."""

    def __init__(self) -> None:
        super().__init__(None)
        self.ops: list[Segment] = []
        self._contour: list[Segment] = []

    def _moveTo(self, p: Point) -> None:
        self._contour = [("M", p)]

    def _lineTo(self, p: Point) -> None:
        self._contour.append(("L", p))

    def _qCurveToOne(self, p1: Point, p2: Point) -> None:
        self._contour.append(("Q", p1, p2))

    def _curveToOne(self, p1: Point, p2: Point, p3: Point) -> None:
        self._contour.append(("C", p1, p2, p3))

    def _closePath(self) -> None:
        if len(self._contour) > 1:  # a lone moveTo (a one-point "M…Z") draws nothing: leave it out
            self.ops.extend(self._contour)
            self.ops.append(("Z",))
        self._contour = []

    _endPath = _closePath


def outline_of(path: pathops.Path) -> Outline:
    """The writers' form of a cleaned path; one-point and empty contours are dropped."""
    pen = _SegmentPen()
    path.draw(pen)
    if not pen.ops:
        return EMPTY
    return Outline(tuple(pen.ops), tuple(path.bounds))


def flatten(ops: Iterable[Segment], tolerance: float) -> list[list[Point]]:
    """Closed polylines within ``tolerance`` (mm) of the curves.

    Uniform steps per curve from the bound on a polynomial's distance to its chords,
    h^2/8 * max|B''|: a quadratic's is |P0 - 2 P1 + P2| / (4 n^2), a cubic's
    3/4 * max(|P0 - 2 P1 + P2|, |P1 - 2 P2 + P3|) / n^2.
    """
    contours: list[list[Point]] = []
    cur: list[Point] = []
    for op in ops:
        kind = op[0]
        if kind == "M":
            cur = [op[1]]
        elif kind == "L":
            cur.append(op[1])
        elif kind == "Z":
            if len(cur) > 1 and cur[-1] == cur[0]:
                cur.pop()
            if len(cur) >= 3:
                contours.append(cur)
            cur = []
        elif kind == "Q":
            (x0, y0), (x1, y1), (x2, y2) = cur[-1], op[1], op[2]
            d = math.hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2)
            n = _steps(d / (4 * tolerance))
            for k in range(1, n):
                t = k / n
                u = 1 - t
                a, b, c = u * u, 2 * u * t, t * t
                cur.append((a * x0 + b * x1 + c * x2, a * y0 + b * y1 + c * y2))
            cur.append(op[2])
        else:  # "C"
            (x0, y0), (x1, y1), (x2, y2), (x3, y3) = cur[-1], op[1], op[2], op[3]
            d = max(
                math.hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2),
                math.hypot(x1 - 2 * x2 + x3, y1 - 2 * y2 + y3),
            )
            n = _steps(0.75 * d / tolerance)
            for k in range(1, n):
                t = k / n
                u = 1 - t
                a, b, c, e = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
                cur.append((a * x0 + b * x1 + c * x2 + e * x3, a * y0 + b * y1 + c * y2 + e * y3))
            cur.append(op[3])
    return contours


def _steps(ratio: float) -> int:
    """n with bound / n^2 <= tolerance, given ratio = bound / tolerance."""
    return max(1, min(_MAX_STEPS, math.ceil(math.sqrt(max(ratio, 0.0)))))


def _pdf_ops(ops: Iterable[Segment], places: int) -> str:
    def n(v: float) -> str:
        text = f"{v:.{places}f}".rstrip("0").rstrip(".")
        return "0" if text in ("", "-0") else text

    out: list[str] = []
    cur = (0.0, 0.0)
    for op in ops:
        kind = op[0]
        if kind == "M":
            cur = op[1]
            out.append(f"{n(cur[0])} {n(cur[1])} m")
        elif kind == "L":
            cur = op[1]
            out.append(f"{n(cur[0])} {n(cur[1])} l")
        elif kind == "Z":
            out.append("h")
        else:
            if kind == "Q":  # the same curve as a cubic: controls 2/3 of the way to the quadratic's
                (x1, y1), (x2, y2) = op[1], op[2]
                c1 = (cur[0] + 2 / 3 * (x1 - cur[0]), cur[1] + 2 / 3 * (y1 - cur[1]))
                c2 = (x2 + 2 / 3 * (x1 - x2), y2 + 2 / 3 * (y1 - y2))
                pts = (c1, c2, op[2])
            else:
                pts = op[1:]
            out.append(" ".join(f"{n(x)} {n(y)}" for x, y in pts) + " c")
            cur = op[-1]
    return " ".join(out)
