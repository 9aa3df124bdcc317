"""The job proof sheet: every item of a job on Letter pages, each at its true scale or smaller with
its number and values as a caption, for a shop that prints or emails one document.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas as rl_canvas

from pipeline.core.files import write_atomic
from pipeline.core.units import PT_PER_IN
from pipeline.proofs.draw import (
    INK,
    OVERFLOW,
    SHEET_GREY,
    SHEET_WATERMARK,
    draw_item,
    draw_watermark,
    fallback_face,
    reportlab_font,
)
from pipeline.proofs.item import atomic_write, pdf_to_png, worker_registry
from pipeline.rendering.copyfit import Copyfit, holds_group_sizes, measure
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.rendering.pdfstreams import binary_streams
from pipeline.rendering.run import normalize_text
from pipeline.templates.fonts import FontRegistry, default_registry
from pipeline.templates.template import Template

LETTER = (612.0, 792.0)


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

_NOTE_LEAD = 9.5  # the header's notes (what the copyfit groups did), one line each under the title


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


def _wrap(text: str, font: str, width: float) -> list[str]:
    """A note broken at spaces into lines of the page's width (a word wider than that is cut)."""
    lines: list[str] = []
    for word in text.split(" "):
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and pdfmetrics.stringWidth(joined, font, _CAPTION_SIZE) <= width:
            lines[-1] = joined
        else:
            lines.append(_fit_caption(word, font, width))
    return lines


def _grid(item_w: float, item_h: float, caption_h: float, header: float = _HEADER) -> tuple[int, int, float]:
    """(columns, rows, scale) for a letter page: the most items per page at a scale of at least 0.5
    (never enlarged), the larger scale on a tie."""
    avail_w = LETTER[0] - 2 * _SHEET_MARGIN
    avail_h = LETTER[1] - 2 * _SHEET_MARGIN - header
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
    entries: Sequence[SheetEntry],
    pdf_path: str | os.PathLike[str],
    *,
    title: str = "Proof sheet",
    notes: Sequence[str] = (),
) -> int:
    """Write the job proof sheet: items scaled to fit several per letter page, each with its number,
    values and warnings beneath, and ``notes`` (what the copyfit groups did) under the title of every
    page. Returns the number of pages."""
    with binary_streams():
        return _render_sheet(entries, pdf_path, title, notes)


def reuse_layout(
    stored: dict[str, Any] | None,
    template: Template,
    values: dict[str, str],
    registry: FontRegistry,
    groups: Mapping[str, float] | None = None,
) -> ItemLayout:
    """`stored` (an item's saved layout) when it was made from these values, this template and these
    copyfit group sizes, else a fresh layout."""
    if stored and stored.get("template_hash") == template.content_hash:
        try:
            texts = {f["key"]: f["text"] for f in stored.get("fields", [])}
            if texts == {k: normalize_text(v) for k, v in values.items()}:
                layout = ItemLayout.from_dict(stored)
                if holds_group_sizes(layout, template, groups or {}):
                    return layout
        except (KeyError, TypeError, ValueError):  # an unreadable stored layout: lay the item out again
            pass
    return layout_item(template, values, registry=registry, groups=groups)


def measure_rows(template: Template, rows: list[dict[str, str]], registry_state: bytes) -> Copyfit:
    """A job's copyfit groups measured in a proof worker (plain data in and out)."""
    return measure(template, rows, worker_registry(registry_state) or default_registry())


def draw_proof_sheet(
    rows: Sequence[tuple[int, dict[str, str], dict[str, Any] | None]],
    template: Template,
    registry_state: bytes,
    sheet_path: str,
    preview_path: str,
    title: str,
    preview_dpi: int,
    groups: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
) -> None:
    """The proof sheet of (number, values, stored layout) rows and a PNG preview of its first page
    (runs in a proof worker for big jobs, so it takes plain data); ``groups``: the job's copyfit
    group sizes, ``notes``: what they did."""
    registry = worker_registry(registry_state) or default_registry()
    entries = [
        SheetEntry(number=n, template=template,
                   layout=reuse_layout(stored, template, values, registry, groups), values=values)
        for n, values, stored in rows
    ]  # fmt: skip
    render_proof_sheet(entries, sheet_path, title=title, notes=notes)
    png = pdf_to_png(Path(sheet_path).read_bytes(), 8.5, 11.0, preview_dpi)
    write_atomic(Path(preview_path), png)


def _render_sheet(
    entries: Sequence[SheetEntry], pdf_path: str | os.PathLike[str], title: str, notes: Sequence[str]
) -> int:
    buf = io.BytesIO()
    c = rl_canvas.Canvas(buf, pagesize=LETTER, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setCreator("CraftStage")
    font = reportlab_font(fallback_face()) or "Helvetica"
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
    avail_w = LETTER[0] - 2 * _SHEET_MARGIN
    note_lines = [line for note in notes for line in _wrap(note, font, avail_w)]
    header = _HEADER + _NOTE_LEAD * len(note_lines)
    cols, rows, scale = _grid(item_w, item_h, caption_h, header)
    per_page = cols * rows
    pages = math.ceil(len(entries) / per_page)
    cell_w = (avail_w - (cols - 1) * _SHEET_GAP) / cols
    cell_h = item_h * scale + caption_h + _SHEET_GAP
    for page in range(pages):
        c.setFont(font, 10)
        c.setFillColor(INK)
        c.drawString(_SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 10, title)
        c.drawRightString(
            LETTER[0] - _SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 10, f"page {page + 1} of {pages}"
        )
        c.setFont(font, _CAPTION_SIZE)
        for k, line in enumerate(note_lines):
            c.drawString(_SHEET_MARGIN, LETTER[1] - _SHEET_MARGIN - 10 - _NOTE_LEAD * (k + 1), line)
        for slot, index in enumerate(range(page * per_page, min(len(entries), (page + 1) * per_page))):
            entry, caption = entries[index], captions[index]
            col, row = slot % cols, slot // cols
            x0 = _SHEET_MARGIN + col * (cell_w + _SHEET_GAP)
            top = LETTER[1] - _SHEET_MARGIN - header - row * cell_h
            tw, th = entry.template.width * PT_PER_IN * scale, entry.template.height * PT_PER_IN * scale
            c.saveState()
            clip = c.beginPath()
            clip.rect(x0, top - th, tw, th)
            c.clipPath(clip, stroke=0, fill=0)  # overflowing text must not run over the neighbours
            c.translate(x0, top - th)
            c.scale(scale, scale)
            draw_item(c, entry.template, entry.layout, show_boxes=False, hidden_text=False)
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
