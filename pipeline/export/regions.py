"""Each item's engraved regions, ready to write: one clean outline per region (docs/export.md).

An item engraves its template's artwork (fills, and strokes expanded to their outline) and the
glyphs of each field. Every part is united with skia-pathops into non-overlapping contours with
consistent winding (``outline``), and the parts are made disjoint: a field gives up what the
artwork or an earlier field already engraves. So all of an item's shapes in the engrave colour
fill the same under even-odd (how LightBurn and most laser programs nest shapes) and non-zero
winding, and together they are exactly the union the proof shows.

Coordinates are item millimetres, y down, from the item's top-left corner. The artwork's region is
worked out once per artwork; glyph outlines once per (font, glyph) at 1 pt.
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock

import pathops

from pipeline.core.units import MM_PER_PT
from pipeline.export.artwork import ArtShape, Artwork, Point
from pipeline.export.outline import EMPTY, Outline, clean, minus, outline_of, path_of, united
from pipeline.rendering.glyphs import PlacedGlyph, draw_placed_glyph, glyph_placements
from pipeline.rendering.model import ItemLayout
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import FontError

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
_SLIVER = 1e-6  # mm²: an overlap smaller than this fills the same under both rules, to 0.01 mm²


@dataclass(frozen=True, slots=True)
class Piece:
    """An outline placed in the item: every point (x, y) is drawn at (x0 + scale * x, y0 + scale * y)."""

    outline: Outline
    x: float
    y: float
    scale: float


@dataclass(frozen=True, slots=True)
class ItemRegions:
    """An item's engraving: the artwork's region and each field's (key, pieces), all disjoint.

    A field whose glyphs touch nothing (no other glyph, the artwork or an earlier field) keeps one
    piece per glyph (the cached clean outline, scaled and moved); otherwise it is one united piece.
    """

    artwork: Outline
    fields: tuple[tuple[str, tuple[Piece, ...]], ...]


@dataclass(frozen=True, slots=True)
class _Glyph:
    path: pathops.Path  # 1 pt, origin (0, 0), mm, y down, clean
    outline: Outline


_GLYPHS: dict[tuple[str, int], _Glyph] = {}
_ART: dict[tuple[int, float], tuple[Artwork, pathops.Path, Outline]] = {}
_EDGES: dict[int, tuple[Outline, list[Box]]] = {}
_LOCK = Lock()


def _glyph(p: PlacedGlyph) -> _Glyph:
    """The glyph's clean outline at 1 pt (cached per font file and glyph)."""
    key = (p.font_sha256, p.gid)
    glyph = _GLYPHS.get(key)
    if glyph is None:
        if load_font(p.font_path).sha256 != p.font_sha256:
            raise FontError(f"font file {p.font_path} changed since the layout was computed")
        unit = PlacedGlyph(p.font_path, p.font_sha256, p.units_per_em, p.gid, 0.0, 0.0, 1.0)
        raw = pathops.Path()
        draw_placed_glyph(unit, raw.getPen(allow_open_paths=True), scale=MM_PER_PT)
        path = clean(raw)
        glyph = _Glyph(path, outline_of(path))
        with _LOCK:
            _GLYPHS[key] = glyph
    return glyph


def _scored(shape: ArtShape, score_width: float) -> bool:
    """Is this shape a stroke thin enough to be a score line (``score_width`` > 0: scoring is on)?"""
    return 0 < shape.stroke_mm <= score_width


def artwork_region(art: Artwork | None, score_width: float = 0.0) -> tuple[pathops.Path, Outline]:
    """The artwork's engraved shapes united, without the strokes that are score lines (cached per
    loaded artwork and score width)."""
    if art is None or not art.shapes:
        return pathops.Path(), EMPTY
    key = (id(art), score_width)
    hit = _ART.get(key)
    if hit is not None and hit[0] is art:
        return hit[1], hit[2]
    path = united(
        clean(path_of(shape.contours, evenodd=shape.evenodd))
        for shape in art.shapes
        if not _scored(shape, score_width)
    )
    outline = outline_of(path)
    with _LOCK:
        if len(_ART) > 64:
            _ART.clear()
            _EDGES.clear()
        _ART[key] = (art, path, outline)
    return path, outline


def score_lines(art: Artwork | None, score_width: float) -> list[tuple[tuple[Point, ...], bool]]:
    """The centrelines (item mm, y down; closed or not) of the artwork's strokes at most
    ``score_width`` wide: what the laser scores as lines when the profile has a score colour."""
    if art is None or score_width <= 0:
        return []
    return [line for shape in art.shapes if _scored(shape, score_width) for line in shape.lines]


