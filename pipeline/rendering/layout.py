"""The layout engine: fit each field's text into its box with real font metrics (docs/layout.md).

One glyph run per (fonts, text), shaped once with HarfBuzz (kerning and ligatures on), is what
everything is computed from and what the proof and the laser export draw. The rules:

* Text is NFC-normalized, control characters dropped, whitespace runs collapsed to one space and
  trimmed. No-break spaces (U+00A0, U+2007, U+202F) are kept and never break.
* Lines break only at spaces. Baselines are ``LINE_HEIGHT`` (1.2) x size apart.
* A layout *fits* when every line's advance width <= the box width and the ink of the whole block
  (real glyph bounds from fontTools' BoundsPen, so accented capitals count) <= the box height.
* Vertical placement: ``top`` hangs the first line from the font's typographic ascender, ``bottom``
  stands the last line on the typographic descender, ``middle`` centres the ink block; a block that
  fits is then nudged so its ink stays inside the box.
* Horizontal placement: each line's advance box is aligned left/centre/right in the field.
* Line breaking: one line when the text fits on one; otherwise, for short texts (at most 256 ways to
  break them), the fitting break with the fewest lines, then the narrowest widest line (balanced
  names); for longer texts, greedy first-fit breaking.
* Policies: ``shrink``: the base size if it fits, else the largest size on the 0.5 pt grid
  (>= min_size) at which the text fits in max_lines lines (for short texts the closed-form best
  over all breaks, else a binary search; fitting is monotone in size). ``wrap``: base size.
  ``truncate``: base size; the last allowed line is cut at a character (cluster) boundary and ends
  with '…'. ``fixed``: base size.
* A layout that cannot fit is ``overflowed`` and still drawn: at min_size for shrink, base size
  otherwise; wrap spills extra lines downwards, the others keep max_lines lines and run surplus
  words on along the last line.
* Characters the field's font lacks are drawn with the fallback chain (workspace default font,
  then DejaVu Sans); characters no font has are drawn as .notdef and listed in ``missing``.
* Right-to-left text is shaped in its direction (guess_segment_properties); mixed-direction text is
  not bidi-reordered.

Results are in points from the template's top-left corner, y down, rounded to 1e-4 pt; glyph
advances and offsets are integers in the units of the glyph's own font.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, fields
from functools import lru_cache
from itertools import accumulate, combinations, repeat
from typing import Any, NamedTuple

import uharfbuzz as hb

from pipeline.core.units import PT_PER_IN
from pipeline.templates.fonts import (
    FontError,
    FontRegistry,
    LoadedFont,
    default_registry,
    is_ignorable,
    load_font,
)
from pipeline.templates.template import Field, Template

LINE_HEIGHT = 1.2  # baseline-to-baseline distance as a multiple of the size
GRID = 0.5  # pt; the shrink policy's size grid
ELLIPSIS = "…"
_FEATURES = {"kern": True, "liga": True}
_EPS = 1e-9
_NEG = -math.inf
_WS = re.compile(r"[^\S\u00a0\u2007\u202f]+")  # whitespace except the no-break spaces


def _r(v: float) -> float:
    return round(v, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


# -- results ----------------------------------------------------------------------------------------
class Glyph(NamedTuple):
    """One glyph of a line. Advances/offsets are in the units of ``FieldLayout.fonts[font]``."""

    font: int  # index into FieldLayout.fonts
    gid: int
    cluster: int  # index in FieldLayout.text of the first character this glyph draws
    advance: int
    dx: int  # x offset
    dy: int  # y offset, up


GlyphColumns = tuple[tuple[int, ...], ...]  # (font, gid, cluster, advance, dx, dy) columns


@dataclass(frozen=True, slots=True)
class FontRef:
    path: str
    sha256: str
    name: str
    units_per_em: int


@dataclass(frozen=True, slots=True)
class FontUse:
    """How the field's font was resolved; ``substituted`` feeds the MISSING_FONT warning."""

    requested_family: str
    requested_weight: str
    used_name: str
    used_family: str
    path: str
    sha256: str
    substituted: bool
    step: str  # exact | other_weight | alias | workspace_default | last_resort
    reason: str


@dataclass(frozen=True, slots=True)
class Line:
    """One laid-out line. The glyph run is stored as columns (see ``glyphs`` for tuples)."""

    text: str
    x: float  # pt from the template's left edge: where the pen starts
    baseline: float  # pt from the template's top edge
    width: float  # advance width, pt
    ink_top: float  # pt from the top edge: the ink bounds of the line's glyphs
    ink_bottom: float
    columns: GlyphColumns  # (font, gid, cluster, advance, dx, dy), one tuple each, visual order

    @property
    def glyphs(self) -> tuple[Glyph, ...]:
        return tuple(map(tuple.__new__, repeat(Glyph), zip(*self.columns, strict=True)))


