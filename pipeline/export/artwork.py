"""A template's base artwork as the laser should see it.

Lasers do not know stroke widths: LightBurn, Ruby and the print drivers treat every vector as
zero-width geometry (a cut or score line) and engrave *filled* areas. So a vector artwork's strokes
are expanded into the filled outline of the stroke (a 1.2 pt border becomes a 0.42 mm band, two
contours filled even-odd), and its fills stay fills. Everything becomes closed polygons in the
engrave colour (curves flattened to 10 µm), positioned in the item's millimetres (y down) and
stretched to the template's size exactly as the proof draws it. White shapes are left out (white
means "no laser"); SVG text and embedded images inside the artwork are left out with a warning.
Each stroke also keeps its centrelines and width, so a machine profile with a score colour can
send thin strokes to the laser as lines (``regions.score_lines``) instead of filled bands.

PNG/JPEG artwork is kept as the image file: the writers place it at the item's position and size
(SVG ``<image>`` with a data URI, PDF image); DXF has no raster and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from reportlab.graphics import shapes as rl

from pipeline.core.units import MM_PER_IN
from pipeline.templates.svg_artwork import ArtworkRefused, load_svg
from pipeline.templates.template import Template

TOLERANCE = 0.01  # mm, curve flattening (a laser spot is ~0.1 mm)

Point = tuple[float, float]
Matrix = tuple[float, float, float, float, float, float]


class ArtworkError(Exception):
    """The artwork file cannot be used."""


@dataclass(frozen=True, slots=True)
class ArtShape:
    """Closed contours (item mm, y down) filled together with one fill rule."""

    contours: tuple[tuple[Point, ...], ...]
    evenodd: bool
    svg: str  # path data with %.3f slots (x, y alternating), relative to the item's top-left
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    stroke_mm: float = 0.0  # a stroke's width (its expanded outline); 0 for a fill
    lines: tuple[tuple[tuple[Point, ...], bool], ...] = ()  # a stroke's centrelines: (points, closed)


@dataclass(frozen=True)
class Artwork:
    shapes: tuple[ArtShape, ...] = ()
    image: bytes | None = None  # PNG/JPEG artwork, as stored
    image_mime: str = ""
    image_path: str = ""
    warnings: tuple[str, ...] = ()


def _shape(
    contours: list[list[Point]],
    evenodd: bool,
    stroke_mm: float = 0.0,
    lines: tuple[tuple[tuple[Point, ...], bool], ...] = (),
) -> ArtShape | None:
    kept = tuple(tuple(c) for c in contours if len(c) >= 3)
    if not kept:
        return None
    parts: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for c in kept:
        parts.append("M%.3f %.3f" + "L%.3f %.3f" * (len(c) - 1) + "Z")
        xs.extend(p[0] for p in c)
        ys.extend(p[1] for p in c)
    return ArtShape(kept, evenodd, "".join(parts), tuple(xs), tuple(ys), stroke_mm, lines)


# -- geometry helpers -------------------------------------------------------------------------------
def _mul(m: Matrix, n: Matrix) -> Matrix:
    """m after n (apply n first)."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (
        a * a2 + c * b2,
        b * a2 + d * b2,
        a * c2 + c * d2,
        b * c2 + d * d2,
        a * e2 + c * f2 + e,
        b * e2 + d * f2 + f,
    )


def _apply(m: Matrix, p: Point) -> Point:
    return (m[0] * p[0] + m[2] * p[1] + m[4], m[1] * p[0] + m[3] * p[1] + m[5])


def _steps_for(chord: float) -> int:
    return max(1, min(256, math.ceil(math.sqrt(max(chord, 0.0) / (8 * TOLERANCE)))))


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point) -> list[Point]:
    """Points after p0 up to p3 on a cubic (already in mm)."""
    d = max(
        math.hypot(p0[0] - 2 * p1[0] + p2[0], p0[1] - 2 * p1[1] + p2[1]),
        math.hypot(p1[0] - 2 * p2[0] + p3[0], p1[1] - 2 * p2[1] + p3[1]),
    )
    n = _steps_for(0.75 * d)
    out = []
    for k in range(1, n + 1):
        t = k / n
        u = 1 - t
        a, b, c, e = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        out.append(
            (a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1])
        )
    return out


