"""SVG artwork must be self-contained: references to other files, URLs, entities and the like are
refused at import with the reference named, and never followed by proofs or exports."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.export.artwork import ArtworkError, load_artwork
from pipeline.proofs.draw import ProofError
from pipeline.proofs.item import render_item_proof
from pipeline.rendering.layout import layout_item
from pipeline.templates import catalog
from pipeline.templates.template import SAMPLES_DIR, check_artwork
from storage.db import Database
from storage.models import Template as TemplateRow
from storage.models import Workspace
from tests.pipeline.conftest_layout import bundled_registry, field, template_with

SECRET = "Zebulon Quartermaine"
SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
SELF_CONTAINED = "artwork must be self-contained"


def svg(body: str, head: str = "") -> bytes:
    return f'{head}<svg {SVG_NS} width="216" height="72" viewBox="0 0 216 72">{body}</svg>'.encode()


def png_data_uri() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "#c08040").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """Another shop's export two folders above the artwork, with its customer's name in it."""
    path = tmp_path / "x.svg"
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50">'
        f'<text x="5" y="30" font-size="20">{SECRET}</text></svg>'
    )
    return path


def hostile_artwork(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "shop" / "v1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "art.svg").write_bytes(data)
    return folder


IMAGE_OF_FILE = svg('<image x="0" y="0" width="200" height="50" xlink:href="../../x.svg"/>')
HOSTILE = {
    "image-file": (IMAGE_OF_FILE, "artwork refers to ../../x.svg"),
    "image-url": (
        svg('<image width="9" height="9" href="http://203.0.113.9/track.png"/>'),
        "http://203.0.113.9",
    ),
    "image-absolute": (svg('<image width="9" height="9" xlink:href="file:///etc/hostname"/>'), "file:///etc"),
    "use-external": (svg('<use xlink:href="../../x.svg#secret"/>'), "refers to ../../x.svg#secret"),
    "entity": (
        svg("<text x='1' y='20'>&secret;</text>", '<!DOCTYPE svg [<!ENTITY secret SYSTEM "../../x.svg">]>'),
        "entities",
    ),
    "xinclude": (
        svg('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="../../x.svg"/>'),
        "xi:include ../../x.svg",
    ),
    "css-url": (svg('<rect width="9" height="9" style="fill: url(http://203.0.113.9/p.svg#g)"/>'), "url("),
    "css-import": (
        svg("<style>@import url('../../x.css');</style><rect width='9' height='9'/>"),
        "../../x.css",
    ),
    "stylesheet-pi": (
        svg("<rect width='9' height='9'/>", '<?xml-stylesheet href="http://203.0.113.9/s.css"?>'),
        "xml-stylesheet",
    ),
    "script": (svg("<script>alert(1)</script>"), "<script>"),
    "embedded-image": (svg(f'<image width="8" height="8" xlink:href="{png_data_uri()}"/>'), "vectors only"),
    "foreign-object": (svg("<foreignObject><p>hi</p></foreignObject>"), "<foreignObject>"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_template_check_refuses_each_kind_of_reference(tmp_path: Path, case: str) -> None:
    data, named = HOSTILE[case]
    folder = hostile_artwork(tmp_path, data)
    problem = check_artwork(folder / "art.svg")
    assert problem is not None and named in problem, problem
    if "refers to" in problem or "entities" in problem:
        assert SELF_CONTAINED in problem


@pytest.mark.parametrize("case", ["image-file", "image-url", "entity", "use-external"])
def test_import_refuses_artwork_that_is_not_self_contained(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, case: str
) -> None:
    data, named = HOSTILE[case]
    source = (SAMPLES_DIR / "badge.toml").read_text().replace('key = "badge"', 'key = "badge-x"')
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        with pytest.raises(InvalidInput) as refused:
            catalog.import_template(
                s,
                ws,
                owner,
                source,
                tmp_path / "files",
                artwork=("badge-border.svg", data),
                registry=bundled_registry(),
            )
    message = refused.value.errors["template"]
    assert named in message and "badge-border.svg" in message
    with db.read() as s:
        assert s.exec(select(TemplateRow).where(TemplateRow.key == "badge-x")).first() is None


def test_a_proof_never_shows_what_the_artwork_points_at(tmp_path: Path, secret_file: Path) -> None:
    folder = hostile_artwork(tmp_path, IMAGE_OF_FILE)
    template = template_with(field(key="name"), artwork="art.svg", base_dir=str(folder))
    values = {"name": "Jane Doe"}
    layout = layout_item(template, values, registry=bundled_registry())
    pdf, png = tmp_path / "p.pdf", tmp_path / "p.png"
    with pytest.raises(ProofError, match="refers to ../../x.svg"):
        render_item_proof(template, layout, values, pdf, png)
    if pdf.exists():
        with pdfplumber.open(pdf) as doc:
            text = "".join(c["text"] for page in doc.pages for c in page.chars)
        assert "Quartermaine" not in text


def test_an_export_never_reads_what_the_artwork_points_at(tmp_path: Path, secret_file: Path) -> None:
    folder = hostile_artwork(tmp_path, IMAGE_OF_FILE)
    template = template_with(field(key="name"), artwork="art.svg", base_dir=str(folder))
    with pytest.raises(ArtworkError, match="refers to ../../x.svg"):
        load_artwork(template)


def test_references_inside_the_file_are_fine(tmp_path: Path) -> None:
    body = (
        '<defs><rect id="r" width="20" height="10"/></defs><use xlink:href="#r" x="5" y="5"/>'
        '<rect x="60" y="5" width="9" height="9" style="fill: url(#g)"/>'
        '<linearGradient id="g"><stop offset="0" stop-color="#000"/></linearGradient>'
    )
    folder = hostile_artwork(tmp_path, svg(body))
    assert check_artwork(folder / "art.svg") is None
    template = template_with(field(key="name"), artwork="art.svg", base_dir=str(folder))
    layout = layout_item(template, {"name": "Jane Doe"}, registry=bundled_registry())
    render_item_proof(template, layout, {"name": "Jane Doe"}, tmp_path / "p.pdf", tmp_path / "p.png")
    with pdfplumber.open(tmp_path / "p.pdf") as doc:
        assert doc.pages[0].rects, 'the rectangle reached through <use href="#r"> is drawn'


def test_a_big_svg_is_refused_at_once(tmp_path: Path) -> None:
    rects = "".join(f'<rect x="{i % 200}" y="{i % 70}" width="1" height="1"/>' for i in range(110_000))
    data = svg(rects)
    assert len(data) > 4_500_000
    folder = hostile_artwork(tmp_path, data)
    started = time.monotonic()
    problem = check_artwork(folder / "art.svg")
    elapsed = time.monotonic() - started
    assert (
        problem is not None
        and f"is {len(data) / 1_048_576:.1f} MB; artwork may be at most 1,024 KB" in problem
    )
    assert elapsed < 3.0, f"refusing a {len(data):,}-byte SVG took {elapsed:.1f} s"


def test_too_many_elements_are_refused(tmp_path: Path) -> None:
    data = svg("".join(f'<rect x="{i % 200}" y="1" width="1" height="1"/>' for i in range(2_500)))
    assert len(data) < 1024 * 1024
    folder = hostile_artwork(tmp_path, data)
    problem = check_artwork(folder / "art.svg")
    assert problem is not None and "more than 2,000 elements" in problem
