"""Field mapping: suggestions, transforms (Title Case that respects names), serials, storage."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from pipeline.intake.mapping import (
    FieldMapping,
    MappingPair,
    SerialSpec,
    apply_mapping,
    normalize_label,
    number_items,
    serial_values,
    suggest_mapping,
    title_case,
    transform_value,
)


def pairs_by_column(columns: list[str], fields: list[str]) -> dict[str, tuple[str | None, str]]:
    return {p.column: (p.field_key, p.matched_by) for p in suggest_mapping(columns, fields)}


def test_exact_and_synonym_matches() -> None:
    got = pairs_by_column(
        ["Player Name", "Position", "Department", "Year", "Award", "Jersey #", "Notes"],
        ["name", "title", "company", "year", "achievement", "number"],
    )
    assert got == {
        "Player Name": ("name", "synonym"),
        "Position": ("title", "synonym"),
        "Department": ("company", "synonym"),
        "Year": ("year", "exact"),
        "Award": ("achievement", "synonym"),
        "Jersey #": ("number", "synonym"),
        "Notes": (None, "none"),
    }


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Role", "title"),
        ("Job Title", "title"),
        ("Dept", "company"),
        ("Organization", "company"),
        ("Team", "company"),
        ("Full Name", "name"),
        ("Recipient", "name"),
        ("Attendee", "name"),
        ("Achievement", "achievement"),
        ("Honor", "achievement"),
        ("Date", "date"),
        ("Recipient Name", "name"),
        ("Event Date", "date"),
        ("name", "name"),
        ("NAME", "name"),
        ("player_name", "player_name"),
        # one part of the header names the field
        ("Award / line 2", "title"),
        ("Award (engraved under the name)", "title"),
        ("Job title, as printed", "title"),
    ],
)
def test_single_synonyms(column: str, field: str) -> None:
    (pair,) = suggest_mapping([column], [field])
    assert pair.field_key == field


def test_date_fills_a_year_field_when_there_is_no_date_field() -> None:
    (pair,) = suggest_mapping(["Date"], ["name", "year"])
    assert (pair.field_key, pair.matched_by) == ("year", "synonym")
    assert {p.column: p.field_key for p in suggest_mapping(["Date", "Year"], ["date", "year"])} == {
        "Date": "date",
        "Year": "year",
    }


@pytest.mark.parametrize(("column", "field"), [("Nmae", "name"), ("Titel", "title"), ("Compnay", "company")])
def test_fuzzy_matches(column: str, field: str) -> None:
    (pair,) = suggest_mapping([column], ["name", "title", "company"])
    assert (pair.field_key, pair.matched_by) == (field, "fuzzy")


def test_each_field_is_suggested_once_best_first() -> None:
    got = pairs_by_column(["Nmae", "Name"], ["name"])
    assert got == {"Nmae": (None, "none"), "Name": ("name", "exact")}


def test_unrelated_columns_stay_unmapped() -> None:
    assert pairs_by_column(["Shirt Size", "Timestamp"], ["name", "title"]) == {
        "Shirt Size": (None, "none"),
        "Timestamp": (None, "none"),
    }


def test_normalize_label() -> None:
    assert normalize_label("Jersey #") == "jersey number"
    assert normalize_label("player_name") == "player name"
    assert normalize_label("  E-Mail ") == "e mail"


# ------------------------------------------------------------------------------ transforms


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("anna kowalski", "Anna Kowalski"),
        ("JAMES O'REILLY", "James O'Reilly"),
        ("seán o’connor", "Seán O’Connor"),
        ("MCDONALD", "McDonald"),
        ("ronan macarthur", "Ronan MacArthur"),
        ("MACY GRAY", "Macy Gray"),
        ("anna van der berg", "Anna van der Berg"),
        ("VAN DER BERG", "van der Berg"),
        ("isabella DE LA CRUZ", "Isabella de la Cruz"),
        ("de la cruz", "de la Cruz"),
        ("VAN MORRISON", "Van Morrison"),
        ("dr. alexander pemberton-hughes jr.", "Dr. Alexander Pemberton-Hughes Jr."),
        ("theodore roosevelt iii", "Theodore Roosevelt III"),
        ("JANE DOE, PHD", "Jane Doe, PhD"),
        ("head of sales", "Head of Sales"),
        ("McDonald", "McDonald"),
        ("DeShawn Jackson", "DeShawn Jackson"),
        ("leah d'angelo", "Leah D'Angelo"),
        ("j.r.r. tolkien", "J.R.R. Tolkien"),
        ("ΝΊΚΟΣ ΚΑΖΑΝΤΖΆΚΗΣ", "Νίκος Καζαντζάκης"),
        ("АННА ИВАНОВА", "Анна Иванова"),
        ("zoë müller", "Zoë Müller"),
        ("nguyễn văn an", "Nguyễn Văn An"),
        ("thi le", "Thi Le"),
        ("children's hospital", "Children's Hospital"),
    ],
)
def test_title_case_keeps_names_sensible(raw: str, expected: str) -> None:
    assert title_case(raw) == expected


def test_other_transforms() -> None:
    assert transform_value("Zoë Müller", "upper") == "ZOË MÜLLER"
    assert transform_value("Zoë Müller", "lower") == "zoë müller"
    assert transform_value("  Zoë   Müller ", "trim") == "Zoë Müller"
    assert transform_value(" as typed ", "none") == " as typed "


# -------------------------------------------------------------------------------- applying


def test_apply_mapping_ignores_unmapped_columns_and_joins_shared_fields() -> None:
    pairs = [
        MappingPair(column="first name", field_key="name", transform="title"),
        MappingPair(column="last name", field_key="name", transform="title"),
        MappingPair(column="position", field_key="title", transform="upper"),
        MappingPair(column="notes", field_key=None),
    ]
    raw = {"first name": "anna", "last name": "VAN DER BERG", "position": "keeper", "notes": "x"}
    assert apply_mapping(raw, pairs) == {"name": "Anna van der Berg", "title": "KEEPER"}
    assert raw["first name"] == "anna"  # the raw values are untouched


def test_apply_mapping_missing_column_gives_empty_value_and_is_case_insensitive() -> None:
    pairs = [MappingPair(column="Name", field_key="name"), MappingPair(column="Team", field_key="company")]
    assert apply_mapping({"name": "Jo"}, pairs) == {"name": "Jo", "company": ""}


# ---------------------------------------------------------------------------------- serials


def test_serials() -> None:
    spec = SerialSpec(field="serial", start=7, step=3, pad=3, prefix="No. ")
    assert serial_values(3, spec) == ["No. 007", "No. 010", "No. 013"]
    assert SerialSpec(field="n").format(0) == "1"
    assert SerialSpec(field="n", start=10, step=-5, pad=2).format(3) == "-5"
    items = number_items([{"name": "A"}, {"name": "B"}], SerialSpec(field="number", pad=2))
    assert items == [{"name": "A", "number": "01"}, {"name": "B", "number": "02"}]


def test_bad_serials_are_refused() -> None:
    with pytest.raises(ValidationError):
        SerialSpec(field="n", step=0)
    with pytest.raises(ValidationError):
        SerialSpec(field="n", pad=40)


# ---------------------------------------------------------------------------------- storage


def test_mapping_round_trips_through_json() -> None:
    mapping = FieldMapping(
        pairs=suggest_mapping(["Player Name", "Position"], ["name", "title"]),
        serial=SerialSpec(field="number", start=1, pad=3),
        template_key="badge",
        template_version=2,
    )
    mapping.pairs[0].transform = "title"
    stored = json.dumps(mapping.to_dict())
    again = FieldMapping.from_dict(json.loads(stored))
    assert again == mapping
    assert again.apply_all([{"player name": "ana ruiz", "position": "Keeper"}]) == [
        {"name": "Ana Ruiz", "title": "Keeper", "number": "001"}
    ]
    assert again.fits("badge", 2) and not again.fits("plaque") and not again.fits("badge", 3)
    assert MappingPair.from_dict(mapping.pairs[0].to_dict()) == mapping.pairs[0]


def test_stored_mapping_is_validated() -> None:
    with pytest.raises(ValidationError):
        FieldMapping.from_dict({"pairs": [{"column": "x", "transform": "sparkle"}]})
