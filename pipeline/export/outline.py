"""Clean outlines: shapes united into non-overlapping contours with consistent winding (skia-pathops).

Laser programs fill the closed shapes of one colour by nesting (a shape inside or across another is
a hole, i.e. even-odd), while fonts and artwork rely on non-zero winding and overlapping contours.
A path that went through ``clean`` fills the same under both rules, so what the laser fills is what
the proof shows. Curves stay curves (quadratic or cubic Béziers) for SVG and PDF; DXF gets lines
and circular arcs within a tolerance (``arc_contours``).

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

    def arcs(self, tolerance: float) -> list[ArcContour]:
        """Contours as vertices joined by lines and circular arcs within ``tolerance`` (for DXF's
        LWPOLYLINE bulges), cached per tolerance."""
        cache = self.__dict__.setdefault("_arcs", {})
        hit = cache.get(tolerance)
        if hit is None:
            hit = cache[tolerance] = arc_contours(self.ops, tolerance)
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


@dataclass(frozen=True, slots=True)
class ArcContour:
    """A closed contour of vertices; ``bulges[i]`` shapes the edge from vertex i to the next (0: a
    line; else tan(sweep / 4) of a circular arc, positive anticlockwise once y points up, the DXF
    convention). ``bounds`` are the contour's exact extents, arcs included (y down)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    bulges: tuple[float, ...]
    bounds: tuple[float, float, float, float]


_ARC_SAMPLES = tuple(k / 16 for k in range(1, 16))
_MAX_DEPTH = 10


def arc_contours(ops: Iterable[Segment], tolerance: float) -> list[ArcContour]:
    """Closed contours with every curve replaced by circular arcs within ``tolerance``.

    A quadratic becomes the arc through its ends and its midpoint when the curve stays within the
    tolerance of that circle (checked at 15 points); otherwise it is halved (de Casteljau) and each
    half fitted again. A cubic is first cut into quadratics within half the tolerance. A curve that is
    straight to within the tolerance becomes a line. Font outlines are smooth chains of short
    quadratics, so most take one arc where flattening takes three to eight points.
    """
    out: list[ArcContour] = []
    pts: list[Point] = []
    bulges: list[float] = []
    box = [math.inf, math.inf, -math.inf, -math.inf]

    def extend(x: float, y: float) -> None:
        box[0], box[1] = min(box[0], x), min(box[1], y)
        box[2], box[3] = max(box[2], x), max(box[3], y)

    def arc_to(p0: Point, p1: Point, p2: Point, depth: int) -> None:
        fitted = _fit_arc(p0, p1, p2, tolerance)
        if fitted is None and depth < _MAX_DEPTH:
            a, b = _split_quadratic(p0, p1, p2)
            arc_to(*a, depth + 1)
            arc_to(*b, depth + 1)
            return
        bulge, extremes = fitted if fitted is not None else (0.0, ())
        bulges.append(bulge)
        for x, y in extremes:
            extend(x, y)
        pts.append(p2)
        extend(*p2)

    for op in ops:
        kind = op[0]
        if kind == "M":
            pts, bulges = [op[1]], []
            box = [math.inf, math.inf, -math.inf, -math.inf]
            extend(*op[1])
        elif kind == "L":
            bulges.append(0.0)
            pts.append(op[1])
            extend(*op[1])
        elif kind == "Q":
            arc_to(pts[-1], op[1], op[2], 0)
        elif kind == "C":
            for q in _cubic_to_quadratics(pts[-1], op[1], op[2], op[3], tolerance / 2):
                arc_to(*q, 0)
        else:  # "Z": the closing edge runs from the last vertex back to the first
            if len(pts) > 1 and pts[-1] == pts[0]:
                pts.pop()
            else:
                bulges.append(0.0)
            if len(pts) >= 2 and (len(pts) >= 3 or any(bulges)):
                out.append(
                    ArcContour(
                        tuple(p[0] for p in pts),
                        tuple(p[1] for p in pts),
                        tuple(bulges[: len(pts)]),
                        (box[0], box[1], box[2], box[3]),
                    )
                )
            pts, bulges = [], []
    return out


