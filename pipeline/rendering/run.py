"""The glyph run: a field's text normalized, split into runs per face of the fallback chain, shaped
once with HarfBuzz (kerning and ligatures on), and measured per word, so every size and every way of
breaking the text into lines is computed from it without shaping again (docs/layout.md).
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_left
from itertools import accumulate
from typing import Any

import uharfbuzz as hb

from pipeline.rendering.model import LINE_HEIGHT, GlyphColumns
from pipeline.templates.font_faces import LoadedFont, is_ignorable

FEATURES = {"kern": True, "liga": True}

NEG = -math.inf

_WS = re.compile(r"[^\S\u00a0\u2007\u202f]+")  # whitespace except the no-break spaces


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
class GlyphRun:
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
            hb.shape(chain[ci].hb_font, buf, FEATURES)
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
                max(map(lf.ink_top_em.__getitem__, gids), default=NEG),
                max(map(lf.ink_desc_em.__getitem__, gids), default=NEG),
            )
        else:
            self._em_view()
            self.width_em = sum(self._adv)
            self.ink_em = (max(self._top, default=NEG), max(self._desc, default=NEG))

    def _em_view(self) -> list[int]:
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
        return srt

    @property
    def words(self) -> list[tuple[int, int]]:
        """Character ranges of the words; also computes the per-word measures on first use."""
        if self._words is None:
            self._measure_words()
        return self._words  # type: ignore[return-value]

    def _measure_words(self) -> None:
        srt = self._sorted if self._sorted is not None else self._em_view()
        top, desc = self._top, self._desc
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
        self._word_top = [max(top[a:b], default=NEG) for a, b in zip(starts, ends, strict=True)]
        self._word_desc = [max(desc[a:b], default=NEG) for a, b in zip(starts, ends, strict=True)]
        self._pw = list(accumulate(self._word_w, initial=0.0))
        self._ps = list(accumulate(self._space_w, initial=0.0))

    # Per-word measures in em (computed on first use): advance, the space after, ink ascent, descent.
    @property
    def word_w(self) -> list[float]:
        if self._words is None:
            self._measure_words()
        return self._word_w

    @property
    def space_w(self) -> list[float]:
        if self._words is None:
            self._measure_words()
        return self._space_w

    @property
    def word_top(self) -> list[float]:
        if self._words is None:
            self._measure_words()
        return self._word_top

    @property
    def word_desc(self) -> list[float]:
        if self._words is None:
            self._measure_words()
        return self._word_desc

    # -- glyphs --
    def columns_between(self, s: int, e: int) -> GlyphColumns:
        """Glyph columns of the glyphs drawing characters [s, e), in visual order."""
        srt = self._sorted if self._sorted is not None else self._em_view()
        if self.order == "mixed":
            cl = self.cols[2]
            idx = [k for k in range(self.n) if s <= cl[k] < e]
            return tuple(tuple(col[k] for k in idx) for col in self.cols)
        a = bisect_left(srt, s)
        b = bisect_left(srt, e, a)
        if self.order == "rev":
            a, b = self.n - b, self.n - a
        return tuple(tuple(col[a:b]) for col in self.cols)

    def ink_between(self, s: int, e: int) -> tuple[float, float]:
        srt = self._sorted if self._sorted is not None else self._em_view()
        a = bisect_left(srt, s)
        b = bisect_left(srt, e, a)
        return max(self._top[a:b], default=NEG), max(self._desc[a:b], default=NEG)

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
        srt = self._sorted if self._sorted is not None else self._em_view()
        if self._prefix is None:
            char_adv = [0.0] * (len(self.text) + 1)
            for c, a in zip(srt, self._adv, strict=True):
                char_adv[c] += a
            self._prefix = list(accumulate(char_adv, initial=0.0))
        return self._prefix[e] - self._prefix[s]

    def cuts(self) -> list[int]:
        """Character indices where the text may be cut without splitting a cluster."""
        srt = self._sorted if self._sorted is not None else self._em_view()
        if self._cuts is None:
            self._cuts = sorted(set(srt) | {len(self.text)})
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
            if asc == NEG:  # a line without ink
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
