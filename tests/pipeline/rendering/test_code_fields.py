"""Codes as template fields, through the whole pipeline: the template reads them, the layout places
them, the proof and every export draw them as vector outlines that an independent decoder reads back
to exactly their values, preflight says what would not scan, the export refuses what the machine
cannot engrave, and `python app.py demo --template pet-tag` makes tags whose QR codes scan."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import ezdxf
import pathops
import pytest

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.export import machines
from pipeline.export.dxf import render_dxf
from pipeline.export.job import export_job
from pipeline.export.pdf import render_pdf
from pipeline.export.sheet import PlacedItem, Sheet, Style
from pipeline.export.svg import render_svg
from pipeline.proofs.inputs import DEFAULT_DPI
from pipeline.proofs.item import pdf_to_png, render_item_pdf
from pipeline.proofs.preflight import SEVERITY, check_item, run_preflight
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.services.demo import run_demo
from pipeline.templates import catalog
from pipeline.templates.template import SAMPLES_DIR, TemplateError, load_template, sample_templates
from storage.db import Database
from storage.models import Job, Workspace
from tests.pipeline.export.export_helpers import seed_job
from tests.pipeline.rendering.code_scan import path_image, pdf_images, read_codes, svg_image

FORMAT = {"qr": "QRCode", "code128": "Code128", "datamatrix": "DataMatrix", "ean13": "EAN13"}

CODES_TOML = """
key = "asset-tag"
name = "Asset tag with every kind of code"
width = 4.0
height = 2.0

[[fields]]
key = "name"
x = 0.1
y = 0.05
width = 1.4
height = 0.25
size = 12.0

[[fields]]
key = "qr"
kind = "qr"
error_correction = "Q"
x = 0.1
y = 0.35
width = 0.9
height = 0.9

[[fields]]
key = "dm"
kind = "datamatrix"
x = 1.1
y = 0.35
width = 0.6
height = 0.6

[[fields]]
key = "serial"
kind = "code128"
x = 0.1
y = 1.35
width = 3.8
height = 0.5

