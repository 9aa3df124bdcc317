"""LightBurn projects (.lbrn2): every shape read back by MeerK40t's LightBurn loader on its layer,
with its geometry within 0.01 mm of the clean outlines the other writers draw."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pathops
import pytest

from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.core.units import MM_PER_IN
from pipeline.export.artwork import load_artwork
from pipeline.export.lightburn import PALETTE, layers_for, render_lbrn2
from pipeline.export.outline import Outline
from pipeline.export.regions import item_regions, score_lines
from pipeline.export.sheet import LaserSettings, LayerSettings, PlacedItem, Sheet, Style
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.services.demo import run_demo
from pipeline.templates.template import Template, sample_templates
from storage.db import Database
from tests.pipeline.export.export_helpers import item_layouts, people, seed_job
from tests.pipeline.export.lightburn_reader import SAMPLES, Project, Reader, meerk40t_reader
from tests.pipeline.export.test_export import check_manifest, make_profile, manifest_of, run_export
from tests.pipeline.export.test_export_regions import (
    TEMPLATES,
    _item_of,
    check_items,
    fill_areas,
    hard_values,
    svg_items,
)

TOLERANCE = 0.01  # mm
HARD = ["Zoë Müller", "Ơn Ưng", "AVATAR Wolf Tomás", "Åsa Ångström", "office fit", "Анна Иванова"]
SETTINGS = LaserSettings(
    engrave=LayerSettings("fill", speed=300, power=22.5, passes=1, interval=0.08),
    score=LayerSettings("line", speed=120, power=12, passes=1),
    cut=LayerSettings("line", speed=8, power=85, passes=2),
)
LASER_ENTERED = {  # the same settings as a shop enters them in the profile
    "engrave_speed": 300,
    "engrave_power": 22.5,
    "engrave_passes": 1,
    "engrave_interval": 0.08,
    "score_speed": 120,
    "score_power": 12,
    "cut_speed": 8,
    "cut_power": 85,
    "cut_passes": 2,
}


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reader]:
    with meerk40t_reader(tmp_path_factory.mktemp("meerk40t-home")) as r:
        yield r


def _sheet(template: Template, values: list[dict[str, str]], columns: int = 2) -> Sheet:
    w, h = round(template.width * MM_PER_IN, 6), round(template.height * MM_PER_IN, 6)
    items = []
    for n, v in enumerate(values):
        row, col = divmod(n, columns)
        items.append(PlacedItem(n + 1, 5 + col * (w + 3), 5 + row * (h + 3), layout_item(template, v)))
    rows = math.ceil(len(values) / columns)
    return Sheet(
        1, 1, 10 + columns * w + 3, 10 + rows * h + 3, w, h, tuple(items), "J-1001 test: sheet 1 of 1"
    )


# -- what the project should hold, worked out from the outlines (sheet mm, y down) ---------------------
def _bezier(pts: list[tuple[float, float]], t: float) -> tuple[float, float]:
    while len(pts) > 1:
        pts = [
            (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for a, b in zip(pts, pts[1:], strict=False)
        ]
    return pts[0]


def _segments(outline: Outline, x0: float, y0: float, s: float) -> list[list[tuple[float, float]]]:
    """Every segment of the outline's closed contours (a closing line where a contour does not end
    at its start), sampled at ``SAMPLES``."""
    out = []
    start = cur = (0.0, 0.0)
    for op in outline.ops:
        pts = [(x0 + s * x, y0 + s * y) for x, y in op[1:]]
        if op[0] == "M":
            start = cur = pts[0]
            continue
        if op[0] == "Z":
            if math.dist(cur, start) > 1e-9:
                out.append([_bezier([cur, start], t) for t in SAMPLES])
            cur = start
            continue
        out.append([_bezier([cur, *pts], t) for t in SAMPLES])
        cur = pts[-1]
    return out


def _expected(sheet: Sheet, style: Style) -> list[list[tuple[str, object]]]:
    """Per item: (layer, segments) per path and ("CUT", box) for the outline, in file order."""
    out = []
    lines = score_lines(style.artwork, style.score_width) if style.score_color else []
    for item in sheet.items:
        reg = item_regions(item.layout, style.artwork, style.score_width)
        shapes: list[tuple[str, object]] = []
        if not reg.artwork.empty:
            shapes.append(("ENGRAVE", _segments(reg.artwork, item.x, item.y, 1.0)))
        for _key, pieces in reg.fields:
            segs = [s for p in pieces for s in _segments(p.outline, item.x + p.x, item.y + p.y, p.scale)]
            shapes.append(("ENGRAVE", segs))
        for pts, closed in lines:
            placed = [(item.x + x, item.y + y) for x, y in pts]
            ring = placed + placed[:1] if closed else placed
            shapes.append(
                (
                    "SCORE",
                    [[_bezier([a, b], t) for t in SAMPLES] for a, b in zip(ring, ring[1:], strict=False)],
                )
            )
        if style.cut_outline:
            box = (item.x, item.y, item.x + sheet.item_width, item.y + sheet.item_height)
            shapes.append(("CUT", box))
        out.append(shapes)
    return out


def assert_project_matches(project: Project, sheet: Sheet, style: Style) -> int:
    """Every shape of the sheet, and nothing else, is read back on its layer within TOLERANCE."""
    expected = _expected(sheet, style)
    assert project.loose == []
    assert len(project.groups) == len(expected)
    checked = 0
    for n, (got, want) in enumerate(zip(project.groups, expected, strict=True), 1):
        assert [(s.layer, s.kind) for s in got] == [
            (layer, "rect" if layer == "CUT" else "path") for layer, _ in want
        ], f"item {n}"
        for shape, (_layer, geometry) in zip(got, want, strict=True):
            if shape.kind == "rect":
                x0, y0, x1, y1 = geometry  # type: ignore[misc]
                box = (x0, sheet.height - y1, x1, sheet.height - y0)  # LightBurn's y up
                assert max(abs(a - b) for a, b in zip(shape.box, box, strict=True)) <= TOLERANCE
                checked += 1
                continue
            assert len(shape.segments) == len(geometry), f"item {n}: segment count"  # type: ignore[arg-type]
            for seg, ref in zip(shape.segments, geometry, strict=True):  # type: ignore[call-overload]
                for (gx, gy), (rx, ry) in zip(seg, ref, strict=True):
                    assert math.dist((gx, sheet.height - gy), (rx, ry)) <= TOLERANCE, (n, seg, ref)
                checked += 1
    return checked


def _style(template: Template, **kw: object) -> Style:
    base = {
        "text_mode": "curves",
        "cut_color": "#FF0000",
        "engrave_color": "#000000",
        "artwork": load_artwork(template),
        "laser": SETTINGS,
    }
    return Style(**{**base, **kw})  # type: ignore[arg-type]


def _cut_settings(data: bytes) -> dict[str, dict[str, str]]:
    root = ET.fromstring(data)
    out = {}
    for cs in root.findall("CutSetting"):
        values = {child.tag: child.get("Value") for child in cs}
        values["type"] = cs.get("type")
        out[values["name"]] = values
    return out


def test_badges_with_score_lines_read_back_on_their_layers(reader: Reader, tmp_path: Path) -> None:
    badge = sample_templates()["badge"]
    sheet = _sheet(badge, [{"name": name, "title": HARD[-1 - i]} for i, name in enumerate(HARD)])
    style = _style(badge, score_color="#0000FF", score_width=0.25)
    data = render_lbrn2(sheet, style)
    path = tmp_path / "badges.lbrn2"
    path.write_bytes(data)

    project = reader.load(path)
    checked = assert_project_matches(project, sheet, style)
    assert checked > 1000
    assert project.note == sheet.title
    # layers in the order they run: engrave (fill), score, cut; the profile's speed and power
    assert [(la.name, la.kind, la.speed, la.power) for la in project.layers] == [
        ("ENGRAVE", "op raster", 300.0, 225.0),
        ("SCORE", "op cut", 120.0, 120.0),
        ("CUT", "op cut", 8.0, 850.0),
    ]
    # what MeerK40t does not read, read from the XML: numbers, passes, interval, order
    cs = _cut_settings(data)
    assert cs["ENGRAVE"] == {
        "type": "Scan",
        "index": "0",
        "name": "ENGRAVE",
        "maxPower": "22.5",
        "maxPower2": "22.5",
        "speed": "300",
        "numPasses": "1",
        "interval": "0.08",
        "priority": "0",
    }
    assert (cs["SCORE"]["type"], cs["SCORE"]["index"], cs["SCORE"]["priority"]) == ("Cut", "1", "1")
    assert (cs["CUT"]["type"], cs["CUT"]["index"], cs["CUT"]["numPasses"], cs["CUT"]["priority"]) == (
        "Cut",
        "2",
        "2",
        "2",
    )
    # every path has its own vertex and primitive lists
    ids = [
        (s.get("VertID"), s.get("PrimID"))
        for s in ET.fromstring(data).iter("Shape")
        if s.get("Type") == "Path"
    ]
    assert len(set(ids)) == len(ids)
    assert render_lbrn2(sheet, style) == data  # deterministic


def test_plaque_engraved_as_lines_with_lightburn_defaults(reader: Reader, tmp_path: Path) -> None:
    plaque = sample_templates()["plaque"]
    values = [
        {
            "title": "Volunteer of the Year",
            "recipient": name,
            "citation": "For outstanding service",
            "date": "2024",
        }
        for name in HARD[:3]
    ]
    sheet = _sheet(plaque, values, columns=3)
    style = _style(plaque, laser=LaserSettings(engrave=LayerSettings("line")), engrave_color="#0000FF")
    data = render_lbrn2(sheet, style)
    path = tmp_path / "plaques.lbrn2"
    path.write_bytes(data)

    project = reader.load(path)
    assert assert_project_matches(project, sheet, style) > 500
    assert [(la.name, la.kind) for la in project.layers] == [("ENGRAVE", "op cut"), ("CUT", "op cut")]
    cs = _cut_settings(data)
    # nothing set in the profile: only the layer's number, name and order are written
    assert cs == {
        "ENGRAVE": {"type": "Cut", "index": "1", "name": "ENGRAVE", "priority": "0"},
        "CUT": {"type": "Cut", "index": "2", "name": "CUT", "priority": "1"},
    }


def test_no_cut_outline_and_no_artwork(reader: Reader, tmp_path: Path) -> None:
    plate = sample_templates()["trophy-plate"]
    sheet = _sheet(plate, [{"name": n, "achievement": "Champion ✓", "year": "2024"} for n in HARD[:4]])
    style = _style(plate, cut_outline=False, artwork=None)
    path = tmp_path / "plates.lbrn2"
    path.write_bytes(render_lbrn2(sheet, style))
    project = reader.load(path)
    assert assert_project_matches(project, sheet, style) > 100
    assert [la.name for la in project.layers] == ["ENGRAVE"]


def test_layers_take_the_nearest_free_palette_colour() -> None:
    style = Style("curves", cut_color="#FF0000", engrave_color="#000000", score_color="#0000FF")
    assert {k: v.index for k, v in layers_for(style, scoring=True).items()} == {
        "ENGRAVE": 0,
        "SCORE": 1,
        "CUT": 2,
    }
    # two colours nearest the same palette entry: the later operation takes the next nearest
    style = Style("curves", cut_color="#FE0000", engrave_color="#202020", score_color="#F00000")
    layers = layers_for(style, scoring=True)
    assert layers["ENGRAVE"].index == 0 and layers["SCORE"].index == 2
    assert layers["CUT"].index not in (0, 2) and PALETTE[layers["CUT"].index] in (
        "#A00000",
        "#FF8000",
        "#D33F6A",
    )


# -- the whole export, on SQLite and PostgreSQL ----------------------------------------------------------
def test_export_writes_projects_the_reader_loads(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, reader: Reader
) -> None:
    files_dir = tmp_path / "files"
    make_profile(
        db,
        ws_id,
        owner,
        output_format="lbrn2",
        score_color="#0000FF",
        **LASER_ENTERED,
    )
    job_id = seed_job(db, ws_id, owner, files_dir, values=people(12), approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir, text_mode="text")
    assert (result.output_format, result.text_mode, result.sheets) == ("lbrn2", "curves", 2)
    assert result.zip_path.name == "J-1001_badge_lbrn2_curves_v1.zip"
    assert [p.name for p in result.files] == [
        "J-1001_badge_1of2.lbrn2",
        "J-1001_badge_2of2.lbrn2",
        "J-1001_badge_manifest.json",
    ]
    m = check_manifest(result, 12, (250, 100), 5)
    assert any("curves" in n and "LightBurn" in n for n in m["notes"])
    assert m["profile"]["cut_passes"] == 2 and m["profile"]["engrave_interval_mm"] == 0.08
    assert m["output"]["lightburn_layers"] == [
        {"layer": "ENGRAVE", "number": "C00", "mode": "fill", "speed_mm_s": 300, "power_pct": 22.5,
         "passes": 1, "interval_mm": 0.08, "order": 1},
        {"layer": "SCORE", "number": "C01", "mode": "line", "speed_mm_s": 120, "power_pct": 12,
         "passes": None, "order": 2},
        {"layer": "CUT", "number": "C02", "mode": "line", "speed_mm_s": 8, "power_pct": 85,
         "passes": 2, "order": 3},
    ]  # fmt: skip
    with zipfile.ZipFile(result.zip_path) as zf:
        assert zf.namelist() == [p.name for p in result.files]

    badge = sample_templates()["badge"]
    layouts = [ItemLayout.from_dict(d) for d in item_layouts(db, job_id)]
    style = _style(badge, score_color="#0000FF", score_width=0.25, laser=SETTINGS)
    for sheet_no, path in enumerate(result.files[:-1], start=1):
        on_sheet = sorted(
            (e for e in m["items"] if e["sheet"] == sheet_no), key=lambda e: (e["row"], e["column"])
        )
        w, h = on_sheet[0]["width_mm"], on_sheet[0]["height_mm"]
        sheet = Sheet(
            sheet_no,
            2,
            250,
            100,
            w,
            h,
            tuple(PlacedItem(e["number"], e["x_mm"], e["y_mm"], layouts[e["number"] - 1]) for e in on_sheet),
        )
        project = reader.load(path)
        assert assert_project_matches(project, sheet, style) > 500
        assert project.note == f"J-1001 badge: sheet {sheet_no} of 2"
        assert [(la.name, la.speed, la.power) for la in project.layers] == [
            ("ENGRAVE", 300.0, 225.0),
            ("SCORE", 120.0, 120.0),
            ("CUT", 8.0, 850.0),
        ]
    again = run_export(db, ws_id, job_id, owner, files_dir)  # curves asked for this time
    for a, b in zip(result.files[:-1], again.files[:-1], strict=True):
        assert a.read_bytes() == b.read_bytes()


def test_demo_writes_a_project_the_reader_loads(
    runtime: Runtime, tmp_path: Path, reader: Reader, stop_the_proof_pool: None
) -> None:
    order = tmp_path / "order.csv"
    order.write_text("Name,Title\nZoë Müller,Head Coach\nSeán O'Connor,Team Captain\nÅsa,Champion ✓\n")
    lines: list[str] = []
    run_demo(runtime, lines.append, template_key="badge", order=order, output_format="lbrn2")
    assert any("Exported for the laser" in line and "LBRN2 curves" in line for line in lines)
    files = [Path(line.split("- ", 1)[1]) for line in lines if line.startswith("   - ")]
    assert [p.suffix for p in files] == [".lbrn2", ".json"]
    manifest = json.loads(files[1].read_text(encoding="utf-8"))
    project = reader.load(files[0])
    assert len(project.groups) == len(manifest["items"]) == 3 and project.loose == []
    assert [la.name for la in project.layers] == ["ENGRAVE", "CUT"]
    for group in project.groups:
        assert [(s.layer, s.kind) for s in group] == [("ENGRAVE", "path")] * 3 + [("CUT", "rect")]


# -- laser-clean: LightBurn fills by nesting (even-odd) --------------------------------------------------
def _lbrn2_items(
    project: Project, items: list[dict[str, Any]], bed_h: float
) -> dict[int, list[pathops.Path]]:
    """Each item's ENGRAVE paths as MeerK40t reads them, in sheet mm (y down)."""
    out: dict[int, list[pathops.Path]] = defaultdict(list)
    for group in project.groups:
        for shape in group:
            if shape.layer != "ENGRAVE":
                continue
            p = pathops.Path()
            xs, ys = [], []
            for contour in shape.contours:
                p.moveTo(contour[0][0][0], bed_h - contour[0][0][1])
                for _start, c0, c1, end in contour:
                    p.cubicTo(c0[0], bed_h - c0[1], c1[0], bed_h - c1[1], end[0], bed_h - end[1])
                    xs.append(end[0])
                    ys.append(bed_h - end[1])
                p.close()
            out[_item_of((min(xs), min(ys), max(xs), max(ys)), items)].append(p)
    return out


