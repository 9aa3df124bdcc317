"""Sharp proof previews for high-density phone screens.

A proof's PNG is drawn at the proof renderer's resolution (150 dpi: a 2.5 in trophy plate is 375 px),
which a phone with a device pixel ratio of 3 shows stretched 2.5x. The page therefore offers a second,
wide rendering in `srcset`: the proof's own PDF rasterized again by the same renderer (`pdf_to_png`,
watermark and plate edge included, since they are part of the PDF) at `SHARP_WIDTH` pixels. It is drawn
once, on the first request, and kept beside the proof (`item-<id>-v<n>.w1200.png`); a proof version
never changes, so neither does its sharp preview.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pipeline.approvals import png_dimensions
from pipeline.files import write_atomic
from pipeline.proofs import DEFAULT_DPI, pdf_to_png

# 3x the widest the phone page shows a proof (about 310 CSS px on a 390 px screen) and about 2x the
# desktop column (550 CSS px): sharp on a 3x phone and a 2x laptop.
SHARP_WIDTH = 1200
_DRAWING = threading.Lock()  # one drawing at a time; a second request for the same file then finds it


def sharp_path(png: Path) -> Path:
    return png.with_name(f"{png.stem}.w{SHARP_WIDTH}.png")


def sharp_size(png: Path, png_size: tuple[int, int] | None) -> tuple[int, int] | None:
    """The sharp preview's pixel size, or None when the proof has no PDF or its PNG is wide enough."""
    if png_size is None or png_size[0] >= SHARP_WIDTH or not png.with_suffix(".pdf").is_file():
        return None
    width, height = png_size
    return SHARP_WIDTH, round(height * SHARP_WIDTH / width)


def sharp_preview(png: Path) -> Path | None:
    """The sharp preview of the proof whose PNG is `png`, drawn now if it is not there yet."""
    out = sharp_path(png)
    if out.is_file():
        return out
    size = png_dimensions(str(png))
    pdf = png.with_suffix(".pdf")
    if size is None or sharp_size(png, size) is None:
        return None
    with _DRAWING:
        if out.is_file():
            return out
        # the PNG is png_size(inches, DEFAULT_DPI): its width gives the plate's size in inches
        width_in, height_in = size[0] / DEFAULT_DPI, size[1] / DEFAULT_DPI
        dpi = max(DEFAULT_DPI, round(SHARP_WIDTH / width_in))
        try:
            data = pdf_to_png(pdf.read_bytes(), width_in, height_in, dpi)
        except Exception:  # a damaged PDF: the page keeps the proof's own PNG
            return None
        write_atomic(out, data, durable=False)
    return out
