"""Delimited tables: delimiter, header, name column, ragged rows, quantities."""

from __future__ import annotations

import pytest

from pipeline.intake.parsing import ACCEPTED, parse_file
from pipeline.intake.parsing.columns import find_name_column, looks_like_header
from pipeline.intake.parsing.tables import parse_delimited, sniff_delimiter


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("Name,Title\nJane Doe,CEO\n", ","),
        ("Name\tTitle\nJane Doe\tCEO\n", "\t"),
        ("Name;Title\nDoe, Jane;CEO\n", ";"),
        ("Name|Title\nJane Doe|CEO\n", "|"),
        ('Name,Title\n"Doe, Jane",CEO\n', ","),
        ("Jane Doe\nJohn Roe\n", None),
    ],
)
def test_sniff_delimiter(text: str, delimiter: str | None) -> None:
    assert sniff_delimiter(text) == delimiter


def test_header_detection() -> None:
    assert looks_like_header(["Player Name", "Jersey #", "Position", "Qty"])
    assert looks_like_header(["Name", "Funktion", "Abteilung"], [["Jürgen Müller", "Chef", "Verwaltung"]])
    assert not looks_like_header(
        ["Grace Hopper", "Rear Admiral", "US Navy"], [["Ada Lovelace", "Analyst", "X"]]
    )
    assert not looks_like_header(["Sam Lee", "Team Captain", "Engineering"], [["Jo Li", "Coach", "Sales"]])
    assert not looks_like_header(["Jane Doe", "7"])


def test_name_column() -> None:
    assert find_name_column(["jersey #", "player name"]) == "player name"
    assert find_name_column(["first name", "last name", "team"]) is None
    assert find_name_column(["year", "award", "recipient"]) == "recipient"
    assert find_name_column(["pet name", "owner", "phone"]) == "pet name"
    assert (
        find_name_column(["your full name (as on the badge)", "size"]) == "your full name (as on the badge)"
    )


def test_header_names_are_lower_cased_keys() -> None:
    result = parse_delimited("Player Name,Jersey #\nChidi Okafor,7\n")
    assert result.items[0].values == {"player name": "Chidi Okafor", "jersey #": "7"}
    assert result.columns == ["player name", "jersey #"]
    assert result.name_column == "player name"
    assert result.skipped_lines == ["Player Name,Jersey #"]


def test_no_header_guesses_columns_and_says_so() -> None:
    result = parse_delimited("Grace Hopper,Rear Admiral,US Navy\nKatherine Johnson,Mathematician,NASA\n")
    assert result.columns == ["name", "title", "company"]
    assert result.items[0].values == {"name": "Grace Hopper", "title": "Rear Admiral", "company": "US Navy"}
    assert any("No header row" in n for n in result.notes)


def test_single_column_of_names() -> None:
    result = parse_delimited("Jane Doe\nJohn Roe\n")
    assert [i.values for i in result.items] == [{"name": "Jane Doe"}, {"name": "John Roe"}]


def test_ragged_rows_are_kept_and_flagged() -> None:
    result = parse_delimited(
        "name,title,company\nRuth Negga,Actor\nTilda Swinton,Actor,Indie,extra\nIdris Elba,Actor,X\n"
    )
    short, long_, ok = result.items
    assert short.values == {"name": "Ruth Negga", "title": "Actor", "company": ""}
    assert short.confidence < ACCEPTED and "row has 2 cells, the table has 3" in short.reasons
    assert long_.values["column 4"] == "extra" and long_.confidence < ACCEPTED
    assert ok.confidence >= ACCEPTED
    assert "column 4" in result.columns


def test_last_first_cells_are_reordered() -> None:
    item = parse_delimited('Name,Team\n"de la Cruz, Isabella",A\n').items[0]
    assert item.values["name"] == "Isabella de la Cruz"
    assert "reordered Last, First" in item.reasons


def test_first_and_last_name_columns_are_joined() -> None:
    result = parse_delimited("First Name,Last Name,Award\nBjörk,Guðmundsdóttir,Best Voice\n")
    # the parts are in the joined name; kept as columns they would read as extra lines to engrave
    assert result.items[0].values == {"name": "Björk Guðmundsdóttir", "award": "Best Voice"}
    assert result.name_column == "name"
    assert result.columns == ["name", "award"]
    assert any("'first name', 'last name'" in n for n in result.notes)


def test_quantity_column_expands_and_is_dropped() -> None:
    result = parse_delimited("Name,Qty\nAna Ferreira,2\nBjörn Svensson,1\n")
    assert [i.values for i in result.items] == [{"name": "Ana Ferreira"}] * 2 + [{"name": "Björn Svensson"}]
    assert result.columns == ["name"]
    assert result.items[0].reasons == ["quantity 2: expanded into 2 items (1 of 2)"]


def test_bad_quantity_cells_are_flagged() -> None:
    result = parse_delimited("Name,Qty\nAna Ferreira,two\nBo Li,0\nCy Twombly,9999\n")
    assert len(result.items) == 3
    assert all(i.confidence < 0.6 for i in result.items)


def test_title_rows_totals_and_notes_are_skipped() -> None:
    text = "Roster 2024,,\n,,\nPlayer,Team,Qty\nAaliyah Brooks,U10,1\nTotal,,1\nPlease engrave in caps,,\n"
    result = parse_delimited(text)
    assert [i.values["player"] for i in result.items] == ["Aaliyah Brooks"]
    assert {s.text: s.why for s in result.skipped} == {
        "Roster 2024,,": "title row above the table",
        ",,": "empty row",
        "Player,Team,Qty": "header row",
        "Total,,1": "totals row",
        "Please engrave in caps,,": "a note in the table, not a row of values",
    }


def test_row_without_a_name_is_uncertain() -> None:
    item = parse_delimited("Name,Title\n,CEO\nJane Doe,CFO\n").items[0]
    assert item.confidence < 0.6 and "no name in this row" in item.reasons


def test_pet_tags_keep_phone_numbers_exactly() -> None:
    result = parse_file(b"Pet Name,Phone\nBiscuit,(555) 201-4433\nLuna,+64 21 555 0198\n", "tags.csv")
    assert [i.values for i in result.items] == [
        {"pet name": "Biscuit", "phone": "(555) 201-4433"},
        {"pet name": "Luna", "phone": "+64 21 555 0198"},
    ]
    assert all(i.confidence >= ACCEPTED for i in result.items)


def test_multiline_quoted_cells_keep_their_source_line() -> None:
    result = parse_delimited('Name,Note\nJane Doe,"two\nlines"\nJohn Roe,x\n')
    assert [i.source_line for i in result.items] == [2, 4]
    assert result.items[0].values["note"] == "two\nlines"


def test_empty_rows_are_reported() -> None:
    result = parse_delimited("Name,Team\n,\nJane Doe,A\n")
    assert result.skipped_lines == ["Name,Team", ","]


def test_excel_delimiter_hint_and_german_headings() -> None:
    result = parse_delimited("sep=;\nNachname;Vorname;Anzahl\nSchmidt;Jürgen;2\n")
    assert [i.values["name"] for i in result.items] == ["Jürgen Schmidt", "Jürgen Schmidt"]
    assert result.skipped[0].why == "Excel delimiter hint"


def test_french_headings() -> None:
    result = parse_delimited("Prénom;Nom;Service\nHélène;Lefèvre;Accueil\n")
    assert result.items[0].values["name"] == "Hélène Lefèvre"
