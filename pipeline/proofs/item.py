"""An item's proof files: a true-size one-page PDF, and its PNG preview rendered by pdfium (its pixel
size is round(inches x dpi)); both written atomically.
A worker draws with the font registry its chunk was sent with (`worker_registry`).
"""

from __future__ import annotations

import io
import os
import pickle
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from PIL import Image
from reportlab.pdfgen import canvas as rl_canvas

from pipeline.core.files import write_atomic
from pipeline.core.units import PT_PER_IN
from pipeline.proofs.draw import draw_item, draw_watermark
from pipeline.proofs.inputs import DEFAULT_DPI
from pipeline.rendering.model import ItemLayout
from pipeline.rendering.pdfstreams import binary_streams
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Template


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
        draw_item(c, template, item_layout, show_boxes=show_boxes, hidden_text=True)
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


_REGISTRIES: dict[bytes, FontRegistry] = {}  # per worker: the fonts of the workspaces it drew for


def worker_registry(state: bytes | None) -> FontRegistry | None:
    """The registry a chunk was sent with, unpickled once per worker (its loaded faces stay cached)."""
    if state is None:
        return None
    registry = _REGISTRIES.get(state)
    if registry is None:
        if len(_REGISTRIES) >= 16:
            _REGISTRIES.clear()
        registry = _REGISTRIES[state] = pickle.loads(state)  # noqa: S301 - sent by our own app process
    return registry