[[fields]]
key = "ean"
kind = "ean13"
x = 1.8
y = 0.35
width = 2.1
height = 0.6
"""

VALUES = [
    {"name": "Lathe 4", "qr": "https://assets.example/a/000417", "dm": "A-000417", "serial": "SN-000417/B",
     "ean": "4006381333931"},
    {"name": "Drill press", "qr": "Workshop · Drill press 2", "dm": "A-000418", "serial": "00418",
     "ean": "5901234123457"},
]  # fmt: skip


def _codes(values: dict[str, str]) -> list[tuple[str, str]]:
    kinds = {"qr": "qr", "dm": "datamatrix", "serial": "code128", "ean": "ean13"}
    return sorted((FORMAT[kind], values[key]) for key, kind in kinds.items())


@pytest.fixture
def template() -> Any:
    return load_template(CODES_TOML)


# -- the template -----------------------------------------------------------------------------------
def test_the_template_reads_codes_and_keeps_text_fields_as_they_were(template: Any) -> None:
    qr = template.field("qr")
    assert (qr.kind, qr.error_correction, qr.quiet_zone, qr.module_mm) == ("qr", "Q", None, None)
    assert template.field("name").kind is None and "kind" not in template.to_dict()["fields"][0]
    for sample in sample_templates().values():  # text-only samples keep their content (and hash)
        for f in sample.to_dict()["fields"]:
            assert ("kind" in f) == (f["key"] == "link" and sample.key == "pet-tag")
    again = load_template(Path(SAMPLES_DIR / "pet-tag.toml"))
    assert again.content_hash == sample_templates()["pet-tag"].content_hash


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('kind = "aztec"', "unknown kind 'aztec' (choose one of: text, qr, code128, datamatrix, ean13)"),
        ('kind = "code128"\nerror_correction = "H"', "only QR codes choose their error_correction"),
        ('kind = "qr"\nerror_correction = "X"', "unknown error_correction 'X' (choose one of: L, M, Q, H)"),
        ('kind = "qr"\nquiet_zone = -1', "quiet_zone must be 0 to 50 modules"),
        ('kind = "qr"\nmodule_mm = 0', "module_mm must be more than 0"),
        ("quiet_zone = 4", "'quiet_zone' is for codes"),
    ],
)
def test_bad_code_settings_are_refused_by_name(setting: str, message: str) -> None:
    text = 'key = "t"\nname = "T"\nwidth = 2.0\nheight = 1.0\n[[fields]]\nkey = "c"\nx = 0.1\ny = 0.1\n'
    text += f"width = 0.8\nheight = 0.8\n{setting}\n"
    with pytest.raises(TemplateError) as err:
        load_template(text)
    assert any(message in m and m.startswith("field 'c'") for m in err.value.messages), err.value.messages


# -- layout and proof -------------------------------------------------------------------------------
def test_the_layout_places_each_code_in_its_box_and_survives_storage(template: Any) -> None:
    layout = layout_item(template, VALUES[0])
    for key in ("qr", "dm", "serial", "ean"):
        fl = layout.field(key)
        f = template.field(key)
        assert fl.code is not None and not fl.overflowed and fl.lines == ()
        x0, y0, x1, y1 = fl.code.quiet_box
        assert x0 >= f.x * 25.4 - 1e-6 and x1 <= (f.x + f.width) * 25.4 + 1e-6
        assert y0 >= f.y * 25.4 - 1e-6 and y1 <= (f.y + f.height) * 25.4 + 1e-6
    assert ItemLayout.from_dict(layout.to_dict()) == layout
    assert layout.field("ean").code.symbol.text == "4006381333931"  # type: ignore[union-attr]


def test_a_value_a_code_cannot_hold_overflows_and_draws_nothing(template: Any) -> None:
    layout = layout_item(template, {**VALUES[0], "serial": "Zoë-1", "ean": "12345"})
    assert layout.field("serial").overflowed and layout.field("serial").code is None
    assert layout.field("ean").overflowed and layout.overflowed


@pytest.mark.parametrize("item", [0, 1])
def test_every_code_decodes_from_the_proof_png(template: Any, item: int) -> None:
    from PIL import Image

    values = VALUES[item]
    pdf = render_item_pdf(template, layout_item(template, values), values)
    png = pdf_to_png(pdf, template.width, template.height, DEFAULT_DPI)
    assert read_codes(Image.open(io.BytesIO(png)).convert("L")) == _codes(values)


# -- export ------------------------------------------------------------------------------------------
def _sheet(template: Any, values: list[dict[str, str]] = VALUES) -> Sheet:
    layouts = [layout_item(template, v) for v in values]
    w, h = template.width * 25.4, template.height * 25.4
    items = tuple(PlacedItem(n + 1, 5.0, 5.0 + n * (h + 5.0), lay) for n, lay in enumerate(layouts))
    return Sheet(1, 1, w + 10.0, 2 * h + 15.0, w, h, items)


def _crops(image: Any, sheet: Sheet, dpi: int) -> list[Any]:
    k = dpi / 25.4
    return [
        image.crop((int(it.x * k), int(it.y * k), int((it.x + sheet.item_width) * k),
                    int((it.y + sheet.item_height) * k)))
        for it in sheet.items
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["curves", "text"])
@pytest.mark.parametrize("inverted", [False, True])
def test_every_code_decodes_from_the_exported_pdf_at_600_dpi(
    template: Any, mode: str, inverted: bool
) -> None:
    sheet = _sheet(template)
    style = Style(text_mode=mode, cut_color="#FF0000", engrave_color="#000000", invert_codes=inverted)
    (page,) = pdf_images(render_pdf(sheet, style), 600)
    for crop, values in zip(_crops(page, sheet, 600), VALUES, strict=True):
        assert read_codes(crop, engraved_light=inverted) == _codes(values)


@pytest.mark.parametrize("mode", ["curves", "text"])
def test_every_code_decodes_from_the_exported_svg(template: Any, mode: str) -> None:
    sheet = _sheet(template)
    svg = render_svg(sheet, Style(text_mode=mode, cut_color="#FF0000", engrave_color="#000000"))
    assert b'id="item-1-qr"' in svg and b"<image" not in svg  # vector paths, no raster
    image = svg_image(svg, 600)
    for crop, values in zip(_crops(image, sheet, 600), VALUES, strict=True):
        assert read_codes(crop) == _codes(values)


def test_every_code_decodes_from_the_exported_dxf(template: Any) -> None:
    """The DXF's ENGRAVE polylines (lines only for codes) filled even-odd read back as the codes."""
    sheet = _sheet(template)
    doc = ezdxf.read(io.StringIO(render_dxf(sheet, Style("curves", "#FF0000", "#000000")).decode("utf-8")))
    path = pathops.Path()
    path.fillType = pathops.FillType.EVEN_ODD
    for pl in doc.modelspace().query('LWPOLYLINE[layer=="ENGRAVE"]'):
        pts = [(x, sheet.height - y, bulge) for x, y, *_rest, bulge in pl.get_points("xyseb")]
        if any(abs(b) > 1e-12 for *_xy, b in pts):
            continue  # a glyph's curved outline: the codes are straight-edged
        path.moveTo(pts[0][0], pts[0][1])
        for x, y, _b in pts[1:]:
            path.lineTo(x, y)
        path.close()
    image = path_image(path, sheet.width, sheet.height, 600)
    for crop, values in zip(_crops(image, sheet, 600), VALUES, strict=True):
        assert read_codes(crop) == _codes(values)