def _ellipse(m: Matrix, cx: float, cy: float, rx: float, ry: float) -> list[Point]:
    scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))
    r = max(rx, ry) * scale
    n = (
        8
        if r <= TOLERANCE
        else max(8, min(720, math.ceil(math.pi / math.acos(max(-1.0, 1 - TOLERANCE / r)))))
    )
    return [
        _apply(m, (cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)))
        for k in range(n)
    ]


def _rect(m: Matrix, x: float, y: float, w: float, h: float, rx: float, ry: float) -> list[Point]:
    rx, ry = min(max(rx, 0.0), w / 2), min(max(ry, 0.0), h / 2)
    if rx <= 0 or ry <= 0:
        return [_apply(m, p) for p in ((x, y), (x + w, y), (x + w, y + h), (x, y + h))]
    scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))
    r = max(rx, ry) * scale
    n = (
        max(2, min(180, math.ceil((math.pi / 2) / math.acos(max(-1.0, 1 - TOLERANCE / r)))))
        if r > TOLERANCE
        else 2
    )
    pts: list[Point] = []
    corners = (
        (x + w - rx, y + ry, -0.5),
        (x + w - rx, y + h - ry, 0.0),
        (x + rx, y + h - ry, 0.5),
        (x + rx, y + ry, 1.0),
    )
    for cx, cy, start in corners:
        for k in range(n + 1):
            angle = math.pi * (start + 0.5 * k / n)
            pts.append(_apply(m, (cx + rx * math.cos(angle), cy + ry * math.sin(angle))))
    return pts


def _subpaths(node: rl.Shape, m: Matrix) -> list[tuple[list[Point], bool]]:
    """A shape's outline as (points in mm, closed) polylines."""
    if isinstance(node, rl.Rect):
        return [(_rect(m, node.x, node.y, node.width, node.height, node.rx or 0, node.ry or 0), True)]
    if isinstance(node, rl.Circle):
        return [(_ellipse(m, node.cx, node.cy, node.r, node.r), True)]
    if isinstance(node, rl.Ellipse):
        return [(_ellipse(m, node.cx, node.cy, node.rx, node.ry), True)]
    if isinstance(node, rl.Line):
        return [([_apply(m, (node.x1, node.y1)), _apply(m, (node.x2, node.y2))], False)]
    if isinstance(node, rl.PolyLine | rl.Polygon):
        pts = node.points
        poly = [_apply(m, (pts[i], pts[i + 1])) for i in range(0, len(pts) - 1, 2)]
        return [(poly, isinstance(node, rl.Polygon))]
    if isinstance(node, rl.Path):
        out: list[tuple[list[Point], bool]] = []
        cur: list[Point] = []
        pts = node.points
        i = 0
        for op in node.operators:
            if op == rl._MOVETO:
                if len(cur) > 1:
                    out.append((cur, False))
                cur = [_apply(m, (pts[i], pts[i + 1]))]
                i += 2
            elif op == rl._LINETO:
                cur.append(_apply(m, (pts[i], pts[i + 1])))
                i += 2
            elif op == rl._CURVETO:
                c1, c2, end = (_apply(m, (pts[i + k], pts[i + k + 1])) for k in (0, 2, 4))
                cur.extend(_cubic(cur[-1] if cur else c1, c1, c2, end))
                i += 6
            elif op == rl._CLOSEPATH:
                if len(cur) > 1:
                    out.append((cur, True))
                cur = [cur[0]] if cur else []
        if len(cur) > 1:
            out.append((cur, False))
        return out
    return []


def _dedup(points: list[Point], closed: bool) -> list[Point]:
    out: list[Point] = []
    for p in points:
        if not out or math.hypot(p[0] - out[-1][0], p[1] - out[-1][1]) > 1e-9:
            out.append(p)
    if closed and len(out) > 1 and math.hypot(out[0][0] - out[-1][0], out[0][1] - out[-1][1]) <= 1e-9:
        out.pop()
    return out


def _unit(a: Point, b: Point) -> Point:
    dx, dy = b[0] - a[0], b[1] - a[1]
    length = math.hypot(dx, dy)
    return (dx / length, dy / length)


