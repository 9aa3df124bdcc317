"""LightBurn projects (``.lbrn2``): a sheet as shapes on layers the laser runs as they come.

The project is LightBurn's XML (``FormatVersion="1"``). Each layer is a ``CutSetting`` named after
the profile's operation, with the profile's settings for it (``LaserSettings``): ``ENGRAVE`` (text
and vector artwork; fill, ``type="Scan"``, or line, ``type="Cut"``), ``SCORE`` (thin artwork
strokes, when the profile scores them; line) and ``CUT`` (item outlines; line), run in that order
(``priority`` 0, 1, 2). A setting the profile leaves empty is left out, so LightBurn uses its own
default for it. Each layer takes the number (C00…C29) whose colour in LightBurn's palette is
nearest the profile's colour for the operation, so the layers look like an SVG of the same sheet
imported into LightBurn.

Coordinates are LightBurn's: millimetres, y up, the origin at the bed's bottom-left corner (the
sheet's own top-left origin, y down, is flipped), so with *Start From: Absolute Coords* every
item lands where the manifest puts it. Each item is a ``Group`` holding its shapes: one ``Path``
per artwork region and per field (the clean outlines of ``regions``, curves as cubic Béziers,
several closed contours in one path), the score lines as open or closed ``Path``s, and the cut
outline as a ``Rect``. Paths are absolute (identity ``XForm``), each with its own ``VertID`` and
``PrimID``. Text is always curves: LightBurn's live text would be re-set by LightBurn and could
differ from the proof. Raster artwork is not placed (the export says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from pipeline.export.artwork import Point
from pipeline.export.outline import Outline
from pipeline.export.regions import Piece, item_regions, score_lines
from pipeline.export.sheet import (
    GROUP_CUT,
    GROUP_ENGRAVE,
    GROUP_SCORE,
    LaserSettings,
    LayerSettings,
    Sheet,
    Style,
    num,
    rgb,
)
from storage.models import MachineProfile

APP_VERSION = "1.7.00"  # the LightBurn release whose project format this follows
# LightBurn's layer colours C00…C29, by index
PALETTE = (
    "#000000", "#0000FF", "#FF0000", "#00E000", "#D0D000", "#FF8000", "#00E0E0", "#FF00FF",
    "#B4B4B4", "#0000A0", "#A00000", "#00A000", "#A0A000", "#C08000", "#00A0FF", "#A000A0",
    "#808080", "#7D87B9", "#BB7784", "#4A6FE3", "#D33F6A", "#8CD78C", "#F0B98D", "#F6C4E1",
    "#FA9ED4", "#500A78", "#B45A00", "#004754", "#86FA88", "#FFDB66",
)  # fmt: skip
TEXT_NOTE = "LightBurn projects carry the text as curves (glyph outlines): text mode was exported as curves."
IMAGE_NOTE = (
    "The LightBurn project carries no raster artwork: import the template's image into LightBurn "
    "if it should be engraved."
)


@dataclass(frozen=True)
class Layer:
    """One LightBurn layer: its number (C00…C29), name, colour it stands for, and settings."""

    index: int
    name: str
    color: str
    settings: LayerSettings
    priority: int

    @property
    def kind(self) -> str:
        """LightBurn's mode: ``Scan`` fills closed shapes, ``Cut`` follows the lines."""
        return "Scan" if self.settings.mode == "fill" else "Cut"


def _distance(a: str, b: str) -> int:
    return sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True))


def layers_for(style: Style, *, scoring: bool) -> dict[str, Layer]:
    """The sheet's layers by operation (``ENGRAVE``, ``SCORE`` when scoring, ``CUT`` when outlines
    are cut), each on the free palette number nearest its colour, in the order they run."""
    wanted = [(GROUP_ENGRAVE, style.engrave_color, style.laser.engrave)]
    if scoring:
        wanted.append((GROUP_SCORE, style.score_color, style.laser.score))
    if style.cut_outline:
        wanted.append((GROUP_CUT, style.cut_color, style.laser.cut))
    taken: set[int] = set()
    out: dict[str, Layer] = {}
    for priority, (name, color, settings) in enumerate(wanted):
        index = min(
            (i for i in range(len(PALETTE)) if i not in taken),
            key=lambda i: (_distance(PALETTE[i], color), i),
        )
        taken.add(index)
        out[name] = Layer(index, name, color, settings, priority)
    return out


def profile_laser(profile: MachineProfile) -> LaserSettings:
    """A machine profile's laser settings per operation (unset ones stay None)."""

    def layer(op: str, mode: str) -> LayerSettings:
        return LayerSettings(
            mode=mode,
            speed=getattr(profile, f"{op}_speed_mm_s"),
            power=getattr(profile, f"{op}_power_pct"),
            passes=getattr(profile, f"{op}_passes"),
            interval=getattr(profile, f"{op}_interval_mm", None),
        )

    return LaserSettings(
        engrave=layer("engrave", profile.engrave_mode), score=layer("score", "line"), cut=layer("cut", "line")
    )


