"""A font file opened for drawing, once per process: its cmap, its HarfBuzz face, glyph bounds and
outlines (cached per glyph), and which characters of a text it cannot draw.
"""

from __future__ import annotations

import io
import math
import os
import threading
import unicodedata
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

from pipeline.templates.font_files import FontError, FontFile, Weight, file_sha256, weight_of


# -- coverage ---------------------------------------------------------------------------------------
def is_ignorable(ch: str) -> bool:
    """Characters a shaper hides rather than draws (joiners, variation selectors, direction marks)."""
    cp = ord(ch)
    return (
        unicodedata.category(ch) == "Cf"
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or ch in "\t\n\r"
    )


def missing_characters(text: str, font: FontFile | str | os.PathLike[str]) -> list[str]:
    """Characters of NFC(text) the font's cmap lacks, each once, in order of first appearance."""
    cmap = load_font(font).cmap
    seen: set[str] = set()
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in seen:
            continue
        seen.add(ch)
        if ord(ch) not in cmap and not is_ignorable(ch):
            out.append(ch)
    return out


# -- loaded faces (per process) ---------------------------------------------------------------------
class _OnDemand(dict):
    """A dict that computes (and keeps) a missing value, so hot loops can use ``map(d.__getitem__, ...)``."""

    def __init__(self, compute: Any) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self._compute(key)
        return value


class LoadedFont:
    """A face opened for work: HarfBuzz font, cmap, vertical metrics, ink bounds and outlines (cached)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sha256 = file_sha256(path)
        with open(path, "rb") as fh:
            data = fh.read()
        self.hb_font = hb.Font(hb.Face(hb.Blob(data)))
        self.tt = TTFont(io.BytesIO(data), lazy=True)
        self.upem: int = int(self.tt["head"].unitsPerEm)
        self.cmap: frozenset[int] = frozenset(self.tt.getBestCmap() or {})
        self._glyph_order = self.tt.getGlyphOrder()
        self._glyph_set = self.tt.getGlyphSet()
        os2 = self.tt.get("OS/2")
        hhea = self.tt["hhea"]
        if os2 is not None and os2.sTypoAscender > 0:
            self.ascender, self.descender = int(os2.sTypoAscender), int(os2.sTypoDescender)
        else:
            self.ascender, self.descender = int(hhea.ascent), int(hhea.descent)
        name = self.tt["name"]
        self.full_name = name.getDebugName(4) or Path(path).stem
        self.family = name.getDebugName(16) or name.getDebugName(1) or self.full_name
        self.weight: Weight = weight_of(int(os2.usWeightClass)) if os2 is not None else "normal"
        self._ink: dict[int, tuple[int, int, int, int] | None] = {}
        self._outline: dict[int, tuple[tuple[str, tuple], ...]] = {}
        self._lock = threading.Lock()
        # ink top (yMax) and descent (-yMin) per glyph in em, -inf for blank glyphs; filled on demand
        self.ink_top_em: dict[int, float] = _OnDemand(lambda gid: self._ink_em(gid)[0])
        self.ink_desc_em: dict[int, float] = _OnDemand(lambda gid: self._ink_em(gid)[1])

    def _ink_em(self, gid: int) -> tuple[float, float]:
        box = self.ink(gid)
        if box is None:
            return -math.inf, -math.inf
        return box[3] / self.upem, -box[1] / self.upem

    def glyph_name(self, gid: int) -> str:
        return self._glyph_order[gid] if 0 <= gid < len(self._glyph_order) else ".notdef"

    def ink(self, gid: int) -> tuple[int, int, int, int] | None:
        """Exact ink bounds (xMin, yMin, xMax, yMax) of a glyph in font units; None for blank glyphs."""
        try:
            return self._ink[gid]
        except KeyError:
            pen = BoundsPen(self._glyph_set)
            with self._lock:  # fontTools decompiles glyphs lazily, which is not thread-safe
                self._glyph_set[self.glyph_name(gid)].draw(pen)
            b = pen.bounds
            box = (
                None
                if b is None
                else (int(b[0] // 1), int(b[1] // 1), int(-(-b[2] // 1)), int(-(-b[3] // 1)))
            )
            self._ink[gid] = box
            return box

    def outline(self, gid: int) -> tuple[tuple[str, tuple], ...]:
        """A glyph's outline as recorded pen operations in font units (y up), components decomposed."""
        try:
            return self._outline[gid]
        except KeyError:
            pen = DecomposingRecordingPen(self._glyph_set)
            with self._lock:
                self._glyph_set[self.glyph_name(gid)].draw(pen)
            ops = tuple((op, tuple(args)) for op, args in pen.value)
            self._outline[gid] = ops
            return ops


_loaded: dict[tuple[str, str], LoadedFont] = {}

_load_lock = threading.Lock()


def load_font(font: FontFile | str | os.PathLike[str]) -> LoadedFont:
    """The per-process LoadedFont for a face; reloaded when the file's content hash changes.

    For a FontFile the hash is the one taken when the registry scanned it (refresh() to re-read).
    """
    if isinstance(font, FontFile):
        path, sha = font.path, font.sha256
    else:
        path = os.fspath(font)
        sha = file_sha256(path)
    key = (path, sha)
    lf = _loaded.get(key)
    if lf is None:
        with _load_lock:
            lf = _loaded.get(key)
            if lf is None:
                try:
                    lf = LoadedFont(path)
                except Exception as exc:
                    raise FontError(f"cannot load font {path}: {exc}") from exc
                _loaded[key] = lf
    return lf