@dataclass(frozen=True, slots=True)
class FieldLayout:
    key: str
    text: str  # the normalized input
    policy: str
    box: tuple[float, float, float, float]  # x, y, width, height in pt from the top-left
    size: float  # pt
    base_size: float
    shrink_ratio: float  # size / base_size
    lines: tuple[Line, ...]
    overflowed: bool
    truncated: bool
    removed_text: str  # what truncation cut off
    font: FontUse
    fonts: tuple[FontRef, ...]  # faces the glyphs use; [0] is the field's font
    missing: tuple[int, ...]  # code points no available face can draw (MISSING_GLYPH)
    fallback: tuple[int, ...]  # code points drawn with a fallback face
    empty: bool
    direction: str  # "ltr" or "rtl"

    @property
    def missing_chars(self) -> list[str]:
        return [chr(c) for c in self.missing]

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _FIELD_SCALARS}
        d["box"] = list(self.box)
        d["lines"] = [
            {
                "text": ln.text,
                "x": ln.x,
                "baseline": ln.baseline,
                "width": ln.width,
                "ink_top": ln.ink_top,
                "ink_bottom": ln.ink_bottom,
                **{name: list(col) for name, col in zip(_COLUMN_NAMES, ln.columns, strict=True)},
            }
            for ln in self.lines
        ]
        d["font"] = _as_dict(self.font)
        d["fonts"] = [_as_dict(f) for f in self.fonts]
        d["missing"] = list(self.missing)
        d["fallback"] = list(self.fallback)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FieldLayout:
        return cls(
            **{k: d[k] for k in _FIELD_SCALARS},
            box=tuple(d["box"]),  # type: ignore[arg-type]
            lines=tuple(
                Line(
                    text=ln["text"],
                    x=ln["x"],
                    baseline=ln["baseline"],
                    width=ln["width"],
                    ink_top=ln["ink_top"],
                    ink_bottom=ln["ink_bottom"],
                    columns=tuple(tuple(ln[name]) for name in _COLUMN_NAMES),
                )
                for ln in d["lines"]
            ),
            font=FontUse(**d["font"]),
            fonts=tuple(FontRef(**f) for f in d["fonts"]),
            missing=tuple(d["missing"]),
            fallback=tuple(d["fallback"]),
        )


