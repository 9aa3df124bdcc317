"""Templates: the TOML format, validation messages, round trips, content hashes and the samples."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from PIL import Image

from pipeline.templates.template import (
    SAMPLES_DIR,
    Template,
    TemplateError,
    dump_template,
    load_template,
    sample_templates,
)
from tests.pipeline.conftest_layout import bundled_registry

REG = bundled_registry()


def badge_doc() -> dict[str, Any]:
    return copy.deepcopy(sample_templates()["badge"].to_dict())


def load_doc(doc: dict[str, Any], base_dir: Path = SAMPLES_DIR) -> Template:
    return load_template(tomli_w.dumps(doc), base_dir=base_dir, registry=REG)


def errors_of(doc: dict[str, Any], base_dir: Path = SAMPLES_DIR) -> list[str]:
    with pytest.raises(TemplateError) as exc:
        load_doc(doc, base_dir)
    return exc.value.messages


def test_samples_match_the_product() -> None:
    samples = sample_templates()
    assert set(samples) == {"badge", "trophy-plate", "plaque"}
    badge, plate, plaque = samples["badge"], samples["trophy-plate"], samples["plaque"]
    assert (badge.width, badge.height, [f.key for f in badge.fields]) == (3.0, 1.0, ["name", "title"])
    assert (plate.width, plate.height) == (2.5, 0.75)
    assert [f.key for f in plate.fields] == ["name", "achievement", "year"]
    assert (plaque.width, plaque.height) == (8.0, 10.0)
    assert [f.key for f in plaque.fields] == ["title", "recipient", "citation", "date"]
    citation = plaque.field("citation")
    assert citation.overflow == "wrap" and citation.max_lines > 3
    assert badge.artwork and badge.artwork.endswith(".svg") and badge.artwork_path().is_file()
    for t in samples.values():  # each sample passes full validation, fonts included
        assert load_template(Path(SAMPLES_DIR / f"{t.key}.toml"), registry=REG) == t


def test_dump_and_load_round_trip() -> None:
    for t in sample_templates().values():
        text = dump_template(t)
        again = load_template(text, base_dir=t.base_dir, registry=REG)
        assert again == t
        assert dump_template(again) == text
        assert again.content_hash == t.content_hash


def test_defaults_fill_in_and_survive_the_round_trip() -> None:
    text = """
key = "tag"
name = "Pet tag"
width = 1.25
height = 1.25

