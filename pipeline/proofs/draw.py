"""Drawing one item on a reportlab canvas (docs/proofs-and-approval.md, "Proofs"): the base artwork, the
plate's edge (where the laser cuts, on every proof), every glyph of the item's layout as a filled
outline (the same glyph run the laser export draws), the invisible searchable text, the field boxes
(always in red for a field in trouble) and the "PROOF" watermark.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from fontTools.pens.basePen import BasePen
from reportlab.graphics import renderPDF
from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from pipeline.core.units import PT_PER_IN
from pipeline.rendering.model import FieldLayout, ItemLayout
from pipeline.templates.font_faces import LoadedFont, load_font
from pipeline.templates.font_files import LAST_RESORT_FAMILY
from pipeline.templates.fonts import default_registry
from pipeline.templates.svg_artwork import ArtworkRefused, load_svg
from pipeline.templates.template import Template

INK = Color(0, 0, 0)

WATERMARK = Color(0.85, 0.12, 0.12, alpha=0.14)

SHEET_WATERMARK = Color(0.85, 0.12, 0.12, alpha=0.07)

BOX = Color(0.15, 0.35, 0.85)

OVERFLOW = Color(0.9, 0.05, 0.05)

SHEET_GREY = Color(0.55, 0.55, 0.55)

PLATE_EDGE = Color(0.45, 0.45, 0.45)  # the plate's edge (the cut line) on every proof

PLATE_LINE = 0.75  # pt


class ProofError(Exception):
    """A proof could not be drawn (e.g. its layout refers to a font file that has since changed)."""


# -- glyph outlines on a reportlab canvas -----------------------------------------------------------
class CanvasPathPen(BasePen):
    """A fontTools pen that draws into a reportlab canvas path (quadratics become cubics)."""

    def __init__(self, glyph_set: Any, path: PDFPathObject) -> None:
        super().__init__(glyph_set)
        self.path = path

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.path.moveTo(*pt)

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.path.lineTo(*pt)

    def _curveToOne(self, p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]) -> None:
        self.path.curveTo(*p1, *p2, *p3)

    def _closePath(self) -> None:
        self.path.close()


_GLYPH_PATHS: dict[tuple[str, int], PDFPathObject | None] = {}

_GLYPH_OPS: dict[tuple[str, int], str] = {}


def glyph_path(lf: LoadedFont, gid: int) -> PDFPathObject | None:
    """The glyph's outline as a reportlab path in font units (None for blank glyphs); cached."""
    key = (lf.sha256, gid)
    if key in _GLYPH_PATHS:
        return _GLYPH_PATHS[key]
    ops = lf.outline(gid)
    path = PDFPathObject() if ops else None
    if path is not None:
        pen = CanvasPathPen(None, path)
        for op, args in ops:
            getattr(pen, op)(*args)
    _GLYPH_PATHS[key] = path
    return path


def glyph_fill_ops(lf: LoadedFont, gid: int) -> str:
    """PDF operators filling a glyph in font units with non-zero winding: what
    ``canvas.drawPath(glyph_path(lf, gid), stroke=0, fill=1, fillMode=1)`` emits, cached per font and
    glyph so that a proof only has to position it. Empty for blank glyphs."""
    key = (lf.sha256, gid)
    ops = _GLYPH_OPS.get(key)
    if ops is None:
        path = glyph_path(lf, gid)
        ops = _GLYPH_OPS[key] = f"{path.getCode()} f" if path is not None else ""
    return ops


def _num(v: float) -> str:
    """A compact, deterministic PDF number (4 decimals)."""
    text = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _face(ref_path: str, ref_sha: str) -> LoadedFont:
    lf = load_font(ref_path)
    if lf.sha256 != ref_sha:
        raise ProofError(
            f"font file {ref_path} changed since the layout was computed; lay the item out again"
        )
    return lf