def _as_dict(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


_FIELD_SCALARS = ("key", "text", "policy", "size", "base_size", "shrink_ratio", "overflowed",
                  "truncated", "removed_text", "empty", "direction")  # fmt: skip
_COLUMN_NAMES = ("glyph_fonts", "gids", "clusters", "advances", "dx", "dy")


@dataclass(frozen=True, slots=True)
class ItemLayout:
    """All fields of one template for one item's values."""

    template_key: str
    template_hash: str
    width: float  # template size, pt
    height: float
    fields: tuple[FieldLayout, ...]

    def field(self, key: str) -> FieldLayout:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def overflowed(self) -> bool:
        return any(f.overflowed for f in self.fields)

    def font_hashes(self) -> tuple[str, ...]:
        return tuple(sorted({ref.sha256 for f in self.fields for ref in f.fonts}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "template_key": self.template_key,
            "template_hash": self.template_hash,
            "width": self.width,
            "height": self.height,
            "fields": [f.to_dict() for f in self.fields],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ItemLayout:
        return cls(
            template_key=d["template_key"],
            template_hash=d["template_hash"],
            width=d["width"],
            height=d["height"],
            fields=tuple(FieldLayout.from_dict(f) for f in d["fields"]),
        )


# -- text normalization -----------------------------------------------------------------------------
def normalize_text(value: str | None) -> str:
    """NFC, control characters removed, whitespace runs collapsed to one space, trimmed."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    if text.isprintable():  # then its only whitespace is U+0020
        if "  " not in text and text[0] != " " and text[-1] != " ":
            return text
    else:
        text = _WS.sub(" ", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return _WS.sub(" ", text).strip(" ")


# -- shaping ----------------------------------------------------------------------------------------
class _Run:
    """A text shaped once, plus per-word measures in em (size-independent) for the fitting search.

    Glyph columns are in visual (buffer) order. Measuring works on a cluster-sorted view of them:
    for left-to-right text that is the same order, for right-to-left text the reverse.
    """

    __slots__ = (
        "text", "fonts", "direction", "missing", "fallback", "n", "cols", "order",
        "_sorted", "_adv", "_top", "_desc", "_words", "_word_w", "_space_w", "_word_top", "_word_desc",
        "_pw", "_ps", "_prefix", "_cuts", "width_em", "ink_em", "nwords", "memo",
    )  # fmt: skip

    def __init__(self, text: str, chain: tuple[LoadedFont, ...]) -> None:
        self.text = text
        self.direction = "ltr"
        self._sorted: list[int] | None = None
        self._prefix: list[float] | None = None
        self._cuts: list[int] | None = None
        self._words: list[tuple[int, int]] | None = None
        self.nwords = text.count(" ") + 1
        self.memo: dict[Any, Any] | None = None  # derived data (break enumerations), made on demand
        primary = chain[0]
        if primary.cmap.issuperset(map(ord, text)):
            segments, self.missing, self.fallback = [(0, len(text), 0)], (), ()
        else:
            segments, self.missing, self.fallback = _itemize(text, chain)
        # The faces in chain order, the field's own font first even when a fallback draws the
        # first characters (or all of them): fonts[0] is what text mode and the manifest call the
        # field's font, the others only draw what it lacks.
        used = sorted({ci for _s, _e, ci in segments} | {0})
        cols: list[list[int]] = [[], [], [], [], [], []]  # font, gid, cluster, advance, dx, dy
        for start, end, ci in segments:
            buf = hb.Buffer()
            buf.add_str(text, item_offset=start, item_length=end - start)
            buf.guess_segment_properties()
            hb.shape(chain[ci].hb_font, buf, _FEATURES)
            if start == 0 and buf.direction == "rtl":
                self.direction = "rtl"
            infos, positions = buf.glyph_infos, buf.glyph_positions
            seg = (
                [used.index(ci)] * len(infos),
                [i.codepoint for i in infos],
                [i.cluster for i in infos],
                [p.x_advance for p in positions],
                [p.x_offset for p in positions],
                [p.y_offset for p in positions],
            )
            if start == 0:
                cols = list(seg)
            else:
                for col, part in zip(cols, seg, strict=True):
                    col += part
        self.fonts = tuple(chain[i] for i in used)
        self.cols = cols
        self.n = len(cols[1])
        if len(self.fonts) == 1 and not any(cols[5]):
            # The common case, decided without per-glyph float lists: one face, no vertical offsets.
            lf = self.fonts[0]
            self.width_em = sum(cols[3]) / lf.upem
            gids = cols[1]
            self.ink_em = (
                max(map(lf.ink_top_em.__getitem__, gids), default=_NEG),
                max(map(lf.ink_desc_em.__getitem__, gids), default=_NEG),
            )
        else:
            self._em_view()
            self.width_em = sum(self._adv)
            self.ink_em = (max(self._top, default=_NEG), max(self._desc, default=_NEG))

    def _em_view(self) -> None:
        """Per-glyph advance and ink in em, in cluster order (what word and cut measures use)."""
        fidx, gids, clusters, adv, _dx, dy = self.cols
        if len(self.fonts) == 1:
            lf = self.fonts[0]
            inv = 1.0 / lf.upem
            adv_em = [a * inv for a in adv]
            top_em = list(map(lf.ink_top_em.__getitem__, gids))
            desc_em = list(map(lf.ink_desc_em.__getitem__, gids))
        else:
            faces = [self.fonts[f] for f in fidx]
            adv_em = [a / lf.upem for a, lf in zip(adv, faces, strict=True)]
            top_em = [lf.ink_top_em[g] for g, lf in zip(gids, faces, strict=True)]
            desc_em = [lf.ink_desc_em[g] for g, lf in zip(gids, faces, strict=True)]
        if any(dy):
            faces = [self.fonts[f] for f in fidx]
            top_em = [t + d / lf.upem for t, d, lf in zip(top_em, dy, faces, strict=True)]
            desc_em = [t - d / lf.upem for t, d, lf in zip(desc_em, dy, faces, strict=True)]
        srt = sorted(clusters)
        if clusters == srt:
            self.order = "fwd"
            self._adv, self._top, self._desc = adv_em, top_em, desc_em
        elif clusters[::-1] == srt:
            self.order = "rev"
            self._adv, self._top, self._desc = adv_em[::-1], top_em[::-1], desc_em[::-1]
        else:  # several segments in mixed directions: measure on a cluster-sorted permutation
            self.order = "mixed"
            perm = sorted(range(self.n), key=clusters.__getitem__)
            self._adv = [adv_em[k] for k in perm]
            self._top = [top_em[k] for k in perm]
            self._desc = [desc_em[k] for k in perm]
        self._sorted = srt

    @property
    def words(self) -> list[tuple[int, int]]:
        """Character ranges of the words; also computes the per-word measures on first use."""
        if self._words is None:
            self._measure_words()
        return self._words  # type: ignore[return-value]

    def _measure_words(self) -> None:
        if self._sorted is None:
            self._em_view()
        srt, top, desc = self._sorted, self._top, self._desc
        prefix = list(accumulate(self._adv, initial=0.0))
        starts = [0]
        words: list[tuple[int, int]] = []
        pos = 0
        for word in self.text.split(" "):
            words.append((pos, pos + len(word)))
            pos += len(word) + 1
        starts = [bisect_left(srt, s) for s, _ in words]  # first glyph of each word
        ends = [bisect_left(srt, e) for _, e in words]  # first glyph after it (the space)
        nexts = starts[1:] + [self.n]  # first glyph of the next word
        self._words = words
        self._word_w = [prefix[b] - prefix[a] for a, b in zip(starts, ends, strict=True)]
        self._space_w = [prefix[c] - prefix[b] for b, c in zip(ends, nexts, strict=True)]
        self._word_top = [max(top[a:b], default=_NEG) for a, b in zip(starts, ends, strict=True)]
        self._word_desc = [max(desc[a:b], default=_NEG) for a, b in zip(starts, ends, strict=True)]
        self._pw = list(accumulate(self._word_w, initial=0.0))
        self._ps = list(accumulate(self._space_w, initial=0.0))

    # Per-word measures in em (computed on first use): advance, the space after, ink ascent, descent.
    @property
    def word_w(self) -> list[float]:
        return self._word_w if self._words is not None else (self._measure_words() or self._word_w)

    @property
    def space_w(self) -> list[float]:
        return self._space_w if self._words is not None else (self._measure_words() or self._space_w)

    @property
    def word_top(self) -> list[float]:
        return self._word_top if self._words is not None else (self._measure_words() or self._word_top)

    @property
    def word_desc(self) -> list[float]:
        return self._word_desc if self._words is not None else (self._measure_words() or self._word_desc)

    # -- glyphs --
    def columns_between(self, s: int, e: int) -> GlyphColumns:
        """Glyph columns of the glyphs drawing characters [s, e), in visual order."""
        if self._sorted is None:
            self._em_view()
        if self.order == "mixed":
            cl = self.cols[2]
            idx = [k for k in range(self.n) if s <= cl[k] < e]
            return tuple(tuple(col[k] for k in idx) for col in self.cols)
        a = bisect_left(self._sorted, s)
        b = bisect_left(self._sorted, e, a)
        if self.order == "rev":
            a, b = self.n - b, self.n - a
        return tuple(tuple(col[a:b]) for col in self.cols)

    def ink_between(self, s: int, e: int) -> tuple[float, float]:
        if self._sorted is None:
            self._em_view()
        a = bisect_left(self._sorted, s)
        b = bisect_left(self._sorted, e, a)
        return max(self._top[a:b], default=_NEG), max(self._desc[a:b], default=_NEG)

    # -- measuring (em units) --
    def line_width(self, i: int, j: int) -> float:
        """Advance width in em of words i..j (inclusive) with the spaces between them."""
        if i == 0 and j == self.nwords - 1:
            return self.width_em
        if self._words is None:
            self._measure_words()
        return self._pw[j + 1] - self._pw[i] + self._ps[j] - self._ps[i]

    def width_between(self, s: int, e: int) -> float:
        """Advance width in em of characters [s, e) (both cluster boundaries)."""
        if self._sorted is None:
            self._em_view()
        if self._prefix is None:
            char_adv = [0.0] * (len(self.text) + 1)
            for c, a in zip(self._sorted, self._adv, strict=True):
                char_adv[c] += a
            self._prefix = list(accumulate(char_adv, initial=0.0))
        return self._prefix[e] - self._prefix[s]

    def cuts(self) -> list[int]:
        """Character indices where the text may be cut without splitting a cluster."""
        if self._sorted is None:
            self._em_view()
        if self._cuts is None:
            self._cuts = sorted(set(self._sorted) | {len(self.text)})
        return self._cuts

    def greedy(self, limit: float) -> list[tuple[int, int]] | None:
        """First-fit lines (word index ranges) within ``limit`` em; None if a word alone is too wide."""
        if self._words is None:
            self._measure_words()
        ww, sw = self.word_w, self.space_w
        if ww[0] > limit:
            return None
        lines: list[tuple[int, int]] = []
        start, cur = 0, ww[0]
        for k in range(1, len(ww)):
            nxt = cur + sw[k - 1] + ww[k]
            if nxt <= limit:
                cur = nxt
                continue
            if ww[k] > limit:
                return None
            lines.append((start, k - 1))
            start, cur = k, ww[k]
        lines.append((start, len(ww) - 1))
        return lines

    def force_lines(self, limit: float, max_lines: int) -> list[tuple[int, int]]:
        """Lines for drawing an overflowed layout: greedy, over-wide words alone, at most max_lines."""
        if self._words is None:
            self._measure_words()
        ww, sw = self.word_w, self.space_w
        lines: list[tuple[int, int]] = []
        start, cur = 0, ww[0]
        for k in range(1, len(ww)):
            nxt = cur + sw[k - 1] + ww[k]
            if nxt <= limit or len(lines) + 1 >= max_lines:
                cur = nxt
                continue
            lines.append((start, k - 1))
            start, cur = k, ww[k]
        lines.append((start, len(ww) - 1))
        return lines

    def line_ink(self, i: int, j: int) -> tuple[float, float]:
        """(ascent, descent) in em of words i..j; (-inf, -inf) when they have no ink."""
        if i == 0 and j == self.nwords - 1:
            return self.ink_em
        if self._words is None:
            self._measure_words()
        return max(self.word_top[i : j + 1]), max(self.word_desc[i : j + 1])

    def block_height(self, lines: list[tuple[int, int]]) -> float:
        """Ink height in em of lines stacked LINE_HEIGHT apart."""
        top, bottom = math.inf, -math.inf
        for k, (i, j) in enumerate(lines):
            asc, desc = self.line_ink(i, j)
            if asc == _NEG:  # a line without ink
                asc = desc = 0.0
            off = k * LINE_HEIGHT
            top = min(top, off - asc)
            bottom = max(bottom, off + desc)
        return bottom - top


def _itemize(text: str, chain: tuple[LoadedFont, ...]) -> tuple[list[tuple[int, int, int]], tuple, tuple]:
    """Split text into (start, end, face index) runs: each character goes to the first face that has
    it; marks and invisible characters stay with the face before them. Also returns the code points
    no face has (missing) and those drawn by a fallback face."""
    owner: list[int] = []
    missing: list[int] = []
    fallback: list[int] = []
    prev = 0
    for ch in text:
        cp = ord(ch)
        if cp in chain[0].cmap:
            idx = 0
        elif is_ignorable(ch):
            idx = prev
        elif unicodedata.category(ch)[0] == "M":  # a mark stays with its base's face, drawable or not
            idx = prev
            if cp not in chain[idx].cmap and cp not in missing:
                missing.append(cp)
        else:
            idx = next((i for i, f in enumerate(chain) if cp in f.cmap), 0)
            if idx == 0:
                if cp not in missing:
                    missing.append(cp)
            elif cp not in fallback:
                fallback.append(cp)
        owner.append(idx)
        prev = idx
    segments: list[tuple[int, int, int]] = []
    start = 0
    for k in range(1, len(text) + 1):
        if k == len(text) or owner[k] != owner[start]:
            segments.append((start, k, owner[start]))
            start = k
    return segments, tuple(missing), tuple(fallback)


def clear_caches() -> None:
    """Drop finished layouts (font objects stay loaded); for benchmarks and tests."""
    _RESULTS.clear()


# -- fitting ----------------------------------------------------------------------------------------
class _Fit(NamedTuple):
    size: float
    lines: list[tuple[int, int]]  # word ranges
    overflowed: bool


_MAX_PARTITIONS = 256  # beyond this many ways to break a text, fall back to greedy breaking


def _partitions(run: _Run, max_lines: int) -> list[tuple[int, float, float, list[tuple[int, int]]]] | None:
    """Every way to break a short text into 2..max_lines lines, as (lines, widest em, ink height em,
    word ranges), fewest lines then narrowest first; None when there are too many to enumerate."""
    key = ("parts", max_lines)
    if run.memo is None:
        run.memo = {}
    elif key in run.memo:
        return run.memo[key]
    nw = run.nwords
    most = min(max_lines, nw)
    parts: list[tuple[int, float, float, list[tuple[int, int]]]] | None = None
    if sum(math.comb(nw - 1, k - 1) for k in range(2, most + 1)) <= _MAX_PARTITIONS:
        if run._words is None:
            run._measure_words()
        lw, last = run.line_width, nw - 1
        parts = []
        if most >= 2:
            # Two lines in O(1) each from running maxima of the words' ink above and below the break.
            wt, wd = run.word_top, run.word_desc
            top_before, desc_before = list(accumulate(wt, max)), list(accumulate(wd, max))
            top_after = list(accumulate(reversed(wt), max))[::-1]
            desc_after = list(accumulate(reversed(wd), max))[::-1]
            for j in range(last):
                lines = [(0, j), (j + 1, last)]
                if _NEG in (top_before[j], top_after[j + 1]):  # a line without ink: the general measure
                    height = run.block_height(lines)
                else:
                    height = max(desc_before[j], LINE_HEIGHT + desc_after[j + 1]) - min(
                        -top_before[j], LINE_HEIGHT - top_after[j + 1]
                    )
                parts.append((2, max(lw(0, j), lw(j + 1, last)), height, lines))
        for k in range(3, most + 1):
            for cuts in combinations(range(1, nw), k - 1):
                bounds = (0, *cuts, nw)
                lines = [(bounds[i], bounds[i + 1] - 1) for i in range(k)]
                parts.append((k, max(lw(i, j) for i, j in lines), run.block_height(lines), lines))
        parts.sort(key=lambda p: (p[0], p[1]))
    run.memo[key] = parts
    return parts


def _fits(run: _Run, size: float, bw: float, bh: float, max_lines: int) -> list[tuple[int, int]] | None:
    """Lines of the text at ``size`` that fit the box, or None. One line when it fits; otherwise,
    for short texts, the fitting break with the fewest then most balanced lines; for long texts,
    greedy first-fit breaks."""
    if size <= 0 or bw <= 0 or bh <= 0:
        return None
    limit = bw / size + _EPS
    if run.width_em <= limit:  # one line, no breaking
        asc, desc = run.ink_em
        if asc == _NEG or (asc + desc) * size <= bh + _EPS:
            return [(0, run.nwords - 1)]
        return None
    if max_lines == 1 or run.nwords == 1:
        return None
    hlimit = bh / size + _EPS
    parts = _partitions(run, max_lines)
    if parts is not None:
        for _k, widest, height, lines in parts:
            if widest <= limit and height <= hlimit:
                return lines
        return None
    lines = run.greedy(limit)
    if lines is None or len(lines) > max_lines or run.block_height(lines) > hlimit:
        return None
    return lines


def _grid_floor(v: float) -> int:
    """Index k of the largest grid size k*GRID <= v (robust to float noise)."""
    return math.floor(round(v / GRID, 9))


def _shrink(run: _Run, f: Field, bw: float, bh: float) -> _Fit:
    base, max_lines = f.size, f.max_lines
    lines = _fits(run, base, bw, bh, max_lines)
    if lines is not None:
        return _Fit(base, lines, False)
    lo, hi = math.ceil(round(f.min_size / GRID, 9)), math.ceil(round(base / GRID, 9)) - 1  # [min, base)
    best = _shrink_search(run, f, bw, bh, lo, hi) if bw > 0 and bh > 0 and lo <= hi else None
    if best is None:
        size = f.min_size
        return _Fit(size, run.force_lines(bw / size + _EPS, max_lines), True)
    size = best * GRID
    lines = _fits(run, size, bw, bh, max_lines)
    assert lines is not None
    return _Fit(size, lines, False)


def _cap(widest: float, height: float, bw: float, bh: float) -> float:
    """The largest size at which a block this wide and tall (em) fits the box."""
    return min(bw / widest if widest > 0 else math.inf, bh / height if height > 0 else math.inf)


def _shrink_search(run: _Run, f: Field, bw: float, bh: float, lo: int, hi: int) -> int | None:
    """The largest grid index in [lo, hi] whose size fits, or None. fits(size) is monotone."""
    max_lines = f.max_lines
    asc, desc = run.ink_em
    cap = _cap(run.width_em, asc + desc if asc != _NEG else 0.0, bw, bh)  # one line
    parts = _partitions(run, max_lines) if max_lines > 1 and run.nwords > 1 else []
    if parts is not None:
        # Short text: every break has a closed-form largest size; the best of them is the answer.
        for _k, widest, height, _lines in parts:
            cap = max(cap, _cap(widest, height, bw, bh))
        guess = min(hi, _grid_floor(cap)) if cap < math.inf else hi
        while guess >= lo and _fits(run, guess * GRID, bw, bh, max_lines) is None:  # float noise
            guess -= 1
        return guess if guess >= lo else None
    # Long text: binary search with greedy breaking, above the one-line size, below the size at
    # which the widest word still fits.
    best = None
    guess = min(hi, _grid_floor(cap)) if cap < math.inf else hi
    if guess >= lo and _fits(run, guess * GRID, bw, bh, 1) is not None:
        best, lo = guess, guess + 1
    if run._words is None:
        run._measure_words()
    widest = max(run.word_w)
    if widest > 0:
        hi = min(hi, _grid_floor(bw / widest))
    while lo <= hi:
        mid = (lo + hi) // 2
        if _fits(run, mid * GRID, bw, bh, max_lines) is not None:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


# -- lines ------------------------------------------------------------------------------------------
class _LineSpec(NamedTuple):
    text: str
    columns: GlyphColumns
    width_em: float
    asc_em: float  # ink above the baseline; -inf when the line has no ink
    desc_em: float


def _line_from_words(run: _Run, i: int, j: int) -> _LineSpec:
    if i == 0 and j == run.nwords - 1:  # the whole text
        asc, desc = run.ink_em
        return _LineSpec(run.text, tuple(map(tuple, run.cols)), run.width_em, asc, desc)
    s, e = run.words[i][0], run.words[j][1]
    asc, desc = run.line_ink(i, j)
    return _LineSpec(run.text[s:e], run.columns_between(s, e), run.line_width(i, j), asc, desc)


@lru_cache(maxsize=64)
def _shape_plain(lf: LoadedFont, text: str) -> GlyphColumns:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(lf.hb_font, buf, _FEATURES)
    infos, pos = buf.glyph_infos, buf.glyph_positions
    return (
        (0,) * len(infos),
        tuple(i.codepoint for i in infos),
        (0,) * len(infos),
        tuple(p.x_advance for p in pos),
        tuple(p.x_offset for p in pos),
        tuple(p.y_offset for p in pos),
    )


def _ellipsis(run: _Run) -> tuple[LoadedFont, str, GlyphColumns]:
    """'…' from the first face of the run that has it, else '...'."""
    for lf in run.fonts:
        if ord(ELLIPSIS) in lf.cmap:
            return lf, ELLIPSIS, _shape_plain(lf, ELLIPSIS)
    return run.fonts[0], "...", _shape_plain(run.fonts[0], "...")


def _block_ink(specs: list[_LineSpec], size: float) -> tuple[float, float]:
    """Ink top/bottom of stacked lines relative to the first baseline, in pt (y down)."""
    if len(specs) == 1:
        sp = specs[0]
        return (-sp.asc_em * size, sp.desc_em * size) if sp.asc_em != _NEG else (0.0, 0.0)
    if not specs:
        return 0.0, 0.0
    top, bottom = math.inf, -math.inf
    for k, sp in enumerate(specs):
        asc, desc = (sp.asc_em, sp.desc_em) if sp.asc_em != _NEG else (0.0, 0.0)
        off = k * LINE_HEIGHT * size
        top = min(top, off - asc * size)
        bottom = max(bottom, off + desc * size)
    return top, bottom


def _truncate(
    run: _Run, f: Field, bw: float, bh: float
) -> tuple[list[_LineSpec], list[LoadedFont], bool, str]:
    """Truncate policy at base size: (lines, fonts, overflowed, removed_text); truncated iff removed."""
    size = f.size
    fonts = list(run.fonts)
    full = _fits(run, size, bw, bh, f.max_lines)
    if full is not None:
        return [_line_from_words(run, i, j) for i, j in full], fonts, False, ""
    limit = bw / size + _EPS if size > 0 and bw > 0 else 0.0
    ell_font, ell_text, ell = _ellipsis(run)
    if ell_font not in fonts:
        fonts.append(ell_font)
    ell_w = sum(ell[3]) / ell_font.upem
    ell_asc = max((ell_font.ink_top_em[g] for g in ell[1]), default=_NEG)
    ell_desc = max((ell_font.ink_desc_em[g] for g in ell[1]), default=_NEG)
    nw = run.nwords
    attempt: tuple[list[_LineSpec], str] | None = None
    # Most lines first: k-1 lines of whole words, then the rest cut to fit line k and ended with '…'.
    for k in range(f.max_lines, 0, -1):
        specs: list[_LineSpec] = []
        w = 0
        while len(specs) < k - 1 and w < nw and run.word_w[w] <= limit:
            j = w
            while j + 1 < nw and run.line_width(w, j + 1) <= limit:
                j += 1
            specs.append(_line_from_words(run, w, j))
            w = j + 1
        if w >= nw or run.line_width(w, nw - 1) <= limit:
            continue  # no cut needed with k lines, so they were too tall: try fewer lines
        start = run.words[w][0]
        end = _best_cut(run, start, limit - ell_w)
        body = run.columns_between(start, end)
        tail = ((fonts.index(ell_font),) * len(ell[1]), ell[1], (end,) * len(ell[1]), ell[3], ell[4], ell[5])
        pairs = zip(tail, body, strict=True) if run.direction == "rtl" else zip(body, tail, strict=True)
        asc, desc = run.ink_between(start, end)
        specs.append(
            _LineSpec(
                run.text[start:end] + ell_text,
                tuple(a + b for a, b in pairs),
                run.width_between(start, end) + ell_w,
                max(asc, ell_asc),
                max(desc, ell_desc),
            )
        )
        attempt = (specs, run.text[end:].strip(" "))
        top, bottom = _block_ink(specs, size)
        if all(s.width_em * size <= bw + _EPS for s in specs) and bottom - top <= bh + _EPS:
            return specs, fonts, False, attempt[1]
    if attempt is None:  # not even one line could be started (e.g. a zero-height box)
        attempt = ([_line_from_words(run, 0, nw - 1)], "")
    return attempt[0], fonts, True, attempt[1]


def _best_cut(run: _Run, start: int, avail: float) -> int:
    """The end of the longest text[start:c] (c a cluster boundary, trailing spaces trimmed) <= avail em."""
    best = start
    for c in run.cuts():
        if c <= start:
            continue
        trimmed = c
        while trimmed > start and run.text[trimmed - 1] == " ":
            trimmed -= 1
        if run.width_between(start, trimmed) > avail:
            break
        best = trimmed
    return best


_ALIGN = {"left": 0.0, "center": 0.5, "right": 1.0}


def _place(
    specs: list[_LineSpec], primary: LoadedFont, size: float, f: Field, box: tuple[float, float, float, float]
) -> tuple[Line, ...]:
    bx, by, bw, bh = box
    top_rel, bot_rel = _block_ink(specs, size)
    lh = LINE_HEIGHT * size
    lo, hi = by - top_rel, by + bh - bot_rel  # first-baseline range that keeps the ink inside
    if f.valign == "top":
        b1 = max(by + primary.ascender / primary.upem * size, lo)
        if lo <= hi:
            b1 = min(b1, hi)
    elif f.valign == "bottom":
        b1 = min(by + bh - (len(specs) - 1) * lh + primary.descender / primary.upem * size, hi)
        if lo <= hi:
            b1 = max(b1, lo)
    else:
        b1 = by + bh / 2 - (top_rel + bot_rel) / 2
    factor = _ALIGN[f.align]
    out = []
    for k, sp in enumerate(specs):
        base = b1 + k * lh
        width = sp.width_em * size
        asc, desc = (sp.asc_em, sp.desc_em) if sp.asc_em != _NEG else (0.0, 0.0)
        out.append(
            Line(
                sp.text,
                round(bx + (bw - width) * factor, 4) + 0.0,
                round(base, 4) + 0.0,
                round(width, 4) + 0.0,
                round(base - asc * size, 4) + 0.0,
                round(base + desc * size, 4) + 0.0,
                sp.columns,
            )
        )
    return tuple(out)


# -- fonts for a field ------------------------------------------------------------------------------
class _FontContext(NamedTuple):
    use: FontUse
    chain: tuple[LoadedFont, ...]
    refs: tuple[FontRef, ...]  # FontRef of each face of the chain


def _font_context(reg: FontRegistry, family: str, weight: str) -> _FontContext:
    key = ("layout.font", family, weight)
    ctx = reg.memo.get(key)
    if ctx is None:
        res = reg.resolve(family, weight)  # type: ignore[arg-type]
        chain = [load_font(res.font)]
        for ff in reg.fallback_chain(weight):  # type: ignore[arg-type]
            lf = load_font(ff)
            if all(lf.sha256 != c.sha256 for c in chain):
                chain.append(lf)
        use = FontUse(
            requested_family=family,
            requested_weight=weight,
            used_name=res.font.full_name,
            used_family=res.font.family,
            path=res.font.path,
            sha256=res.font.sha256,
            substituted=res.substituted,
            step=res.step,
            reason=res.reason,
        )
        refs = tuple(FontRef(lf.path, lf.sha256, lf.full_name, lf.upem) for lf in chain)
        ctx = reg.memo[key] = _FontContext(use, tuple(chain), refs)
    return ctx


def _refs(ctx: _FontContext, fonts: tuple[LoadedFont, ...] | list[LoadedFont]) -> tuple[FontRef, ...]:
    if len(fonts) == 1 and fonts[0] is ctx.chain[0]:
        return ctx.refs[:1]
    return tuple(ctx.refs[ctx.chain.index(lf)] for lf in fonts)


_BOXES: dict[int, tuple[Field, tuple[float, float, float, float]]] = {}


def _box(f: Field) -> tuple[float, float, float, float]:
    """The field's box in pt, memoized by identity (the same Field object is laid out many times)."""
    hit = _BOXES.get(id(f))
    if hit is None or hit[0] is not f:
        if len(_BOXES) > 4096:
            _BOXES.clear()
        box = (_r(f.x * PT_PER_IN), _r(f.y * PT_PER_IN), _r(f.width * PT_PER_IN), _r(f.height * PT_PER_IN))
        hit = _BOXES[id(f)] = (f, box)
    return hit[1]


# -- public entry points ----------------------------------------------------------------------------
def layout_field(
    field: Field,
    value: str | None,
    *,
    default_font: str = "DejaVu Sans",
    registry: FontRegistry | None = None,
) -> FieldLayout:
    """Lay out one field's value by its overflow policy (the rules are in the module docstring)."""
    reg = registry or default_registry()
    text = normalize_text(value)
    ctx = _font_context(reg, field.font or default_font, field.weight)
    key = (id(field), id(ctx), text)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] is field and hit[1] is ctx:
        return hit[2]
    result = _layout(field, text, ctx)
    if len(_RESULTS) >= _RESULTS_MAX:
        with suppress(KeyError):  # another thread may have emptied it meanwhile
            _RESULTS.popitem(last=False)
    _RESULTS[key] = (field, ctx, result)
    return result


# Finished layouts of repeated values (titles, years, company names): each holds its glyph run, so
# a repeat costs neither shaping nor fitting. Results are immutable, so sharing them is safe. Kept
# small: a cache of thousands of unique names would only give the cyclic GC more to scan.
_RESULTS: OrderedDict[tuple[int, int, str], tuple[Field, _FontContext, FieldLayout]] = OrderedDict()
_RESULTS_MAX = 512


def _layout(field: Field, text: str, ctx: _FontContext) -> FieldLayout:
    box = _box(field)
    base = float(field.size)
    policy = field.overflow
    if not text:
        return FieldLayout(
            field.key, "", policy, box, _r(base), _r(base), 1.0, (), False, False, "",
            ctx.use, ctx.refs[:1], (), (), True, "ltr",
        )  # fmt: skip
    run = _Run(text, ctx.chain)
    bw, bh = box[2], box[3]
    removed = ""
    if policy == "truncate":
        size = base
        specs, fonts, overflowed, removed = _truncate(run, field, bw, bh)
    else:
        fonts = run.fonts
        if policy == "shrink":
            fit = _shrink(run, field, bw, bh)
        else:
            lines = _fits(run, base, bw, bh, field.max_lines)
            if lines is not None:
                fit = _Fit(base, lines, False)
            else:
                cap = run.nwords if policy == "wrap" else field.max_lines  # wrap spills downwards
                fit = _Fit(base, run.force_lines(bw / base + _EPS if base > 0 else 0.0, cap), True)
        size, overflowed = fit.size, fit.overflowed
        specs = [_line_from_words(run, i, j) for i, j in fit.lines]
    return FieldLayout(
        field.key, text, policy, box, _r(size), _r(base), _r(size / base) if base > 0 else 1.0,
        _place(specs, ctx.chain[0], size, field, box), overflowed, bool(removed), removed,
        ctx.use, _refs(ctx, fonts), run.missing, run.fallback, False, run.direction,
    )  # fmt: skip


def layout_item(
    template: Template, values: Mapping[str, str | None], *, registry: FontRegistry | None = None
) -> ItemLayout:
    """Lay out every field of ``template`` for one item's values (a missing value is an empty field)."""
    return ItemLayout(
        template_key=template.key,
        template_hash=template.content_hash,
        width=_r(template.width * PT_PER_IN),
        height=_r(template.height * PT_PER_IN),
        fields=tuple(
            layout_field(f, values.get(f.key), default_font=template.default_font, registry=registry)
            for f in template.fields
        ),
    )


# -- what the proof and the export draw -------------------------------------------------------------
class PlacedGlyph(NamedTuple):
    font_path: str
    font_sha256: str
    units_per_em: int
    gid: int
    x: float  # pt from the template's left edge: the glyph origin, offsets applied
    y: float  # pt from the template's top edge: the glyph's baseline (y down)
    size: float  # pt


def glyph_placements(fl: FieldLayout) -> Iterator[PlacedGlyph]:
    """Every glyph of a laid-out field, in drawing order, positioned in template points."""
    size = fl.size
    for line in fl.lines:
        pen = 0.0
        for font, gid, _cluster, advance, dx, dy in zip(*line.columns, strict=True):
            ref = fl.fonts[font]
            scale = size / ref.units_per_em
            yield PlacedGlyph(
                ref.path, ref.sha256, ref.units_per_em, gid,
                line.x + pen + dx * scale, line.baseline - dy * scale, size,
            )  # fmt: skip
            pen += advance * scale


def glyph_outline(font_path: str, gid: int, sha256: str | None = None) -> tuple[tuple[str, tuple], ...]:
    """A glyph's outline as RecordingPen operations in font units (y up, components decomposed),
    cached per font + glyph. With ``sha256`` (from the layout), a font file that has changed since
    the layout was computed raises FontError instead of drawing other glyphs."""
    lf = load_font(font_path)
    if sha256 is not None and lf.sha256 != sha256:
        raise FontError(f"font file {font_path} changed since the layout was computed")
    return lf.outline(gid)


def draw_placed_glyph(p: PlacedGlyph, pen: Any, *, scale: float = 1.0) -> None:
    """Draw a placed glyph into any fontTools pen in template coordinates (y down), times ``scale``.

    ``scale`` converts points to the output unit, e.g. ``25.4 / 72`` for millimetres.
    """
    from fontTools.pens.recordingPen import replayRecording
    from fontTools.pens.transformPen import TransformPen

    s = p.size / p.units_per_em * scale
    transform = TransformPen(pen, (s, 0, 0, -s, p.x * scale, p.y * scale))
    replayRecording(glyph_outline(p.font_path, p.gid, p.font_sha256), transform)
