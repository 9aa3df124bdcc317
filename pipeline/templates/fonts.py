"""Fonts: where they come from, how a family name becomes a file, and what a file can draw.

Three sources, searched in this order when two files claim the same family and weight:

1. workspace fonts: TTF/OTF files a shop uploaded (validated by :func:`validate_font_bytes`, stored
   under a name made from their content hash by :func:`store_uploaded_font`);
2. bundled fonts: ``pipeline/assets/fonts`` (DejaVu Sans/Serif/Sans Mono and Liberation
   Sans/Serif/Mono, regular and bold, licences beside them);
3. machine fonts: ``/usr/share/fonts``, ``/usr/local/share/fonts``, ``~/.fonts``.

Resolution (:meth:`FontRegistry.resolve`) turns (family, weight) into one file through this chain:

1. exact: a face of that family and weight;
2. same family, other weight: the family exists but lacks the weight (substitute);
3. metric-compatible alias: Arial/Helvetica -> Liberation Sans, Times New Roman/Times -> Liberation
   Serif, Courier New/Courier -> Liberation Mono (substitute: line breaks match, the face does not);
4. the workspace default font (substitute);
5. DejaVu Sans, always bundled (substitute).

Every step after the first marks the result ``substituted`` with a human reason (MISSING_FONT).
Family names match case-insensitively, ignoring spaces, hyphens and underscores. Faces are
identified by the sha256 of the file so proofs can be regenerated when a font file changes.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import uharfbuzz as hb
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

from pipeline.core.files import write_atomic

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
MAX_UPLOAD_BYTES = 30 * 1024 * 1024

# Metric-compatible free equivalents of the fonts shops name most often.
METRIC_ALIASES: dict[str, str] = {
    "arial": "Liberation Sans",
    "helvetica": "Liberation Sans",
    "timesnewroman": "Liberation Serif",
    "times": "Liberation Serif",
    "couriernew": "Liberation Mono",
    "courier": "Liberation Mono",
}

_SOURCE_ORDER = {"workspace": 0, "bundled": 1, "system": 2}
_WEIGHT_TARGET = {"normal": 400, "bold": 700}


class FontError(Exception):
    """A font could not be found or loaded."""


class FontValidationError(FontError):
    """An uploaded file is not a usable font; ``str(err)`` is a message for the shop."""


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


@dataclass(frozen=True)
class FontResolution:
    """The answer to "which file draws family F at weight W", with why a substitute was used."""

    requested_family: str
    requested_weight: Weight
    font: FontFile
    substituted: bool
    step: Literal["exact", "other_weight", "alias", "workspace_default", "last_resort"]
    reason: str = ""


def _read_face_info(tt: TTFont, path: str, source: FontSource) -> FontFile:
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
def _scan_file(path: str, mtime_ns: int, size: int, source: FontSource) -> FontFile | None:
    try:
        with TTFont(path, lazy=True) as tt:
            if "name" not in tt or "head" not in tt:
                return None
            return _read_face_info(tt, path, source)
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
            info = _scan_file(path, st.st_mtime_ns, st.st_size, source)
            if info is not None:
                found.append(info)
    found.sort(key=lambda f: f.path)
    return found


@dataclass
class FontRegistry:
    """Finds fonts and resolves (family, weight) to a face. Picklable; scans lazily and caches.

    ``workspace_dirs``: directories of fonts the workspace uploaded. ``default_family``: the
    workspace default (fallback) font. ``include_system=False`` gives a registry that only knows the
    bundled and workspace fonts, so results do not depend on the machine.
    """

    workspace_dirs: Sequence[Path] = ()
    default_family: str | None = None
    include_system: bool = True
    system_dirs: Sequence[Path] = SYSTEM_FONT_DIRS
    bundled_dir: Path = BUNDLED_FONTS_DIR
    _fonts: list[FontFile] | None = field(default=None, init=False, repr=False, compare=False)
    _by_family: dict[str, list[FontFile]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _resolved: dict[tuple[str, str, str], FontResolution] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # per-registry memo for derived data (fallback chains, layout font contexts); cleared by refresh()
    memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # Loaded faces and derived caches stay in their process; the scan travels.
        state = dict(self.__dict__)
        state["_resolved"] = {}
        state["memo"] = {}
        return state

    # -- scanning ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Forget the scan; the next lookup re-reads the directories (unchanged files stay cached)."""
        self._fonts = None
        self._by_family = {}
        self._resolved = {}
        self.memo = {}

    def fonts(self) -> list[FontFile]:
        if self._fonts is None:
            fonts: list[FontFile] = []
            for d in self.workspace_dirs:
                fonts += scan_font_dir(Path(d), "workspace")
            fonts += scan_font_dir(self.bundled_dir, "bundled")
            if self.include_system:
                for d in self.system_dirs:
                    fonts += scan_font_dir(Path(d), "system")
            by_family: dict[str, list[FontFile]] = {}
            for f in fonts:
                for key in f.family_keys():
                    by_family.setdefault(key, []).append(f)
            self._fonts, self._by_family = fonts, by_family
        return self._fonts

    def families(self) -> list[str]:
        """Family names known to this registry, sorted, each once."""
        return sorted({f.family for f in self.fonts()}, key=str.casefold)

    def has_family(self, family: str) -> bool:
        self.fonts()
        return family_key(family) in self._by_family

    def is_known(self, family: str) -> bool:
        """True when the family resolves without falling back to the default (exact or alias)."""
        return self.has_family(family) or (
            family_key(family) in METRIC_ALIASES and self.has_family(METRIC_ALIASES[family_key(family)])
        )

    def by_hash(self, sha256: str) -> FontFile | None:
        return next((f for f in self.fonts() if f.sha256 == sha256), None)

    # -- resolution -------------------------------------------------------------------------------
    def find(self, family: str, weight: Weight = "normal", *, any_weight: bool = False) -> FontFile | None:
        """The best face of ``family`` at ``weight`` (upright, normal width first), or None."""
        self.fonts()
        candidates = self._by_family.get(family_key(family), [])
        if not any_weight:
            candidates = [f for f in candidates if f.weight == weight]
        if not candidates:
            return None
        target = _WEIGHT_TARGET[weight]
        return min(
            candidates,
            key=lambda f: (
                f.italic,
                abs(f.width_class - 5),
                abs(f.weight_class - target),
                _SOURCE_ORDER[f.source],
                f.path,
            ),
        )

    def resolve(
        self, family: str | None, weight: Weight = "normal", *, default_family: str | None = None
    ) -> FontResolution:
        """Resolve through the chain in the module docstring; never fails while DejaVu Sans is bundled."""
        requested = (family or "").strip()
        default = default_family or self.default_family
        key = (requested, weight, default or "")
        hit = self._resolved.get(key)
        if hit is None:
            hit = self._resolve(requested, weight, default)
            self._resolved[key] = hit
        return hit

    def _resolve(self, family: str, weight: Weight, default: str | None) -> FontResolution:
        def result(font: FontFile, step: Any, reason: str = "") -> FontResolution:
            return FontResolution(family, weight, font, step != "exact", step, reason)

        if family:
            exact = self.find(family, weight)
            if exact is not None:
                return result(exact, "exact")
            other = self.find(family, weight, any_weight=True)
            if other is not None:
                return result(
                    other, "other_weight", f"{family} has no {weight} face; using {other.full_name}"
                )
            alias = METRIC_ALIASES.get(family_key(family))
            if alias:
                face = self.find(alias, weight) or self.find(alias, weight, any_weight=True)
                if face is not None:
                    return result(
                        face, "alias", f"{family} is not installed; using metric-compatible {face.full_name}"
                    )
        missing = f"{family} is not installed" if family else "no font was named"
        if default and family_key(default) != family_key(family):
            face = self.find(default, weight) or self.find(default, weight, any_weight=True)
            if face is not None:
                return result(
                    face, "workspace_default", f"{missing}; using the workspace default {face.full_name}"
                )
        face = self.find(LAST_RESORT_FAMILY, weight) or self.find(LAST_RESORT_FAMILY, weight, any_weight=True)
        if face is None:
            raise FontError(
                f"the bundled fallback font {LAST_RESORT_FAMILY} is missing from {self.bundled_dir}"
            )
        return result(face, "last_resort", f"{missing}; using {face.full_name}")

    def fallback_chain(
        self, weight: Weight = "normal", *, default_family: str | None = None
    ) -> list[FontFile]:
        """Faces tried, in order, for characters the field's own font cannot draw."""
        key = ("fallback_chain", weight, default_family or self.default_family)
        chain = self.memo.get(key)
        if chain is None:
            chain = []
            for fam in (default_family or self.default_family, LAST_RESORT_FAMILY):
                if fam:
                    face = self.find(fam, weight) or self.find(fam, weight, any_weight=True)
                    if face is not None and face not in chain:
                        chain.append(face)
            self.memo[key] = chain
        return list(chain)


_default_registry: FontRegistry | None = None


def default_registry() -> FontRegistry:
    """A process-wide registry of bundled and machine fonts (no workspace fonts)."""
    global _default_registry
    if _default_registry is None:
        _default_registry = FontRegistry()
    return _default_registry


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


# -- uploads ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadedFontInfo:
    family: str
    style: str
    weight: Weight
    glyph_count: int
    sha256: str


_SFNT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true")
"""The first bytes of a single TrueType or OpenType face; fontTools also opens WOFF, which is refused."""
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
        info = _read_face_info(tt, label, "workspace")
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
    face = _scan_file(str(final), st.st_mtime_ns, st.st_size, "workspace")
    if face is None:  # validated above, so this means the disk changed under us
        raise FontError(f"stored font {final} could not be read back")
    return face


def font_hashes(fonts: Iterable[FontFile]) -> tuple[str, ...]:
    """Sorted, unique content hashes of faces (for proof input hashes)."""
    return tuple(sorted({f.sha256 for f in fonts}))
