"""Result types, confidence bands and quantity expansion."""

from __future__ import annotations

import pytest

from pipeline.intake.parsing import ACCEPTED, MAX_QUANTITY, REVIEW, ParsedItem, ParseResult, SkippedLine, band
from pipeline.intake.parsing.quantities import expand_quantities, parse_quantity


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [
        (1.0, "accepted"),
        (0.85, "accepted"),
        (0.84, "review"),
        (0.6, "review"),
        (0.59, "uncertain"),
        (0, "uncertain"),
    ],
)
def test_bands(confidence: float, expected: str) -> None:
    assert band(confidence) == expected
    assert (ACCEPTED, REVIEW) == (0.85, 0.60)


def test_to_json_is_the_cli_shape() -> None:
    result = ParseResult(
        items=[ParsedItem({"name": "Jane"}, 0.934, ["x"], source_line=3, raw="Jane")],
        skipped=[SkippedLine("Hi,", "greeting", 1)],
        engine="rules",
        engine_note="rule-based parser",
        columns=["name"],
    )
    assert result.to_json() == {
        "items": [{"values": {"name": "Jane"}, "confidence": 0.93, "reasons": ["x"]}],
        "skipped_lines": ["Hi,"],
        "engine": "rules",
    }
    assert result.skipped_lines == ["Hi,"]
    assert result.counts() == {"accepted": 1, "review": 0, "uncertain": 0}


def test_deduct_and_cap_round_and_record() -> None:
    item = ParsedItem({"name": "x"}, 0.95)
    item.deduct(0.05, "a")
    item.deduct(0.05, "b")
    assert item.confidence == 0.85 and item.band == "accepted"
    item.cap(0.5, "c")
    assert item.confidence == 0.5 and item.reasons == ["a", "b", "c"]


def test_expand_quantities() -> None:
    items = [
        ParsedItem({"name": "A", "qty": "3"}, 0.9),
        ParsedItem({"name": "B"}, 0.9),
        ParsedItem({"name": "C", "qty": "1"}, 0.9),
    ]
    out = expand_quantities(items)
    assert [i.values for i in out] == [{"name": "A"}] * 3 + [{"name": "B"}, {"name": "C"}]
    assert out[2].reasons == ["quantity 3: expanded into 3 items (3 of 3)"]
    out[0].values["name"] = "changed"
    assert out[1].values["name"] == "A"  # copies, not the same dict
    assert expand_quantities(out) == out  # idempotent


@pytest.mark.parametrize("qty", ["0", "abc", str(MAX_QUANTITY + 1), "-2"])
def test_odd_quantities_are_flagged_not_expanded(qty: str) -> None:
    (item,) = expand_quantities([ParsedItem({"name": "A", "qty": qty}, 0.95)])
    assert item.confidence < 0.6
    assert item.values["qty"] == qty


def test_parse_quantity() -> None:
    assert [parse_quantity(t) for t in ["3", " 2 ", "3x", "2.0", "2.5", "two"]] == [3, 2, 3, 2, None, None]


def test_custom_quantity_key() -> None:
    out = expand_quantities([ParsedItem({"name": "A", "copies": "2"}, 0.9)], qty_key="copies")
    assert [i.values for i in out] == [{"name": "A"}, {"name": "A"}]
