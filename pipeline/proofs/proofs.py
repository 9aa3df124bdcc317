"""Proofs (docs/proofs-and-approval.md, "Proofs"): a true-size PDF and PNG per item, the job proof
sheet, and batch generation.

The PDF draws the base artwork, the plate's edge (where the laser cuts, on every proof, artwork or
not), then every glyph of the item's layout as a filled outline (the same glyph run the laser export
draws, placed at the same scale), then a diagonal "PROOF" watermark. Fields that overflow or hold
characters no font can draw are always outlined in red, so a proof in trouble never looks fine;
``show_boxes`` outlines every field.
The text is also placed invisibly (render mode 3) on each line, horizontally scaled to the line's
width, so the PDF can be searched and its words located. The PNG preview is the PDF rendered by
pdfium; its pixel size is round(inches x dpi). Both files are written atomically.

``generate_proofs`` renders many items on a process pool (fonts are loaded once per worker) and
reports progress; ``proof_input_hash`` says whether an item needs a new proof.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import math
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import uharfbuzz as hb
from fontTools.pens.basePen import BasePen
from PIL import Image
from reportlab.graphics import renderPDF
from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from pipeline.core.files import write_atomic
from pipeline.core.units import PT_PER_IN
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import FieldLayout, ItemLayout
from pipeline.rendering.pdfstreams import binary_streams
from pipeline.rendering.run import normalize_text
from pipeline.templates.fonts import LAST_RESORT_FAMILY, FontRegistry, LoadedFont, default_registry, load_font
from pipeline.templates.svg_artwork import ArtworkRefused, load_svg
from pipeline.templates.template import Template

PROOF_RENDER_VERSION = 2  # part of every proof input hash: bump when drawing changes
DEFAULT_DPI = 150
LETTER = (612.0, 792.0)

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


# -- input hash -------------------------------------------------------------------------------------
def proof_input_hash(
    template_hash: str,
    values: Mapping[str, Any],
    font_hashes: Iterable[str],
    *,
    options: Mapping[str, Any] | None = None,
) -> str:
    """sha256 over everything a proof depends on: the template version, the item's values (as the
    layout sees them: NFC, whitespace collapsed), the font files and the render options (dpi, boxes),
    plus the renderer version. Same hash, same proof."""
    doc = {
        "renderer": PROOF_RENDER_VERSION,
        "template": template_hash,
        "values": {str(k): normalize_text(None if v is None else str(v)) for k, v in values.items()},
        "fonts": sorted(set(font_hashes)),
        "options": dict(options or {}),
    }
    payload = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def task_input_hash(
    template: Template,
    values: Mapping[str, Any],
    registry: FontRegistry | None = None,
    *,
    dpi: int = DEFAULT_DPI,
    show_boxes: bool = False,
) -> str:
    """The input hash of one item's proof as ``generate_proofs`` renders it: the values of the
    template's fields, its fonts and fallbacks, dpi and boxes (see proof_input_hash)."""
    return proof_input_hash(
        template.content_hash,
        {f.key: values.get(f.key) for f in template.fields},
        template_font_hashes(template, registry),
        options={"dpi": dpi, "show_boxes": show_boxes},
    )


def template_font_hashes(template: Template, registry: FontRegistry | None = None) -> tuple[str, ...]:
    """Content hashes of every face the template's fields can draw with (their fonts and fallbacks)."""
    reg = registry or default_registry()
    hashes: set[str] = set()
    for f in template.fields:
        hashes.add(reg.resolve(template.font_of(f), f.weight).font.sha256)
        hashes.update(ff.sha256 for ff in reg.fallback_chain(f.weight))
    return tuple(sorted(hashes))


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


def _reportlab_font(lf: LoadedFont) -> str | None:
    """A reportlab font name for a face (registered once per process), None if reportlab can't use it."""
    if lf.sha256 not in _RL_FONTS:
        name = "CS-" + lf.sha256[:16]
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
        return _reportlab_font(_fallback_face()) or "Helvetica"


def _fallback_face() -> LoadedFont:
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


