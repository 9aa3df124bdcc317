"""PDF text mode engraves what curves mode engraves: checked line by line by rendering both files.

Every sample template is exported with hard text (kerning pairs, ligatures, Vietnamese horns, Å, a
glyph only the fallback font has, Armenian before Latin, two-line wraps) in PDF curves mode and PDF
text mode. PDFium (pypdfium2) renders each line's band of both files at 2400 dpi; the ink's left
edge and width must agree within 0.05 mm and the ink area within 2 %. pdfplumber reads the text
mode file's characters back: every glyph of the layout is a character, and each line's text is the
line's own text (so nothing is dropped, and copying the text still works).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pytest

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.export import pdf as pdf_writer
from pipeline.rendering.model import FieldLayout, ItemLayout
from storage.db import Database
from tests.pipeline.export.export_helpers import MM_PER_PT, item_layouts, seed_job
from tests.pipeline.export.test_export import make_profile, manifest_of, run_export
from tests.pipeline.export.test_export_regions import TEMPLATES, hard_values

DPI = 2400
WIDTH_TOLERANCE = 0.05  # mm
EXTRA = ["Արամ ★ Åsa", "AVATAR Wolf Tomás", "office fit"]


def values_for(template_key: str) -> list[dict[str, str]]:
    values = hard_values(template_key)
    first = TEMPLATES[template_key][0]
    return values + [{**values[0], first: text} for text in EXTRA]


def line_bands(
    layout: ItemLayout, entry: dict[str, Any]
) -> list[tuple[str, tuple[float, float, float, float]]]:
    """(line text, band in page mm: x0, y0, x1, y1 with y down) of every line of an item."""
    out = []
    for fl in layout.fields:
        bx, _by, bw, _bh = fl.box
        for line in fl.lines:
            x0 = entry["x_mm"] + (min(bx, line.x) - 2) * MM_PER_PT
            x1 = entry["x_mm"] + (max(bx + bw, line.x + line.width) + 2) * MM_PER_PT
            y0 = entry["y_mm"] + line.ink_top * MM_PER_PT - 0.2
            y1 = entry["y_mm"] + line.ink_bottom * MM_PER_PT + 0.2
            out.append((line.text, (x0, y0, x1, y1)))
    return out


def ink(page: pdfium.PdfPage, band: tuple[float, float, float, float]) -> tuple[float, float, int] | None:
    """(left edge mm, width mm, dark pixels) of the ink inside a band of a rendered page."""
    x0, y0, x1, y1 = band
    w_mm, h_mm = page.get_size()[0] * MM_PER_PT, page.get_size()[1] * MM_PER_PT
    scale = DPI / 72
    crop = (x0 / MM_PER_PT, (h_mm - y1) / MM_PER_PT, (w_mm - x1) / MM_PER_PT, y0 / MM_PER_PT)
    bitmap = page.render(scale=scale, crop=crop, grayscale=True)
    pixels = bitmap.to_numpy()
    dark = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)[:, :, 0] < 128
    columns = np.flatnonzero(dark.any(axis=0))
    if not len(columns):
        return None
    px = 25.4 / DPI
    return x0 + columns[0] * px, (columns[-1] - columns[0] + 1) * px, int(dark.sum())


def compare(
    text_pdf: Path, curves_pdf: Path, layouts: list[ItemLayout], entries: list[dict[str, Any]]
) -> list[str]:
    """Every line whose text-mode ink differs from its curves-mode ink, described."""
    problems = []
    text_doc, curves_doc = pdfium.PdfDocument(text_pdf), pdfium.PdfDocument(curves_pdf)
    try:
        for entry in entries:
            layout = layouts[entry["number"] - 1]
            t_page, c_page = text_doc[0], curves_doc[0]  # one page per sheet file
            for text, band in line_bands(layout, entry):
                t, c = ink(t_page, band), ink(c_page, band)
                assert c is not None, text
                if t is None:
                    problems.append(f"{text!r}: no ink in text mode")
                    continue
                if abs(t[0] - c[0]) > WIDTH_TOLERANCE or abs(t[1] - c[1]) > WIDTH_TOLERANCE:
                    problems.append(
                        f"{text!r}: text {t[0]:.3f}+{t[1]:.3f} mm, curves {c[0]:.3f}+{c[1]:.3f} mm"
                    )
                elif abs(t[2] - c[2]) > 0.02 * c[2]:
                    problems.append(f"{text!r}: ink {t[2]} px in text mode, {c[2]} px in curves mode")
    finally:
        text_doc.close()
        curves_doc.close()
    return problems


def export_both(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, template_key: str
) -> tuple[Any, Any, list[ItemLayout], dict[str, Any]]:
    make_profile(
        db, ws_id, owner, bed_width=600, bed_height=700, output_format="pdf", include_artwork=False,
        cut_outline=False,
    )  # fmt: skip
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=values_for(template_key), template_key=template_key,
        approve_all="link",
    )  # fmt: skip
    curves = run_export(db, ws_id, job_id, owner, files_dir, text_mode="curves")
    text = run_export(db, ws_id, job_id, owner, files_dir, text_mode="text")
    layouts = [ItemLayout.from_dict(d) for d in item_layouts(db, job_id)]
    return text, curves, layouts, manifest_of(text)


@pytest.mark.parametrize("template_key", sorted(TEMPLATES))
def test_text_mode_renders_every_line_like_curves_mode(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, template_key: str
) -> None:
    text, curves, layouts, m = export_both(db, ws_id, owner, tmp_path / "files", template_key)
    assert text.text_mode == "text" and curves.text_mode == "curves"
    problems = []
    for sheet in range(1, text.sheets + 1):
        on_sheet = [e for e in m["items"] if e["sheet"] == sheet]
        problems += compare(text.files[sheet - 1], curves.files[sheet - 1], layouts, on_sheet)
    assert not problems, problems

    # every glyph is a character of the page, and each line reads back as its own text
    for sheet in range(1, text.sheets + 1):
        with pdfplumber.open(text.files[sheet - 1]) as doc:
            chars = doc.pages[0].chars
            on_sheet = [layouts[e["number"] - 1] for e in m["items"] if e["sheet"] == sheet]
            glyphs = sum(len(line.columns[1]) for lay in on_sheet for fl in lay.fields for line in fl.lines)
            assert len(chars) == glyphs
            extracted = doc.pages[0].extract_text()
            for lay in on_sheet:
                for fl in lay.fields:
                    for line in fl.lines:
                        if fl.direction == "ltr":
                            assert line.text in extracted

    # the manifest names every face the glyphs use, the fallback included
    files = {f["file"] for f in m["fonts_needed"]}
    used = {
        Path(fl.fonts[i].path).name
        for lay in layouts
        for fl in lay.fields
        for ln in fl.lines
        for i in ln.columns[0]
    }
    own = {Path(fl.font.path).name for lay in layouts for fl in lay.fields if fl.lines}
    assert files == used
    assert all(f["fallback"] == (f["file"] not in own) for f in m["fonts_needed"])
    if template_key == "trophy-plate":  # Liberation Serif lacks ✓, ★ and Armenian: DejaVu draws them
        assert any(f["fallback"] and f["file"].startswith("DejaVuSans") for f in m["fonts_needed"])


def _without_fallback_glyphs(fl: FieldLayout) -> FieldLayout:
    lines = []
    for line in fl.lines:
        keep = [k for k, font in enumerate(line.columns[0]) if font == 0]
        lines.append(
            dataclasses.replace(line, columns=tuple(tuple(col[k] for k in keep) for col in line.columns))
        )
    return dataclasses.replace(fl, lines=tuple(lines))


def test_the_comparison_catches_a_dropped_glyph(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old text mode dropped glyphs only a fallback face has ("Champion ✓" lost its ✓)."""
    real = pdf_writer.field_text_ops
    monkeypatch.setattr(
        pdf_writer,
        "field_text_ops",
        lambda fonts, fl, ox, top: real(fonts, _without_fallback_glyphs(fl), ox, top),
    )
    text, curves, layouts, m = export_both(db, ws_id, owner, tmp_path / "files", "trophy-plate")
    problems = compare(text.files[0], curves.files[0], layouts, [e for e in m["items"] if e["sheet"] == 1])
    assert any("Champion ✓" in p for p in problems) and any("Արամ ★ Åsa" in p for p in problems)
    assert not any("AVATAR Wolf Tomás" in p for p in problems)


def test_text_mode_refuses_a_face_it_cannot_embed(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.export import pdf_text

    real = pdf_text._face_info

    def cff(path: str, sha256: str) -> Any:
        """Liberation Serif read as if it had CFF outlines (no CFF font ships with the app)."""
        return dataclasses.replace(real(path, sha256), truetype="LiberationSerif" not in path)

    monkeypatch.setattr(pdf_text, "_face_info", cff)
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, output_format="pdf", text_mode="text")
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=[{"name": "Ana", "achievement": "Win", "year": "2024"}],
        template_key="trophy-plate", approve_all="link",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        run_export(db, ws_id, job_id, owner, files_dir)
    message = err.value.errors["text_mode"]
    assert "item 1, line 'Ana'" in message and "(CFF) outlines" in message and "curves mode" in message
