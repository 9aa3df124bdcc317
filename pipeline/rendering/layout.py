"""The layout engine's entry points: fit each field's text into its box with real font metrics
(docs/layout.md); the glyph run, line breaking and the policies are in the modules beside this one.

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
* Copyfit groups (``pipeline/rendering/copyfit.py``): a shrink field given its group's size is laid
  out at that size when it is below the field's own best size (``natural_size`` keeps the latter);
  a field that overflows on its own is left as it is.

Results are in points from the template's top-left corner, y down, rounded to 1e-4 pt; glyph
advances and offsets are integers in the units of the glyph's own font.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from contextlib import suppress
from typing import NamedTuple

from pipeline.core.units import MM_PER_IN, PT_PER_IN
from pipeline.rendering.breaking import Fit, LineSpec, fits, line_from_words
from pipeline.rendering.codes import check_code
from pipeline.rendering.fitting import block_ink, shrink, truncate
from pipeline.rendering.model import (
    EPS,
    LINE_HEIGHT,
    FieldLayout,
    FontRef,
    FontUse,
    ItemLayout,
    Line,
    round_pt,
)
from pipeline.rendering.run import NEG, GlyphRun, normalize_text
from pipeline.templates.font_faces import LoadedFont, load_font
from pipeline.templates.fonts import FontRegistry, default_registry
from pipeline.templates.template import Field, Template


def clear_caches() -> None:
    """Drop finished layouts (font objects stay loaded); for benchmarks and tests."""
    _RESULTS.clear()


_ALIGN = {"left": 0.0, "center": 0.5, "right": 1.0}


def _place(
    specs: list[LineSpec], primary: LoadedFont, size: float, f: Field, box: tuple[float, float, float, float]
) -> tuple[Line, ...]:
    bx, by, bw, bh = box
    top_rel, bot_rel = block_ink(specs, size)
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
        asc, desc = (sp.asc_em, sp.desc_em) if sp.asc_em != NEG else (0.0, 0.0)
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
        box = (
            round_pt(f.x * PT_PER_IN),
            round_pt(f.y * PT_PER_IN),
            round_pt(f.width * PT_PER_IN),
            round_pt(f.height * PT_PER_IN),
        )
        hit = _BOXES[id(f)] = (f, box)
    return hit[1]


# -- public entry points ----------------------------------------------------------------------------
def layout_field(
    field: Field,
    value: str | None,
    *,
    default_font: str = "DejaVu Sans",
    registry: FontRegistry | None = None,
    group_size: float | None = None,
) -> FieldLayout:
    """Lay out one field's value by its overflow policy (the rules are in the module docstring);
    ``group_size``: its copyfit group's size, which a shrink field takes when it is smaller."""
    reg = registry or default_registry()
    text = normalize_text(value)
    ctx = _font_context(reg, field.font or default_font, field.weight)
    key = (id(field), id(ctx), text, group_size)
    hit = _RESULTS.get(key)
    if hit is not None and hit[0] is field and hit[1] is ctx:
        return hit[2]
    result = _layout(field, text, ctx, group_size)
    if len(_RESULTS) >= _RESULTS_MAX:
        with suppress(KeyError):  # another thread may have emptied it meanwhile
            _RESULTS.popitem(last=False)
    _RESULTS[key] = (field, ctx, result)
    return result


# Finished layouts of repeated values (titles, years, company names): each holds its glyph run, so
# a repeat costs neither shaping nor fitting. Results are immutable, so sharing them is safe. Kept
# small: a cache of thousands of unique names would only give the cyclic GC more to scan.
_RESULTS: OrderedDict[tuple[int, int, str, float | None], tuple[Field, _FontContext, FieldLayout]] = (
    OrderedDict()
)

_RESULTS_MAX = 512


def _layout_code(field: Field, text: str, ctx: _FontContext) -> FieldLayout:
    """A code field: the symbol placed in the box (no glyphs). It overflows when the value cannot be
    encoded or its symbol does not fit; preflight says why (``pipeline.rendering.codes.check_code``)."""
    box_mm = (field.x * MM_PER_IN, field.y * MM_PER_IN, field.width * MM_PER_IN, field.height * MM_PER_IN)
    placed = None
    if text:
        placed, _ = check_code(
            field.kind or "",
            text,
            box_mm,
            error_correction=field.error_correction or "M",
            quiet_zone=field.quiet_zone,
            module_mm=field.module_mm,
            align=field.align,
            valign=field.valign,
        )
    bad = bool(text) and (placed is None or not placed.fits or placed.module <= 0)
    base = round_pt(float(field.size))
    return FieldLayout(
        field.key, text, "code", _box(field), base, base, 1.0, (), bad, False, "",
        ctx.use, ctx.refs[:1], (), (), not text, "ltr", None if bad else placed,
    )  # fmt: skip


def _layout(field: Field, text: str, ctx: _FontContext, group_size: float | None = None) -> FieldLayout:
    if field.kind is not None:
        return _layout_code(field, text, ctx)
    box = _box(field)
    base = float(field.size)
    policy = field.overflow
    if not text:
        return FieldLayout(
            field.key, "", policy, box, round_pt(base), round_pt(base), 1.0, (), False, False, "",
            ctx.use, ctx.refs[:1], (), (), True, "ltr",
        )  # fmt: skip
    run = GlyphRun(text, ctx.chain)
    bw, bh = box[2], box[3]
    removed = ""
    natural: float | None = None
    fonts: tuple[LoadedFont, ...] | list[LoadedFont]
    if policy == "truncate":
        size = base
        specs, fonts, overflowed, removed = truncate(run, field, bw, bh)
    else:
        fonts = run.fonts
        if policy == "shrink":
            fit = shrink(run, field, bw, bh)
            if group_size is not None and not fit.overflowed and group_size < fit.size - EPS:
                grouped = fits(run, group_size, bw, bh, field.max_lines)  # fits at any smaller size
                if grouped is not None:
                    natural, fit = round_pt(fit.size), Fit(group_size, grouped, False)
        else:
            lines = fits(run, base, bw, bh, field.max_lines)
            if lines is not None:
                fit = Fit(base, lines, False)
            else:
                cap = run.nwords if policy == "wrap" else field.max_lines  # wrap spills downwards
                fit = Fit(base, run.force_lines(bw / base + EPS if base > 0 else 0.0, cap), True)
        size, overflowed = fit.size, fit.overflowed
        specs = [line_from_words(run, i, j) for i, j in fit.lines]
    return FieldLayout(
        field.key, text, policy, box,
        round_pt(size), round_pt(base), round_pt(size / base) if base > 0 else 1.0,
        _place(specs, ctx.chain[0], size, field, box), overflowed, bool(removed), removed,
        ctx.use, _refs(ctx, fonts), run.missing, run.fallback, False, run.direction, None, natural,
    )  # fmt: skip


def layout_item(
    template: Template,
    values: Mapping[str, str | None],
    *,
    registry: FontRegistry | None = None,
    groups: Mapping[str, float] | None = None,
) -> ItemLayout:
    """Lay out every field of ``template`` for one item's values (a missing value is an empty field);
    ``groups``: the job's copyfit group sizes (``pipeline.rendering.copyfit``), by group name."""
    sizes = groups or {}
    return ItemLayout(
        template_key=template.key,
        template_hash=template.content_hash,
        width=round_pt(template.width * PT_PER_IN),
        height=round_pt(template.height * PT_PER_IN),
        fields=tuple(
            layout_field(
                f,
                values.get(f.key),
                default_font=template.default_font,
                registry=registry,
                group_size=sizes.get(f.group) if f.group else None,
            )
            for f in template.fields
        ),
    )