@pytest.mark.parametrize("template_key", sorted(TEMPLATES))
def test_projects_fill_the_same_under_even_odd_and_non_zero_as_the_svg(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, template_key: str, reader: Reader
) -> None:
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, bed_width=900, bed_height=700)
    values = hard_values(template_key)
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=values, template_key=template_key, approve_all="link"
    )
    areas: dict[str, dict[int, float]] = {}
    for fmt in ("svg", "lbrn2"):
        result = run_export(db, ws_id, job_id, owner, files_dir, output_format=fmt)
        m = manifest_of(result)
        by_item: dict[int, list[pathops.Path]] = defaultdict(list)
        for sheet_no, file in enumerate(result.files[:-1], start=1):
            on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
            if fmt == "svg":
                found = svg_items(file)
            else:
                found = _lbrn2_items(reader.load(file), on_sheet, m["profile"]["bed_height_mm"])
            for number, paths in found.items():
                by_item[number] += paths
        check_items(by_item, len(values), f"{template_key} {fmt}")
        areas[fmt] = {n: fill_areas(p)[0] for n, p in by_item.items()}
    for n, svg_area in areas["svg"].items():
        assert abs(areas["lbrn2"][n] - svg_area) <= 0.0005 * svg_area, (n, areas["lbrn2"][n], svg_area)


