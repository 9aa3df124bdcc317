"""Helpers shared by the template/font/layout/proof tests (imported explicitly, not a conftest)."""

from __future__ import annotations

from pathlib import Path

from fontTools.ttLib import TTFont

from pipeline.templates.font_files import BUNDLED_FONTS_DIR
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Field, Template

DEJAVU_DIR = BUNDLED_FONTS_DIR / "dejavu"
LIBERATION_DIR = BUNDLED_FONTS_DIR / "liberation"

NAMES = [
    "Zoë Müller",
    "Seán O'Connor",
    "Анна Ковальская",
    "Αλέξανδρος Παπαδόπουλος",
    "Jonathan Q. Smithers-Worthington III",
    "Dr. María José García-López, PhD",
    "Li Wei",
    "Øvergård Wiśniewska",
    "ÅÉÎ ǺNGSTRÖM",
    "Oluwaseun Adébáyọ̀",
    "X",
    "Employee of the Year 2024 — Outstanding Service Award",
    "Supercalifragilisticexpialidocious" * 3,
]


def bundled_registry(**kwargs: object) -> FontRegistry:
    """A registry that sees only the bundled fonts (plus what the test adds), whatever the machine has."""
    return FontRegistry(include_system=False, **kwargs)


def renamed_font(
    dest: Path,
    family: str,
    *,
    source: Path = DEJAVU_DIR / "DejaVuSansMono.ttf",
    weight_class: int | None = None,
) -> Path:
    """Copy a bundled font under a new family name (a font the registry has never seen)."""
    tt = TTFont(source)
    name = tt["name"]
    style = "Bold" if (weight_class or tt["OS/2"].usWeightClass) >= 600 else "Regular"
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            rec.string = family
        elif rec.nameID in (2, 17):
            rec.string = style
        elif rec.nameID == 4:
            rec.string = f"{family} {style}"
        elif rec.nameID == 6:
            rec.string = f"{family.replace(' ', '')}-{style}"
    if weight_class is not None:
        tt["OS/2"].usWeightClass = weight_class
    dest.parent.mkdir(parents=True, exist_ok=True)
    tt.save(dest)
    return dest


def field(**kw: object) -> Field:
    """A field with sensible defaults (a 2 x 0.5 in box at 0.1, 0.1 in), overridden by ``kw``."""
    base: dict[str, object] = dict(
        key="f", label="F", x=0.1, y=0.1, width=2.0, height=0.5, size=24.0, min_size=8.0
    )
    base.update(kw)
    return Field(**base)


def template_with(*fields: Field, width: float = 3.0, height: float = 1.0, **kw: object) -> Template:
    return Template(key="t", name="Test", width=width, height=height, fields=tuple(fields), **kw)
