"""DXF sheets for CAD-minded shops, Trotec and RDWorks users (docs/export.md).

DXF R2010 (AC1024), the version the manifest names: LWPOLYLINE (one compact entity per contour)
and true-colour layers need R2000 or later, and R2010 is the newest version LightBurn, RDWorks,
LibreCAD and Inkscape all open. ``$INSUNITS`` = 4 (mm), y up with the origin at the bed's
bottom-left corner, ``$EXTMIN``/``$EXTMAX`` the drawing's real extents. Layers ``ARTWORK`` and
``ENGRAVE`` (engrave colour), ``SCORE`` (score colour, when the profile scores thin artwork strokes:
their centrelines, open or closed) and ``CUT`` (cut colour), each with its exact RGB as a true colour
and the nearest ACI for older readers; entities take their layer's colour. Curves only: DXF has no
portable live text, so text mode is drawn as curves too (the export says so).

Engraved regions are the clean outlines of ``regions`` (non-overlapping contours, so a laser
program's even-odd nesting fills exactly what the proof shows) as closed LWPOLYLINEs of lines and
circular arcs (bulges) within 10 µm of the curves: a font's quadratic mostly takes one arc where
flattening takes three to eight points, so sheets are about a quarter smaller and quicker to write
and load. Cut outlines are closed rectangles on ``CUT``.

ezdxf writes the document around the entities (header, tables, layers, blocks, objects) once per
sheet look; the entities themselves are formatted straight into its ENTITIES section with handles
after ezdxf's own and ``$HANDSEED`` moved past them, which is ~20 times faster than building one
ezdxf entity per contour. ezdxf's fixed-metadata option (a 2000-01-01 date and constant GUIDs) is on
while the skeleton is written, so the bytes depend on the content only.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from threading import Lock

import ezdxf
from ezdxf import colors

from pipeline.export.outline import Outline
from pipeline.export.regions import Piece, item_regions, score_lines
from pipeline.export.sheet import GROUP_ARTWORK, GROUP_CUT, GROUP_ENGRAVE, GROUP_SCORE, Sheet, Style, rgb

_LOCK = Lock()
TOLERANCE = 0.01  # mm: arcs and lines stay within 10 µm of the curves (a laser spot is ~100 µm)


def piece_tolerance(scale: float) -> float:
    """The tolerance, in a piece's own units, that keeps ``TOLERANCE`` mm once it is scaled:
    ``TOLERANCE / scale`` rounded down to a step of 2^(1/8) (at most 9 % finer), so glyph pieces at
    nearby sizes share one cached set of arcs."""
    if scale <= 1.0:
        return TOLERANCE
    return TOLERANCE / 2 ** (math.ceil(8 * math.log2(scale)) / 8)


_PRIMARY_ACI = {
    (255, 0, 0): 1,
    (255, 255, 0): 2,
    (0, 255, 0): 3,
    (0, 255, 255): 4,
    (0, 0, 255): 5,
    (255, 0, 255): 6,
    (0, 0, 0): 7,
    (255, 255, 255): 7,
}


@contextmanager
def _fixed_metadata() -> Iterator[None]:
    with _LOCK:
        previous = ezdxf.options.write_fixed_meta_data_for_testing
        ezdxf.options.write_fixed_meta_data_for_testing = True
        try:
            yield
        finally:
            ezdxf.options.write_fixed_meta_data_for_testing = previous


def aci_for(color: str) -> int:
    """The AutoCAD colour index of an exact primary, else the nearest of 1-255."""
    target = rgb(color)
    if target in _PRIMARY_ACI:
        return _PRIMARY_ACI[target]

    def distance(i: int) -> int:
        r, g, b = colors.aci2rgb(i)
        return (r - target[0]) ** 2 + (g - target[1]) ** 2 + (b - target[2]) ** 2

    return min(range(1, 256), key=distance)


DXF_VERSION = "R2010"
DXF_VERSION_NOTE = (
    "DXF R2010 (AC1024): closed LWPOLYLINEs and true-colour layers need R2000 or later; R2010 is "
    "the newest version LightBurn, RDWorks, LibreCAD and Inkscape all open"
)
_EXT = re.compile(r"  9\n\$(EXTMIN|EXTMAX)\n 10\n[^\n]*\n 20\n[^\n]*\n 30\n[^\n]*\n")
_SEED = re.compile(r"  9\n\$HANDSEED\n  5\n[0-9A-Fa-f]+\n")
_ENTITIES_END = "  0\nSECTION\n  2\nENTITIES\n  0\nENDSEC\n"


@dataclass(frozen=True)
class _Skeleton:
    head: str  # everything up to the entities (the ENTITIES section opened)
    tail: str  # ENDSEC of ENTITIES and the rest
    first_handle: int  # the first handle ezdxf left free
    owner: str  # the model space's block record


_SKELETONS: dict[tuple, _Skeleton] = {}


def _skeleton(engrave: str, cut: str, score: str) -> _Skeleton:
    key = (engrave, cut, score)
    sk = _SKELETONS.get(key)
    if sk is not None:
        return sk
    with _fixed_metadata():
        doc = ezdxf.new(DXF_VERSION, setup=True)
        doc.units = ezdxf.units.MM
        doc.header["$MEASUREMENT"] = 1  # metric
        layers = [(GROUP_ARTWORK, engrave), (GROUP_ENGRAVE, engrave), (GROUP_CUT, cut)]
        if score:
            layers.append((GROUP_SCORE, score))
        for name, color in layers:
            layer = doc.layers.add(name, color=aci_for(color))
            layer.rgb = rgb(color)
        msp = doc.modelspace()
        stream = io.StringIO()
        doc.write(stream)
        text = stream.getvalue()
    at = text.index(_ENTITIES_END)
    cut_at = at + len("  0\nSECTION\n  2\nENTITIES\n")
    sk = _Skeleton(
        head=text[:cut_at],
        tail=text[cut_at:],
        first_handle=int(str(doc.entitydb.handles), 16),
        owner=msp.layout_key,
    )
    _SKELETONS[key] = sk
    return sk


_VERTEX = " 10\n%.3f\n 20\n%.3f\n"


@dataclass(frozen=True, slots=True)
class _Contour:
    """One closed contour ready to place: its vertex group codes with ``%.3f`` slots (bulges
    written in), the coordinates to fill them with, and its extents (y down)."""

    codes: str
    n: int
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    bounds: tuple[float, float, float, float]


def _contours(outline: Outline, tolerance: float) -> list[_Contour]:
    """The outline's arc contours as LWPOLYLINE vertex templates (cached on the outline)."""
    cache = outline.__dict__.setdefault("_dxf", {})
    hit = cache.get(tolerance)
    if hit is None:
        hit = cache[tolerance] = [
            _Contour(
                "".join(_VERTEX + (f" 42\n{b:.6f}\n" if b else "") for b in c.bulges),
                len(c.xs),
                c.xs,
                c.ys,
                c.bounds,
            )
            for c in outline.arcs(tolerance)
        ]
    return hit


