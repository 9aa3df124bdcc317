"""Laser-clean files: every item's engraved shapes fill the same under even-odd and non-zero winding.

Laser programs (LightBurn and most others) fill the closed shapes of one colour by nesting, i.e.
even-odd: any overlap left in a file engraves as a hole. Each sample template is exported with hard
text (Vietnamese horns, Å, kerning pairs, ligatures, a glyph only the fallback font has, two-line
wraps) in SVG, PDF and DXF; the files are read back with independent readers (XML path data,
pdfplumber's path operators, ezdxf) and skia-pathops measures, per item, the area filled under
each rule. DXF files must also pass ``ezdxf.audit`` and say where their extents are (arcs included).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import ezdxf
import ezdxf.path
import pathops
import pdfplumber
import pytest

from pipeline.core.actors import Actor
from storage.db import Database
from tests.pipeline.export.export_helpers import MM_PER_PT, SVG_NS, parse_svg, seed_job
from tests.pipeline.export.test_export import make_profile, manifest_of, run_export

AREA_TOLERANCE = 0.01  # mm²
HARD = [
    "Ơn Ưng",
    "Åsa Ångström",
    "AVATAR Wolf Tomás",
    "office fit",
    "Champion ✓",
    "Outstanding Contribution to the Regional Volunteer Programme",
    "Ngô Bảo Châu",
]
TEMPLATES = {
    "badge": ["name", "title"],
    "plaque": ["title", "recipient", "citation", "date"],
    "trophy-plate": ["name", "achievement", "year"],
}
SHORT = {"date": "2024", "year": "2024"}
WRAPS = {"badge:name", "plaque:citation"}  # fields with room for a two-line wrap


def hard_values(template_key: str) -> list[dict[str, str]]:
    """One item per hard text, each field taking a different one (short fields keep short text)."""
    fields = TEMPLATES[template_key]
    out = []
    for k in range(len(HARD)):
        values = {}
        for i, key in enumerate(fields):
            text = HARD[(k + i) % len(HARD)]
            if key in SHORT or (len(text) > 20 and f"{template_key}:{key}" not in WRAPS):
                text = SHORT.get(key, "Champion ✓")
            values[key] = text
        out.append(values)
    return out


# -- readers -------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"[MLQCZ]|-?\d+(?:\.\d+)?")


def _svg_path(d: str, path: pathops.Path) -> None:
    tokens = _TOKEN.findall(d)
    i = 0
    while i < len(tokens):
        op = tokens[i]
        i += 1
        n = {"M": 2, "L": 2, "Q": 4, "C": 6, "Z": 0}[op]
        v = [float(t) for t in tokens[i : i + n]]
        i += n
        if op == "M":
            path.moveTo(*v)
        elif op == "L":
            path.lineTo(*v)
        elif op == "Q":
            path.quadTo(*v)
        elif op == "C":
            path.cubicTo(*v)
        else:
            path.close()


def svg_items(file: Path) -> dict[int, list[pathops.Path]]:
    root = parse_svg(file)
    out: dict[int, list[pathops.Path]] = defaultdict(list)
    for group in ("ARTWORK", "ENGRAVE"):
        for el in root.findall(f"{SVG_NS}g[@id='{group}']/{SVG_NS}path"):
            assert el.get("fill-rule") in (None, "nonzero")
            # every subpath draws something: no one-point "M x y Z" (or "M x y" followed by another M)
            for sub in re.findall(r"M[^M]*", el.get("d")):
                assert re.search(r"[LQC]", sub), sub
            p = pathops.Path()
            _svg_path(el.get("d"), p)
            out[int(el.get("id").split("-")[1])].append(p)
    return out


def _item_of(box: tuple[float, float, float, float], items: list[dict[str, Any]]) -> int:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for e in items:
        if e["x_mm"] <= cx <= e["x_mm"] + e["width_mm"] and e["y_mm"] <= cy <= e["y_mm"] + e["height_mm"]:
            return e["number"]
    raise AssertionError(f"a shape at {box} is on no item")


def pdf_items(file: Path, items: list[dict[str, Any]]) -> dict[int, list[pathops.Path]]:
    out: dict[int, list[pathops.Path]] = defaultdict(list)
    with pdfplumber.open(file) as doc:
        page = doc.pages[0]
        for obj in page.curves + page.rects:
            if not obj["fill"]:
                continue
            assert not obj.get("fill_rule_evenodd", False)
            p = pathops.Path()
            for seg in obj["path"]:
                pts = [(x * MM_PER_PT, y * MM_PER_PT) for x, y in seg[1:]]
                if seg[0] == "m":
                    p.moveTo(*pts[0])
                elif seg[0] == "l":
                    p.lineTo(*pts[0])
                elif seg[0] == "c":
                    p.cubicTo(*pts[0], *pts[1], *pts[2])
                elif seg[0] == "h":
                    p.close()
            box = (
                obj["x0"] * MM_PER_PT,
                obj["top"] * MM_PER_PT,
                obj["x1"] * MM_PER_PT,
                obj["bottom"] * MM_PER_PT,
            )
            out[_item_of(box, items)].append(p)
    return out


def dxf_items(file: Path, items: list[dict[str, Any]], bed_h: float) -> dict[int, list[pathops.Path]]:
    doc = ezdxf.readfile(file)
    auditor = doc.audit()
    assert not auditor.errors and not auditor.fixes, [str(e) for e in auditor.errors + auditor.fixes]
    out: dict[int, list[pathops.Path]] = defaultdict(list)
    for ent in doc.modelspace().query("LWPOLYLINE"):
        if ent.dxf.layer not in ("ARTWORK", "ENGRAVE"):
            continue
        assert ent.closed
        # ezdxf's own reading of the polyline, arcs (bulges) included, flattened to 1 µm
        pts = [(v.x, bed_h - v.y) for v in ezdxf.path.make_path(ent).flattening(0.001)]
        p = pathops.Path()
        p.moveTo(*pts[0])
        for q in pts[1:]:
            p.lineTo(*q)
        p.close()
        xs, ys = [q[0] for q in pts], [q[1] for q in pts]
        out[_item_of((min(xs), min(ys), max(xs), max(ys)), items)].append(p)
    return out


def fill_areas(paths: list[pathops.Path]) -> tuple[float, float]:
    """(non-zero area, even-odd area) of all the shapes together, as one colour layer."""
    areas = []
    for rule in (pathops.FillType.WINDING, pathops.FillType.EVEN_ODD):
        whole = pathops.Path(fillType=rule)
        for p in paths:
            whole.addPath(p)
        areas.append(pathops.simplify(whole).area)
    return areas[0], areas[1]


def check_items(by_item: dict[int, list[pathops.Path]], count: int, label: str) -> None:
    assert sorted(by_item) == list(range(1, count + 1)), label
    for number, paths in by_item.items():
        nonzero, evenodd = fill_areas(paths)
        assert nonzero > 1, (label, number)
        assert abs(nonzero - evenodd) <= AREA_TOLERANCE, (label, number, nonzero, evenodd)


# -- the test ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("template_key", sorted(TEMPLATES))
def test_every_item_fills_the_same_under_even_odd_and_non_zero(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, template_key: str
) -> None:
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, bed_width=900, bed_height=700)
    values = hard_values(template_key)
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=values, template_key=template_key, approve_all="link"
    )
    areas: dict[str, dict[int, float]] = {}
    for fmt in ("svg", "pdf", "dxf"):
        result = run_export(db, ws_id, job_id, owner, files_dir, output_format=fmt)
        m = manifest_of(result)
        by_item: dict[int, list[pathops.Path]] = defaultdict(list)
        for sheet_no, file in enumerate(result.files[:-1], start=1):
            on_sheet = [e for e in m["items"] if e["sheet"] == sheet_no]
            if fmt == "svg":
                found = svg_items(file)
            elif fmt == "pdf":
                found = pdf_items(file, on_sheet)
            else:
                found = dxf_items(file, on_sheet, m["profile"]["bed_height_mm"])
            for number, paths in found.items():
                by_item[number] += paths
        check_items(by_item, len(values), f"{template_key} {fmt}")
        areas[fmt] = {n: fill_areas(p)[0] for n, p in by_item.items()}
    # the three formats engrave the same area (DXF's arcs within 10 µm cost a little)
    for n, svg_area in areas["svg"].items():
        assert abs(areas["pdf"][n] - svg_area) <= 0.001 * svg_area + 0.01, n
        assert abs(areas["dxf"][n] - svg_area) <= 0.0005 * svg_area, (n, areas["dxf"][n], svg_area)


def test_dxf_header_names_its_extents_and_version(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, output_format="dxf")
    job_id = seed_job(db, ws_id, owner, files_dir, values=hard_values("badge"), approve_all="link")
    result = run_export(db, ws_id, job_id, owner, files_dir)
    m = manifest_of(result)
    assert m["output"]["dxf_version"].startswith("DXF R2010 (AC1024)")
    for file in result.files[:-1]:
        doc = ezdxf.readfile(file)
        assert doc.dxfversion == "AC1024"
        extents = ezdxf.bbox.extents(doc.modelspace())
        assert tuple(doc.header["$EXTMIN"])[:2] == pytest.approx(
            (extents.extmin.x, extents.extmin.y), abs=1e-3
        )
        assert tuple(doc.header["$EXTMAX"])[:2] == pytest.approx(
            (extents.extmax.x, extents.extmax.y), abs=1e-3
        )
        assert int(doc.header["$HANDSEED"], 16) > max(int(e.dxf.handle, 16) for e in doc.entitydb.values())


# -- score lines ---------------------------------------------------------------------------------------
U = 25.4 / 72  # the badge artwork's unit (1 pt) in item mm
RULE = ((40 * U, 46 * U), (176 * U, 46 * U))  # badge-border.svg: the 0.4 pt rule under the name
INNER = (2 * (203 + 59) - 8 * 4.5 + 2 * math.pi * 4.5) * U  # its 0.4 pt rounded inner border, length


def _score_paths_svg(file: Path) -> dict[int, list[tuple[list[tuple[float, float]], bool]]]:
    out: dict[int, list[tuple[list[tuple[float, float]], bool]]] = defaultdict(list)
    for el in parse_svg(file).findall(f"{SVG_NS}g[@id='SCORE']/{SVG_NS}path"):
        assert el.get("fill") == "none" and el.get("stroke") == "#0000FF"
        for sub in re.findall(r"M[^M]*", el.get("d")):
            nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", sub)]
            out[int(el.get("id").split("-")[1])].append(
                (list(zip(nums[0::2], nums[1::2], strict=True)), "Z" in sub)
            )
    return out


def _score_paths_dxf(
    file: Path, items: list[dict[str, Any]], bed_h: float
) -> dict[int, list[tuple[list, bool]]]:
    doc = ezdxf.readfile(file)
    assert doc.layers.get("SCORE").rgb == (0, 0, 255) and doc.layers.get("SCORE").color == 5
    out: dict[int, list[tuple[list, bool]]] = defaultdict(list)
    for ent in doc.modelspace().query('LWPOLYLINE[layer=="SCORE"]'):
        pts = [(x, bed_h - y) for x, y in ent.get_points("xy")]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        out[_item_of((min(xs), min(ys), max(xs), max(ys)), items)].append((pts, ent.closed))
    return out


def _score_paths_pdf(file: Path, items: list[dict[str, Any]]) -> dict[int, list[tuple[list, bool]]]:
    out: dict[int, list[tuple[list, bool]]] = defaultdict(list)
    with pdfplumber.open(file) as doc:
        page = doc.pages[0]
        for obj in page.lines + page.curves + page.rects:
            if obj["fill"] or tuple(obj.get("stroking_color") or ()) != (0, 0, 1):
                continue
            pts = [(x * MM_PER_PT, y * MM_PER_PT) for seg in obj["path"] for x, y in seg[1:]]
            closed = any(seg[0] == "h" for seg in obj["path"])
            box = (
                obj["x0"] * MM_PER_PT,
                obj["top"] * MM_PER_PT,
                obj["x1"] * MM_PER_PT,
                obj["bottom"] * MM_PER_PT,
            )
            out[_item_of(box, items)].append((pts, closed))
    return out


def test_thin_artwork_strokes_are_score_lines_when_the_profile_says_so(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    files_dir = tmp_path / "files"
    make_profile(db, ws_id, owner, name="Plain", bed_width=300, bed_height=200)
    make_profile(db, ws_id, owner, name="Score", bed_width=300, bed_height=200, score_color="#0000FF")
    values = hard_values("badge")[:4]
    job_id = seed_job(db, ws_id, owner, files_dir, values=values, approve_all="link")
    thin = (INNER + (RULE[1][0] - RULE[0][0])) * 0.4 * U  # the area the two thin strokes fill, mm²
    for fmt in ("svg", "pdf", "dxf"):
        plain = run_export(db, ws_id, job_id, owner, files_dir, profile_name="Plain", output_format=fmt)
        scored = run_export(db, ws_id, job_id, owner, files_dir, profile_name="Score", output_format=fmt)
        m = manifest_of(scored)
        assert m["profile"]["score_color"] == "#0000FF" and m["profile"]["score_width_mm"] == 0.25
        (plain_file,), (file,) = plain.files[:-1], scored.files[:-1]
        bed_h = m["profile"]["bed_height_mm"]
        if fmt == "svg":
            before, after, lines = svg_items(plain_file), svg_items(file), _score_paths_svg(file)
        elif fmt == "pdf":
            before, after = pdf_items(plain_file, m["items"]), pdf_items(file, m["items"])
            lines = _score_paths_pdf(file, m["items"])
        else:
            before, after = dxf_items(plain_file, m["items"], bed_h), dxf_items(file, m["items"], bed_h)
            lines = _score_paths_dxf(file, m["items"], bed_h)
        check_items(after, len(values), f"scored {fmt}")  # still one clean region per item
        for e in m["items"]:
            n = e["number"]
            # the thin strokes left the filled region ...
            removed = fill_areas(before[n])[0] - fill_areas(after[n])[0]
            assert removed == pytest.approx(thin, rel=0.03), (fmt, n, removed, thin)
            # ... and came back as lines: the rule (open, its two ends) and the inner border (closed)
            found = lines[n]
            assert sorted(closed for _pts, closed in found) == [False, True], (fmt, n)
            rule = next(pts for pts, closed in found if not closed)
            ends = sorted((x - e["x_mm"], y - e["y_mm"]) for x, y in (rule[0], rule[-1]))
            assert [v for p in ends for v in p] == pytest.approx([v for p in RULE for v in p], abs=2e-3), (
                fmt,
                n,
            )
            ring = next(pts for pts, closed in found if closed)
            xs, ys = [x - e["x_mm"] for x, _ in ring], [y - e["y_mm"] for _, y in ring]
            assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(
                (6.5 * U, 6.5 * U, 209.5 * U, 65.5 * U), abs=2e-3
            )
