"""Layout engine geometry: every claim is checked against the glyphs' real outlines."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fontTools.pens.boundsPen import BoundsPen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.rendering.glyphs import draw_placed_glyph, glyph_outline, glyph_placements
from pipeline.rendering.layout import clear_caches, layout_field, layout_item
from pipeline.rendering.model import ELLIPSIS, GRID, LINE_HEIGHT, FieldLayout, ItemLayout
from pipeline.rendering.run import normalize_text
from pipeline.templates.font_faces import load_font
from pipeline.templates.font_files import FontError
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Field, sample_templates
from tests.pipeline.conftest_layout import DEJAVU_DIR, NAMES, bundled_registry, field, renamed_font

REG = bundled_registry()
TOL = 2e-3  # pt; results are rounded to 1e-4 pt


def lay(f: Field, value: str | None, **kw: object) -> FieldLayout:
    return layout_field(f, value, registry=REG, **kw)


def ink_bounds(fl: FieldLayout) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) in template pt of the drawn outlines, measured independently."""
    pen = BoundsPen(None)
    for placed in glyph_placements(fl):
        draw_placed_glyph(placed, pen)
    return pen.bounds


def assert_inside(fl: FieldLayout) -> None:
    x, y, w, h = fl.box
    assert not fl.overflowed
    for line in fl.lines:
        assert line.x >= x - TOL and line.x + line.width <= x + w + TOL, (
            line.text,
            line.x,
            line.width,
            fl.box,
        )
        assert line.ink_top >= y - TOL and line.ink_bottom <= y + h + TOL, (line.text, fl.box)
    ink = ink_bounds(fl)
    if ink is not None:
        assert ink[1] >= y - TOL and ink[3] <= y + h + TOL, (fl.text, ink, fl.box)
        # the line records claim the same ink as the outlines, to within one font unit (the recorded ink
        # comes from the glyphs' integer bounds, the check from the exact curves)
        unit = fl.size / min(f.units_per_em for f in fl.fonts)
        assert min(ln.ink_top for ln in fl.lines) == pytest.approx(ink[1], abs=TOL + unit)
        assert max(ln.ink_bottom for ln in fl.lines) == pytest.approx(ink[3], abs=TOL + unit)


