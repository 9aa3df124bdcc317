"""Uploaded files: encodings, file kinds, refusals, and workbooks."""

from __future__ import annotations

import codecs
import io
import os
import zipfile

import pytest
from openpyxl import Workbook

from pipeline.intake.parsing import ACCEPTED, ParseError, parse_file
from pipeline.intake.parsing.files import MAX_FILE_BYTES, decode_bytes

from . import xlsx_builders

ROSTER = "Name,Title\nZoë Müller,Keeper\nRenée O’Connor,Café Manager\n"


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (ROSTER.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + ROSTER.encode("utf-8"), "UTF-8 with a byte-order mark"),
        (codecs.BOM_UTF16_LE + ROSTER.encode("utf-16-le"), "UTF-16 LE (byte-order mark)"),
        (codecs.BOM_UTF16_BE + ROSTER.encode("utf-16-be"), "UTF-16 BE (byte-order mark)"),
        (ROSTER.encode("utf-16-le"), "UTF-16 LE (no byte-order mark)"),
        (ROSTER.encode("utf-16-be"), "UTF-16 BE (no byte-order mark)"),
        (ROSTER.encode("cp1252"), "Windows-1252"),
    ],
)
def test_encodings(data: bytes, label: str) -> None:
    decoded = decode_bytes(data)
    assert decoded.encoding == label
    result = parse_file(data, "roster.csv")
    assert [i.values["name"] for i in result.items] == ["Zoë Müller", "Renée O’Connor"]
    assert result.items[1].values["title"] == "Café Manager"
    assert f"Read as {label}." in result.notes


def test_cp1252_undefined_bytes_fall_back_to_latin1() -> None:
    data = "Name\nJosé\n".encode("cp1252") + b"\x81\n"
    assert decode_bytes(data).encoding == "Latin-1"


def test_utf16_tab_file_from_excel_unicode_text() -> None:
    data = codecs.BOM_UTF16_LE + "Name\tTeam\r\nSøren Kierkegaard\tA\r\n".encode("utf-16-le")
    result = parse_file(data, "export.txt")
    assert result.items[0].values == {"name": "Søren Kierkegaard", "team": "A"}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (os.urandom(4096), "does not look like text"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(200), "a PNG image"),
        (b"%PDF-1.7\n" + os.urandom(200), "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "old-style Office file"),
        (b"GIF89a" + os.urandom(100), "a GIF image"),
    ],
)
def test_binary_renamed_csv_is_refused_with_a_sentence(data: bytes, fragment: str) -> None:
    with pytest.raises(ParseError, match=fragment):
        parse_file(data, "names.csv")


def test_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(ParseError, match="ZIP archive"):
        parse_file(buf.getvalue(), "names.csv")


def test_broken_xlsx() -> None:
    with pytest.raises(ParseError, match="not a valid Excel workbook"):
        parse_file(b"Name\nJane Doe\n", "names.xlsx")


def test_old_xls_is_refused() -> None:
    with pytest.raises(ParseError, match=r"\.xls"):
        parse_file(b"Name\nJane\n", "names.xls")


def test_empty_and_oversized_files() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_file(b"", "names.csv")
    with pytest.raises(ParseError, match="no text"):
        parse_file(b"\n \n", "names.csv")
    with pytest.raises(ParseError, match="limit"):
        parse_file(b"x" * (MAX_FILE_BYTES + 1), "names.csv")


def test_txt_goes_through_the_text_parser() -> None:
    result = parse_file(b"Hi!\n1. Jane Doe\nThanks", "order.txt")
    assert [i.values for i in result.items] == [{"name": "Jane Doe"}]
    assert result.engine == "rules" and result.engine_note == "rule-based parser (text file)"


def test_workbook_renamed_csv_is_read_as_a_workbook() -> None:
    result = parse_file(xlsx_builders.multisheet(), "roster.csv")
    assert result.items and "is an Excel workbook" in result.notes[0]


# ------------------------------------------------------------------------------ workbooks


def test_several_sheets_the_list_like_one_is_read_and_named() -> None:
    result = parse_file(xlsx_builders.multisheet(), "roster.xlsx")
    assert result.name_column == "name"
    assert [i.values["name"] for i in result.items][:2] == ["Olamide Adebayo", "Hannah Schmidt"]
    assert any("Read sheet 'Roster' of 3" in n for n in result.notes)


def test_empty_first_sheet_is_passed_over() -> None:
    result = parse_file(xlsx_builders.dates_and_numbers(), "plaques.xlsx")
    assert any("'Plaques'" in n for n in result.notes)
    first = result.items[0].values
    assert first == {"name": "Rangi Parata", "year": "2024", "event date": "2024-05-14"}


def test_merged_cells() -> None:
    result = parse_file(xlsx_builders.merged(), "awards.xlsx")
    assert result.skipped[0].why == "title row above the table"
    assert [i.values["department"] for i in result.items] == ["Sales", "Sales", "Sales", "Support"]
    assert any("Merged cells C3:C5" in n for n in result.notes)


def test_formulas_with_cached_values_use_them() -> None:
    result = parse_file(xlsx_builders.formulas_cached(), "names.xlsx")
    assert [i.values["full name"] for i in result.items] == ["Ana Ruiz", "Piotr Nowak", "Aroha Ngata"]
    assert all(i.confidence >= ACCEPTED for i in result.items)


def test_formulas_without_cached_values_are_flagged() -> None:
    result = parse_file(xlsx_builders.formulas_uncached(), "names.xlsx")
    assert len(result.items) == 3
    for item in result.items:
        assert item.confidence < 0.6
        assert any("formula" in r and "no saved value" in r for r in item.reasons)
    assert any("formula cell(s) have no saved value" in n for n in result.notes)


def test_error_cells_are_flagged() -> None:
    result = parse_file(xlsx_builders.error_cells(), "scores.xlsx")
    bad, good = result.items
    assert any("#DIV/0!" in r for r in bad.reasons) and bad.confidence < ACCEPTED
    assert good.confidence >= ACCEPTED


def test_workbook_without_values() -> None:
    wb = Workbook()
    wb.create_sheet("Empty too")
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ParseError, match="no filled cells"):
        parse_file(buf.getvalue(), "empty.xlsx")