def _split_quadratic(p0: Point, p1: Point, p2: Point) -> tuple[tuple[Point, Point, Point], ...]:
    a = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2)
    b = ((p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2)
    m = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    return (p0, a, m), (m, b, p2)


def _cubic_to_quadratics(
    p0: Point, p1: Point, p2: Point, p3: Point, tolerance: float
) -> list[tuple[Point, Point, Point]]:
    """Quadratics within ``tolerance`` of a cubic (fontTools' cu2qu)."""
    from fontTools.cu2qu import curve_to_quadratic

    spline = curve_to_quadratic([p0, p1, p2, p3], tolerance)
    out = []
    start = spline[0]
    offs = spline[1:-1]
    for k, ctrl in enumerate(offs):
        end = (
            spline[-1]
            if k == len(offs) - 1
            else ((ctrl[0] + offs[k + 1][0]) / 2, (ctrl[1] + offs[k + 1][1]) / 2)
        )
        out.append((tuple(start), tuple(ctrl), tuple(end)))
        start = end
    return out


def _fit_arc(p0: Point, p1: Point, p2: Point, tolerance: float) -> tuple[float, tuple[Point, ...]] | None:
    """(bulge, the arc's extreme points) of the arc through a quadratic's ends and midpoint, or
    (0, ()) when it is a line within the tolerance; None when the curve leaves the tolerance."""
    (x0, y0), (x1, y1), (x2, y2) = p0, p1, p2
    dev = math.hypot(x0 - 2 * x1 + x2, y0 - 2 * y1 + y2) / 4  # the curve's greatest distance from its chord
    if dev <= tolerance:
        return 0.0, ()
    mx, my = (x0 + 2 * x1 + x2) / 4, (y0 + 2 * y1 + y2) / 4
    # circumcentre of p0, m, p2
    ax, ay, bx, by = mx - x0, my - y0, x2 - x0, y2 - y0
    d = 2 * (ax * by - ay * bx)
    if abs(d) < 1e-12:
        return None
    a2, b2 = ax * ax + ay * ay, bx * bx + by * by
    ux, uy = (by * a2 - ay * b2) / d, (ax * b2 - bx * a2) / d
    cx, cy, r = x0 + ux, y0 + uy, math.hypot(ux, uy)
    for t in _ARC_SAMPLES:
        u = 1 - t
        qx = u * u * x0 + 2 * u * t * x1 + t * t * x2
        qy = u * u * y0 + 2 * u * t * y1 + t * t * y2
        if abs(math.hypot(qx - cx, qy - cy) - r) > tolerance:
            return None
    chord = math.hypot(bx, by)
    if chord < 1e-12:
        return None
    # sagitta: from the chord's midpoint to the arc's midpoint, on the side of m
    nx, ny = -by / chord, bx / chord
    if (mx - x0) * nx + (my - y0) * ny < 0:
        nx, ny = -nx, -ny
    h = ((cx - (x0 + x2) / 2) * nx + (cy - (y0 + y2) / 2) * ny) + r
    # y down here, y up in the DXF: an arc turning clockwise here (m right of the chord, cross > 0
    # in y-down terms) is anticlockwise there
    cross = bx * (my - y0) - by * (mx - x0)
    bulge = (2 * h / chord) * (1 if cross > 0 else -1)
    # extreme points: where the arc crosses the axes through its centre
    a0 = math.atan2(y0 - cy, x0 - cx)
    am = math.atan2(my - cy, mx - cx)
    a1 = math.atan2(y2 - cy, x2 - cx)
    ccw = _between(a0, am, a1)
    extremes = []
    for k in range(4):
        ang = k * math.pi / 2
        if _between(a0, ang, a1) if ccw else _between(a1, ang, a0):
            extremes.append((cx + r * math.cos(ang), cy + r * math.sin(ang)))
    return bulge, tuple(extremes)


def _between(a: float, b: float, c: float) -> bool:
    """Is angle b passed when turning from a to c in the direction of increasing angle?"""
    tau = 2 * math.pi
    return (b - a) % tau <= (c - a) % tau


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