FIELDS = {
    "shrink-1": field(overflow="shrink", size=28.0, min_size=6.0),
    "shrink-2": field(overflow="shrink", size=28.0, min_size=6.0, max_lines=2, height=0.7),
    "shrink-top-left": field(overflow="shrink", size=20.0, min_size=5.0, align="left", valign="top"),
    "shrink-bottom-right": field(overflow="shrink", size=20.0, min_size=5.0, align="right", valign="bottom"),
    "wrap-3": field(overflow="wrap", size=12.0, max_lines=3, width=2.5, height=0.8),
    "truncate-1": field(overflow="truncate", size=18.0),
    "truncate-2": field(overflow="truncate", size=14.0, max_lines=2, height=0.6),
    "fixed": field(overflow="fixed", size=10.0, width=2.8),
    "serif-bold": field(overflow="shrink", size=30.0, min_size=6.0, font="DejaVu Serif", weight="bold"),
    "liberation": field(overflow="shrink", size=30.0, min_size=6.0, font="Liberation Sans"),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", sorted(FIELDS))
def test_laid_out_lines_lie_inside_their_box(key: str, name: str) -> None:
    f = FIELDS[key]
    fl = lay(f, name)
    assert fl.text == normalize_text(name)
    if not fl.overflowed:
        assert_inside(fl)
    assert len(fl.lines) <= (len(fl.text.split(" ")) if f.overflow == "wrap" else f.max_lines)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", ["shrink-1", "shrink-2", "shrink-top-left", "serif-bold"])
def test_shrink_picks_the_largest_grid_size_that_fits(key: str, name: str) -> None:
    f = FIELDS[key]
    fl = lay(f, name)
    fixed = {"overflow": "fixed", "min_size": 0.5}
    if fl.overflowed:
        assert fl.size == f.min_size
        assert lay(field(**{**f.__dict__, **fixed, "size": f.min_size}), name).overflowed
        return
    assert f.min_size <= fl.size <= f.size
    assert fl.shrink_ratio == pytest.approx(fl.size / f.size, abs=1e-4)
    if fl.size < f.size:
        assert (fl.size / GRID).is_integer()
        assert not lay(field(**{**f.__dict__, **fixed, "size": fl.size}), name).overflowed
        assert lay(field(**{**f.__dict__, **fixed, "size": fl.size + GRID}), name).overflowed


def test_shrink_may_wrap_when_lines_are_allowed() -> None:
    name = "Jonathan Q. Smithers-Worthington III"
    one = lay(FIELDS["shrink-1"], name)
    two = lay(field(**{**FIELDS["shrink-1"].__dict__, "max_lines": 2, "height": 0.7}), name)
    assert len(one.lines) == 1 and len(two.lines) == 2
    assert two.size > one.size
    assert " ".join(line.text for line in two.lines) == name
    widths = [line.width for line in two.lines]
    assert max(widths) / min(widths) < 2.5  # balanced, not one long line and a stub


def test_baselines_are_line_height_apart() -> None:
    fl = lay(FIELDS["wrap-3"], "Employee of the Year 2024 — Outstanding Service Award for Excellence")
    assert len(fl.lines) >= 2
    for a, b in zip(fl.lines, fl.lines[1:], strict=False):
        assert b.baseline - a.baseline == pytest.approx(LINE_HEIGHT * fl.size, abs=TOL)


@pytest.mark.parametrize("name", NAMES)
def test_wrap_never_breaks_inside_a_word(name: str) -> None:
    for width in (0.8, 1.3, 2.0, 3.0):
        f = field(overflow="wrap", size=11.0, max_lines=4, width=width, height=1.0)
        fl = lay(f, name)
        assert " ".join(line.text for line in fl.lines) == fl.text
        words = set(fl.text.split(" "))
        for line in fl.lines:
            assert set(line.text.split(" ")) <= words


def test_wrap_overflow_cases() -> None:
    f = field(overflow="wrap", size=12.0, max_lines=2, width=2.0, height=0.5)
    assert not lay(f, "Employee of the Year 2024").overflowed
    too_many = lay(f, "Employee of the Year 2024 — Outstanding Service Award for Excellence in Teaching")
    assert too_many.overflowed and len(too_many.lines) > 2  # drawn spilling downwards
    wide_word = lay(f, "Supercalifragilisticexpialidocious" * 2)
    assert wide_word.overflowed and wide_word.lines[0].width > f.width * 72
    too_tall = lay(
        field(overflow="wrap", size=12.0, max_lines=3, width=2.0, height=0.3), "Employee of the Year 2024"
    )
    assert too_tall.overflowed


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", ["truncate-1", "truncate-2"])
def test_truncate_ends_with_an_ellipsis_and_fits(key: str, name: str) -> None:
    f = FIELDS[key]
    fl = lay(f, name)
    assert not fl.overflowed
    assert_inside(fl)
    if fl.truncated:
        last = fl.lines[-1]
        assert last.text.endswith(ELLIPSIS)
        shown = " ".join([ln.text for ln in fl.lines[:-1]] + [last.text[: -len(ELLIPSIS)]])
        assert fl.removed_text
        assert (shown + " " + fl.removed_text).replace(" ", "") == fl.text.replace(" ", "")
        assert fl.size == f.size
    else:
        assert fl.removed_text == "" and " ".join(ln.text for ln in fl.lines) == fl.text


def test_truncate_cuts_at_the_last_character_that_fits() -> None:
    f = field(overflow="truncate", size=18.0, width=1.5)
    fl = lay(f, "Supercalifragilisticexpialidocious")
    shown = fl.lines[0].text[: -len(ELLIPSIS)]
    assert fl.truncated and shown and fl.lines[0].width <= f.width * 72 + TOL
    one_more = fl.text[: len(shown) + 1] + ELLIPSIS  # one more character would not fit
    assert lay(field(overflow="fixed", size=18.0, width=1.5), one_more).overflowed


@pytest.mark.parametrize("name", NAMES)
def test_overflow_is_flagged_exactly_when_the_text_does_not_fit(name: str) -> None:
    natural = lay(field(overflow="fixed", size=12.0, width=40.0, height=2.0), name)
    line = natural.lines[0]
    ink = ink_bounds(natural)
    assert ink is not None
    width_in = line.width / 72
    ink_h_in = (ink[3] - ink[1]) / 72
    assert not lay(field(overflow="fixed", size=12.0, width=width_in * 1.001, height=2.0), name).overflowed
    assert lay(field(overflow="fixed", size=12.0, width=width_in * 0.999, height=2.0), name).overflowed
    assert not lay(field(overflow="fixed", size=12.0, width=40.0, height=ink_h_in * 1.001), name).overflowed
    assert lay(field(overflow="fixed", size=12.0, width=40.0, height=ink_h_in * 0.999), name).overflowed


def test_accented_capitals_are_fitted_on_their_real_ink() -> None:
    lf = load_font(REG.resolve("DejaVu Sans").font)
    size = 24.0
    ascent = lf.ascender / lf.upem * size  # the typographic ascent, pt
    f = field(overflow="fixed", size=size, height=ascent / 72, width=3.0)  # room for the ascent only
    plain, accented = lay(f, "AEIOU"), lay(f, "ÅÉÎÕÜ")
    assert not plain.overflowed and accented.overflowed
    line = accented.lines[0]
    assert line.baseline - line.ink_top > lf.ascender / lf.upem * size  # the ink rises above the ascent
    ink = ink_bounds(accented)
    assert ink is not None and line.ink_top == pytest.approx(ink[1], abs=TOL)
    shrunk = lay(field(**{**f.__dict__, "overflow": "shrink", "min_size": 6.0}), "ÅÉÎÕÜ")
    assert not shrunk.overflowed and shrunk.size < size
    assert_inside(shrunk)


def test_alignment() -> None:
    box = dict(x=0.5, y=0.25, width=2.0, height=0.5, size=14.0, overflow="fixed")
    left = lay(field(**box, align="left", valign="top"), "Zoë Müller")
    right = lay(field(**box, align="right", valign="bottom"), "Zoë Müller")
    center = lay(field(**box, align="center", valign="middle"), "Zoë Müller")
    x, y, w, h = left.box
    assert left.lines[0].x == pytest.approx(x, abs=TOL)
    assert right.lines[0].x + right.lines[0].width == pytest.approx(x + w, abs=TOL)
    c = center.lines[0]
    assert c.x - x == pytest.approx(x + w - (c.x + c.width), abs=TOL)
    assert (c.ink_top - y) == pytest.approx(y + h - c.ink_bottom, abs=TOL)  # ink centred vertically
    lf = load_font(REG.resolve("DejaVu Sans").font)
    assert left.lines[0].baseline == pytest.approx(y + lf.ascender / lf.upem * 14.0, abs=TOL)
    assert right.lines[0].baseline == pytest.approx(y + h + lf.descender / lf.upem * 14.0, abs=TOL)
    for fl in (left, right, center):
        assert_inside(fl)


def test_text_is_normalized() -> None:
    f = FIELDS["shrink-1"]
    decomposed, composed = lay(f, "Jose\u0301 Mu\u0308ller"), lay(f, "José Müller")
    assert decomposed.text == "José Müller"
    assert json.dumps(decomposed.to_dict()) == json.dumps(composed.to_dict())
    assert lay(f, "  Zoë \t\n Müller \r\n").text == "Zoë Müller"
    assert lay(f, "Dr.\u00a0Smith").text == "Dr.\u00a0Smith"  # no-break spaces stay
    assert lay(f, "A\x00B\x07C").text == "ABC"


@pytest.mark.parametrize("value", ["", "   ", "\t\n", None])
def test_empty_values(value: str | None) -> None:
    fl = lay(FIELDS["shrink-1"], value)
    assert fl.empty and fl.lines == () and not fl.overflowed and fl.text == ""


def test_a_single_200_character_word() -> None:
    word = "x" * 200
    assert lay(FIELDS["shrink-1"], word).overflowed
    assert lay(FIELDS["shrink-1"], word).size == FIELDS["shrink-1"].min_size
    assert lay(FIELDS["wrap-3"], word).overflowed
    assert lay(FIELDS["fixed"], word).overflowed
    cut = lay(FIELDS["truncate-1"], word)
    assert cut.truncated and not cut.overflowed and cut.lines[0].text.endswith(ELLIPSIS)
    assert_inside(cut)


def test_characters_no_font_has_are_reported_and_still_laid_out() -> None:
    fl = lay(FIELDS["shrink-1"], "Party 🦄 你好")
    assert fl.missing == (0x1F984, 0x4F60, 0x597D) and fl.missing_chars == ["🦄", "你", "好"]
    assert len(fl.lines[0].columns[1]) == len("Party 🦄 你好")
    notdef = [
        adv for gid, adv in zip(fl.lines[0].columns[1], fl.lines[0].columns[3], strict=True) if gid == 0
    ]
    assert len(notdef) == 3 and all(adv > 0 for adv in notdef)


def test_fallback_font_draws_what_the_field_font_lacks() -> None:
    fl = lay(field(font="Liberation Sans", size=20.0), "Zoë مرحبا")
    assert fl.missing == () and set(fl.fallback) == {ord(c) for c in "مرحبا"}
    assert [ref.name for ref in fl.fonts] == ["Liberation Sans", "DejaVu Sans"]
    assert set(fl.lines[0].columns[0]) == {0, 1}
    assert not fl.font.substituted and fl.font.used_name == "Liberation Sans"


@pytest.mark.parametrize("text", ["Արամ ★ Åsa", "★", "Åsa ★ Արամ"])
def test_the_field_font_comes_first_even_when_a_fallback_draws_the_first_characters(text: str) -> None:
    fl = lay(field(font="Liberation Serif", size=20.0), text)
    assert fl.fonts[0].name == "Liberation Serif" and fl.fonts[0].sha256 == fl.font.sha256
    primary, fallback = load_font(fl.fonts[0].path), load_font(fl.fonts[1].path)
    # every character the field's font has is drawn with it; the fallback only draws the rest
    for font, cluster in zip(fl.lines[0].columns[0], fl.lines[0].columns[2], strict=True):
        ch = fl.text[cluster]
        assert font == (0 if ord(ch) in primary.cmap else 1), ch
        assert ord(ch) in (primary if font == 0 else fallback).cmap


def test_font_substitution_is_reported() -> None:
    fl = lay(field(font="Arial", weight="bold"), "Zoë")
    assert fl.font.substituted and fl.font.step == "alias" and fl.font.used_name == "Liberation Sans Bold"
    assert fl.font.requested_family == "Arial" and "Arial" in fl.font.reason
    assert lay(field(), "Zoë", default_font="Nope Sans").font.step == "last_resort"


@pytest.mark.parametrize("text", ["שלום עולם", "مرحبا بالعالم", "Анна שלום", "ضياء الدين 2024"])
@pytest.mark.parametrize("policy", ["shrink", "wrap", "truncate", "fixed"])
def test_right_to_left_text_keeps_a_consistent_run(text: str, policy: str) -> None:
    fl = lay(field(overflow=policy, size=30.0, max_lines=2, width=1.2), text)
    n = len(fl.text)
    for line in fl.lines:
        fonts, gids, clusters, advances, dx, dy = line.columns
        assert len({len(col) for col in line.columns}) == 1 and gids
        assert all(0 <= c <= n for c in clusters)
        assert line.width == pytest.approx(sum(a for a in advances) * fl.size / 2048, abs=TOL)
    if text[0] in "שمض":
        assert fl.direction == "rtl"
    if not fl.overflowed:
        assert_inside(fl)


def test_zero_width_field_overflows_instead_of_crashing() -> None:
    for policy in ("shrink", "wrap", "truncate", "fixed"):
        assert lay(field(overflow=policy, width=0.0), "Zoë").overflowed
        assert lay(field(overflow=policy, height=0.0), "Zoë").overflowed


def test_glyph_placements_follow_the_run() -> None:
    fl = lay(FIELDS["shrink-2"], "Jonathan Q. Smithers-Worthington III")
    placed = list(glyph_placements(fl))
    assert len(placed) == sum(len(line.columns[1]) for line in fl.lines)
    first = [p for p in placed if p.y == pytest.approx(fl.lines[0].baseline)]
    xs = [p.x for p in first]
    assert xs == sorted(xs) and xs[0] == pytest.approx(fl.lines[0].x, abs=TOL)
    assert all(p.font_sha256 == fl.font.sha256 and p.size == fl.size for p in placed)


def test_outlines_refuse_a_font_that_changed_since_the_layout() -> None:
    fl = lay(FIELDS["shrink-1"], "Zoë")
    p = next(glyph_placements(fl))
    assert glyph_outline(p.font_path, p.gid, p.font_sha256)
    with pytest.raises(FontError, match="changed since the layout"):
        draw_placed_glyph(p._replace(font_sha256="0" * 64), BoundsPen(None))


def test_layout_item_covers_every_field_and_round_trips() -> None:
    t = sample_templates()["plaque"]
    values = {"recipient": "Seán O'Connor", "citation": "For twenty-five years of service. " * 4}
    item = layout_item(t, values, registry=REG)
    assert [f.key for f in item.fields] == [f.key for f in t.fields]
    assert item.field("title").empty and not item.field("recipient").empty
    assert (item.width, item.height) == (576.0, 720.0) and item.template_hash == t.content_hash
    data = json.loads(json.dumps(item.to_dict(), sort_keys=True))
    assert ItemLayout.from_dict(data) == item
    assert item.font_hashes() == tuple(sorted({ref.sha256 for f in item.fields for ref in f.fonts}))


def test_threads_share_fonts_safely(tmp_path: Path) -> None:
    renamed_font(tmp_path / "ws" / "cold.ttf", "Cold Start Sans", source=DEJAVU_DIR / "DejaVuSerif.ttf")
    reg = FontRegistry(include_system=False, workspace_dirs=[tmp_path / "ws"])
    f = field(font="Cold Start Sans", overflow="shrink", max_lines=2, height=0.7)
    names = NAMES * 4

    def one(name: str) -> str:
        return json.dumps(layout_field(f, name, registry=reg).to_dict(), sort_keys=True)

    with ThreadPoolExecutor(max_workers=4) as pool:  # glyph bounds are computed on first use, in parallel
        parallel = list(pool.map(one, names))
    clear_caches()
    assert parallel == [one(name) for name in names]


def _dump_all() -> str:
    out = []
    for t in sample_templates().values():
        for i, name in enumerate(NAMES):
            values = {f.key: name if i % 2 else name.upper() for f in t.fields}
            out.append(layout_item(t, values, registry=REG).to_dict())
    return json.dumps(out, sort_keys=True)


def test_layout_is_deterministic_in_process_and_across_processes() -> None:
    first = _dump_all()
    clear_caches()
    assert _dump_all() == first
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.pipeline.rendering.test_layout import _dump_all; sys.stdout.write(_dump_all())"
    )
    root = str(Path(__file__).resolve().parents[3])
    other = subprocess.run([sys.executable, "-c", code, root], capture_output=True, text=True, check=True)
    assert other.stdout == first