def test_a_serial_fills_a_barcode_and_every_serial_scans(template: Any) -> None:
    from pipeline.intake.mapping import SerialSpec, number_items

    spec = SerialSpec(field="serial", start=417, pad=6, prefix="SN-")
    values = number_items(VALUES, spec)
    assert [v["serial"] for v in values] == ["SN-000417", "SN-000418"]
    sheet = _sheet(template, values)
    (page,) = pdf_images(render_pdf(sheet, Style("curves", "#FF0000", "#000000")), 600)
    for crop, v in zip(_crops(page, sheet, 600), values, strict=True):
        assert ("Code128", v["serial"]) in read_codes(crop)


# -- preflight ---------------------------------------------------------------------------------------
def _issues(template: Any, values: dict[str, str], machines_: dict[str, float] | None = None) -> list[Any]:
    layout = layout_item(template, values)
    return check_item(1, None, template, {fl.key: fl for fl in layout.fields}, values, machines_)


def test_preflight_names_what_would_not_scan(template: Any) -> None:
    issues = _issues(template, {**VALUES[0], "serial": "Zoë-7", "ean": "4006381333932"})
    found = {(i.field, i.code) for i in issues}
    assert found == {("serial", "CODE_UNENCODABLE"), ("ean", "CODE_UNENCODABLE")}
    assert all(SEVERITY[i.code] == "error" for i in issues)
    serial = next(i for i in issues if i.field == "serial")
    assert "Code 128 cannot encode 'ë'" in serial.message and serial.message.startswith("Item 1, serial:")
    long_qr = _issues(template, {**VALUES[0], "qr": "x" * 3000})
    assert [(i.field, i.code) for i in long_qr] == [("qr", "CODE_TOO_LONG")]


def test_preflight_compares_modules_with_the_machine_profiles(template: Any) -> None:
    assert _issues(template, VALUES[0], {"CO2": 0.25, "Fibre": 0.1}) == []
    some = _issues(template, VALUES[0], {"CO2": 0.5, "Fibre": 0.1})
    assert {i.code for i in some} == {"CODE_MODULE_FINE"} and SEVERITY["CODE_MODULE_FINE"] == "warning"
    assert "finer than 'CO2' engraves (0.5 mm)" in some[0].message
    none = _issues(template, VALUES[0], {"CO2": 2.0})
    assert {i.code for i in none} == {"CODE_MODULE_SMALL"}
    assert "no machine profile engraves below 2 mm" in none[0].message


def test_preflight_flags_a_missing_quiet_zone() -> None:
    thin = load_template(
        CODES_TOML.replace('error_correction = "Q"', 'error_correction = "Q"\nquiet_zone = 1')
    )
    (issue,) = _issues(thin, VALUES[0])
    assert (issue.field, issue.code) == ("qr", "CODE_QUIET_ZONE") and SEVERITY[issue.code] == "error"
    assert "quiet zone of 1 module; scanners need 4: set quiet_zone = 4" in issue.message
    crowded = load_template(
        CODES_TOML.replace('key = "name"\nx = 0.1\ny = 0.05\nwidth = 1.4\nheight = 0.25',
                           'key = "name"\nx = 0.1\ny = 0.3\nwidth = 0.9\nheight = 0.2')
    )  # fmt: skip
    (issue,) = _issues(crowded, VALUES[0])
    assert (issue.field, issue.code) == ("qr", "CODE_QUIET_ZONE")
    assert "'name' reaches into the QR code's quiet zone" in issue.message


def test_preflight_flags_artwork_in_the_quiet_zone() -> None:
    from pipeline.proofs.preflight import _artwork_image

    tag = sample_templates()["pet-tag"]
    assert _artwork_image(tag) is not None
    values = {"name": "Biscuit", "link": "https://pets.example/t/BSC-0142"}
    layout = layout_item(tag, values)
    fields = {fl.key: fl for fl in layout.fields}
    assert check_item(1, None, tag, fields, values, {"CO2": 0.25}, _artwork_image(tag)) == []
    text = (SAMPLES_DIR / "pet-tag.toml").read_text(encoding="utf-8").replace("x = 0.45\n", "x = 0.0\n")
    moved = load_template(text, base_dir=SAMPLES_DIR)
    layout = layout_item(moved, values)
    fields = {fl.key: fl for fl in layout.fields}
    (issue,) = check_item(1, None, moved, fields, values, {"CO2": 0.25}, _artwork_image(moved))
    assert (issue.field, issue.code) == ("link", "CODE_QUIET_ZONE")
    assert "the template's artwork reaches into the QR code or its quiet zone" in issue.message


