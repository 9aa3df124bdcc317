"""Copyfit groups in the layout: every item's grouped fields set at the smallest of their own best
sizes, judged against each value laid out alone (the ungrouped layout is the reference)."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.rendering.copyfit import NO_GROUPS, holds_group_sizes, measure
from pipeline.rendering.layout import layout_field, layout_item
from pipeline.rendering.model import FieldLayout, ItemLayout
from pipeline.templates.template import load_template, sample_templates
from tests.pipeline.conftest_layout import bundled_registry

REG = bundled_registry()
PLATE = sample_templates()["trophy-plate"]
TEAM = [
    "Ann Lee",
    "Dr. Alexander Pemberton-Hughes Jr.",
    "Bo Chen",
    "Maria Gonzalez-Smith",
    "Zoë Müller",
    "Li",
]


def rows(names: list[str]) -> list[dict[str, str]]:
    return [{"name": n, "achievement": "Most Valuable Player", "year": "2026"} for n in names]


def name_alone(name: str) -> FieldLayout:
    """The trophy plate's name field laid out on its own (no group)."""
    return layout_field(PLATE.field("name"), name, default_font=PLATE.default_font, registry=REG)


def alone(name: str) -> float:
    return name_alone(name).size


def test_every_name_is_set_at_the_size_of_the_longest() -> None:
    copyfit = measure(PLATE, rows(TEAM), REG)
    own = [alone(n) for n in TEAM]
    (group,) = copyfit.groups
    assert group.size == min(own) < max(own)
    assert group.longest == (1, "name", "Dr. Alexander Pemberton-Hughes Jr.")
    assert copyfit.sizes == {"names": min(own)}
    assert sorted(group.larger) == sorted(s for s in own if s > min(own))
    for values, size in zip(rows(TEAM), own, strict=True):
        grouped = layout_item(PLATE, values, registry=REG, groups=copyfit.sizes)
        single = layout_item(PLATE, values, registry=REG)
        name = grouped.field("name")
        assert name.size == group.size and not name.overflowed
        assert name.natural_size == (size if size > group.size else None)
        box_x, _, box_w, _ = name.box
        assert all(box_x - 1e-6 <= ln.x and ln.x + ln.width <= box_x + box_w + 1e-6 for ln in name.lines)
        # the other fields are untouched by the group
        assert grouped.field("achievement") == single.field("achievement")
        assert grouped.field("year") == single.field("year")
        assert holds_group_sizes(grouped, PLATE, copyfit.sizes)
        assert holds_group_sizes(single, PLATE, copyfit.sizes) == (size == group.size)


def test_the_sentence_says_what_the_group_did() -> None:
    copyfit = measure(PLATE, rows(TEAM), REG)
    (group,) = copyfit.groups
    lo, hi = min(group.larger), max(group.larger)
    assert copyfit.messages() == [
        f"all 6 names set at {group.size:g} pt to match the longest, 'Dr. Alexander Pemberton-Hughes Jr.'; "
        f"without the group 5 would be {lo:g} to {hi:g} pt"
    ]
    short = measure(PLATE, rows(["Ann Lee", "Bo Chen", "Li"]), REG)
    assert short.sizes == {"names": PLATE.field("name").size}
    assert short.messages() == ["all 3 names set at 17 pt: each fits at that size on its own"]
    assert measure(PLATE, rows(["Ann Lee"]), REG).messages() == []  # one item: nothing to match