def _join(p: Point, d0: Point, d1: Point, h: float, side: float, join: int, limit: float) -> list[Point]:
    """Offset point(s) at a vertex on one side (+1 left normal, -1 right) of a stroke of half-width h."""
    a = (-d0[1] * side, d0[0] * side)
    b = (-d1[1] * side, d1[0] * side)
    mx, my = a[0] + b[0], a[1] + b[1]
    m2 = mx * mx + my * my
    cross = d0[0] * d1[1] - d0[1] * d1[0]
    outer = cross * side < 0
    if m2 < 1e-12:  # the path turns back on itself
        return [(p[0] + h * a[0], p[1] + h * a[1]), (p[0] + h * b[0], p[1] + h * b[1])]
    miter = (p[0] + 2 * h * mx / m2, p[1] + 2 * h * my / m2)
    ratio = 2 / math.sqrt(m2)  # miter length / half-width
    if not outer:
        return (
            [miter]
            if ratio <= 8
            else [(p[0] + h * a[0], p[1] + h * a[1]), (p[0] + h * b[0], p[1] + h * b[1])]
        )
    if join == 0 and ratio <= limit or abs(cross) < 1e-6:
        return [miter]
    if join == 1:
        start, end = math.atan2(a[1], a[0]), math.atan2(b[1], b[0])
        sweep = (end - start + math.pi) % (2 * math.pi) - math.pi
        n = (
            max(1, math.ceil(abs(sweep) / (2 * math.acos(max(-1.0, 1 - TOLERANCE / h)))))
            if h > TOLERANCE
            else 1
        )
        return [
            (p[0] + h * math.cos(start + sweep * k / n), p[1] + h * math.sin(start + sweep * k / n))
            for k in range(n + 1)
        ]
    return [(p[0] + h * a[0], p[1] + h * a[1]), (p[0] + h * b[0], p[1] + h * b[1])]


def _round_cap(p: Point, frm: Point, h: float, cap: int) -> list[Point]:
    """The inner points of a half circle around ``p`` from ``frm`` to its opposite (round caps only)."""
    if cap != 1:
        return []
    start = math.atan2(frm[1] - p[1], frm[0] - p[0])
    steps = max(4, math.ceil(math.pi / (2 * math.acos(max(-1.0, 1 - TOLERANCE / h))))) if h > TOLERANCE else 4
    # the cap bulges away from the line: the half turn that passes the far side
    return [
        (p[0] + h * math.cos(start - math.pi * k / steps), p[1] + h * math.sin(start - math.pi * k / steps))
        for k in range(1, steps)
    ]


def stroke_outline(
    points: list[Point], closed: bool, width: float, *, join: int = 0, cap: int = 0, miter_limit: float = 4.0
) -> list[list[Point]]:
    """The outline of a stroked polyline as closed contours, to be filled even-odd.

    An open polyline gives one contour (butt, round or square caps); a closed one gives two rings.
    Joins: 0 miter (bevel beyond ``miter_limit``), 1 round, 2 bevel (SVG/reportlab numbering).
    """
    pts = _dedup(points, closed)
    h = width / 2
    if h <= 0 or len(pts) < 2:
        return []
    n = len(pts)
    if closed and n >= 3:
        dirs = [_unit(pts[i], pts[(i + 1) % n]) for i in range(n)]
        rings = []
        for side in (1.0, -1.0):
            ring: list[Point] = []
            for i in range(n):
                ring.extend(_join(pts[i], dirs[i - 1], dirs[i], h, side, join, miter_limit))
            rings.append(ring)
        return rings
    dirs = [_unit(pts[i], pts[i + 1]) for i in range(n - 1)]

    def side_points(side: float) -> list[Point]:
        d = dirs[0]
        out = [(pts[0][0] - d[1] * side * h, pts[0][1] + d[0] * side * h)]
        for i in range(1, n - 1):
            out.extend(_join(pts[i], dirs[i - 1], dirs[i], h, side, join, miter_limit))
        d = dirs[-1]
        out.append((pts[-1][0] - d[1] * side * h, pts[-1][1] + d[0] * side * h))
        return out

    left, right = side_points(1.0), side_points(-1.0)
    d0, d1 = dirs[0], dirs[-1]
    if cap == 2:  # square: the ends move out by half the width
        for edge in (left, right):
            edge[0] = (edge[0][0] - d0[0] * h, edge[0][1] - d0[1] * h)
            edge[-1] = (edge[-1][0] + d1[0] * h, edge[-1][1] + d1[1] * h)
    contour = (
        left + _round_cap(pts[-1], left[-1], h, cap) + right[::-1] + _round_cap(pts[0], right[0], h, cap)
    )
    return [contour]