def _scale(v: float) -> str:
    """A glyph scale (size / units per em): 9 decimals, about 7 significant digits like the export's;
    4 decimals would make small text up to 0.8 % too big or too small."""
    text = f"{v:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def draw_field(c: rl_canvas.Canvas, fl: FieldLayout, page_h: float) -> None:
    """Draw a laid-out field's glyphs as filled outlines in the current fill colour, each placed by a
    transformation from font units to its position on the page (template y flipped to PDF y)."""
    faces = [_face(ref.path, ref.sha256) for ref in fl.fonts]
    size = fl.size
    out: list[str] = []
    for line in fl.lines:
        pen = 0.0
        baseline = page_h - line.baseline
        for fi, gid, _cl, adv, dx, dy in zip(*line.columns, strict=True):
            lf = faces[fi]
            s = size / lf.upem
            ops = glyph_fill_ops(lf, gid)
            if ops:
                k = _scale(s)
                x, y = _num(line.x + pen + dx * s), _num(baseline + dy * s)
                out.append(f"q {k} 0 0 {k} {x} {y} cm {ops} Q")
            pen += adv * s
    if out:
        c.addLiteral("\n".join(out))


# -- invisible, searchable text ---------------------------------------------------------------------
_RL_FONTS: dict[str, str | None] = {}


def reportlab_font(lf: LoadedFont) -> str | None:
    """A reportlab font name for a face (registered once per process), None if reportlab can't use it."""
    if lf.sha256 not in _RL_FONTS:
        name: str | None = "CS-" + lf.sha256[:16]
        try:
            pdfmetrics.registerFont(TTFont(name, lf.path))
        except Exception:  # e.g. CFF-flavoured OpenType, which reportlab cannot embed
            name = None
        _RL_FONTS[lf.sha256] = name
    return _RL_FONTS[lf.sha256]


def _text_font(text: str) -> str:
    """Helvetica (built in, nothing embedded) when the text is WinAnsi, else an embedded DejaVu subset.
    Glyph shapes do not matter for invisible text; the characters and their positions do."""
    try:
        text.encode("cp1252")
        return "Helvetica"
    except UnicodeEncodeError:
        return reportlab_font(fallback_face()) or "Helvetica"


def fallback_face() -> LoadedFont:
    return load_font(default_registry().resolve(LAST_RESORT_FAMILY).font)


def draw_hidden_text(c: rl_canvas.Canvas, fl: FieldLayout, page_h: float) -> None:
    """Place each line's text invisibly over its glyphs, scaled to the line's width, for search/extraction."""
    for line in fl.lines:
        font = _text_font(line.text)
        natural = pdfmetrics.stringWidth(line.text, font, fl.size)
        t = c.beginText()
        t.setTextRenderMode(3)
        t.setFont(font, fl.size)
        if natural > 0 and line.width > 0:
            t.setHorizScale(100.0 * line.width / natural)
        t.setTextOrigin(line.x, page_h - line.baseline)
        t.textOut(line.text)
        c.drawText(t)


# -- artwork ----------------------------------------------------------------------------------------
_ARTWORK: dict[tuple[str, int, int], Any] = {}


def _artwork(path: Path) -> Any:
    """A loaded artwork (svglib Drawing or reportlab ImageReader), cached per file version."""
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    art = _ARTWORK.get(key)
    if art is None:
        if path.suffix.lower() == ".svg":
            try:
                art = load_svg(path)
            except ArtworkRefused as exc:
                raise ProofError(f"artwork {path.name}: {exc}") from None
        else:
            art = ImageReader(str(path))
        _ARTWORK[key] = art
    return art


def draw_artwork(c: rl_canvas.Canvas, template: Template) -> None:
    """Draw the template's base artwork stretched to the template's size: SVG as vectors, else as an image."""
    path = template.artwork_path()
    if path is None:
        return
    if not path.is_file():
        raise ProofError(f"artwork {template.artwork} of template {template.key} is missing")
    art = _artwork(path)
    w, h = template.width * PT_PER_IN, template.height * PT_PER_IN
    if path.suffix.lower() == ".svg":
        c.saveState()
        c.scale(w / art.width, h / art.height)
        renderPDF.draw(art, c, 0, 0)
        c.restoreState()
    else:
        c.drawImage(art, 0, 0, w, h, mask="auto")


