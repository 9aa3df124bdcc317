"""Line breaking at a given size: one line when the text fits on one; for short texts the fitting break
with the fewest lines, then the narrowest widest line; for longer texts greedy first-fit (docs/layout.md).
"""

from __future__ import annotations

import math
from itertools import accumulate, combinations
from typing import NamedTuple

from pipeline.rendering.model import EPS, LINE_HEIGHT, GlyphColumns
from pipeline.rendering.run import NEG, GlyphRun


# -- fitting ----------------------------------------------------------------------------------------
class Fit(NamedTuple):
    size: float
    lines: list[tuple[int, int]]  # word ranges
    overflowed: bool


_MAX_PARTITIONS = 256  # beyond this many ways to break a text, fall back to greedy breaking


def partitions(run: GlyphRun, max_lines: int) -> list[tuple[int, float, float, list[tuple[int, int]]]] | None:
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
                if NEG in (top_before[j], top_after[j + 1]):  # a line without ink: the general measure
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


def fits(run: GlyphRun, size: float, bw: float, bh: float, max_lines: int) -> list[tuple[int, int]] | None:
    """Lines of the text at ``size`` that fit the box, or None. One line when it fits; otherwise,
    for short texts, the fitting break with the fewest then most balanced lines; for long texts,
    greedy first-fit breaks."""
    if size <= 0 or bw <= 0 or bh <= 0:
        return None
    limit = bw / size + EPS
    if run.width_em <= limit:  # one line, no breaking
        asc, desc = run.ink_em
        if asc == NEG or (asc + desc) * size <= bh + EPS:
            return [(0, run.nwords - 1)]
        return None
    if max_lines == 1 or run.nwords == 1:
        return None
    hlimit = bh / size + EPS
    parts = partitions(run, max_lines)
    if parts is not None:
        for _k, widest, height, lines in parts:
            if widest <= limit and height <= hlimit:
                return lines
        return None
    greedy = run.greedy(limit)
    if greedy is None or len(greedy) > max_lines or run.block_height(greedy) > hlimit:
        return None
    return greedy


# -- lines ------------------------------------------------------------------------------------------
class LineSpec(NamedTuple):
    text: str
    columns: GlyphColumns
    width_em: float
    asc_em: float  # ink above the baseline; -inf when the line has no ink
    desc_em: float


def line_from_words(run: GlyphRun, i: int, j: int) -> LineSpec:
    if i == 0 and j == run.nwords - 1:  # the whole text
        asc, desc = run.ink_em
        return LineSpec(run.text, tuple(map(tuple, run.cols)), run.width_em, asc, desc)
    s, e = run.words[i][0], run.words[j][1]
    asc, desc = run.line_ink(i, j)
    return LineSpec(run.text[s:e], run.columns_between(s, e), run.line_width(i, j), asc, desc)
