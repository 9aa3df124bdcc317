"""Draw docs/copyfit-group.png: the top of a proof sheet of six trophy plates whose names share one
size (the sample's `group = "names"`), with the sentence the sheet prints under its title.

    .venv/bin/python scripts/copyfit_group_picture.py

The sheet is drawn by the same code that makes every proof sheet (pipeline/proofs/sheet.py), the
group measured as a proof run measures it (pipeline/rendering/copyfit.py); the picture is the sheet's
first rows at 150 dpi, in 64 colours.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.proofs.item import pdf_to_png  # noqa: E402
from pipeline.proofs.sheet import SheetEntry, render_proof_sheet  # noqa: E402
from pipeline.rendering.copyfit import measure  # noqa: E402
from pipeline.rendering.layout import layout_item  # noqa: E402
from pipeline.templates.template import sample_templates  # noqa: E402

OUT = ROOT / "docs" / "copyfit-group.png"
NAMES = [
    "Ann Lee",
    "Dr. Alexander Pemberton-Hughes Jr.",
    "Bo Chen",
    "Maria Gonzalez-Smith",
    "Zoë Müller",
    "Li Wei",
]
DPI = 150


def main() -> int:
    template = sample_templates()["trophy-plate"]
    rows = [{"name": n, "achievement": "League Champion", "year": "2026"} for n in NAMES]
    copyfit = measure(template, rows)
    entries = [
        SheetEntry(i + 1, template, layout_item(template, values, groups=copyfit.sizes), values)
        for i, values in enumerate(rows)
    ]
    notes = [m[:1].upper() + m[1:] for m in copyfit.messages()]
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "sheet.pdf"
        title = "J-1042 · Lakeside Bowling League · proof sheet"
        render_proof_sheet(entries, sheet, title=title, notes=notes)
        page = Image.open(io.BytesIO(pdf_to_png(sheet.read_bytes(), 8.5, 11.0, DPI))).convert("RGB")
    ink = ImageOps.invert(page.convert("L")).point(lambda v: 255 if v > 40 else 0)
    left, top, right, _ = ink.getbbox() or (0, 0, page.width, page.height)
    rows_end = _last_plate_row(page)
    margin = 12
    picture = page.crop((left - margin, top - margin, right + margin, rows_end + margin))
    picture.quantize(64).save(OUT, optimize=True)
    print(OUT, picture.size, f"{OUT.stat().st_size / 1024:.0f} KiB")
    return 0


def _last_plate_row(page: Image.Image) -> int:
    """The bottom of the last caption: the lowest row with dark (text) pixels."""
    dark = np.asarray(page.convert("L")) < 100
    return int(np.flatnonzero(dark.any(axis=1))[-1])


if __name__ == "__main__":
    raise SystemExit(main())
