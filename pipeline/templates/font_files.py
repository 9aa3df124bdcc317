"""Font files: what one file is (its family, weight, full name and content hash), read once per file
version, and the folders scanned for them (the bundled fonts in pipeline/assets/fonts, the machine's,
a workspace's uploads). Faces are identified by the sha256 of the file, so proofs are regenerated
when a font file changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from fontTools.ttLib import TTFont

Weight = Literal["normal", "bold"]

FontSource = Literal["workspace", "bundled", "system"]

BUNDLED_FONTS_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"

SYSTEM_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("~/.fonts").expanduser(),
)

LAST_RESORT_FAMILY = "DejaVu Sans"

FONT_EXTENSIONS = (".ttf", ".otf")


class FontError(Exception):
    """A font could not be found or loaded."""


def family_key(family: str) -> str:
    """The comparison key of a family name: case-folded, without spaces, hyphens and underscores."""
    return re.sub(r"[\s_\-]+", "", family).casefold()


def weight_of(weight_class: int) -> Weight:
    return "bold" if weight_class >= 600 else "normal"


def _sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_sha256_cached = lru_cache(maxsize=1024)(lambda path, _ino, _mtime_ns, _size: _sha256_of(path))

_RACY_SECONDS = 2.0


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, cached per (path, inode, mtime, size).

    Files modified in the last two seconds are hashed afresh: file times are only as fine as the
    kernel's clock tick, so a same-size rewrite within a tick would otherwise hit a stale entry.
    """
    p = os.fspath(path)
    st = os.stat(p)
    if time.time() - st.st_mtime < _RACY_SECONDS:
        return _sha256_of(p)
    return _sha256_cached(p, st.st_ino, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class FontFile:
    """One font face on disk and what its name/OS-2 tables say about it."""

    path: str
    family: str
    weight: Weight
    style: str
    full_name: str
    italic: bool
    weight_class: int
    width_class: int
    source: FontSource
    other_families: tuple[str, ...] = ()

    @cached_property
    def sha256(self) -> str:
        return file_sha256(self.path)

    def family_keys(self) -> set[str]:
        return {family_key(self.family), *(family_key(f) for f in self.other_families)}


def read_face_info(tt: TTFont, path: str, source: FontSource) -> FontFile:
    name = tt["name"]
    legacy_family = name.getDebugName(1) or Path(path).stem
    family = name.getDebugName(16) or legacy_family
    style = name.getDebugName(17) or name.getDebugName(2) or "Regular"
    full_name = name.getDebugName(4) or f"{family} {style}"
    os2 = tt.get("OS/2")
    head = tt["head"]
    if os2 is not None:
        weight_class = int(os2.usWeightClass)
        width_class = int(os2.usWidthClass)
        italic = bool(os2.fsSelection & 0x01) or bool(head.macStyle & 0x02)
    else:
        weight_class = 700 if head.macStyle & 0x01 else 400
        width_class = 5
        italic = bool(head.macStyle & 0x02)
    others = tuple(f for f in {legacy_family} if family_key(f) != family_key(family))
    return FontFile(
        path=path,
        family=family,
        weight=weight_of(weight_class),
        style=style,
        full_name=full_name,
        italic=italic,
        weight_class=weight_class,
        width_class=width_class,
        source=source,
        other_families=others,
    )


@lru_cache(maxsize=4096)
def scan_file(path: str, mtime_ns: int, size: int, source: FontSource) -> FontFile | None:
    try:
        with TTFont(path, lazy=True) as tt:
            if "name" not in tt or "head" not in tt:
                return None
            return read_face_info(tt, path, source)
    except Exception:  # a broken file among the machine's fonts is skipped, not fatal
        return None


def scan_font_dir(directory: Path, source: FontSource) -> list[FontFile]:
    """Every TTF/OTF face below ``directory`` (recursively), sorted by path; unreadable files skipped."""
    found: list[FontFile] = []
    if not directory.is_dir():
        return found
    for root, _dirs, files in os.walk(directory, followlinks=True):
        for fname in files:
            if not fname.lower().endswith(FONT_EXTENSIONS):
                continue
            path = os.path.join(root, fname)
            try:
                st = os.stat(path)
            except OSError:
                continue
            info = scan_file(path, st.st_mtime_ns, st.st_size, source)
            if info is not None:
                found.append(info)
    found.sort(key=lambda f: f.path)
    return found


def font_hashes(fonts: Iterable[FontFile]) -> tuple[str, ...]:
    """Sorted, unique content hashes of faces (for proof input hashes)."""
    return tuple(sorted({f.sha256 for f in fonts}))