def test_an_overflowing_or_empty_name_does_not_pull_the_others_down() -> None:
    too_long = "Maximilian Alexander Wolfgang von Hohenzollern-Sigmaringen the Third of Prussia"
    assert name_alone(too_long).overflowed
    names = ["Ann Lee", too_long, "", "Maria Gonzalez-Smith"]
    copyfit = measure(PLATE, rows(names), REG)
    (group,) = copyfit.groups
    assert group.size == alone("Maria Gonzalez-Smith") > PLATE.field("name").min_size
    assert (group.count, group.overflowed) == (2, 1)
    assert copyfit.of_item(1) == {} and copyfit.of_item(2) == {}  # not set by the group
    assert copyfit.of_item(0) == copyfit.of_item(3) == {"name": group.size}
    assert copyfit.messages()[0].endswith("; 1 more does not fit even at 9 pt and is left out (see OVERFLOW)")
    one_fits = measure(PLATE, rows(["Ann Lee", too_long]), REG)
    assert one_fits.messages() == [
        "only 1 of the names fits, at 17 pt ('Ann Lee'); 1 more does not fit even at 9 pt and is left out "
        "(see OVERFLOW)"
    ]
    assert measure(PLATE, rows([too_long, too_long]), REG).messages() == [
        "no names fit on their own, so the names group sets no size (see OVERFLOW)"
    ]
    overflowing = layout_item(PLATE, rows(names)[1], registry=REG, groups=copyfit.sizes).field("name")
    assert overflowing.overflowed and overflowing.size == PLATE.field("name").min_size


def test_fields_of_one_group_share_one_size_whatever_their_fonts() -> None:
    pair = load_template(
        """
key = "pair"
name = "First and last"
width = 3.0
height = 1.0
[[fields]]
key = "first"
x = 0.1
y = 0.1
width = 2.8
height = 0.35
size = 20.0
min_size = 8.0
group = "names"
[[fields]]
key = "last"
font = "DejaVu Serif"
weight = "bold"
x = 0.1
y = 0.5
width = 1.6
height = 0.35
size = 16.0
min_size = 8.0
group = "names"
""",
        registry=REG,
    )
    people = [{"first": "Alexandra", "last": "Wiśniewska-Kowalczyk"}, {"first": "Bo", "last": "Li"}]
    copyfit = measure(pair, people, REG)
    alone_sizes = [
        layout_field(f, p[f.key], default_font=pair.default_font, registry=REG).size
        for p in people
        for f in pair.fields
    ]
    assert copyfit.sizes == {"names": min(alone_sizes)}
    for p in people:
        lay = layout_item(pair, p, registry=REG, groups=copyfit.sizes)
        assert {fl.size for fl in lay.fields} == {min(alone_sizes)}
    assert copyfit.groups[0].count == 4  # every value of the group counts, both fields of both items


def test_the_stored_form_keeps_the_natural_size_and_older_layouts_still_load() -> None:
    copyfit = measure(PLATE, rows(TEAM), REG)
    lay = layout_item(PLATE, rows(TEAM)[0], registry=REG, groups=copyfit.sizes)
    assert ItemLayout.from_dict(lay.to_dict()) == lay
    assert lay.to_dict()["fields"][0]["natural_size"] == 17.0
    plain = layout_item(PLATE, rows(TEAM)[0], registry=REG).to_dict()
    assert all("natural_size" not in f for f in plain["fields"])  # no group: the stored form as before
    assert ItemLayout.from_dict(plain).field("name").natural_size is None


def test_a_template_without_groups_measures_nothing() -> None:
    badge = sample_templates()["badge"]
    assert measure(badge, [{"name": "Ann"}, {"name": "Dr. Alexander Pemberton-Hughes Jr."}], REG) is NO_GROUPS
    plate = dataclasses.replace(PLATE, fields=tuple(dataclasses.replace(f, group=None) for f in PLATE.fields))
    assert measure(plate, rows(TEAM), REG).sizes == {}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij KLMNOP-.", min_size=1, max_size=40), min_size=1, max_size=8))
def test_the_group_size_is_the_smallest_size_any_name_fits_at_alone(names: list[str]) -> None:
    copyfit = measure(PLATE, rows(names), REG)
    fitted = [fl.size for fl in map(name_alone, names) if not fl.empty and not fl.overflowed]
    assert copyfit.sizes == ({"names": min(fitted)} if fitted else {})
    for values in rows(names):
        name = layout_item(PLATE, values, registry=REG, groups=copyfit.sizes).field("name")
        if not name.empty and not name.overflowed:
            assert name.size == min(fitted)