class _Entities:
    """LWPOLYLINE group codes, formatted in bulk, with the running extents."""

    def __init__(self, first_handle: int, owner: str) -> None:
        self.parts: list[str] = []
        self.handle = first_handle
        self.owner = owner
        self.x0 = self.y0 = math.inf
        self.x1 = self.y1 = -math.inf

    def _head(self, layer: str, n: int, closed: bool = True) -> str:
        head = (
            f"  0\nLWPOLYLINE\n  5\n{self.handle:X}\n330\n{self.owner}\n100\nAcDbEntity\n  8\n{layer}\n"
            f"100\nAcDbPolyline\n 90\n{n}\n 70\n{1 if closed else 0}\n"
        )
        self.handle += 1
        return head

    def piece(self, layer: str, piece: Piece, px: float, py: float) -> None:
        """A piece's contours, its outline point (x, y) placed at (px + s x, py - s y) (y up)."""
        s = piece.scale
        parts = self.parts
        for c in _contours(piece.outline, piece_tolerance(s)):
            values: list[float] = [0.0] * (2 * c.n)
            values[0::2] = [px + s * v for v in c.xs]
            values[1::2] = [py - s * v for v in c.ys]
            bx0, by0, bx1, by1 = c.bounds
            if px + s * bx0 < self.x0:
                self.x0 = px + s * bx0
            if px + s * bx1 > self.x1:
                self.x1 = px + s * bx1
            if py - s * by1 < self.y0:
                self.y0 = py - s * by1
            if py - s * by0 > self.y1:
                self.y1 = py - s * by0
            parts.append(self._head(layer, c.n))
            parts.append(c.codes % tuple(values))

    def polyline(self, layer: str, xs: list[float], ys: list[float], closed: bool = True) -> None:
        n = len(xs)
        if n < 2:
            return
        values: list[float] = [0.0] * (2 * n)
        values[0::2] = xs
        values[1::2] = ys
        self.x0, self.x1 = min(self.x0, min(xs)), max(self.x1, max(xs))
        self.y0, self.y1 = min(self.y0, min(ys)), max(self.y1, max(ys))
        self.parts.append(self._head(layer, n, closed))
        self.parts.append(_VERTEX * n % tuple(values))


def _header_value(name: str, x: float, y: float) -> str:
    return f"  9\n${name}\n 10\n{x!r}\n 20\n{y!r}\n 30\n0.0\n"


def render_dxf(sheet: Sheet, style: Style) -> bytes:
    """One sheet as a DXF R2010 document (UTF-8 bytes)."""
    sk = _skeleton(style.engrave_color, style.cut_color, style.score_color)
    out = _Entities(sk.first_handle, sk.owner)
    top = sheet.height
    for item in sheet.items:
        reg = item_regions(item.layout, style.artwork, style.score_width, invert_codes=style.invert_codes)
        x0, y0 = item.x, top - item.y
        placed = [(GROUP_ARTWORK, Piece(reg.artwork, 0.0, 0.0, 1.0))] if not reg.artwork.empty else []
        placed += [(GROUP_ENGRAVE, p) for _key, pieces in reg.fields for p in pieces]
        for layer, piece in placed:
            out.piece(layer, piece, x0 + piece.x, y0 - piece.y)
    lines = score_lines(style.artwork, style.score_width) if style.score_color else []
    for item in sheet.items:
        for pts, closed in lines:
            xs = [item.x + x for x, _y in pts]
            ys = [top - item.y - y for _x, y in pts]
            out.polyline(GROUP_SCORE, xs, ys, closed)
    if style.cut_outline:
        w, h = sheet.item_width, sheet.item_height
        for item in sheet.items:
            x, y = item.x, top - item.y
            out.polyline(GROUP_CUT, [x, x + w, x + w, x], [y - h, y - h, y, y])
    ext = (out.x0, out.y0, out.x1, out.y1) if out.parts else (0.0, 0.0, sheet.width, sheet.height)
    head = _EXT.sub(
        lambda m: _header_value(m.group(1), *(ext[:2] if m.group(1) == "EXTMIN" else ext[2:])), sk.head
    )
    head = _SEED.sub(f"  9\n$HANDSEED\n  5\n{out.handle:X}\n", head, count=1)
    return (head + "".join(out.parts) + sk.tail).encode("utf-8")
