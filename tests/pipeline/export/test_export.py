"""The machine-ready export (docs/export.md), on SQLite and PostgreSQL, checked by opening the files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import ezdxf
import pdfplumber
import pytest
from ezdxf import bbox
from fontTools.pens.boundsPen import BoundsPen
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, TransitionRefused
from pipeline.export import machines
from pipeline.export.job import ExportResult, export_job
from pipeline.export.regions import item_regions, svg_path_data
from pipeline.jobs.activity import Event, for_job
from pipeline.rendering.glyphs import draw_placed_glyph, glyph_placements
from pipeline.rendering.model import ItemLayout
from storage.db import Database
from storage.models import Export, Job, JobStatus, Workspace
from tests.pipeline.export.export_helpers import (
    MM_PER_PT,
    PT_PER_MM,
    SVG_NS,
    Box,
    close,
    field_box_mm,
    files_under,
    inside,
    item_layouts,
    job_status,
    overlap,
    parse_svg,
    path_bounds,
    people,
    seed_job,
    svg_length_mm,
)

S = JobStatus
SMALL_BED = {"bed_width": 250, "bed_height": 100, "margin": 5, "gap": 3}  # 3 x 3 badges per sheet


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    return tmp_path / "files"


def make_profile(db: Database, ws_id: int, owner: Actor, name: str = "Small", **values: Any) -> None:
    settings = {**SMALL_BED, "output_format": "svg", "text_mode": "curves", **values}
    with db.session() as s:
        machines.create_profile(s, s.get(Workspace, ws_id), owner, name=name, **settings)


def run_export(
    db: Database, ws_id: int, job_id: int, actor: Actor, files_dir: Path, **kw: Any
) -> ExportResult:
    kw.setdefault("profile_name", "Small")
    with db.session() as s:
        return export_job(s, s.get(Workspace, ws_id), s.get(Job, job_id), actor, files_dir=files_dir, **kw)


def manifest_of(result: ExportResult) -> dict[str, Any]:
    return json.loads(result.manifest_path.read_text(encoding="utf-8"))


def check_manifest(
    result: ExportResult, count: int, bed: tuple[float, float], margin: float
) -> dict[str, Any]:
    """Every item exactly once, on an existing sheet, inside the bed minus margins, none overlapping."""
    m = manifest_of(result)
    items = m["items"]
    assert [e["number"] for e in items] == list(range(1, count + 1))
    assert len({e["item_id"] for e in items}) == count
    assert m["output"]["sheets"] == result.sheets == len(m["output"]["files"])
    assert [f["name"] for f in m["output"]["files"]] == [p.name for p in result.files[:-1]]
    usable: Box = (margin, margin, bed[0] - margin, bed[1] - margin)
    by_sheet: dict[int, list[Box]] = {}
    for e in items:
        assert 1 <= e["sheet"] <= result.sheets
        box = (e["x_mm"], e["y_mm"], e["x_mm"] + e["width_mm"], e["y_mm"] + e["height_mm"])
        assert inside(box, usable), (e, usable)
        by_sheet.setdefault(e["sheet"], []).append(box)
    for boxes in by_sheet.values():
        for i, a in enumerate(boxes):
            assert not any(overlap(a, b) for b in boxes[i + 1 :])
    for f in m["output"]["files"]:
        assert f["items"] == len(by_sheet[f["sheet"]])
    return m


# -- SVG -----------------------------------------------------------------------------------------------
def test_svg_curves_export_is_laser_ready(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner)
    values = people(20)
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir)

    assert result.sheets == 3 and result.items == 20 and result.output_format == "svg"
    assert [p.name for p in result.files] == [
        "J-1001_badge_1of3.svg",
        "J-1001_badge_2of3.svg",
        "J-1001_badge_3of3.svg",
        "J-1001_badge_manifest.json",
    ]
    assert result.zip_path.name == "J-1001_badge_svg_curves_v1.zip"
    assert result.zip_path.parent == files_dir / "exports" / f"job-{job_id}"
    m = check_manifest(result, 20, (250, 100), 5)
    layouts = item_layouts(db, job_id)
    entries = {e["number"]: e for e in m["items"]}

    for sheet_no, path in enumerate(result.files[:-1], start=1):
        root = parse_svg(path)
        assert root.tag == f"{SVG_NS}svg"
        w, h = svg_length_mm(root.get("width")), svg_length_mm(root.get("height"))
        assert (w, h) == (250, 100)
        assert [float(v) for v in root.get("viewBox").split()] == [0, 0, w, h]  # 1 user unit = 1 mm
        assert root.find(f".//{SVG_NS}text") is None  # curves: no live text at all
        groups = [g.get("id") for g in root.findall(f"{SVG_NS}g")]
        assert groups == ["ARTWORK", "ENGRAVE", "CUT"]  # engrave before cut
        assert not any(el.get("transform") for el in root.iter())
        assert not any(el.get("style") or el.get("class") for el in root.iter())  # plain attributes only

        on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
        cuts = root.find(f"{SVG_NS}g[@id='CUT']")
        rects = list(cuts)
        assert len(rects) == len(on_sheet)
        for rect in rects:
            assert rect.tag == f"{SVG_NS}rect"
            assert (rect.get("fill"), rect.get("stroke"), rect.get("stroke-width")) == (
                "none",
                "#FF0000",
                "0.0254",
            )
            number = int(rect.get("id").split("-")[1])
            e = entries[number]
            assert e["sheet"] == sheet_no
            assert close(float(rect.get("x")), e["x_mm"]) and close(float(rect.get("y")), e["y_mm"])
            assert close(float(rect.get("width")), 76.2) and close(float(rect.get("height")), 25.4)

        engrave = root.find(f"{SVG_NS}g[@id='ENGRAVE']")
        seen = set()
        for path_el in engrave:
            assert path_el.tag == f"{SVG_NS}path"
            assert (path_el.get("fill"), path_el.get("stroke")) == ("#000000", "none")
            _, number, key = path_el.get("id").split("-", 2)
            e = entries[int(number)]
            box = field_box_mm(layouts[e["number"] - 1], key, e["x_mm"], e["y_mm"])
            assert inside(path_bounds(path_el.get("d")), box), (path_el.get("id"), box)
            seen.add(int(number))
        assert seen == {e["number"] for e in on_sheet}

        art = root.find(f"{SVG_NS}g[@id='ARTWORK']")
        for path_el in art:
            assert (path_el.get("fill"), path_el.get("stroke")) == ("#000000", "none")
            e = entries[int(path_el.get("id").split("-")[1])]
            item_box = (e["x_mm"], e["y_mm"], e["x_mm"] + 76.2, e["y_mm"] + 25.4)
            assert inside(path_bounds(path_el.get("d")), item_box)

    with zipfile.ZipFile(result.zip_path) as zf:
        assert zf.namelist() == [p.name for p in result.files]
        for p in result.files:
            assert zf.read(p.name) == p.read_bytes()
    assert m["job"] == {"ref": "J-1001", "reference": "PO-4471", "customer": "Rebecca Stone", "items": 20}
    assert m["template"]["key"] == "badge" and m["template"]["version"] == 1
    assert m["profile"]["name"] == "Small" and m["profile"]["cut_color"] == "#FF0000"
    assert (m["output"]["format"], m["output"]["text_mode"]) == ("svg", "curves")
    assert m["fonts_needed"] == []
    assert all(e["approval"] == "approved" and e["approved_via"] == "link" for e in m["items"])
    assert entries[4]["values"] == values[3] and entries[4]["proof_version"] == 1

    assert job_status(db, job_id) == S.EXPORTED
    with db.read() as s:
        row = s.exec(select(Export).where(Export.job_id == job_id)).one()
        assert (row.profile_name, row.output_format, row.text_mode, row.sheets) == (
            "Small",
            "svg",
            "curves",
            3,
        )
        assert row.zip_path == f"exports/job-{job_id}/J-1001_badge_svg_curves_v1.zip"
        assert row.files[-1] == f"exports/job-{job_id}/v1/J-1001_badge_manifest.json"
        assert row.without_approval is False
        events = for_job(s, job_id)
    created = [e for e in events if e.event_type == Event.EXPORT_CREATED]
    assert len(created) == 1
    assert {k: created[0].details[k] for k in ("zip_path", "sheets", "format", "mode", "profile")} == {
        "zip_path": row.zip_path,
        "sheets": 3,
        "format": "svg",
        "mode": "curves",
        "profile": "Small",
    }
    assert created[0].details["files"] == [p.name for p in result.files]
    assert not [e for e in events if e.event_type == Event.EXPORTED_WITHOUT_APPROVAL]
    moves = [e.details for e in events if e.event_type == Event.STATUS_CHANGED]
    assert moves[-1]["from"] == S.PRODUCTION_READY and moves[-1]["to"] == S.EXPORTED


def test_glyphs_are_the_layouts_glyph_run(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    """Every engraved glyph piece (the cached clean outline, scaled and moved) has the exact ink bounds
    of draw_placed_glyph at its real place, one piece per inked glyph of the layout."""
    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(3), approve_all="phone")
    for d in item_layouts(db, job_id):
        layout = ItemLayout.from_dict(d)
        regions = dict(item_regions(layout, None).fields)
        for fl in layout.fields:
            expected = []
            for p in glyph_placements(fl):
                pen = BoundsPen(None)
                draw_placed_glyph(p, pen, scale=MM_PER_PT)
                if pen.bounds is not None:
                    x0, y0, x1, y1 = pen.bounds
                    expected.append((10 + x0, 20 + y0, 10 + x1, 20 + y1))
            pieces = regions.get(fl.key, ())
            assert len(pieces) == len(expected)  # no glyph of these names overlaps another
            for piece, box in zip(pieces, expected, strict=True):
                assert all(
                    close(a, b, 1e-3)
                    for a, b in zip(path_bounds(svg_path_data([piece], 10, 20)), box, strict=True)
                )


def test_svg_text_mode_writes_live_text_and_names_the_fonts(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner)
    values = people(4)
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, approve_all="email")
    result = run_export(db, ws_id, job_id, owner, files_dir, text_mode="text")
    assert result.text_mode == "text" and result.zip_path.name.endswith("_svg_text_v1.zip")
    root = parse_svg(result.files[0])
    texts = root.findall(f".//{SVG_NS}text")
    assert root.find(f"{SVG_NS}g[@id='ENGRAVE']/{SVG_NS}path") is None
    names = [t for t in texts if "-name-" in t.get("id")]
    assert sorted(t.text for t in names) == sorted(v["name"] for v in values)
    m = manifest_of(result)
    entries = {e["number"]: e for e in m["items"]}
    for t in names:
        assert t.get("font-family") == "DejaVu Sans" and t.get("font-weight") == "bold"
        assert t.get("text-anchor") == "middle" and t.get("fill") == "#000000"
        e = entries[int(t.get("id").split("-")[1])]
        assert (
            e["x_mm"] < float(t.get("x")) < e["x_mm"] + 76.2
            and e["y_mm"] < float(t.get("y")) < e["y_mm"] + 25.4
        )
    assert {(f["family"], f["weight"]) for f in m["fonts_needed"]} == {
        ("DejaVu Sans", "bold"),
        ("DejaVu Sans", "normal"),
    }
    assert any("needs these fonts" in n for n in m["notes"])


# -- PDF -----------------------------------------------------------------------------------------------
def test_pdf_export_is_vector_with_exact_colours(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(
        db,
        ws_id,
        owner,
        output_format="pdf",
        include_artwork=False,
        cut_color="#0000FF",
        engrave_color="#202020",
    )
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(11), approved_via={0: "phone"})
    result = run_export(db, ws_id, job_id, owner, files_dir)
    assert [p.suffix for p in result.files] == [".pdf", ".pdf", ".json"]
    m = check_manifest(result, 11, (250, 100), 5)
    layouts = item_layouts(db, job_id)
    grey = 0x20 / 255
    for sheet_no, path in enumerate(result.files[:-1], start=1):
        with pdfplumber.open(path) as doc:
            assert len(doc.pages) == 1
            page = doc.pages[0]
            assert close(page.width, 250 * PT_PER_MM) and close(page.height, 100 * PT_PER_MM)
            assert page.chars == []  # curves: no text operators
            on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
            cut = [r for r in page.rects if r["stroke"]]
            assert len(cut) == len(on_sheet)
            positions = {(round(e["x_mm"], 2), round(e["y_mm"], 2)) for e in on_sheet}
            for r in cut:
                assert not r["fill"]
                assert tuple(r["stroking_color"]) == (0, 0, 1)
                assert close(r["linewidth"], 0.0254 * PT_PER_MM, 1e-3)
                assert (round(r["x0"] * MM_PER_PT, 2), round(r["top"] * MM_PER_PT, 2)) in positions
                assert close(r["width"] * MM_PER_PT, 76.2) and close(r["height"] * MM_PER_PT, 25.4)
            boxes = [
                field_box_mm(layouts[e["number"] - 1], f["key"], e["x_mm"], e["y_mm"])
                for e in on_sheet
                for f in layouts[e["number"] - 1]["fields"]
            ]
            glyphs = page.curves + [r for r in page.rects if r["fill"]]
            assert glyphs
            for c in glyphs:
                assert c["fill"] and not c["stroke"]
                assert all(close(v, grey, 1e-4) for v in c["non_stroking_color"])
                bounds = (
                    c["x0"] * MM_PER_PT,
                    c["top"] * MM_PER_PT,
                    c["x1"] * MM_PER_PT,
                    c["bottom"] * MM_PER_PT,
                )
                assert any(inside(bounds, box, 0.01) for box in boxes), bounds
    assert m["approval"] == {
        "approved": 1,
        "approval_skipped": True,
        "not_approved": 10,
        "exported_without_approval": True,
    }
    labels = [(e["approval"], e["approved_via"]) for e in m["items"]]
    assert labels[0] == ("approved", "phone") and set(labels[1:]) == {("approval skipped", None)}
    with db.read() as s:
        events = for_job(s, job_id)
        assert s.exec(select(Export)).one().without_approval is True
    without = [e for e in events if e.event_type == Event.EXPORTED_WITHOUT_APPROVAL]
    assert len(without) == 1 and without[0].details["not_approved"] == 10
    assert without[0].details["items"] == list(range(2, 12))


def test_pdf_text_mode_has_embedded_live_text(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner, output_format="pdf", text_mode="text")
    values = people(3)
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir)
    assert result.text_mode == "text"
    with pdfplumber.open(result.files[0]) as doc:
        page = doc.pages[0]
        text = page.extract_text()
        for v in values:
            assert v["name"] in text
        fonts = {c["fontname"] for c in page.chars}
        assert fonts and all("+" in f for f in fonts)  # subset-embedded faces
        assert all(tuple(c["non_stroking_color"]) == (0, 0, 0) for c in page.chars)
    m = manifest_of(result)
    assert m["fonts_needed"] and any("needs these fonts" in n for n in m["notes"])


def test_pdf_includes_vector_artwork_as_filled_shapes(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner, output_format="pdf")
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(2), approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir)
    m = manifest_of(result)
    with pdfplumber.open(result.files[0]) as doc:
        page = doc.pages[0]
        items = [(e["x_mm"] * PT_PER_MM, e["y_mm"] * PT_PER_MM) for e in m["items"]]
        shapes = [c for c in page.curves if c["fill"]]
        big = [c for c in shapes if c["x1"] - c["x0"] > 200]  # the border bands span the badge
        assert len(big) == 8  # two rounded bands per badge (outer and inner contour each), two badges
        for c in shapes:
            assert any(
                x - 0.01 <= c["x0"]
                and c["x1"] <= x + 216.01
                and y - 0.01 <= c["top"]
                and c["bottom"] <= y + 72.01
                for x, y in items
            )


# -- DXF -----------------------------------------------------------------------------------------------
def test_dxf_export_has_units_layers_and_bounds(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner, output_format="dxf", cut_color="#FF0000", engrave_color="#0000FF")
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(10), approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir, text_mode="text")
    assert result.text_mode == "curves" and result.zip_path.name == "J-1001_badge_dxf_curves_v1.zip"
    m = check_manifest(result, 10, (250, 100), 5)
    assert any("DXF has no portable live text" in n for n in m["notes"])
    layouts = item_layouts(db, job_id)
    for sheet_no, path in enumerate(result.files[:-1], start=1):
        doc = ezdxf.readfile(path)
        assert doc.dxfversion == "AC1024" and doc.header["$INSUNITS"] == 4 and doc.units == ezdxf.units.MM
        assert doc.layers.get("CUT").rgb == (255, 0, 0) and doc.layers.get("CUT").color == 1
        assert doc.layers.get("ENGRAVE").rgb == (0, 0, 255) and doc.layers.get("ENGRAVE").color == 5
        msp = doc.modelspace()
        assert {e.dxftype() for e in msp} == {"LWPOLYLINE"}
        assert all(e.closed for e in msp)
        assert len(msp.query("TEXT MTEXT")) == 0
        whole = bbox.extents(msp)
        assert whole.extmin.x >= 5 - 1e-6 and whole.extmin.y >= 5 - 1e-6
        assert whole.extmax.x <= 245 + 1e-6 and whole.extmax.y <= 95 + 1e-6
        on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
        cuts = msp.query('LWPOLYLINE[layer=="CUT"]')
        assert len(cuts) == len(on_sheet)
        corners = {(round(e["x_mm"], 3), round(100 - e["y_mm"] - 25.4, 3)) for e in on_sheet}
        for c in cuts:
            b = bbox.extents([c])
            assert (round(b.extmin.x, 3), round(b.extmin.y, 3)) in corners
            assert close(b.size.x, 76.2) and close(b.size.y, 25.4)
        boxes = [
            field_box_mm(layouts[e["number"] - 1], f["key"], e["x_mm"], e["y_mm"])
            for e in on_sheet
            for f in layouts[e["number"] - 1]["fields"]
        ]
        engraved = msp.query('LWPOLYLINE[layer=="ENGRAVE"]')
        assert engraved
        for ent in engraved:
            b = bbox.extents([ent])
            box_mm = (b.extmin.x, 100 - b.extmax.y, b.extmax.x, 100 - b.extmin.y)
            assert any(inside(box_mm, fb, 0.01) for fb in boxes)
        assert msp.query('LWPOLYLINE[layer=="ARTWORK"]')


# -- determinism ---------------------------------------------------------------------------------------
def test_re_export_is_byte_identical(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(12), approve_all="link")
    for fmt in ("svg", "pdf", "dxf"):
        for mode in ("curves", "text"):
            first = run_export(db, ws_id, job_id, owner, files_dir, output_format=fmt, text_mode=mode)
            again = run_export(db, ws_id, job_id, owner, files_dir, output_format=fmt, text_mode=mode)
            assert again.version == first.version + 1
            assert [p.name for p in first.files] == [p.name for p in again.files]
            for a, b in zip(first.files, again.files, strict=True):
                assert a.read_bytes() == b.read_bytes(), a.name
            assert first.zip_path != again.zip_path
            assert first.zip_path.read_bytes() == again.zip_path.read_bytes()
    assert job_status(db, job_id) == S.EXPORTED
    with db.read() as s:
        assert len(s.exec(select(Export).where(Export.job_id == job_id)).all()) == 12


# -- placement -----------------------------------------------------------------------------------------
def test_item_order_by_name(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner, item_order="name")
    values = [{"name": n, "title": ""} for n in ("Zoë Adams", "Émile Brun", "anna Cole", "Bob Dole")]
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, approve_all="link")
    m = manifest_of(run_export(db, ws_id, job_id, owner, files_dir))
    placed = sorted(m["items"], key=lambda e: (e["sheet"], e["y_mm"], e["x_mm"]))
    assert [e["values"]["name"] for e in placed] == ["anna Cole", "Bob Dole", "Émile Brun", "Zoë Adams"]
    assert [e["number"] for e in m["items"]] == [1, 2, 3, 4]  # the manifest keeps job order


def test_zero_gap_is_allowed_with_a_warning(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner, gap=0)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(6), approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir)
    assert any("share their edges" in w for w in result.warnings)
    m = check_manifest(result, 6, (250, 100), 5)
    assert any("share their edges" in n for n in m["notes"])
    first, second = m["items"][0], m["items"][1]
    assert close(second["x_mm"] - first["x_mm"], 76.2)  # touching, not overlapping


def test_bed_smaller_than_one_item_is_refused(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner, name="Tiny", bed_width=80, bed_height=30, margin=5, gap=0)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(2), approve_all="link")
    with pytest.raises(InvalidInput, match="does not fit the 80 × 30 mm bed") as err:
        run_export(db, ws_id, job_id, owner, files_dir, profile_name="Tiny")
    assert "profile" in err.value.errors
    assert job_status(db, job_id) == S.PRODUCTION_READY
    assert files_under(files_dir / "exports") == []


# -- refusals ------------------------------------------------------------------------------------------
def _set_preflight(db: Database, job_id: int, errors: int | None) -> None:
    with db.session() as s:
        job = s.get(Job, job_id)
        if errors is None:
            job.preflight_ran_at = None
        else:
            job.preflight_errors = errors
        s.add(job)


def test_export_refused_while_preflight_has_errors_or_did_not_run(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(2), approve_all="link")
    _set_preflight(db, job_id, 2)
    with pytest.raises(TransitionRefused, match="preflight has 2 errors"):
        run_export(db, ws_id, job_id, owner, files_dir)
    _set_preflight(db, job_id, None)
    with pytest.raises(TransitionRefused, match="preflight has not run"):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert job_status(db, job_id) == S.PRODUCTION_READY
    assert files_under(files_dir / "exports") == []
    with db.read() as s:
        assert s.exec(select(Export)).all() == []


def test_export_refused_in_the_wrong_status(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(2), ready=False)
    with pytest.raises(TransitionRefused, match="it is proofing; export needs it production ready"):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert job_status(db, job_id) == S.PROOFING
    assert files_under(files_dir / "exports") == []


def test_bad_format_mode_or_profile(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(1), approve_all="link")
    with pytest.raises(InvalidInput) as err:
        run_export(db, ws_id, job_id, owner, files_dir, output_format="png", text_mode="outline")
    assert set(err.value.errors) == {"output_format", "text_mode"}
    with pytest.raises(Exception, match="no machine profile 'Nope'"):
        run_export(db, ws_id, job_id, owner, files_dir, profile_name="Nope")


def test_missing_glyph_is_refused_not_dropped(
    db: Database, ws_id: int, owner: Actor, files_dir: Path
) -> None:
    make_profile(db, ws_id, owner)
    values = people(3)
    values[1]["name"] = "Ana \U0010fffd Lima"  # a private-use character no font has
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=values, approve_all="link"
    )  # preflight "clean": forced
    for mode in ("curves", "text"):
        with pytest.raises(InvalidInput, match=r"item\(s\) 2 contain characters no available font can draw"):
            run_export(db, ws_id, job_id, owner, files_dir, text_mode=mode)
    assert job_status(db, job_id) == S.PRODUCTION_READY
    assert files_under(files_dir / "exports") == []


def test_stale_or_missing_layouts_are_recomputed(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.export.prepare as prepare_module

    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(4), approve_all="link")
    calls: list[dict[str, str]] = []
    real = prepare_module.layout_item

    def counting(template: Any, values: Any, **kw: Any) -> Any:
        calls.append(dict(values))
        return real(template, values, **kw)

    monkeypatch.setattr(prepare_module, "layout_item", counting)
    run_export(db, ws_id, job_id, owner, files_dir)
    assert calls == []  # every stored layout was usable
    with db.session() as s:
        from storage.models import Item

        items = s.exec(select(Item).where(Item.job_id == job_id).order_by(Item.position)).all()
        items[0].layout = {**items[0].layout, "template_hash": "0" * 64}  # another template version
        items[1].layout = None  # never proofed
        items[2].values = {**items[2].values, "name": "Changed Name"}  # the stored layout is of old values
        for it in items[:3]:
            s.add(it)
    result = run_export(db, ws_id, job_id, owner, files_dir)
    assert [c["name"] for c in calls] == [people(4)[0]["name"], people(4)[1]["name"], "Changed Name"]
    root = parse_svg(result.files[0])
    assert root.find(f".//{SVG_NS}path[@id='item-3-name']") is not None


# -- failures half-way ---------------------------------------------------------------------------------
def test_writer_failure_half_way_leaves_nothing(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.export.svg as svg_module

    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(20), approve_all="link")
    real = svg_module.render_svg
    calls = []

    def failing(sheet: Any, style: Any) -> bytes:
        calls.append(sheet.number)
        if sheet.number == 2:
            raise RuntimeError("writer broke on sheet 2")
        return real(sheet, style)

    monkeypatch.setattr(svg_module, "render_svg", failing)
    with pytest.raises(RuntimeError, match="sheet 2"):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert calls == [1, 2]
    assert files_under(files_dir / "exports") == []
    assert list((files_dir / "exports" / f"job-{job_id}").iterdir()) == []
    assert job_status(db, job_id) == S.PRODUCTION_READY
    with db.read() as s:
        assert s.exec(select(Export)).all() == []
        assert not [e for e in for_job(s, job_id) if e.event_type == Event.EXPORT_CREATED]


def test_disk_failures_leave_nothing(
    db: Database, ws_id: int, owner: Actor, files_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pipeline.export.job as export_module

    make_profile(db, ws_id, owner)
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(12), approve_all="link")
    real_write = export_module.write_file

    def disk_full(path: Path, data: bytes) -> None:
        if path.name.endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(export_module, "write_file", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert files_under(files_dir / "exports") == []
    monkeypatch.setattr(export_module, "write_file", real_write)

    real_zip = export_module._zip

    def zip_fails_after_partial(zip_path: Path, members: list[Path]) -> None:
        # the real writer cleans its own temporary file: exercise it with a member that vanished
        real_zip(zip_path, [*members, zip_path.with_name("vanished.svg")])

    monkeypatch.setattr(export_module, "_zip", zip_fails_after_partial)
    with pytest.raises(FileNotFoundError):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert files_under(files_dir / "exports") == []
    assert job_status(db, job_id) == S.PRODUCTION_READY

    # a database failure after the files are in place removes them too
    monkeypatch.setattr(export_module, "_zip", real_zip)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise TransitionRefused("the job changed meanwhile")

    monkeypatch.setattr(export_module.lifecycle, "move", refuse)
    with pytest.raises(TransitionRefused):
        run_export(db, ws_id, job_id, owner, files_dir)
    assert files_under(files_dir / "exports") == []
    assert job_status(db, job_id) == S.PRODUCTION_READY


# -- artwork -------------------------------------------------------------------------------------------
def test_png_artwork_is_placed_as_an_image(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    import io

    from PIL import Image

    from pipeline.templates.catalog import import_template

    buf = io.BytesIO()
    Image.new("RGB", (300, 100), (0, 0, 0)).save(buf, "PNG")
    toml_text = """