[[fields]]
key = "pet"
x = 0.1
y = 0.4
width = 1.05
height = 0.4
"""
    t = load_template(text, registry=REG)
    f = t.field("pet")
    assert (f.label, f.size, f.min_size, f.max_lines, f.align, f.valign, f.overflow, f.weight) == (
        "pet", 12.0, 6.0, 1, "center", "middle", "shrink", "normal"
    )  # fmt: skip
    assert t.default_font == "DejaVu Sans" and t.artwork is None
    assert load_template(dump_template(t)) == t


def test_content_hash_changes_with_the_template_and_its_artwork(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES_DIR, tmp_path / "tpl")
    path = tmp_path / "tpl" / "badge.toml"
    before = load_template(path, registry=REG).content_hash
    assert before == sample_templates()["badge"].content_hash
    edited = load_template(path.read_text().replace("size = 26.0", "size = 27.0"), base_dir=path.parent)
    assert edited.content_hash != before
    svg = tmp_path / "tpl" / "artwork" / "badge-border.svg"
    svg.write_text(svg.read_text().replace('stroke-width="1.2"', 'stroke-width="1.5"'))
    assert load_template(path).content_hash != before


def _set(field_index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        doc["fields"][field_index].update(changes)

    return apply


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_set(0, x=2.5, width=1.0), "field 'name': lies outside the template: x + width = 3.5 in exceeds"),
        (_set(1, y=0.9), "field 'title': lies outside the template: y + height"),
        (_set(0, min_size=30.0), "field 'name': min_size 30 pt is above the base size 26 pt"),
        (_set(0, font="Nonexistent Grotesk"), "field 'name': unknown font 'Nonexistent Grotesk'"),
        (_set(0, size=-4.0), "field 'name': size must be greater than 0 pt"),
        (_set(0, size=0), "field 'name': size must be greater than 0 pt"),
        (_set(1, min_size=0.0), "field 'title': min_size must be greater than 0 pt"),
        (_set(1, width=0.0), "field 'title': width and height must be greater than 0 in"),
        (_set(1, height=-0.2), "field 'title': width and height must be greater than 0 in"),
        (_set(0, x=-0.1), "field 'name': x and y must not be negative"),
        (_set(1, key="name"), "field 'name': duplicate key"),
        (_set(0, overflow="squeeze"), "field 'name': unknown overflow 'squeeze'"),
        (_set(0, align="justify"), "field 'name': unknown align 'justify'"),
        (_set(0, weight="heavy"), "field 'name': unknown weight 'heavy'"),
        (_set(0, max_lines=0), "field 'name': max_lines must be at least 1"),
        (_set(0, max_chars=0), "field 'name': max_chars must be at least 1"),
        (_set(0, size="big"), "field 'name': 'size' must be a number"),
        (_set(0, colour="red"), "field 'name': unknown setting 'colour'"),
        (_set(0, key="first name"), "key must be 1-64 letters"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_each_bad_field_is_named_with_its_problem(
    mutate: Callable[[dict[str, Any]], None], expected: str
) -> None:
    doc = badge_doc()
    mutate(doc)
    messages = errors_of(doc)
    assert any(expected in m for m in messages), messages


def test_template_level_problems() -> None:
    doc = badge_doc()
    doc.update(width=0, default_font="Wingdings Pro", format_version=9, shape="oval")
    del doc["name"]
    messages = errors_of(doc)
    for expected in (
        "template: 'name' is required",
        "template: width and height must be greater than 0 in",
        "template: unknown default_font 'Wingdings Pro'",
        "template: unsupported format_version 9",
        "template: unknown setting 'shape'",
    ):
        assert any(expected in m for m in messages), (expected, messages)


def test_all_problems_are_reported_together() -> None:
    doc = badge_doc()
    _set(0, min_size=40.0, overflow="nope")(doc)
    _set(1, width=0.0)(doc)
    messages = errors_of(doc)
    assert len(messages) >= 3
    assert str(TemplateError(messages)).startswith("invalid template:")


def test_no_fields_and_bad_toml() -> None:
    doc = badge_doc()
    doc["fields"] = []
    assert any("at least one [[fields]]" in m for m in errors_of(doc))
    with pytest.raises(TemplateError, match="not valid TOML"):
        load_template('key = "x"\nname = ')


def test_missing_artwork_is_refused(tmp_path: Path) -> None:
    doc = badge_doc()
    doc["artwork"] = "artwork/missing.svg"
    assert any("artwork 'artwork/missing.svg': file not found" in m for m in errors_of(doc))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><rect", "not a readable SVG"),
        ("page.svg", b"<html><body>hello</body></html>", "not an SVG document"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "not a readable image"),
        ("photo.jpg", b"this is not a jpeg", "not a readable image"),
        ("art.gif", b"GIF89a", "must be an SVG, PNG or JPEG"),
    ],
)
def test_corrupt_artwork_is_refused(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    (tmp_path / name).write_bytes(content)
    doc = badge_doc()
    doc["artwork"] = name
    assert any(f"artwork '{name}'" in m and expected in m for m in errors_of(doc, tmp_path))


def test_png_and_jpeg_artwork_load_relative_to_the_template_file(tmp_path: Path) -> None:
    Image.new("RGB", (300, 100), "white").save(tmp_path / "bg.png")
    Image.new("RGB", (300, 100), "white").save(tmp_path / "bg.jpg")
    for name in ("bg.png", "bg.jpg"):
        doc = badge_doc()
        doc["artwork"] = name
        (tmp_path / "t.toml").write_text(tomli_w.dumps(doc))
        t = load_template(tmp_path / "t.toml", registry=REG)
        assert t.artwork_path() == tmp_path / name


def test_aliased_fonts_are_known() -> None:
    doc = badge_doc()
    doc["default_font"] = "Arial"
    _set(0, font="Times New Roman")(doc)
    t = load_doc(doc)
    assert t.default_font == "Arial" and t.field("name").font == "Times New Roman"
