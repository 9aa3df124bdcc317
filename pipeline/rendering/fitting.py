"""The overflow policies that change the text or its size: `shrink` (the largest size on the 0.5 pt
grid at which the text fits) and `truncate` (the last allowed line cut at a cluster boundary, ending
with an ellipsis); see docs/layout.md.
"""

from __future__ import annotations

import math
from functools import lru_cache

import uharfbuzz as hb

from pipeline.rendering.breaking import Fit, LineSpec, fits, line_from_words, partitions
from pipeline.rendering.model import ELLIPSIS, EPS, GRID, LINE_HEIGHT, GlyphColumns
from pipeline.rendering.run import FEATURES, NEG, GlyphRun
from pipeline.templates.font_faces import LoadedFont
from pipeline.templates.template import Field


def _grid_floor(v: float) -> int:
    """Index k of the largest grid size k*GRID <= v (robust to float noise)."""
    return math.floor(round(v / GRID, 9))


def shrink(run: GlyphRun, f: Field, bw: float, bh: float) -> Fit:
    base, max_lines = f.size, f.max_lines
    lines = fits(run, base, bw, bh, max_lines)
    if lines is not None:
        return Fit(base, lines, False)
    lo, hi = math.ceil(round(f.min_size / GRID, 9)), math.ceil(round(base / GRID, 9)) - 1  # [min, base)
    best = _shrink_search(run, f, bw, bh, lo, hi) if bw > 0 and bh > 0 and lo <= hi else None
    if best is None:
        size = f.min_size
        return Fit(size, run.force_lines(bw / size + EPS, max_lines), True)
    size = best * GRID
    lines = fits(run, size, bw, bh, max_lines)
    assert lines is not None
    return Fit(size, lines, False)


def _cap(widest: float, height: float, bw: float, bh: float) -> float:
    """The largest size at which a block this wide and tall (em) fits the box."""
    return min(bw / widest if widest > 0 else math.inf, bh / height if height > 0 else math.inf)


def _shrink_search(run: GlyphRun, f: Field, bw: float, bh: float, lo: int, hi: int) -> int | None:
    """The largest grid index in [lo, hi] whose size fits, or None. fits(size) is monotone."""
    max_lines = f.max_lines
    asc, desc = run.ink_em
    cap = _cap(run.width_em, asc + desc if asc != NEG else 0.0, bw, bh)  # one line
    parts = partitions(run, max_lines) if max_lines > 1 and run.nwords > 1 else []
    if parts is not None:
        # Short text: every break has a closed-form largest size; the best of them is the answer.
        for _k, widest, height, _lines in parts:
            cap = max(cap, _cap(widest, height, bw, bh))
        guess = min(hi, _grid_floor(cap)) if cap < math.inf else hi
        while guess >= lo and fits(run, guess * GRID, bw, bh, max_lines) is None:  # float noise
            guess -= 1
        return guess if guess >= lo else None
    # Long text: binary search with greedy breaking, above the one-line size, below the size at
    # which the widest word still fits.
    best = None
    guess = min(hi, _grid_floor(cap)) if cap < math.inf else hi
    if guess >= lo and fits(run, guess * GRID, bw, bh, 1) is not None:
        best, lo = guess, guess + 1
    if run._words is None:
        run._measure_words()
    widest = max(run.word_w)
    if widest > 0:
        hi = min(hi, _grid_floor(bw / widest))
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(run, mid * GRID, bw, bh, max_lines) is not None:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


@lru_cache(maxsize=64)
def _shape_plain(lf: LoadedFont, text: str) -> GlyphColumns:
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(lf.hb_font, buf, FEATURES)
    infos, pos = buf.glyph_infos, buf.glyph_positions
    return (
        (0,) * len(infos),
        tuple(i.codepoint for i in infos),
        (0,) * len(infos),
        tuple(p.x_advance for p in pos),
        tuple(p.x_offset for p in pos),
        tuple(p.y_offset for p in pos),
    )


def _ellipsis(run: GlyphRun) -> tuple[LoadedFont, str, GlyphColumns]:
    """'…' from the first face of the run that has it, else '...'."""
    for lf in run.fonts:
        if ord(ELLIPSIS) in lf.cmap:
            return lf, ELLIPSIS, _shape_plain(lf, ELLIPSIS)
    return run.fonts[0], "...", _shape_plain(run.fonts[0], "...")


def block_ink(specs: list[LineSpec], size: float) -> tuple[float, float]:
    """Ink top/bottom of stacked lines relative to the first baseline, in pt (y down)."""
    if len(specs) == 1:
        sp = specs[0]
        return (-sp.asc_em * size, sp.desc_em * size) if sp.asc_em != NEG else (0.0, 0.0)
    if not specs:
        return 0.0, 0.0
    top, bottom = math.inf, -math.inf
    for k, sp in enumerate(specs):
        asc, desc = (sp.asc_em, sp.desc_em) if sp.asc_em != NEG else (0.0, 0.0)
        off = k * LINE_HEIGHT * size
        top = min(top, off - asc * size)
        bottom = max(bottom, off + desc * size)
    return top, bottom


def truncate(
    run: GlyphRun, f: Field, bw: float, bh: float
) -> tuple[list[LineSpec], list[LoadedFont], bool, str]:
    """Truncate policy at base size: (lines, fonts, overflowed, removed_text); truncated iff removed."""
    size = f.size
    fonts = list(run.fonts)
    full = fits(run, size, bw, bh, f.max_lines)
    if full is not None:
        return [line_from_words(run, i, j) for i, j in full], fonts, False, ""
    limit = bw / size + EPS if size > 0 and bw > 0 else 0.0
    ell_font, ell_text, ell = _ellipsis(run)
    if ell_font not in fonts:
        fonts.append(ell_font)
    ell_w = sum(ell[3]) / ell_font.upem
    ell_asc = max((ell_font.ink_top_em[g] for g in ell[1]), default=NEG)
    ell_desc = max((ell_font.ink_desc_em[g] for g in ell[1]), default=NEG)
    nw = run.nwords
    attempt: tuple[list[LineSpec], str] | None = None
    # Most lines first: k-1 lines of whole words, then the rest cut to fit line k and ended with '…'.
    for k in range(f.max_lines, 0, -1):
        specs: list[LineSpec] = []
        w = 0
        while len(specs) < k - 1 and w < nw and run.word_w[w] <= limit:
            j = w
            while j + 1 < nw and run.line_width(w, j + 1) <= limit:
                j += 1
            specs.append(line_from_words(run, w, j))
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
            LineSpec(
                run.text[start:end] + ell_text,
                tuple(a + b for a, b in pairs),
                run.width_between(start, end) + ell_w,
                max(asc, ell_asc),
                max(desc, ell_desc),
            )
        )
        attempt = (specs, run.text[end:].strip(" "))
        top, bottom = block_ink(specs, size)
        if all(s.width_em * size <= bw + EPS for s in specs) and bottom - top <= bh + EPS:
            return specs, fonts, False, attempt[1]
    if attempt is None:  # not even one line could be started (e.g. a zero-height box)
        attempt = ([line_from_words(run, 0, nw - 1)], "")
    return attempt[0], fonts, True, attempt[1]


def _best_cut(run: GlyphRun, start: int, avail: float) -> int:
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