# -- reading the artwork ----------------------------------------------------------------------------
def _ink(color: object) -> bool:
    """Does this paint put the laser to work? No for none, transparent and white."""
    if color is None:
        return False
    alpha = getattr(color, "alpha", 1)
    if alpha is not None and alpha <= 0:
        return False
    rgb = (getattr(color, "red", 0), getattr(color, "green", 0), getattr(color, "blue", 0))
    return not all(c >= 0.99 for c in rgb)


def _walk(node: object, m: Matrix, shapes: list[ArtShape], warnings: set[str]) -> None:
    if isinstance(node, rl.Group):
        t = tuple(node.transform) if getattr(node, "transform", None) else (1, 0, 0, 1, 0, 0)
        m2 = _mul(m, t)
        for child in node.contents:
            _walk(child, m2, shapes, warnings)
        return
    if isinstance(node, rl.String):
        warnings.add("the artwork's SVG text was left out: convert text to paths in the artwork")
        return
    if isinstance(node, rl.Image):
        warnings.add("an image inside the SVG artwork was left out")
        return
    if not isinstance(node, rl.Shape) or getattr(node, "isClipPath", False):
        return
    paths = _subpaths(node, m)
    if not paths:
        return
    fill = getattr(node, "fillColor", None)
    if _ink(fill) and not isinstance(node, rl.Line | rl.PolyLine):
        evenodd = getattr(node, "fillMode", rl.FILL_NON_ZERO) == rl.FILL_EVEN_ODD
        shape = _shape([_dedup(pts, True) for pts, _closed in paths], evenodd)
        if shape is not None:
            shapes.append(shape)
    width = getattr(node, "strokeWidth", 0) or 0
    if _ink(getattr(node, "strokeColor", None)) and width > 0:
        scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))
        limit = getattr(node, "strokeMiterLimit", 4) or 4
        contours: list[list[Point]] = []
        for pts, closed in paths:
            contours += stroke_outline(
                pts,
                closed,
                width * scale,
                join=getattr(node, "strokeLineJoin", 0) or 0,
                cap=getattr(node, "strokeLineCap", 0) or 0,
                miter_limit=max(1.0, limit),
            )
        lines = tuple((tuple(kept), closed) for pts, closed in paths if len(kept := _dedup(pts, closed)) >= 2)
        shape = _shape(contours, True, width * scale, lines)
        if shape is not None:
            shapes.append(shape)


def _vector(path: Path, width_mm: float, height_mm: float) -> Artwork:
    try:
        drawing = load_svg(path)
    except ArtworkRefused as exc:
        raise ArtworkError(f"artwork {path.name}: {exc}") from None
    # drawing space (y up, drawing.width x drawing.height) -> item mm (y down), stretched like the proof
    m: Matrix = (width_mm / drawing.width, 0.0, 0.0, -height_mm / drawing.height, 0.0, height_mm)
    shapes: list[ArtShape] = []
    warnings: set[str] = set()
    _walk(drawing, m, shapes, warnings)
    return Artwork(shapes=tuple(shapes), warnings=tuple(sorted(warnings)))


_CACHE: dict[tuple, Artwork] = {}
_LOCK = Lock()


def load_artwork(template: Template) -> Artwork | None:
    """The template's artwork ready to place (cached per file version and size), None without artwork."""
    path = template.artwork_path()
    if path is None:
        return None
    if not path.is_file():
        raise ArtworkError(f"the artwork {template.artwork} of template {template.key} is missing")
    st = path.stat()
    width_mm, height_mm = template.width * MM_PER_IN, template.height * MM_PER_IN
    key = (str(path), st.st_mtime_ns, st.st_size, width_mm, height_mm)
    with _LOCK:
        art = _CACHE.get(key)
        if art is None:
            suffix = path.suffix.lower()
            if suffix == ".svg":
                art = _vector(path, width_mm, height_mm)
            elif suffix in (".png", ".jpg", ".jpeg"):
                mime = "image/png" if suffix == ".png" else "image/jpeg"
                art = Artwork(image=path.read_bytes(), image_mime=mime, image_path=str(path))
            else:
                raise ArtworkError(f"artwork {path.name} must be SVG, PNG or JPEG")
            if len(_CACHE) > 64:
                _CACHE.clear()
            _CACHE[key] = art
    return art