@pytest.mark.parametrize("invert", [False, True], ids=["plain", "inverted"])
def test_pet_tag_codes_engrave_the_same_in_the_project_as_in_the_svg(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, reader: Reader, invert: bool
) -> None:
    """The QR codes of the pet-tag sample (decoded from the SVG and PDF in the codes' own tests) reach
    the LightBurn project as the same engraved area, item by item, plain and inverted."""
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, bed_width=900, bed_height=700, invert_codes=invert)
    values = [
        {"name": "Biscuit", "phone": "(555) 014-2233", "link": "https://pets.example/t/BSC-0142"},
        {"name": "Sir Waffles III", "phone": "555-0123", "link": "https://pets.example/t/WAF-0123"},
    ]
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, template_key="pet-tag", approve_all="link")
    areas: dict[str, dict[int, float]] = {}
    for fmt in ("svg", "lbrn2"):
        result = run_export(db, ws_id, job_id, owner, files_dir, output_format=fmt)
        m = manifest_of(result)
        by_item: dict[int, list[pathops.Path]] = defaultdict(list)
        for sheet_no, file in enumerate(result.files[:-1], start=1):
            on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
            found = (
                svg_items(file)
                if fmt == "svg"
                else _lbrn2_items(reader.load(file), on_sheet, m["profile"]["bed_height_mm"])
            )
            for number, paths in found.items():
                by_item[number] += paths
        areas[fmt] = {n: fill_areas(p)[0] for n, p in by_item.items()}
    assert set(areas["svg"]) == set(areas["lbrn2"]) == {1, 2}
    for n, svg_area in areas["svg"].items():
        assert abs(areas["lbrn2"][n] - svg_area) <= 0.0005 * svg_area, (n, areas["lbrn2"][n], svg_area)
