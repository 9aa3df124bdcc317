"""Drawing the approval pages: the Jinja environment with its filters, and the assets it links to."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" '
    'fill="#1f2a37"/><path d="M9 16.5l4.5 4.5L23 11.5" fill="none" stroke="#fff" stroke-width="3.2" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


def _long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%A}, {value.day} {value:%B %Y}"


def _label(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def asset_versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:12] for p in STATIC_DIR.iterdir() if p.is_file()
    }


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # everything here is HTML; notes, values and names are always escaped
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["longdate"] = _long_date
    env.filters["label"] = _label
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env