ALPHABET = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,'-&—")
    + list("éüöåçñøłśžÉÅÖÜ") + list("АБВГДабвгдКовальская") + list("αβγΩλ")
    + ["\u0301", "\u00a0", "\t", "\n", "🦄", "😀", "你", "ש", "ل", "\u200d", "\ufe0f"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(ALPHABET, max_size=60),
    policy=st.sampled_from(["shrink", "wrap", "truncate", "fixed"]),
    width=st.floats(0.0, 4.0),
    height=st.floats(0.0, 1.5),
    size=st.floats(4.0, 40.0),
    min_ratio=st.floats(0.1, 1.0),
    max_lines=st.integers(1, 4),
    align=st.sampled_from(["left", "center", "right"]),
    valign=st.sampled_from(["top", "middle", "bottom"]),
    font=st.sampled_from(["DejaVu Sans", "DejaVu Serif", "Liberation Sans", "Times New Roman", "Unknown"]),
)
def test_random_text_properties(
    text: str, policy: str, width: float, height: float, size: float, min_ratio: float, max_lines: int,
    align: str, valign: str, font: str,
) -> None:  # fmt: skip
    f = field(overflow=policy, width=width, height=height, size=size, min_size=max(0.5, size * min_ratio),
              max_lines=max_lines, align=align, valign=valign, font=font)  # fmt: skip
    fl = lay(f, text)
    assert fl.text == normalize_text(text)
    json.dumps(fl.to_dict(), sort_keys=True)
    if fl.empty:
        assert not fl.lines and not fl.overflowed
        return
    assert fl.lines
    for line in fl.lines:
        assert len({len(col) for col in line.columns}) == 1
        assert all(0 <= c <= len(fl.text) for c in line.columns[2])
    if policy == "shrink":
        assert f.min_size - 1e-4 <= fl.size <= f.size + 1e-4
        if fl.size < fl.base_size and not fl.overflowed:
            assert (fl.size / GRID).is_integer()
    else:
        assert fl.size == pytest.approx(f.size, abs=1e-4)
    if policy == "truncate" and fl.truncated:
        assert fl.lines[-1].text.endswith(ELLIPSIS) and fl.removed_text
    if policy != "truncate":
        assert " ".join(line.text for line in fl.lines) == fl.text
    if not fl.overflowed:
        assert len(fl.lines) <= max_lines
        assert_inside(fl)
