"""A font a shop uploads: checked by opening it (TrueType or OpenType only, within the size limit),
then stored under a name made from its content hash, so the same bytes uploaded twice are one file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont

from pipeline.core.files import write_atomic
from pipeline.templates.font_files import (
    FONT_EXTENSIONS,
    FontError,
    FontFile,
    Weight,
    read_face_info,
    scan_file,
)

MAX_UPLOAD_BYTES = 30 * 1024 * 1024


class FontValidationError(FontError):
    """An uploaded file is not a usable font; ``str(err)`` is a message for the shop."""


# -- uploads ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadedFontInfo:
    family: str
    style: str
    weight: Weight
    glyph_count: int
    sha256: str


_SFNT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true")

_WEB_FONT_MAGIC = {b"wOFF": "WOFF", b"wOF2": "WOFF2"}


def validate_font_bytes(data: bytes, filename: str = "font.ttf") -> UploadedFontInfo:
    """Check that ``data`` is one TTF/OTF face with a cmap and outlines, else raise FontValidationError."""
    label = Path(filename).name or "the file"
    ext = Path(filename).suffix.lower()
    if ext not in FONT_EXTENSIONS:
        raise FontValidationError(
            f"{label}: only .ttf and .otf fonts can be uploaded (got '{ext or 'no extension'}')"
        )
    if not data:
        raise FontValidationError(f"{label}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise FontValidationError(f"{label}: the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if data[:4] == b"ttcf":
        raise FontValidationError(f"{label}: font collections (.ttc) are not supported; upload a single face")
    if data[:4] in _WEB_FONT_MAGIC:
        raise FontValidationError(
            f"{label}: this is a {_WEB_FONT_MAGIC[data[:4]]} web font renamed {ext}; "
            "upload the original TrueType (.ttf) or OpenType (.otf) file"
        )
    if data[:4] not in _SFNT_MAGIC:
        raise FontValidationError(
            f"{label}: this is not a font file (it does not start like a TrueType or OpenType font)"
        )
    try:
        tt = TTFont(io.BytesIO(data), lazy=False)
    except Exception:
        raise FontValidationError(
            f"{label}: this is not a font file (it could not be opened as TrueType/OpenType)"
        ) from None
    try:
        missing = [t for t in ("head", "name", "cmap", "hmtx") if t not in tt]
        if missing:
            raise FontValidationError(f"{label}: the font lacks required tables: {', '.join(missing)}")
        if not any(t in tt for t in ("glyf", "CFF ", "CFF2")):
            raise FontValidationError(
                f"{label}: the font has no outlines (no glyf or CFF table); lasers need outlines"
            )
        cmap = tt.getBestCmap()
        if not cmap:
            raise FontValidationError(f"{label}: the font maps no Unicode characters (its cmap is empty)")
        glyph_set = tt.getGlyphSet()
        # Drawing a few mapped glyphs proves the outline data actually parses.
        for cp in sorted(cmap)[:8]:
            glyph_set[cmap[cp]].draw(BoundsPen(glyph_set))
        info = read_face_info(tt, label, "workspace")
        return UploadedFontInfo(
            family=info.family,
            style=info.style,
            weight=info.weight,
            glyph_count=len(tt.getGlyphOrder()),
            sha256=hashlib.sha256(data).hexdigest(),
        )
    except FontValidationError:
        raise
    except Exception as exc:
        raise FontValidationError(
            f"{label}: the font file is damaged ({type(exc).__name__}: {exc})"
        ) from None
    finally:
        tt.close()


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem).strip("-.")
    return stem[:60] or "font"


def store_uploaded_font(data: bytes, filename: str, dest_dir: str | os.PathLike[str]) -> FontFile:
    """Validate an uploaded font and store it in ``dest_dir`` (atomically, named by content hash).

    Uploading the same bytes twice stores one file. Raises FontValidationError for a non-font.
    """
    info = validate_font_bytes(data, filename)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / f"{info.sha256[:16]}-{_safe_stem(filename)}{Path(filename).suffix.lower()}"
    if not final.exists():
        write_atomic(final, data)
    st = final.stat()
    face = scan_file(str(final), st.st_mtime_ns, st.st_size, "workspace")
    if face is None:  # validated above, so this means the disk changed under us
        raise FontError(f"stored font {final} could not be read back")
    return face