# -- watermark and boxes ----------------------------------------------------------------------------
_WATERMARK_RUN: dict[str, tuple[LoadedFont, list[tuple[int, int]]]] = {}


def _watermark_glyphs(text: str) -> tuple[LoadedFont, list[tuple[int, int]]]:
    if text not in _WATERMARK_RUN:
        lf = load_font(default_registry().resolve(LAST_RESORT_FAMILY, "bold").font)
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        hb.shape(lf.hb_font, buf, {"kern": True})
        _WATERMARK_RUN[text] = (
            lf,
            [(i.codepoint, p.x_advance) for i, p in zip(buf.glyph_infos, buf.glyph_positions, strict=True)],
        )
    return _WATERMARK_RUN[text]


def draw_watermark(
    c: rl_canvas.Canvas, w: float, h: float, text: str = "PROOF", color: Color = WATERMARK
) -> None:
    """A semi-transparent word along the page diagonal, as outlines (so it is not extractable text)."""
    lf, glyphs = _watermark_glyphs(text)
    width_units = sum(a for _g, a in glyphs)
    cap = 0.73 * lf.upem  # roughly the cap height, to centre the word vertically
    s = min(0.6 * math.hypot(w, h) / width_units, 0.6 * min(w, h) / cap)  # font units -> pt
    c.saveState()
    c.setFillColor(color)
    c.translate(w / 2, h / 2)
    c.rotate(math.degrees(math.atan2(h, w)))
    c.transform(s, 0, 0, s, -width_units * s / 2, -cap * s / 2)
    pen = 0
    out = []
    for gid, adv in glyphs:
        ops = glyph_fill_ops(lf, gid)
        if ops:
            out.append(f"q 1 0 0 1 {pen} 0 cm {ops} Q")
        pen += adv
    c.addLiteral("\n".join(out))
    c.restoreState()


def draw_boxes(c: rl_canvas.Canvas, layout: ItemLayout, page_h: float, show_all: bool) -> None:
    """Field boxes: fields in trouble (overflow, characters no font has) always, in red; the others
    only when asked, in blue. Dashed."""
    for fl in layout.fields:
        trouble = fl.overflowed or bool(fl.missing)
        if not (show_all or trouble):
            continue
        x, y, w, h = fl.box
        c.saveState()
        c.setStrokeColor(OVERFLOW if trouble else BOX)
        c.setLineWidth(0.8 if trouble else 0.4)
        c.setDash(3, 2)
        c.rect(x, page_h - y - h, w, h, stroke=1, fill=0)
        c.restoreState()


# -- one item ---------------------------------------------------------------------------------------
def draw_plate(c: rl_canvas.Canvas, template: Template) -> None:
    """The plate's edge, which is also the line the laser cuts: drawn on every proof, artwork or not,
    so the customer sees the text on the plate (inset by half the line, so all of it is on the page)."""
    w, h = template.width * PT_PER_IN, template.height * PT_PER_IN
    c.saveState()
    c.setStrokeColor(PLATE_EDGE)
    c.setLineWidth(PLATE_LINE)
    c.rect(PLATE_LINE / 2, PLATE_LINE / 2, w - PLATE_LINE, h - PLATE_LINE, stroke=1, fill=0)
    c.restoreState()


def draw_item(
    c: rl_canvas.Canvas, template: Template, layout: ItemLayout, *, show_boxes: bool, hidden_text: bool
) -> None:
    page_h = template.height * PT_PER_IN
    draw_artwork(c, template)
    draw_plate(c, template)
    c.setFillColor(INK)
    for fl in layout.fields:
        draw_field(c, fl, page_h)
    if hidden_text:
        for fl in layout.fields:
            draw_hidden_text(c, fl, page_h)
    draw_boxes(c, layout, page_h, show_boxes)
