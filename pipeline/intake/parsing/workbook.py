"""Excel workbooks (.xlsx) through openpyxl in read-only mode, with cached formula values.

The archive is checked first (pipeline/intake/parsing/archive.py); sheets are then streamed row by row,
never padded to the width a sheet declares, and reading stops with a sentence at the row, column
and cell caps.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from .archive import check_workbook_archive
from .lexicon import check_name, last_first, normalize_text
from .model import ParseError, ParseResult
from .tables import MAX_ROWS, Row, build_table

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+:[A-Z]+\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
MAX_COLUMNS = 256
"""Columns read per sheet; cells further right are refused (an order list has a handful)."""
MAX_CELLS = 1_000_000
"""Filled cells read per sheet."""
_SCAN_CHUNK = 1024 * 1024
_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#SPILL!", "#CALC!"})


def cell_text(value: Any) -> str:
    """A cell value as the text a shop would read in Excel."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ", "minutes")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    return normalize_text(str(value))


def _scan_sheet(archive: zipfile.ZipFile | None, ws: Any) -> tuple[list[bytes], bool]:
    """The merged ranges of a sheet and whether it holds formulas, read in chunks (never whole)."""
    path = getattr(ws, "_worksheet_path", None)
    if archive is None or not path:
        return [], False
    merges: list[bytes] = []
    formulas = False
    tail = b""
    try:
        with archive.open(path.lstrip("/")) as fh:
            while chunk := fh.read(_SCAN_CHUNK):
                window = tail + chunk
                formulas = formulas or bool(_FORMULA.search(window))
                # a tag cut at the window's end is found whole in the next window
                cut = max(0, len(window) - 200)
                merges.extend(m.group(1) for m in _MERGE.finditer(window) if m.end() <= cut)
                tail = window[cut:]
            merges.extend(m.group(1) for m in _MERGE.finditer(tail))
    except KeyError:
        return [], False
    return list(dict.fromkeys(merges)), formulas


def _read_sheet(ws: Any) -> list[list[Any]]:
    ws.reset_dimensions()  # the declared <dimension> is not trusted: rows come as wide as their cells
    rows: list[list[Any]] = []
    cells = 0
    for values in ws.iter_rows(min_row=1, min_col=1, values_only=True):
        row = list(values)
        while row and row[-1] in (None, ""):
            row.pop()
        if len(row) > MAX_COLUMNS:
            raise ParseError(
                f"The sheet {ws.title!r} has cells beyond column {get_column_letter(MAX_COLUMNS)} "
                f"(row {len(rows) + 1}); export just the columns the order uses."
            )
        cells += sum(v not in (None, "") for v in row)
        if cells > MAX_CELLS:
            raise ParseError(
                f"The sheet {ws.title!r} has more than {MAX_CELLS:,} filled cells; "
                "split it into smaller files."
            )
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise ParseError(
                f"The sheet {ws.title!r} has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
    while rows and not rows[-1]:
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    return [r + [None] * (width - len(r)) for r in rows]


def _list_score(rows: list[list[Any]]) -> int:
    """How list-like a sheet is: rows with a name-looking cell, among the first 200."""
    score = 0
    for row in rows[:200]:
        for v in row:
            if isinstance(v, str) and v.strip() and (check_name(v).ok or last_first(v)):
                score += 1
                break
    return score


def parse_xlsx(data: bytes) -> ParseResult:
    """Read the sheet that holds the list (first non-empty, or the most list-like of several)."""
    check_workbook_archive(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise ParseError(
            f"The workbook could not be opened ({type(exc).__name__}); save it again as .xlsx."
        ) from exc
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        archive = None
    try:
        sheets = [(ws, _read_sheet(ws)) for ws in wb.worksheets]
    finally:
        wb.close()
    filled = [(ws, rows) for ws, rows in sheets if rows]
    if not filled:
        raise ParseError("The workbook has no filled cells in any sheet.")
    ws, rows = filled[0]
    note = f"Read sheet {ws.title!r}."
    if len(filled) > 1:
        scores = [_list_score(r) for _, r in filled]
        best = max(range(len(filled)), key=lambda i: (scores[i], -i))
        ws, rows = filled[best]
        names = ", ".join(repr(w.title) for w, _ in sheets)
        why = (
            "the first filled one" if best == 0 and scores[0] == max(scores) else "it looks most like a list"
        )
        note = f"Read sheet {ws.title!r} of {len(sheets)} ({names}): {why}."
    notes = [note]
    merges, has_formulas = _scan_sheet(archive, ws)
    _fill_merged(rows, merges, notes)
    flags = _formula_flags(data, ws.title, rows) if has_formulas else {}
    table_rows = []
    for r, values in enumerate(rows, 1):
        cells = [cell_text(v) for v in values]
        row_flags = list(flags.get(r, []))
        for c, text in enumerate(cells, 1):
            if text in _ERRORS:
                row_flags.append(f"cell {get_column_letter(c)}{r} shows the spreadsheet error {text}")
        if any(cells):
            table_rows.append(Row(cells, r, "\t".join(cells).rstrip("\t"), row_flags))
    result = build_table(table_rows)
    result.notes[:0] = notes
    if flags:
        result.notes.append(f"{sum(len(v) for v in flags.values())} formula cell(s) have no saved value.")
    return result


def _fill_merged(rows: list[list[Any]], merges: list[bytes], notes: list[str]) -> None:
    """Cells merged down several rows hold their value only in the top cell; copy it down."""
    for ref in merges:
        min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
        if max_row == min_row or min_row > len(rows):
            continue
        value = rows[min_row - 1][min_col - 1] if min_col <= len(rows[min_row - 1]) else None
        if value in (None, ""):
            continue
        for r in range(min_row + 1, min(max_row, len(rows)) + 1):
            if min_col <= len(rows[r - 1]) and rows[r - 1][min_col - 1] in (None, ""):
                rows[r - 1][min_col - 1] = value
        notes.append(f"Merged cells {ref.decode()}: {cell_text(value)!r} copied to each row.")


def _formula_flags(data: bytes, title: str, rows: list[list[Any]]) -> dict[int, list[str]]:
    """Formula cells that have no cached value (the file was never recalculated and saved by Excel)."""
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    flags: dict[int, list[str]] = {}
    width = max(1, max((len(r) for r in rows), default=0))
    try:
        sheet = wb[title]
        sheet.reset_dimensions()
        for r, formulas in enumerate(sheet.iter_rows(min_row=1, max_col=width, values_only=True), 1):
            if r > len(rows):
                break
            for c, f in enumerate(formulas, 1):
                if (
                    isinstance(f, str)
                    and f.startswith("=")
                    and (c > len(rows[r - 1]) or rows[r - 1][c - 1] is None)
                ):
                    flags.setdefault(r, []).append(
                        f"cell {get_column_letter(c)}{r} has a formula ({f}) with no saved value; "
                        "open the file in Excel and save it again"
                    )
    finally:
        wb.close()
    return flags
