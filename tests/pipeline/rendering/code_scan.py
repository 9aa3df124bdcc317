"""Reading codes back from what CraftStage draws, with an independent decoder (zxing-cpp).

Vector drawings are rasterised the way a shop would look at them: PDFs with pdfium, SVGs through
svglib into a PDF first, bare outlines through a one-page PDF."""

from __future__ import annotations

import io

import pathops
import pypdfium2 as pdfium
import zxingcpp
from fontTools.pens.recordingPen import RecordingPen
from PIL import Image, ImageOps
from reportlab.pdfgen import canvas

from pipeline.core.units import PT_PER_MM


def pdf_images(pdf: bytes, dpi: int = 600) -> list[Image.Image]:
    """Every page of a PDF rendered at ``dpi``, greyscale."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def svg_image(svg: bytes, dpi: int = 600) -> Image.Image:
    """An SVG document rendered at ``dpi`` (svglib to PDF, then pdfium)."""
    from reportlab.graphics import renderPDF
    from svglib.svglib import svg2rlg

    drawing = svg2rlg(io.BytesIO(svg))
    assert drawing is not None
    return pdf_images(renderPDF.drawToString(drawing), dpi)[0]


def path_image(path: pathops.Path, width_mm: float, height_mm: float, dpi: int = 600) -> Image.Image:
    """An outline (mm, y down) filled black on a white page of the given size."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width_mm * PT_PER_MM, height_mm * PT_PER_MM))
    pen = RecordingPen()
    path.draw(pen)
    p = c.beginPath()
    for verb, pts in pen.value:
        if verb == "moveTo":
            p.moveTo(pts[0][0] * PT_PER_MM, (height_mm - pts[0][1]) * PT_PER_MM)
        elif verb == "lineTo":
            p.lineTo(pts[0][0] * PT_PER_MM, (height_mm - pts[0][1]) * PT_PER_MM)
        elif verb == "closePath":
            p.close()
        else:
            raise AssertionError(f"a code outline has only straight edges, not {verb}")
    c.drawPath(p, stroke=0, fill=1, fillMode=1)
    c.showPage()
    c.save()
    return pdf_images(buf.getvalue(), dpi)[0]


def read_codes(image: Image.Image, *, engraved_light: bool = False) -> list[tuple[str, str]]:
    """(format, text) of every code zxing-cpp finds. ``engraved_light``: what is drawn black comes
    out light on the material (codes engraved inverted for dark materials), so the image is
    inverted first, the way a scanner sees the item."""
    img = ImageOps.invert(image.convert("L")) if engraved_light else image
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))