def _draw_item(
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


def render_item_pdf(
    template: Template,
    item_layout: ItemLayout,
    values: Mapping[str, Any] | None = None,
    *,
    show_boxes: bool = False,
) -> bytes:
    """The proof PDF of one item: one page of the template's true size (points = inches x 72)."""
    w, h = template.width * PT_PER_IN, template.height * PT_PER_IN
    buf = io.BytesIO()
    with binary_streams():
        c = rl_canvas.Canvas(buf, pagesize=(w, h), invariant=1, pageCompression=1)
        c.setTitle(f"Proof: {template.name}")
        c.setCreator("CraftStage")
        if values:
            shown = ((f.label, values.get(f.key)) for f in template.fields)
            c.setSubject("; ".join(f"{label}: {v}" for label, v in shown if v))
        _draw_item(c, template, item_layout, show_boxes=show_boxes, hidden_text=True)
        draw_watermark(c, w, h)
        c.showPage()
        c.save()
    return buf.getvalue()


_PDFIUM_LOCK = threading.Lock()


def png_size(width_in: float, height_in: float, dpi: int) -> tuple[int, int]:
    """Pixel size of a preview: inches x dpi, rounded half up."""
    return int(width_in * dpi + 0.5), int(height_in * dpi + 0.5)


def pdf_to_png(pdf: bytes, width_in: float, height_in: float, dpi: int = DEFAULT_DPI) -> bytes:
    """Rasterize the first page with pdfium on white; the image is exactly png_size(...) pixels."""
    with _PDFIUM_LOCK:  # pdfium is not thread-safe; proofs rendered inline may come from several threads
        doc = pdfium.PdfDocument(pdf)
        try:
            page = doc[0]
            try:
                image = page.render(scale=dpi / PT_PER_IN).to_pil()
            finally:
                page.close()
        finally:
            doc.close()
    target = png_size(width_in, height_in, dpi)
    if image.size != target:  # pdfium rounds the bitmap up; trim (or pad) to the exact size
        fitted = Image.new(image.mode, target, "white")
        fitted.paste(image.crop((0, 0, min(target[0], image.width), min(target[1], image.height))))
        image = fitted
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=3, dpi=(dpi, dpi))
    return out.getvalue()


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file so that readers see either the old file or the whole new one, never a part."""
    write_atomic(Path(path), data, durable=False)


def render_item_proof(
    template: Template,
    item_layout: ItemLayout,
    values: Mapping[str, Any] | None,
    pdf_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    dpi: int = DEFAULT_DPI,
    show_boxes: bool = False,
) -> None:
    """Write an item's proof: a true-size one-page PDF and its PNG preview at ``dpi``."""
    pdf = render_item_pdf(template, item_layout, values, show_boxes=show_boxes)
    png = pdf_to_png(pdf, template.width, template.height, dpi)
    atomic_write(pdf_path, pdf)
    atomic_write(png_path, png)


# -- job proof sheet --------------------------------------------------------------------------------
@dataclass(frozen=True)
class SheetEntry:
    number: int | str  # the item number shown on the sheet
    template: Template
    layout: ItemLayout
    values: Mapping[str, Any]


_CAPTION_SIZE = 7.5
_CAPTION_LEAD = 9.0
_SHEET_MARGIN = 36.0
_SHEET_GAP = 14.0
_HEADER = 22.0


def _caption_lines(entry: SheetEntry) -> list[tuple[str, bool]]:
    """(text, is_warning) lines under an item: its number, its values, what is wrong with it."""
    lines: list[tuple[str, bool]] = [(f"#{entry.number}", False)]
    for f in entry.template.fields:
        value = entry.values.get(f.key)
        if value:
            text = " ".join(str(value).split())
            lines.append((f"{f.label}: {text[:70] + '…' if len(text) > 70 else text}", False))
    for fl in entry.layout.fields:
        if fl.overflowed:
            lines.append((f"OVERFLOW: {fl.key}", True))
        if fl.truncated:
            lines.append((f"TRUNCATED: {fl.key}", True))
        if fl.missing:
            lines.append((f"MISSING GLYPH in {fl.key}: {' '.join(f'U+{c:04X}' for c in fl.missing)}", True))
    return lines