def manifest_layers(style: Style) -> list[dict[str, Any]]:
    """The project's layers as the manifest lists them (what each runs, with which settings)."""
    scoring = bool(style.score_color and score_lines(style.artwork, style.score_width))
    return [
        {
            "layer": layer.name,
            "number": f"C{layer.index:02d}",
            "mode": layer.settings.mode,
            "speed_mm_s": layer.settings.speed,
            "power_pct": layer.settings.power,
            "passes": layer.settings.passes,
            **({"interval_mm": layer.settings.interval} if layer.settings.mode == "fill" else {}),
            "order": layer.priority + 1,
        }
        for layer in layers_for(style, scoring=scoring).values()
    ]


def _cut_setting(layer: Layer) -> str:
    s = layer.settings
    values: list[tuple[str, str]] = [("index", str(layer.index)), ("name", layer.name)]
    if s.power is not None:
        values += [("maxPower", num(s.power)), ("maxPower2", num(s.power))]
    if s.speed is not None:
        values.append(("speed", num(s.speed)))
    if s.passes is not None:
        values.append(("numPasses", str(s.passes)))
    if s.interval is not None and layer.kind == "Scan":
        values.append(("interval", num(s.interval, 4)))
    values.append(("priority", str(layer.priority)))
    body = "".join(f"        <{k} Value={quoteattr(v)}/>\n" for k, v in values)
    return f'    <CutSetting type="{layer.kind}">\n{body}    </CutSetting>\n'


# -- paths -------------------------------------------------------------------------------------------
Vertex = list  # [x, y, c0 | None, c1 | None]: c0 leaves the vertex, c1 arrives at it


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Contours ready to place: their ``VertList`` text with ``%.3f`` slots (x, y alternating) and
    the numbers that fill them (own units, y down), their ``PrimList`` text with ``%d`` slots and
    the vertex numbers that fill those, and how many vertices there are."""

    verts: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    prims: str
    ends: tuple[int, ...]
    count: int


def _compile(contours: Iterable[tuple[list[Vertex], list[tuple[str, int, int]]]]) -> _Compiled:
    verts: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    prims: list[str] = []
    ends: list[int] = []
    base = 0
    for vertices, primitives in contours:
        for x, y, c0, c1 in vertices:
            verts.append("V%.3f %.3f")
            xs.append(x)
            ys.append(y)
            for tag, control in (("c0", c0), ("c1", c1)):
                if control is None:
                    verts.append(f"{tag}x1")  # LightBurn's mark for "no control point"
                else:
                    verts.append(f"{tag}x%.3f{tag}y%.3f")
                    xs.append(control[0])
                    ys.append(control[1])
        for kind, a, b in primitives:
            prims.append(f"{kind}%d %d")
            ends += (base + a, base + b)
        base += len(vertices)
    return _Compiled("".join(verts), tuple(xs), tuple(ys), "".join(prims), tuple(ends), base)


def _outline_compiled(outline: Outline) -> _Compiled:
    """An outline's contours, compiled once (glyph outlines are shared by every placement)."""
    hit = outline.__dict__.get("_lbrn")
    if hit is None:
        hit = outline.__dict__["_lbrn"] = _compile(outline_contours(outline, 0.0, 0.0, 1.0))
    return hit


class _Paths:
    """Path shapes with running ``VertID``/``PrimID`` numbers, in LightBurn's coordinates."""

    def __init__(self, height: float) -> None:
        self.height = height
        self.next_id = 0

    def shape(self, cut_index: int, placed: Iterable[tuple[_Compiled, float, float, float]]) -> str:
        """One ``Path`` of compiled contours, each drawn at (x0 + s x, y0 + s y) on the sheet (mm, y
        down; written y up); empty when there is nothing to draw."""
        verts: list[str] = []
        prims: list[str] = []
        base = 0
        for c, x0, y0, s in placed:
            if not c.ends:
                continue
            values: list[float] = [0.0] * (2 * len(c.xs))
            values[0::2] = [x0 + s * x for x in c.xs]
            top = self.height - y0
            values[1::2] = [top - s * y for y in c.ys]
            verts.append(c.verts % tuple(values))
            prims.append(c.prims % (tuple(e + base for e in c.ends) if base else c.ends))
            base += c.count
        if not prims:
            return ""
        n = self.next_id
        self.next_id += 1
        return (
            f'<Shape Type="Path" CutIndex="{cut_index}" VertID="{n}" PrimID="{n}">'
            f"<XForm>1 0 0 1 0 0</XForm><VertList>{''.join(verts)}</VertList>"
            f"<PrimList>{''.join(prims)}</PrimList></Shape>\n"
        )


