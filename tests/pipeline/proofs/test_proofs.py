"""Proofs are checked as files: PDF page size and text positions (pdfplumber), PNG size (Pillow)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image

from pipeline.proofs.draw import ProofError
from pipeline.proofs.inputs import proof_input_hash, task_input_hash, template_font_hashes
from pipeline.proofs.item import png_size, render_item_pdf, render_item_proof
from pipeline.proofs.pool import ProofPool, ProofTask, generate_proofs
from pipeline.proofs.sheet import SheetEntry, render_proof_sheet
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.templates.template import Template, sample_templates
from tests.pipeline.conftest_layout import bundled_registry, field, template_with

REG = bundled_registry()
SAMPLES = sample_templates()
PEOPLE = ["Zoë Müller", "Seán O'Connor", "Анна Ковальская", "Αλέξανδρος Παπαδόπουλος"]


def proof(
    tmp_path: Path, template: Template, values: dict[str, str], **kw: object
) -> tuple[Path, Path, ItemLayout]:
    layout = layout_item(template, values, registry=REG)
    pdf, png = tmp_path / "p.pdf", tmp_path / "p.png"
    render_item_proof(template, layout, values, pdf, png, **kw)
    return pdf, png, layout


def words_in_boxes(pdf: Path, layout: ItemLayout) -> dict[str, list[str]]:
    """Extracted words grouped by the field box they fall in (asserting each falls in one)."""
    found: dict[str, list[str]] = {f.key: [] for f in layout.fields}
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        assert (page.width, page.height) == (layout.width, layout.height)
        for w in page.extract_words():
            mid_y = (w["top"] + w["bottom"]) / 2
            owners = [
                f.key for f in layout.fields
                if f.box[0] - 0.5 <= w["x0"] and w["x1"] <= f.box[0] + f.box[2] + 0.5
                and f.box[1] <= mid_y <= f.box[1] + f.box[3]
            ]  # fmt: skip
            assert len(owners) == 1, (w["text"], w["x0"], w["x1"], mid_y, [f.box for f in layout.fields])
            found[owners[0]].append(w["text"])
    return found


@pytest.mark.parametrize("name", PEOPLE)
def test_badge_proof_is_true_size_and_its_text_sits_in_the_boxes(tmp_path: Path, name: str) -> None:
    pdf, png, layout = proof(tmp_path, SAMPLES["badge"], {"name": name, "title": "Head of Operations"})
    found = words_in_boxes(pdf, layout)
    assert " ".join(found["name"]) == name
    assert " ".join(found["title"]) == "Head of Operations"
    with pdfplumber.open(pdf) as doc:
        text = doc.pages[0].extract_text()
    assert name in " ".join(text.split()) and "PROOF" not in text  # the watermark is outlines, not text
    with Image.open(png) as im:
        assert im.size == (450, 150) and im.mode == "RGB"


def test_plaque_words_stay_in_their_fields(tmp_path: Path) -> None:
    values = {
        "title": "Employee of the Year 2024 — Outstanding Service Award",
        "recipient": "Seán O'Connor",
        "citation": "In recognition of twenty-five years of dedicated service, unwavering commitment to "
        "excellence and the countless colleagues mentored along the way.",
        "date": "June 14, 2024",
    }
    pdf, png, layout = proof(tmp_path, SAMPLES["plaque"], values, dpi=72)
    assert not layout.overflowed and len(layout.field("citation").lines) > 2
    found = words_in_boxes(pdf, layout)
    for key, value in values.items():
        assert " ".join(found[key]) == value
    with Image.open(png) as im:
        assert im.size == (576, 720)


@pytest.mark.parametrize(("dpi", "size"), [(150, (375, 113)), (300, (750, 225)), (96, (240, 72))])
def test_png_size_is_inches_times_dpi(tmp_path: Path, dpi: int, size: tuple[int, int]) -> None:
    values = {"name": "Анна Ковальская", "achievement": "Regional Champion", "year": "2024"}
    _pdf, png, _layout = proof(tmp_path, SAMPLES["trophy-plate"], values, dpi=dpi)
    assert png_size(2.5, 0.75, dpi) == size
    with Image.open(png) as im:
        assert im.size == size


def test_png_shows_the_ink_where_the_layout_put_it(tmp_path: Path) -> None:
    _pdf, png, layout = proof(tmp_path, SAMPLES["badge"], {"name": "Zoë Müller", "title": ""}, dpi=144)
    line = layout.field("name").lines[0]
    with Image.open(png) as im:
        gray = im.convert("L")
        k = 144 / 72
        inside = gray.crop((int(line.x * k), int(line.ink_top * k), int((line.x + line.width) * k),
                            int(line.ink_bottom * k)))  # fmt: skip
        assert inside.histogram()[0:40] != [0] * 40  # black ink is there
        band = gray.crop((int(30 * k), int(47 * k), int(180 * k), int(66 * k)))  # the empty title field
        assert band.getextrema()[0] > 80  # only the pale watermark and artwork lines, no text


def test_pdf_bytes_are_deterministic_and_small(tmp_path: Path) -> None:
    values = {"name": "Zoë Müller", "title": "Volunteer"}
    layout = layout_item(SAMPLES["badge"], values, registry=REG)
    a = render_item_pdf(SAMPLES["badge"], layout, values)
    b = render_item_pdf(SAMPLES["badge"], layout, values)
    assert a == b and len(a) < 20_000


def outlined_rects(pdf: Path) -> list[dict]:
    """Field boxes: outlined rectangles other than the plate's edge (filled ones are glyph parts,
    the dots of ë)."""
    with pdfplumber.open(pdf) as doc:
        return [
            r for r in doc.pages[0].rects
            if r["stroke"] and not r["fill"] and tuple(r["stroking_color"]) != (0.45, 0.45, 0.45)
        ]  # fmt: skip


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_every_proof_shows_the_plate_edge(tmp_path: Path, key: str) -> None:
    """With or without artwork (the trophy plate has none), the plate's edge is on the proof, in the
    PDF and in the PNG."""
    t = SAMPLES[key]
    values = {f.key: "Åsa" for f in t.fields}
    pdf, png, layout = proof(tmp_path, t, values, dpi=144)
    with pdfplumber.open(pdf) as doc:
        page = doc.pages[0]
        edges = [r for r in page.rects if r["stroke"] and tuple(r["stroking_color"]) == (0.45, 0.45, 0.45)]
        assert len(edges) == 1
        (edge,) = edges
        line = edge["linewidth"]
        assert (edge["x0"], edge["top"]) == pytest.approx((line / 2, line / 2))
        assert (edge["x1"], edge["bottom"]) == pytest.approx((page.width - line / 2, page.height - line / 2))
    with Image.open(png) as im:
        gray = im.convert("L")
        w, h = gray.size
        for x, y in ((w // 2, 0), (w // 2, h - 1), (0, h // 2), (w - 1, h // 2)):  # the middle of each side
            assert gray.getpixel((x, y)) < 200, (key, x, y)


def test_proof_glyphs_are_drawn_at_the_layout_scale(tmp_path: Path) -> None:
    """Each glyph's drawn width is its outline's width times size / units per em, to 0.001 pt, even
    at 7 pt (a scale rounded to 4 decimals is up to 0.8 % off there)."""
    from fontTools.pens.boundsPen import BoundsPen

    from pipeline.rendering.glyphs import glyph_placements
    from pipeline.templates.font_faces import load_font

    t = SAMPLES["badge"]
    pdf, _png, layout = proof(tmp_path, t, {"name": "Mmmm", "title": "W" * 30 + " " + "M" * 30})
    fl = layout.field("title")
    assert fl.size <= 8
    expected = []
    for p in glyph_placements(fl):
        pen = BoundsPen(None)
        load_font(p.font_path).tt.getGlyphSet()[load_font(p.font_path).glyph_name(p.gid)].draw(pen)
        if pen.bounds is not None:  # the space draws nothing
            expected.append((pen.bounds[2] - pen.bounds[0]) * p.size / p.units_per_em)
    with pdfplumber.open(pdf) as doc:
        top, bottom = fl.box[1], fl.box[1] + fl.box[3]
        drawn = sorted(
            (c for c in doc.pages[0].curves if c["fill"] and top <= c["top"] and c["bottom"] <= bottom),
            key=lambda c: c["x0"],
        )
        widths = [c["x1"] - c["x0"] for c in drawn]
    assert len(widths) == len(expected)
    assert max(abs(a - b) for a, b in zip(widths, expected, strict=True)) < 0.001


def test_boxes_are_drawn_when_asked_and_always_for_overflow(tmp_path: Path) -> None:
    t = SAMPLES["badge"]
    pdf, _png, _ = proof(tmp_path, t, {"name": "Zoë", "title": "Volunteer"})
    assert outlined_rects(pdf) == []
    pdf, _png, layout = proof(tmp_path, t, {"name": "Zoë", "title": "Volunteer"}, show_boxes=True)
    boxes = outlined_rects(pdf)
    assert sorted((round(r["x0"], 2), round(r["top"], 2)) for r in boxes) == sorted(
        (f.box[0], f.box[1]) for f in layout.fields
    )
    pdf, _png, layout = proof(tmp_path, t, {"name": "x" * 200, "title": "Volunteer"})
    assert layout.field("name").overflowed
    (box,) = outlined_rects(pdf)
    assert box["stroking_color"] == pytest.approx((0.9, 0.05, 0.05))
    pdf, _png, layout = proof(tmp_path, t, {"name": "Zoë 🦄", "title": "Volunteer"})
    assert layout.field("name").missing and not layout.field("name").overflowed
    (box,) = outlined_rects(pdf)  # a character no font has is never drawn silently
    assert box["stroking_color"] == pytest.approx((0.9, 0.05, 0.05))


def test_png_artwork_is_drawn_under_the_text(tmp_path: Path) -> None:
    Image.new("RGB", (300, 100), (200, 220, 255)).save(tmp_path / "bg.png")
    t = template_with(field(key="name", width=2.8, height=0.8), artwork="bg.png", base_dir=str(tmp_path))
    _pdf, png, _ = proof(tmp_path, t, {"name": "Zoë"})
    with Image.open(png) as im:
        r, g, b = im.convert("RGB").getpixel((3, 3))
        assert abs(r - 200) < 8 and abs(g - 220) < 8 and b > 245


def test_missing_artwork_or_changed_font_is_an_error_not_a_wrong_proof(tmp_path: Path) -> None:
    t = template_with(field(key="name"), artwork="gone.svg", base_dir=str(tmp_path))
    with pytest.raises(ProofError, match="missing"):
        proof(tmp_path, t, {"name": "Zoë"})
    layout = layout_item(SAMPLES["badge"], {"name": "Zoë"}, registry=REG)
    data = layout.to_dict()
    data["fields"][0]["fonts"][0]["sha256"] = "0" * 64
    with pytest.raises(ProofError, match="changed since the layout"):
        render_item_pdf(SAMPLES["badge"], ItemLayout.from_dict(data), {})


def test_files_are_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf, png, layout = proof(tmp_path, SAMPLES["badge"], {"name": "Zoë", "title": ""})
    before = pdf.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pdf", "p.png"]  # no temp files left

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        render_item_proof(SAMPLES["badge"], layout, {"name": "Zoë"}, pdf, png, show_boxes=True)
    assert pdf.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.pdf", "p.png"]


def test_proof_sheet_lists_items_with_numbers_values_and_warnings(tmp_path: Path) -> None:
    names = [*PEOPLE, "x" * 150] * 7
    entries = []
    for i, name in enumerate(names, start=1):
        values = {"name": name, "title": "Volunteer"}
        entries.append(
            SheetEntry(i, SAMPLES["badge"], layout_item(SAMPLES["badge"], values, registry=REG), values)
        )
    pages = render_proof_sheet(entries, tmp_path / "sheet.pdf", title="J-1042 proofs")
    with pdfplumber.open(tmp_path / "sheet.pdf") as doc:
        assert len(doc.pages) == pages >= 2
        assert (doc.pages[0].width, doc.pages[0].height) == (612, 792)
        text = "\n".join(page.extract_text() for page in doc.pages)
        words = {w["text"] for page in doc.pages for w in page.extract_words()}
    assert "J-1042 proofs" in text and "page 1 of" in text
    assert {f"#{i}" for i in range(1, len(names) + 1)} <= words
    for name in PEOPLE[:3]:
        assert f"Name: {name}" in text
    assert "Name: Αλέξανδρος Παπα" in text  # cut to the cell width
    assert text.count("OVERFLOW: name") == 7


def test_proof_sheet_fits_large_templates(tmp_path: Path) -> None:
    values = {"title": "Teacher of the Year", "recipient": "Анна Ковальская", "date": "2024"}
    layout = layout_item(SAMPLES["plaque"], values, registry=REG)
    pages = render_proof_sheet([SheetEntry(n, SAMPLES["plaque"], layout, values) for n in range(1, 4)],
                               tmp_path / "s.pdf")  # fmt: skip
    assert pages >= 1
    with pdfplumber.open(tmp_path / "s.pdf") as doc:
        assert "Recipient: Анна Ковальская" in doc.pages[0].extract_text()


def test_input_hash_tracks_everything_a_proof_depends_on() -> None:
    t = SAMPLES["badge"]
    fonts = template_font_hashes(t, REG)
    base = proof_input_hash(t.content_hash, {"name": "Zoë", "title": "CEO"}, fonts, options={"dpi": 150})
    assert base == proof_input_hash(t.content_hash, {"title": "CEO", "name": "Zoë"}, reversed(fonts),
                                    options={"dpi": 150})  # fmt: skip
    assert base != proof_input_hash(
        t.content_hash, {"name": "Zoe", "title": "CEO"}, fonts, options={"dpi": 150}
    )
    assert base != proof_input_hash("0" * 64, {"name": "Zoë", "title": "CEO"}, fonts, options={"dpi": 150})
    assert base != proof_input_hash(
        t.content_hash, {"name": "Zoë", "title": "CEO"}, fonts[1:], options={"dpi": 150}
    )
    assert base != proof_input_hash(
        t.content_hash, {"name": "Zoë", "title": "CEO"}, fonts, options={"dpi": 300}
    )
    layout = layout_item(t, {"name": "Zoë", "title": "CEO"}, registry=REG)
    assert set(layout.font_hashes()) <= set(fonts)
    same_text = {"name": " Zoe\u0308 ", "title": "CEO"}  # what the layout sees is the same
    assert proof_input_hash(t.content_hash, same_text, fonts, options={"dpi": 150}) == base
    unmapped = {"name": "Zoë", "title": "CEO", "shirt size": "XL"}
    assert task_input_hash(t, unmapped, REG) == task_input_hash(t, {"name": "Zoë", "title": "CEO"}, REG)
    assert task_input_hash(t, {"name": "Zoë", "title": "CEO"}, REG) == proof_input_hash(
        t.content_hash, {"name": "Zoë", "title": "CEO"}, fonts, options={"dpi": 150, "show_boxes": False}
    )


def _tasks(tmp_path: Path, n: int) -> list[ProofTask]:
    t = SAMPLES["badge"]
    return [
        ProofTask(i, t, {"name": PEOPLE[i % len(PEOPLE)], "title": f"Team {i}"},
                  str(tmp_path / f"{i}.pdf"), str(tmp_path / f"{i}.png"), input_hash=f"h{i}")
        for i in range(n)
    ]  # fmt: skip


def test_generate_proofs_uses_workers_reports_progress_and_survives_a_bad_item(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path, 9)
    broken = template_with(field(key="name"), artwork="gone.svg", base_dir=str(tmp_path))
    tasks[4] = dataclasses.replace(tasks[4], template=broken)
    seen: list[tuple[int, int]] = []
    results = generate_proofs(tasks, progress=lambda done, total: seen.append((done, total)), workers=2,
                              registry=REG, chunk_size=2)  # fmt: skip
    assert [r.item_id for r in results] == list(range(9))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (9, 9)
    assert all(total == 9 for _, total in seen)
    assert not results[4].ok and "missing" in (results[4].error or "")
    for r in results[:4] + results[5:]:
        assert r.ok and r.error is None and r.layout is not None and r.input_hash == f"h{r.item_id}"
        with Image.open(r.png_path) as im:
            assert im.size == (450, 150)
        with pdfplumber.open(r.pdf_path) as doc:
            assert PEOPLE[r.item_id % len(PEOPLE)] in " ".join(doc.pages[0].extract_text().split())
    assert not [p for p in os.listdir(tmp_path) if p.endswith((".tmp", ".part"))]


class DyingValues:
    """Values whose reading kills a worker process (as a crash in native code would)."""

    def __init__(self) -> None:
        self.parent = os.getpid()

    def items(self) -> object:
        if os.getpid() != self.parent:
            os._exit(3)
        return {}.items()


def test_a_dead_worker_fails_its_items_instead_of_hanging(tmp_path: Path) -> None:
    tasks = _tasks(tmp_path, 4)
    tasks[1] = dataclasses.replace(tasks[1], values=DyingValues())
    with ProofPool(workers=2, registry=REG) as pool:
        results = pool.generate(tasks, chunk_size=1)
        assert not results[1].ok and "worker failed" in (results[1].error or "")
        assert [r.item_id for r in results] == [0, 1, 2, 3]
        again = pool.generate(_tasks(tmp_path, 3))  # the pool recovers for the next job
        assert all(r.ok for r in again)


def test_a_single_regeneration_runs_inline(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    (result,) = generate_proofs(_tasks(tmp_path, 1), progress=lambda d, t: seen.append((d, t)), registry=REG)
    assert result.ok and Path(result.pdf_path).is_file() and seen == [(1, 1)]
