"""Draw docs/pet-tag-proof.png: the proof of one pet tag from the pet-tag sample, as the customer sees it.

    .venv/bin/python scripts/pet_tag_proof.py

The proof is drawn by the same code that makes every proof (pipeline/proofs.py), at 200 dpi.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.proofs.item import pdf_to_png, render_item_pdf  # noqa: E402
from pipeline.rendering.layout import layout_item  # noqa: E402
from pipeline.templates.template import sample_templates  # noqa: E402

OUT = ROOT / "docs" / "pet-tag-proof.png"
VALUES = {"name": "Biscuit", "phone": "(555) 014-2233", "link": "https://pets.example/t/BSC-0142"}


def main() -> int:
    template = sample_templates()["pet-tag"]
    pdf = render_item_pdf(template, layout_item(template, VALUES), VALUES)
    OUT.write_bytes(pdf_to_png(pdf, template.width, template.height, dpi=200))
    print(OUT)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