def _edge_boxes(outline: Outline) -> list[Box]:
    """The bounding box of every segment of an outline (control points included: conservative)."""
    boxes: list[Box] = []
    start = cur = (0.0, 0.0)
    for op in outline.ops:
        if op[0] == "M":
            start = cur = op[1]
            continue
        pts = [cur, *op[1:]] if op[0] != "Z" else [cur, start]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
        cur = pts[-1]
    return boxes


def _clear_of(art_path: pathops.Path, art_outline: Outline, box: Box) -> bool:
    """Is the box (mm) free of the artwork? True when no artwork edge comes near it and its centre
    is outside the artwork (then the whole box is)."""
    edges = _EDGES.get(id(art_outline))
    if edges is None or edges[0] is not art_outline:
        edges = _EDGES[id(art_outline)] = (art_outline, _edge_boxes(art_outline))
    x0, y0, x1, y1 = box
    for ex0, ey0, ex1, ey1 in edges[1]:
        if ex0 <= x1 and x0 <= ex1 and ey0 <= y1 and y0 <= ey1:
            return False
    return not art_path.contains(((x0 + x1) / 2, (y0 + y1) / 2))


def _meet(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _overlapping(boxes: list[Box], paths: list[pathops.Path]) -> bool:
    """Do any two glyphs' shapes overlap? Boxes first (sweep along x); glyphs whose boxes meet
    (kerned pairs, accents, italics) are intersected, and only an overlap with area counts."""
    order = sorted(range(len(boxes)), key=boxes.__getitem__)
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if boxes[b][0] >= boxes[a][2]:
                break
            if _meet(boxes[a], boxes[b]):
                common = pathops.op(paths[a], paths[b], pathops.PathOp.INTERSECTION)
                if common.area > _SLIVER:
                    return True
    return False


def item_regions(layout: ItemLayout | None, art: Artwork | None, score_width: float = 0.0) -> ItemRegions:
    """The item's artwork and field regions, disjoint, each clean (no fields without a layout:
    live text is the laser program's to fill). Strokes at most ``score_width`` wide are left out of
    the artwork's region (they are score lines)."""
    art_path, art_outline = artwork_region(art, score_width)
    earlier: list[tuple[Box, list[pathops.Path]]] = []  # fields so far: bounds, placed glyph paths
    fields: list[tuple[str, tuple[Piece, ...]]] = []
    for fl in layout.fields if layout is not None else ():
        glyphs: list[tuple[_Glyph, float, float, float]] = []
        boxes: list[Box] = []
        for p in glyph_placements(fl):
            g = _glyph(p)
            b = g.outline.bounds
            if g.outline.empty or b is None:
                continue
            x, y, s = p.x * MM_PER_PT, p.y * MM_PER_PT, p.size
            glyphs.append((g, x, y, s))
            boxes.append((x + s * b[0], y + s * b[1], x + s * b[2], y + s * b[3]))
        if not glyphs:
            continue
        bounds = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        touches_art = not art_outline.empty and not _clear_of(art_path, art_outline, bounds)
        touches_earlier = any(_meet(bounds, b) for b, _ in earlier)
        paths = [g.path.transform(s, 0.0, 0.0, s, x, y) for g, x, y, s in glyphs]
        if not touches_art and not touches_earlier and not _overlapping(boxes, paths):
            pieces = tuple(Piece(g.outline, x, y, s) for g, x, y, s in glyphs)
        else:
            region = united(paths)
            if touches_art:
                region = minus(region, art_path)
            for b, before in earlier:
                if _meet(bounds, b):
                    region = minus(region, united(before))
            outline = outline_of(region)
            if outline.empty:
                continue
            pieces = (Piece(outline, 0.0, 0.0, 1.0),)
            paths = [region]
        earlier.append((bounds, paths))
        fields.append((fl.key, pieces))
    return ItemRegions(art_outline, tuple(fields))


def svg_path_data(pieces: tuple[Piece, ...] | list[Piece], dx: float, dy: float) -> str:
    """SVG path data (absolute, mm, 3 decimals) of pieces whose item's top-left is at (dx, dy)."""
    out = []
    for p in pieces:
        xs, ys = p.outline.coords
        ox, oy, s = dx + p.x, dy + p.y, p.scale
        values: list[float] = [0.0] * (2 * len(xs))
        values[0::2] = [ox + s * v for v in xs]
        values[1::2] = [oy + s * v for v in ys]
        out.append(p.outline.svg % tuple(values))
    return "".join(out)
