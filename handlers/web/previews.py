"""Sharp proof previews for high-density phone screens.

A proof's PNG is drawn at the proof renderer's resolution (150 dpi: a 2.5 in trophy plate is 375 px),
which a phone with a device pixel ratio of 3 shows stretched 2.5x. The page therefore offers wider
renderings in `srcset`: the proof's own PDF rasterized again by the same renderer (`pdf_to_png`,
watermark and plate edge included, since they are part of the PDF) at `SHARP_WIDTHS` pixels, and the
browser picks the one its screen needs. Each is drawn once, on the first request for it, and kept
beside the proof (`item-<id>-v<n>.w1200.png`); a proof version never changes, so neither do these.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pipeline.approval.page import png_dimensions
from pipeline.core.files import write_atomic
from pipeline.proofs.inputs import DEFAULT_DPI
from pipeline.proofs.item import pdf_to_png

# 1200: 3x the widest the phone page shows a proof (about 310 CSS px on a 390 px screen) and about 2x
# the desktop column (550 CSS px); 750: enough for 2x phones and 1x desktops, at less than half the bytes.
SHARP_WIDTHS = (750, 1200)
SHARP_WIDTH = SHARP_WIDTHS[-1]
_DRAWING = threading.Lock()  # one drawing at a time; a second request for the same file then finds it


def sharp_path(png: Path, width: int = SHARP_WIDTH) -> Path:
    return png.with_name(f"{png.stem}.w{width}.png")


def sharp_sizes(png: Path, png_size: tuple[int, int] | None) -> list[tuple[int, int]]:
    """The pixel sizes of the proof's sharp previews: none when it has no PDF, only those wider than
    its PNG."""
    if png_size is None or png_size[0] >= SHARP_WIDTH or not png.with_suffix(".pdf").is_file():
        return []
    width, height = png_size
    return [(w, round(height * w / width)) for w in SHARP_WIDTHS if w > width]


def sharp_size(png: Path, png_size: tuple[int, int] | None) -> tuple[int, int] | None:
    """The widest sharp preview's pixel size, or None (see `sharp_sizes`)."""
    sizes = sharp_sizes(png, png_size)
    return sizes[-1] if sizes else None


def sharp_preview(png: Path, width: int = SHARP_WIDTH) -> Path | None:
    """The sharp preview `width` pixels wide of the proof whose PNG is `png`, drawn now if it is not
    there yet; None when the proof has none of that width."""
    out = sharp_path(png, width)
    if out.is_file():
        return out
    size = png_dimensions(str(png))
    pdf = png.with_suffix(".pdf")
    if size is None or width not in [w for w, _ in sharp_sizes(png, size)]:
        return None
    with _DRAWING:
        if out.is_file():
            return out
        # the PNG is png_size(inches, DEFAULT_DPI): its width gives the plate's size in inches
        width_in, height_in = size[0] / DEFAULT_DPI, size[1] / DEFAULT_DPI
        dpi = max(DEFAULT_DPI, round(width / width_in))
        try:
            data = pdf_to_png(pdf.read_bytes(), width_in, height_in, dpi)
        except Exception:  # a damaged PDF: the page keeps the proof's own PNG
            return None
        write_atomic(out, data, durable=False)
    return out