def _fit_caption(text: str, font: str, width: float) -> str:
    """Cut a caption line to the cell width, ending it with '…' when cut."""
    if pdfmetrics.stringWidth(text, font, _CAPTION_SIZE) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if pdfmetrics.stringWidth(text[:mid] + "…", font, _CAPTION_SIZE) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def _grid(item_w: float, item_h: float, caption_h: float) -> tuple[int, int, float]:
    """(columns, rows, scale) for a letter page: the most items per page at a scale of at least 0.5
    (never enlarged), the larger scale on a tie."""
    avail_w = LETTER[0] - 2 * _SHEET_MARGIN
    avail_h = LETTER[1] - 2 * _SHEET_MARGIN - _HEADER
    best: tuple[int, float, int, int] | None = None
    for cols in range(1, 5):
        cell_w = (avail_w - (cols - 1) * _SHEET_GAP) / cols
        scale = min(1.0, cell_w / item_w, (avail_h - caption_h) / item_h)
        rows = int((avail_h + _SHEET_GAP) // (item_h * scale + caption_h + _SHEET_GAP))
        if scale <= 0 or rows < 1:
            continue
        candidate = (cols * rows, scale, cols, rows)
        if best is None or (scale >= 0.5 and (candidate[0], candidate[1]) > (best[0], best[1])):
            best = candidate
    if best is None:
        return 1, 1, min(avail_w / item_w, (avail_h - caption_h) / item_h)
    return best[2], best[3], best[1]


def render_proof_sheet(
    entries: Sequence[SheetEntry], pdf_path: str | os.PathLike[str], *, title: str = "Proof sheet"
) -> int:
    """Write the job proof sheet: items scaled to fit several per letter page, each with its number,
    values and warnings beneath. Returns the number of pages."""
    with binary_streams():
        return _render_sheet(entries, pdf_path, title)


def reuse_layout(
    stored: dict[str, Any] | None, template: Template, values: dict[str, str], registry: FontRegistry
) -> ItemLayout:
    """`stored` (an item's saved layout) when it was made from these values and this template, else a
    fresh layout."""
    if stored and stored.get("template_hash") == template.content_hash:
        try:
            texts = {f["key"]: f["text"] for f in stored.get("fields", [])}
            if texts == {k: normalize_text(v) for k, v in values.items()}:
                return ItemLayout.from_dict(stored)
        except (KeyError, TypeError, ValueError):  # an unreadable stored layout: lay the item out again
            pass
    return layout_item(template, values, registry=registry)


def draw_proof_sheet(
    rows: Sequence[tuple[int, dict[str, str], dict[str, Any] | None]],
    template: Template,
    registry_state: bytes,
    sheet_path: str,
    preview_path: str,
    title: str,
    preview_dpi: int,
) -> None:
    """The proof sheet of (number, values, stored layout) rows and a PNG preview of its first page
    (runs in a proof worker for big jobs, so it takes plain data)."""
    registry = _worker_registry(registry_state) or default_registry()
    entries = [
        SheetEntry(number=n, template=template, layout=reuse_layout(stored, template, values, registry),
                   values=values)
        for n, values, stored in rows
    ]  # fmt: skip
    render_proof_sheet(entries, sheet_path, title=title)
    png = pdf_to_png(Path(sheet_path).read_bytes(), 8.5, 11.0, preview_dpi)
    write_atomic(Path(preview_path), png)


def _render_sheet(entries: Sequence[SheetEntry], pdf_path: str | os.PathLike[str], title: str) -> int:
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=LETTER, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setCreator("CraftStage")
    font = _reportlab_font(_fallback_face()) or "Helvetica"
    if not entries:
        c.setFont(font, 12)
        c.drawString(_SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 12, f"{title}: no items")
        c.showPage()
        c.save()
        atomic_write(pdf_path, buf.getvalue())
        return 1
    item_w = max(e.template.width for e in entries) * PT_PER_IN
    item_h = max(e.template.height for e in entries) * PT_PER_IN
    captions = [_caption_lines(e) for e in entries]
    caption_h = 4 + _CAPTION_LEAD * max(len(cap) for cap in captions)
    cols, rows, scale = _grid(item_w, item_h, caption_h)
    per_page = cols * rows
    pages = math.ceil(len(entries) / per_page)
    avail_w = LETTER[0] - 2 * _SHEET_MARGIN
    cell_w = (avail_w - (cols - 1) * _SHEET_GAP) / cols
    cell_h = item_h * scale + caption_h + _SHEET_GAP
    for page in range(pages):
        c.setFont(font, 10)
        c.setFillColor(INK)
        c.drawString(_SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 10, title)
        c.drawRightString(
            LETTER[0] - _SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 10, f"page {page + 1} of {pages}"
        )
        for slot, index in enumerate(range(page * per_page, min(len(entries), (page + 1) * per_page))):
            entry, caption = entries[index], captions[index]
            col, row = slot % cols, slot // cols
            x0 = _SHEET_MARGIN + col * (cell_w + _SHEET_GAP)
            top = LETTER[1] - _SHEET_MARGIN - _HEADER - row * cell_h
            tw, th = entry.template.width * PT_PER_IN * scale, entry.template.height * PT_PER_IN * scale
            c.saveState()
            clip = c.beginPath()
            clip.rect(x0, top - th, tw, th)
            c.clipPath(clip, stroke=0, fill=0)  # overflowing text must not run over the neighbours
            c.translate(x0, top - th)
            c.scale(scale, scale)
            _draw_item(c, entry.template, entry.layout, show_boxes=False, hidden_text=False)
            c.restoreState()
            c.saveState()
            c.setStrokeColor(SHEET_GREY)
            c.setLineWidth(0.5)
            c.rect(x0, top - th, tw, th, stroke=1, fill=0)
            c.restoreState()
            y = top - th - 4 - _CAPTION_SIZE
            for text, warning in caption:
                c.setFillColor(OVERFLOW if warning else INK)
                c.setFont(font, _CAPTION_SIZE)
                c.drawString(x0, y, _fit_caption(text, font, cell_w))
                y -= _CAPTION_LEAD
        draw_watermark(c, LETTER[0], LETTER[1], "PROOF", SHEET_WATERMARK)
        c.showPage()
    c.save()
    atomic_write(pdf_path, buf.getvalue())
    return pages


# -- many items -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProofTask:
    """One item to proof. ``layout`` may be given (else it is computed with the worker's registry)."""

    item_id: Any
    template: Template
    values: Mapping[str, Any]
    pdf_path: str
    png_path: str
    input_hash: str = ""
    dpi: int = DEFAULT_DPI
    show_boxes: bool = False
    layout: ItemLayout | None = None


@dataclass(frozen=True)
class ProofResult:
    item_id: Any
    ok: bool
    pdf_path: str
    png_path: str
    input_hash: str
    layout: ItemLayout | None = None
    error: str | None = None
    seconds: float = 0.0


_WORKER_REGISTRY: FontRegistry | None = None


def _init_worker(registry: FontRegistry | None, app_pid: int | None = None) -> None:
    global _WORKER_REGISTRY
    _WORKER_REGISTRY = registry
    if app_pid is not None:
        threading.Thread(target=_exit_with, args=(app_pid,), name="watch-app", daemon=True).start()
    # Load the bundled fallback faces now, so the first item does not pay for them.
    reg = registry or default_registry()
    for weight in ("normal", "bold"):
        load_font(reg.resolve(LAST_RESORT_FAMILY, weight).font)  # type: ignore[arg-type]


def _exit_with(app_pid: int) -> None:
    """End this worker when the app that started it is gone. A worker waiting for work never notices
    on its own (it holds its queue's write end too), and it keeps the forkserver alive, so an app
    killed outright (SIGKILL, out of memory) would otherwise leave both behind for good."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(app_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # alive (another user's process cannot have taken the pid within a second)


def _render_task(task: ProofTask, registry: FontRegistry | None = None) -> ProofResult:
    started = time.perf_counter()
    reg = registry or _WORKER_REGISTRY or default_registry()
    try:
        values = {k: ("" if v is None else str(v)) for k, v in task.values.items()}
        layout = task.layout or layout_item(task.template, values, registry=reg)
        render_item_proof(
            task.template, layout, values, task.pdf_path, task.png_path, task.dpi, task.show_boxes
        )
        return ProofResult(task.item_id, True, task.pdf_path, task.png_path, task.input_hash, layout,
                           None, time.perf_counter() - started)  # fmt: skip
    except Exception as exc:  # one bad item must not sink the job; the error is reported per item
        return dataclasses.replace(
            _failed(task, f"{type(exc).__name__}: {exc}"), seconds=time.perf_counter() - started
        )


def _failed(task: ProofTask, error: str) -> ProofResult:
    return ProofResult(task.item_id, False, task.pdf_path, task.png_path, task.input_hash, None, error)


def _render_chunk(tasks: list[ProofTask], registry_state: bytes | None = None) -> list[ProofResult]:
    registry = _worker_registry(registry_state)
    return [_render_task(t, registry) for t in tasks]


_REGISTRIES: dict[bytes, FontRegistry] = {}  # per worker: the fonts of the workspaces it drew for


def _worker_registry(state: bytes | None) -> FontRegistry | None:
    """The registry a chunk was sent with, unpickled once per worker (its loaded faces stay cached)."""
    if state is None:
        return None
    registry = _REGISTRIES.get(state)
    if registry is None:
        if len(_REGISTRIES) >= 16:
            _REGISTRIES.clear()
        registry = _REGISTRIES[state] = pickle.loads(state)  # noqa: S301 - sent by our own app process
    return registry


@dataclass
class ProofPool:
    """A reusable pool of proof workers (each loads fonts once). Use as a context manager, or let
    ``generate_proofs`` make a temporary one. Workers start with forkserver, which is safe in a
    threaded app and, with this module preloaded, starts quickly."""

    workers: int = 2
    registry: FontRegistry | None = None
    _executor: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> ProofPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["pipeline.proofs.proofs"])
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(self.registry, os.getpid()),
            )
        return self._executor

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one picklable function call on a worker and wait for its result."""
        return self.start().submit(fn, *args).result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def generate(
        self,
        tasks: Sequence[ProofTask],
        progress: Callable[[int, int], None] | None = None,
        *,
        chunk_size: int | None = None,
        registry: FontRegistry | None = None,
    ) -> list[ProofResult]:
        """Render all tasks; results in task order; ``progress(done, total)`` after each finished chunk.
        ``registry``: the workspace's fonts for laying out tasks that come without a layout."""
        total = len(tasks)
        if total == 0:
            return []
        state = pickle.dumps(registry) if registry is not None else None
        size = chunk_size or max(1, min(8, total // (self.workers * 6)))  # "12 of 50" stays fine-grained
        chunks = [list(range(i, min(total, i + size))) for i in range(0, total, size)]
        executor = self.start()
        pending: dict[Future, list[int]] = {
            executor.submit(_render_chunk, [tasks[i] for i in idx], state): idx for idx in chunks
        }
        results: list[ProofResult | None] = [None] * total
        done = 0
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                idx = pending.pop(fut)
                try:
                    chunk = fut.result()
                except Exception as exc:  # a worker died (e.g. BrokenProcessPool): report, don't hang
                    chunk = [_failed(tasks[i], f"worker failed: {type(exc).__name__}: {exc}") for i in idx]
                    if isinstance(exc, BrokenProcessPool) and self._executor is executor:
                        executor.shutdown(wait=False, cancel_futures=True)
                        self._executor = None  # the next call starts a fresh pool
                for i, res in zip(idx, chunk, strict=True):
                    results[i] = res
                done += len(idx)
                if progress is not None:
                    progress(done, total)
        return results  # type: ignore[return-value]


INLINE_LIMIT = 2  # this many tasks or fewer render in the calling process: no pool to start


def generate_proofs(
    tasks: Sequence[ProofTask],
    progress: Callable[[int, int], None] | None = None,
    workers: int = 2,
    *,
    registry: FontRegistry | None = None,
    pool: ProofPool | None = None,
    chunk_size: int | None = None,
) -> list[ProofResult]:
    """Render proofs for many items on ``workers`` processes; results are in task order.

    ``progress(done, total)`` is called in the calling thread as items finish. A failed item gives
    a result with ``ok=False`` and the error; the others still render. With ``pool`` the workers of
    a long-lived ProofPool are reused; a few tasks (<= INLINE_LIMIT) or ``workers <= 1`` run inline.
    """
    total = len(tasks)
    if pool is None and (total <= INLINE_LIMIT or workers <= 1):
        results = []
        for i, task in enumerate(tasks):
            results.append(_render_task(task, registry))
            if progress is not None:
                progress(i + 1, total)
        return results
    if pool is not None:
        return pool.generate(tasks, progress, chunk_size=chunk_size, registry=registry)
    with ProofPool(workers=workers, registry=registry) as temporary:
        return temporary.generate(tasks, progress, chunk_size=chunk_size)