# -- through the database (SQLite and PostgreSQL) ---------------------------------------------------
def _import(db: Database, ws_id: int, owner: Actor, files_dir: Path) -> None:
    with db.session() as s:
        catalog.import_template(s, s.get(Workspace, ws_id), owner, CODES_TOML, files_dir)


def test_export_writes_codes_that_scan_and_refuses_what_the_machine_cannot_engrave(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    files_dir = tmp_path / "files"
    _import(db, ws_id, owner, files_dir)
    job_id = seed_job(
        db, ws_id, owner, files_dir, values=VALUES, template_key="asset-tag", approve_all="phone"
    )
    bed = {"bed_width": 200, "bed_height": 200, "margin": 5, "gap": 3, "output_format": "pdf"}
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        machines.create_profile(s, ws, owner, name="Fibre", min_module=0.1, **bed)
        machines.create_profile(s, ws, owner, name="Coarse", min_module=1.5, **bed)
        machines.create_profile(s, ws, owner, name="Anodised", min_module=0.2, invert_codes=True, **bed)
    with db.session() as s, pytest.raises(InvalidInput) as err:
        export_job(s, s.get(Workspace, ws_id), s.get(Job, job_id), owner, profile_name="Coarse",
                   files_dir=files_dir)  # fmt: skip
    assert "finer than 1.5 mm, the smallest 'Coarse' engraves" in err.value.errors["items"]
    for profile, inverted in (("Fibre", False), ("Anodised", True)):
        with db.session() as s:
            result = export_job(s, s.get(Workspace, ws_id), s.get(Job, job_id), owner, profile_name=profile,
                                files_dir=files_dir)  # fmt: skip
        with zipfile.ZipFile(result.zip_path) as z:
            (name,) = [n for n in z.namelist() if n.endswith(".pdf")]
            (page,) = pdf_images(z.read(name), 600)
        found = read_codes(page, engraved_light=inverted)
        assert found == sorted(c for v in VALUES for c in _codes(v)), profile


def test_preflight_in_the_job_uses_the_workspaces_profiles(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    from tests.pipeline.pipeline_fixtures import job_with_items

    files_dir = runtime.settings.files_dir
    _import(db, ws_id, owner, files_dir)
    job_id = job_with_items(db, ws_id, owner, files_dir, VALUES, template="asset-tag")
    with db.session() as s:
        assert run_preflight(s, s.get(Job, job_id), owner, files_dir).errors == 0
        ws = s.get(Workspace, ws_id)
        for p in machines.list_profiles(s, ws):
            machines.update_profile(s, ws, owner, p.name, min_module=3 if p.units == "mm" else 0.12)
    with db.session() as s:
        report = run_preflight(s, s.get(Job, job_id), owner, files_dir)
    small = [i for i in report.issues if i.code == "CODE_MODULE_SMALL"]
    assert {(i.position, i.field) for i in small} == {
        (n, k) for n in (1, 2) for k in ("qr", "dm", "serial", "ean")
    }


def test_the_pet_tag_demo_exports_tags_whose_qr_codes_scan(runtime: Runtime, tmp_path: Path,
                                                           stop_the_proof_pool: None) -> None:  # fmt: skip
    order = SAMPLES_DIR.parent / "samples" / "pet-tags.csv"
    links = [line.rsplit(",", 1)[1] for line in order.read_text(encoding="utf-8").splitlines()[1:]]
    lines: list[str] = []
    run_demo(runtime, lines.append, template_key="pet-tag", order=order, output_format="pdf")
    assert any("mapping:" in line and "qr link → link" in line for line in lines)
    assert not any("ERROR" in line for line in lines)
    pdfs = [
        Path(line.split("- ", 1)[1]) for line in lines if line.startswith("   - ") and line.endswith(".pdf")
    ]
    found = sorted(text for pdf in pdfs for page in pdf_images(pdf.read_bytes(), 600)
                   for _fmt, text in read_codes(page))  # fmt: skip
    assert found == sorted(links)
    from PIL import Image

    proofs = sorted((runtime.settings.files_dir / "proofs").rglob("item-*-v1.png"))
    assert len(proofs) == len(links)
    assert sorted(t for p in proofs for _f, t in read_codes(Image.open(p).convert("L"))) == sorted(links)