def outline_contours(
    outline: Outline, x0: float, y0: float, scale: float
) -> list[tuple[list[Vertex], list[tuple[str, int, int]]]]:
    """An outline's closed contours as vertices and primitives (``L`` lines, ``B`` cubic Béziers),
    each point (x, y) placed at (x0 + scale x, y0 + scale y). Quadratics are raised to the cubic
    that draws the same curve."""

    def at(p: Point) -> tuple[float, float]:
        return x0 + scale * p[0], y0 + scale * p[1]

    out: list[tuple[list[Vertex], list[tuple[str, int, int]]]] = []
    verts: list[Vertex] = []
    prims: list[tuple[str, int, int]] = []
    start: Point = (0.0, 0.0)
    for op in outline.ops:
        kind = op[0]
        if kind == "M":
            start = op[1]
            verts, prims = [[*at(start), None, None]], []
        elif kind == "L":
            verts.append([*at(op[1]), None, None])
            prims.append(("L", len(verts) - 2, len(verts) - 1))
        elif kind in ("Q", "C"):
            cur = verts[-1]
            if kind == "Q":
                (qx, qy), end = at(op[1]), at(op[2])
                c0 = (cur[0] + 2 / 3 * (qx - cur[0]), cur[1] + 2 / 3 * (qy - cur[1]))
                c1 = (end[0] + 2 / 3 * (qx - end[0]), end[1] + 2 / 3 * (qy - end[1]))
            else:
                c0, c1, end = at(op[1]), at(op[2]), at(op[3])
            cur[2] = c0
            verts.append([*end, None, c1])
            prims.append(("B", len(verts) - 2, len(verts) - 1))
        else:  # "Z": back to the first vertex, by the last segment when it already ends there
            if len(verts) > 2 and verts[-1][:2] == verts[0][:2]:
                last = verts.pop()
                verts[0][3] = last[3]
                kind_last, a, _b = prims[-1]
                prims[-1] = (kind_last, a, 0)
            elif len(verts) > 1:
                prims.append(("L", len(verts) - 1, 0))
            if prims:
                out.append((verts, prims))
            verts, prims = [], []
    return out


def _polyline(pts: Iterable[Point], closed: bool) -> _Compiled:
    verts: list[Vertex] = [[x, y, None, None] for x, y in pts]
    prims = [("L", i, i + 1) for i in range(len(verts) - 1)]
    if closed and len(verts) > 2:
        prims.append(("L", len(verts) - 1, 0))
    return _compile([(verts, prims)])


def _pieces(pieces: Iterable[Piece], dx: float, dy: float) -> list[tuple[_Compiled, float, float, float]]:
    return [(_outline_compiled(p.outline), dx + p.x, dy + p.y, p.scale) for p in pieces]


def render_lbrn2(sheet: Sheet, style: Style) -> bytes:
    """One sheet as a LightBurn project (UTF-8 XML bytes); see the module docstring."""
    lines = score_lines(style.artwork, style.score_width) if style.score_color else []
    scores = [_polyline(pts, closed) for pts, closed in lines]
    layers = layers_for(style, scoring=bool(lines))
    engrave = layers[GROUP_ENGRAVE].index
    paths = _Paths(sheet.height)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<LightBurnProject AppVersion="{APP_VERSION}" FormatVersion="1" MaterialHeight="0" '
        'MirrorX="False" MirrorY="False">\n',
    ]
    parts += [_cut_setting(layer) for layer in layers.values()]
    for item in sheet.items:
        reg = item_regions(item.layout, style.artwork, style.score_width, invert_codes=style.invert_codes)
        shapes: list[str] = []
        if not reg.artwork.empty:
            shapes.append(paths.shape(engrave, _pieces([Piece(reg.artwork, 0.0, 0.0, 1.0)], item.x, item.y)))
        for _key, pieces in reg.fields:
            shapes.append(paths.shape(engrave, _pieces(pieces, item.x, item.y)))
        for line in scores:
            shapes.append(paths.shape(layers[GROUP_SCORE].index, [(line, item.x, item.y, 1.0)]))
        if style.cut_outline:
            w, h = sheet.item_width, sheet.item_height
            centre = f"{num(item.x + w / 2)} {num(sheet.height - item.y - h / 2)}"
            shapes.append(
                f'<Shape Type="Rect" CutIndex="{layers[GROUP_CUT].index}" W="{num(w)}" H="{num(h)}" Cr="0">'
                f"<XForm>1 0 0 1 {centre}</XForm></Shape>\n"
            )
        body = "".join(shapes)
        if not body:
            continue
        parts.append(
            f'<Shape Type="Group" CutIndex="{engrave}"><XForm>1 0 0 1 0 0</XForm><Children>\n'
            f"{body}</Children></Shape>\n"
        )
    if sheet.title:
        parts.append(f'<Notes ShowOnLoad="0" Notes={quoteattr(sheet.title)}/>\n')
    parts.append("</LightBurnProject>\n")
    return "".join(parts).encode("utf-8")