format_version = 1
key = "tag"
name = "Pet tag"
width = 2.0
height = 1.0
artwork = "paw.png"
[[fields]]
key = "name"
label = "Name"
x = 0.1
y = 0.1
width = 1.8
height = 0.8
size = 20
"""
    with db.session() as s:
        import_template(
            s, s.get(Workspace, ws_id), owner, toml_text, files_dir, artwork=("paw.png", buf.getvalue())
        )
    make_profile(db, ws_id, owner)
    job_id = seed_job(
        db,
        ws_id,
        owner,
        files_dir,
        values=[{"name": "Rex"}, {"name": "Bella"}],
        template_key="tag",
        approve_all="link",
    )
    svg_result = run_export(db, ws_id, job_id, owner, files_dir)
    root = parse_svg(svg_result.files[0])
    images = root.findall(f"{SVG_NS}g[@id='ARTWORK']/{SVG_NS}image")
    assert len(images) == 2
    assert images[0].get("{http://www.w3.org/1999/xlink}href").startswith("data:image/png;base64,")
    assert (images[0].get("width"), images[0].get("height")) == ("50.8", "25.4")
    pdf_result = run_export(db, ws_id, job_id, owner, files_dir, output_format="pdf")
    with pdfplumber.open(pdf_result.files[0]) as doc:
        assert len(doc.pages[0].images) == 2
    dxf_result = run_export(db, ws_id, job_id, owner, files_dir, output_format="dxf")
    assert any("no raster images" in w for w in dxf_result.warnings)


# -- many items ----------------------------------------------------------------------------------------
def test_five_thousand_items(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    with db.session() as s:
        machines.ensure_builtin_profiles(s, s.get(Workspace, ws_id))
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=people(5000), approve_all="link", store_layouts=False
    )
    result = run_export(db, ws_id, job_id, owner, files_dir, profile_name="CO2 600×400")
    assert result.sheets == 55 and result.items == 5000  # 7 x 13 = 91 badges per 600 x 400 mm bed
    m = check_manifest(result, 5000, (600, 400), 5)
    assert sum(f["items"] for f in m["output"]["files"]) == 5000
    last = parse_svg(result.files[-2])
    assert len(last.findall(f"{SVG_NS}g[@id='CUT']/{SVG_NS}rect")) == 5000 - 54 * 91
