"""Font registry: bundled/system/uploaded fonts, resolution with its fallback chain, coverage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from pipeline.templates.font_faces import load_font, missing_characters
from pipeline.templates.font_files import BUNDLED_FONTS_DIR, file_sha256
from pipeline.templates.font_uploads import FontValidationError, store_uploaded_font, validate_font_bytes
from pipeline.templates.fonts import FontRegistry
from tests.pipeline.conftest_layout import DEJAVU_DIR, LIBERATION_DIR, bundled_registry, renamed_font


def test_bundled_fonts_ship_with_their_licences() -> None:
    for name in ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSerif", "DejaVuSerif-Bold", "DejaVuSansMono",
                 "DejaVuSansMono-Bold"):  # fmt: skip
        assert (DEJAVU_DIR / f"{name}.ttf").is_file()
    for name in ("Sans", "Serif", "Mono"):
        for style in ("Regular", "Bold"):
            assert (LIBERATION_DIR / f"Liberation{name}-{style}.ttf").is_file()
    dejavu_licence = (DEJAVU_DIR / "LICENSE.txt").read_text()
    assert "Bitstream Vera" in dejavu_licence and "Arev" in dejavu_licence
    assert "SIL OPEN FONT LICENSE Version 1.1" in (LIBERATION_DIR / "LICENSE.txt").read_text()


def test_registry_lists_bundled_families_with_weights_from_the_font_tables() -> None:
    reg = bundled_registry()
    assert reg.families() == [
        "DejaVu Sans", "DejaVu Sans Mono", "DejaVu Serif",
        "Liberation Mono", "Liberation Sans", "Liberation Serif",
    ]  # fmt: skip
    bold = reg.find("DejaVu Serif", "bold")
    assert bold is not None and Path(bold.path).name == "DejaVuSerif-Bold.ttf"
    assert bold.weight == "bold" and bold.weight_class == 700 and not bold.italic and bold.source == "bundled"


def test_exact_resolution_ignores_case_and_spacing() -> None:
    reg = bundled_registry()
    res = reg.resolve("dejavu-SANS", "bold")
    assert Path(res.font.path).name == "DejaVuSans-Bold.ttf"
    assert res.step == "exact" and not res.substituted and res.reason == ""


@pytest.mark.parametrize(
    ("family", "weight", "expected"),
    [
        ("Arial", "normal", "LiberationSans-Regular.ttf"),
        ("Helvetica", "bold", "LiberationSans-Bold.ttf"),
        ("Times New Roman", "normal", "LiberationSerif-Regular.ttf"),
        ("Times", "bold", "LiberationSerif-Bold.ttf"),
        ("Courier New", "normal", "LiberationMono-Regular.ttf"),
        ("courier", "bold", "LiberationMono-Bold.ttf"),
    ],
)
def test_shop_font_names_get_metric_compatible_substitutes(family: str, weight: str, expected: str) -> None:
    res = bundled_registry().resolve(family, weight)
    assert Path(res.font.path).name == expected
    assert res.substituted and res.step == "alias"
    assert family in res.reason and "metric-compatible" in res.reason


def test_real_font_wins_over_the_alias(tmp_path: Path) -> None:
    renamed_font(
        tmp_path / "fonts" / "arial.ttf", "Arial", source=LIBERATION_DIR / "LiberationSans-Regular.ttf"
    )
    res = FontRegistry(include_system=False, workspace_dirs=[tmp_path / "fonts"]).resolve("Arial")
    assert res.step == "exact" and not res.substituted and res.font.source == "workspace"


def test_unknown_family_falls_back_to_workspace_default_then_dejavu() -> None:
    res = bundled_registry(default_family="DejaVu Serif").resolve("Comic Sans MS", "bold")
    assert Path(res.font.path).name == "DejaVuSerif-Bold.ttf"
    assert res.step == "workspace_default" and res.substituted and "Comic Sans MS" in res.reason
    res = bundled_registry().resolve("Comic Sans MS")
    assert Path(res.font.path).name == "DejaVuSans.ttf" and res.step == "last_resort" and res.substituted
    assert bundled_registry().resolve(None).step == "last_resort"


def test_family_without_the_weight_uses_its_other_face(tmp_path: Path) -> None:
    renamed_font(tmp_path / "ws" / "regular.ttf", "Shop Script")
    reg = FontRegistry(include_system=False, workspace_dirs=[tmp_path / "ws"])
    res = reg.resolve("Shop Script", "bold")
    assert res.step == "other_weight" and res.substituted and res.font.family == "Shop Script"
    assert reg.resolve("Shop Script").step == "exact"


def test_machine_fonts_are_scanned_and_bundled_copies_preferred(tmp_path: Path) -> None:
    system = tmp_path / "system"
    renamed_font(system / "a" / "house.ttf", "House Grotesk")
    shutil.copy(DEJAVU_DIR / "DejaVuSans.ttf", system / "DejaVuSans.ttf")
    (system / "notes.ttf").write_text("not a font")  # unreadable files are skipped, not fatal
    reg = FontRegistry(system_dirs=[system])
    face = reg.find("House Grotesk")
    assert face is not None and face.source == "system"
    assert reg.resolve("DejaVu Sans").font.source == "bundled"
    assert reg.fonts() is reg.fonts()  # the scan is cached until refresh()


def test_font_identity_is_the_content_hash(tmp_path: Path) -> None:
    path = renamed_font(tmp_path / "ws" / "f.ttf", "Hash Family")
    reg = FontRegistry(include_system=False, workspace_dirs=[tmp_path / "ws"])
    face = reg.find("Hash Family")
    assert face is not None
    assert face.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == file_sha256(path)
    assert reg.by_hash(face.sha256) == face
    renamed_font(path, "Hash Family", weight_class=500)  # a changed file under the same name
    reg.refresh()
    changed = reg.find("Hash Family")
    assert changed is not None and changed.sha256 != face.sha256
    assert load_font(changed).sha256 == changed.sha256


def test_uploaded_font_is_validated_and_stored_by_hash(tmp_path: Path) -> None:
    src = renamed_font(tmp_path / "src" / "Brand.ttf", "Brand Sans")
    data = src.read_bytes()
    info = validate_font_bytes(data, "Brand.ttf")
    assert info.family == "Brand Sans" and info.weight == "normal" and info.glyph_count > 100
    stored = store_uploaded_font(data, "My Brand (final).ttf", tmp_path / "ws")
    assert Path(stored.path).parent == tmp_path / "ws" and stored.source == "workspace"
    assert Path(stored.path).name.startswith(info.sha256[:16])
    assert store_uploaded_font(data, "again.ttf", tmp_path / "ws").sha256 == stored.sha256
    assert len(list((tmp_path / "ws").iterdir())) == 2  # two names, same bytes: only the name differs
    reg = FontRegistry(include_system=False, workspace_dirs=[tmp_path / "ws"])
    assert reg.resolve("Brand Sans").step == "exact"


def test_text_file_renamed_ttf_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FontValidationError, match="not a font file"):
        store_uploaded_font(b"Hello, this is a plain text file.\n" * 20, "logo.ttf", tmp_path / "ws")
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").iterdir())


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.ttf", "empty"),
        (b"wOFF" + b"\0" * 100, "font.woff", "only .ttf and .otf"),
        (b"ttcf" + b"\0" * 100, "pack.ttf", "collections"),
        (b"\0\1\0\0" + b"\0" * 60, "truncated.ttf", "lacks required tables"),
    ],
    ids=["empty", "woff", "collection", "no-tables"],
)
def test_bad_uploads_get_clear_messages(data: bytes, name: str, message: str) -> None:
    with pytest.raises(FontValidationError, match=message):
        validate_font_bytes(data, name)


def test_font_without_cmap_or_outlines_is_refused(tmp_path: Path) -> None:
    tt = TTFont(DEJAVU_DIR / "DejaVuSansMono.ttf")
    del tt["cmap"]
    tt.save(tmp_path / "nocmap.ttf")
    with pytest.raises(FontValidationError, match="cmap"):
        validate_font_bytes((tmp_path / "nocmap.ttf").read_bytes(), "nocmap.ttf")


@pytest.mark.parametrize(
    ("text", "font", "missing"),
    [
        ("Анна Ковальская", "DejaVuSans.ttf", []),
        ("Αλέξανδρος Παπαδόπουλος", "DejaVuSans.ttf", []),
        ("Zoë Müller Øvergård Wiśniewska", "DejaVuSerif.ttf", []),
        ("Jose\u0301", "DejaVuSans.ttf", []),  # decomposed é is checked after NFC
        ("❤\ufe0f", "DejaVuSans.ttf", []),  # the variation selector is not a character to draw
        ("Party 🦄!", "DejaVuSans.ttf", ["🦄"]),
        ("你好 你", "DejaVuSans.ttf", ["你", "好"]),
        ("مرحبا", "DejaVuSansMono.ttf", []),
    ],
)
def test_coverage_check(text: str, font: str, missing: list[str]) -> None:
    assert missing_characters(text, DEJAVU_DIR / font) == missing


def test_liberation_coverage_differs_from_dejavu() -> None:
    lib = BUNDLED_FONTS_DIR / "liberation" / "LiberationSans-Regular.ttf"
    assert missing_characters("Анна Αλέξανδρος", lib) == []
    assert missing_characters("مرحبا 😀", lib) == ["م", "ر", "ح", "ب", "ا", "😀"]


def test_glyph_outlines_are_decomposed_and_cached() -> None:
    lf = load_font(DEJAVU_DIR / "DejaVuSans.ttf")
    gid = lf.hb_font.get_nominal_glyph(ord("é"))
    ops = lf.outline(gid)
    assert ops and all(op != "addComponent" for op, _args in ops)
    assert lf.outline(gid) is ops
    assert lf.ink(lf.hb_font.get_nominal_glyph(ord(" "))) is None
