"""Tables: delimited text (CSV, TSV, semicolon, pipe) and rows from spreadsheets, turned into items.

Delimiter sniffing, reading rows, title and header rows, then one item per row: Last-First cells,
joined first/last names, quantity columns, ragged rows, totals, repeated form submissions. Which
column is which is columns.py. Keys are the table's own header names, lower-cased.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .blocks import vote_last_first
from .columns import (
    EXTRA_COPIES,
    LAST_FIRST_HEADER,
    ORG_ROLES,
    beside_engraving_lines,
    fallback_name,
    find_name_column,
    find_qty_column,
    first_last_columns,
    guess_keys,
    looks_like_header,
    name_by_content,
    not_engraved,
    piece_count_column,
    row_numbers,
    unique_keys,
)
from .lexicon import case_issue, check_name, is_header_cell, last_first, split_pronouns, words
from .model import ParsedItem, ParseError, ParseResult, SkippedLine
from .quantities import expand_quantities

MAX_ROWS = 50_000
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
BASE_CONFIDENCE = 0.97
# a sender's remark beside the engraving ('sorry double clicked'): shown, but not part of what is engraved
_REMARK_COLUMN = re.compile(
    r"^(?:comments?|notes?|remarks?|special instructions|notes? (?:for|to) (?:us|the shop)|anmerkungen"
    r"|bemerkungen|comentarios|commentaires|opmerkingen|uwagi|commenti)$",
    re.IGNORECASE,
)
_COUPLE = re.compile(r"\s+(?:&|and|\+|y|et|und|e|en|i)\s+")
_RULE_CELL = re.compile(r"^\s*:?[-=]*:?\s*$")
_TOTAL = re.compile(r"^[\s*_]*(?:grand\s+)?totals?\b[\s*_:]*", re.IGNORECASE)


@dataclass
class Row:
    """One table row: its cells, where it came from, and any remarks found while reading it."""

    cells: list[str]
    line: int | None
    raw: str
    flags: list[str] = field(default_factory=list)

    def trimmed(self) -> list[str]:
        cells = [c.strip() for c in self.cells]
        while cells and not cells[-1]:
            cells.pop()
        return cells


def sniff_delimiter(text: str, preferred: str | None = None) -> str | None:
    """The delimiter that splits the first lines into the most consistent number (≥ 2) of columns."""
    head = text[:65536].split("\n")
    if len(text) > 65536:
        head = head[:-1]  # the last line may be cut short
    sample = [ln for ln in head[:60] if ln.strip()]
    if not sample:
        return None
    best: tuple[float, int, int, str] | None = None
    for delim in DELIMITERS:
        if not any(delim in ln for ln in sample):
            continue
        try:
            widths = [len(r) for r in csv.reader(sample, delimiter=delim) if any(c.strip() for c in r)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count / len(widths), width, int(delim == preferred), delim)
        if best is None or score[:3] > best[:3]:
            best = score
    if best is None or best[0] < 0.5:
        return None
    return best[3]


def read_delimited(text: str, delimiter: str | None) -> list[Row]:
    """Rows of delimited text with their 1-based line numbers; `None` means one column per line."""
    lines = text.split("\n")
    rows: list[Row] = []
    # one column: read with a separator that never occurs, so quotes are still handled
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or "\x1f")
    start = 1
    try:
        for cells in reader:
            end = reader.line_num
            raw = "\n".join(lines[start - 1 : end])
            if raw.strip():  # rows of bare delimiters (',,,') are kept, to be reported
                rows.append(Row(cells, start, raw))
                if len(rows) > MAX_ROWS:
                    raise ParseError(
                        f"The table has more than {MAX_ROWS:,} rows; split it into smaller files."
                    )
            start = end + 1
    except csv.Error as exc:
        raise ParseError(f"The file could not be read as a table near line {start}: {exc}.") from exc
    return rows


_SEP_HINT = re.compile(r'^"?sep=(.)"?\s*$', re.IGNORECASE)


def parse_delimited(text: str, *, delimiter: str | None = None, preferred: str | None = None) -> ParseResult:
    """Parse CSV/TSV-like text into items (delimiter sniffed unless given)."""
    first, _, rest = text.partition("\n")
    hint = _SEP_HINT.match(first.strip())
    if hint:  # Excel's delimiter hint on the first line
        delimiter = delimiter or hint.group(1)
        text = "\n" + rest  # keep line numbers
    if delimiter is None:
        delimiter = sniff_delimiter(text, preferred)
    result = build_table(read_delimited(text, delimiter))
    if hint:
        result.skipped.insert(0, SkippedLine(first.strip(), "Excel delimiter hint", 1))
    if delimiter is None:
        result.notes.insert(0, "One value per line (no delimiter found).")
    else:
        result.notes.insert(0, f"Columns separated by {DELIMITER_NAMES.get(delimiter, repr(delimiter))}s.")
    return result


def build_table(rows: list[Row], *, header: bool | None = None) -> ParseResult:
    """Turn rows into items. `header=None` detects the header row."""
    result = ParseResult(items=[], engine="rules")
    rows = _value_rows(rows, result)
    if not rows:
        return result
    trimmed = [r.trimmed() for r in rows]
    width = Counter(len(r.cells) for r in rows).most_common(1)[0][0]
    start = 0
    # title rows above the table ("Team Roster 2024" in a merged cell across the top)
    while start < min(len(rows) - 1, 5) and _filled(trimmed[start]) == 1 and _filled(trimmed[start + 1]) >= 2:
        result.skipped.append(SkippedLine(rows[start].raw, "title row above the table", rows[start].line))
        start += 1
    if header is None:
        header = looks_like_header(trimmed[start], trimmed[start + 1 : start + 11])
    if header:
        keys, name_key, start, width = _header_keys(rows, trimmed, start, width, result)
    else:
        cells_by_column = [[t[i] if i < len(t) else "" for t in trimmed[start:]] for i in range(width)]
        keys, name_key = guess_keys(cells_by_column)
        if width > 1:
            guessed = ", ".join(keys)
            result.notes.append(f"No header row; columns guessed from their content ({guessed}).")
    join = first_last_columns(keys)
    if join and name_key is not None and name_key not in join:
        join = None  # a full-name column beside the parts: the full name is the one to engrave
    if join:
        name_key = "name" if "name" not in keys else "full name"
    body = trimmed[start:]
    name_key, hidden, picked = _hidden_columns(keys, body, name_key, join, header, result)
    qty_key = find_qty_column(keys, body) or piece_count_column(keys, body)
    hidden.discard(qty_key)
    columns = [name_key, *keys] if join and name_key else list(keys)
    columns = [c for c in columns if c not in hidden]
    sources = _add_rows(
        result, rows[start:], body, _Columns(keys, width, name_key, join, hidden), picked, columns
    )
    _resubmissions(result, keys, name_key, hidden, sources)
    vote_last_first(result.items)
    if qty_key and EXTRA_COPIES.match(qty_key):
        _count_extra_copies(result.items, qty_key)
    if qty_key:
        result.items = expand_quantities(result.items, qty_key)
    result.columns = [c for c in columns if c != qty_key and c != "pronouns"] + (
        ["pronouns"] if "pronouns" in columns else []
    )
    result.name_column = name_key
    result.skipped.sort(key=lambda s: s.line or 0)
    return result


def _value_rows(rows: list[Row], result: ParseResult) -> list[Row]:
    """The rows that hold values: empty and separator rows are reported and left out; the outer
    pipes of '| a | b |' rows are taken off."""
    for r in rows:
        if not any(c.strip() for c in r.cells):
            result.skipped.append(SkippedLine(r.raw, "empty row", r.line))
        elif all(_RULE_CELL.match(c) for c in r.cells):
            result.skipped.append(SkippedLine(r.raw, "table separator row", r.line))
    rows = [r for r in rows if any(c.strip() for c in r.cells)]
    rows = [r for r in rows if not all(_RULE_CELL.match(c) for c in r.cells)]
    if rows and all(len(r.cells) > 2 and not r.cells[0].strip() and not r.cells[-1].strip() for r in rows):
        # '| a | b |' rows (Markdown, Notion, Confluence): the outer pipes open no columns
        rows = [Row(r.cells[1:-1], r.line, r.raw, r.flags) for r in rows]
    return rows


def _header_keys(
    rows: list[Row], trimmed: list[list[str]], start: int, width: int, result: ParseResult
) -> tuple[list[str], str | None, int, int]:
    """The keys named by the header row at `start` (or by two header rows), the name column, where
    the values start, and the table's width."""
    head = trimmed[start]
    second = trimmed[start + 1] if start + 1 < len(rows) else []
    if (
        _filled(second) >= 2
        and all(is_header_cell(c) for c in second if c)
        and looks_like_header(second, trimmed[start + 2 : start + 12])
    ):
        # two header rows (merged group cells over the column names): the lower row names columns
        group, head = head, trimmed[start + 1]
        head = [*head, *[""] * (len(group) - len(head))]
        head = [c or (group[i] if i < len(group) else "") for i, c in enumerate(head)]
        result.skipped.append(SkippedLine(rows[start].raw, "group header row", rows[start].line))
        start += 1
    width = max(width, len(head))
    keys = unique_keys(head + [""] * (width - len(head)))
    result.skipped.append(SkippedLine(rows[start].raw, "header row", rows[start].line))
    return keys, find_name_column(keys), start + 1, width


def _hidden_columns(
    keys: list[str],
    body: list[list[str]],
    name_key: str | None,
    join: tuple[str, str] | None,
    header: bool,
    result: ParseResult,
) -> tuple[str | None, set[str], str]:
    """The name column (the cells may pick another than the header), the columns kept out of the
    items, and why the cells picked the name column ('' when they did not)."""
    hidden = not_engraved(keys, name_key, join) if header else set()
    picked = ""
    if header and not join:
        name_key, picked = name_by_content(keys, body, name_key, hidden)
        if picked:
            hidden = not_engraved(keys, name_key, join)
        if picked:
            result.notes.append(picked[0].upper() + picked[1:] + ".")
        numbers = row_numbers(keys, body)
        if numbers and numbers != name_key:
            hidden.add(numbers)
    if header:
        hidden |= beside_engraving_lines(keys, name_key)
    if hidden:
        shown = ", ".join(repr(h) for h in keys if h in hidden)
        result.notes.append(f"Columns not engraved (kept out of the items): {shown}.")
    return name_key, hidden, picked


@dataclass(frozen=True)
class _Columns:
    """What a table's rows are read with: its keys and width, the name column, the first and last
    name columns joined into it, and the columns kept out of the items."""

    keys: list[str]
    width: int
    name_key: str | None
    join: tuple[str, str] | None
    hidden: set[str]


def _add_rows(
    result: ParseResult,
    rows: list[Row],
    body: list[list[str]],
    table: _Columns,
    picked: str,
    columns: list[str],
) -> dict[int, list[str]]:
    """One item per row of values (or the reason it is skipped); `columns` grows by the keys the
    items bring. Returns the cells each item was read from."""
    keys, name_key = table.keys, table.name_key
    fallback = fallback_name(keys, name_key, table.hidden)
    sources: dict[int, list[str]] = {}
    for row, cells in zip(rows, body, strict=True):
        used_fallback = False
        if fallback and name_key in keys:
            i, j = keys.index(name_key), keys.index(fallback)
            if (i >= len(cells) or not cells[i]) and j < len(cells) and cells[j]:
                cells = [*cells, *[""] * (i + 1 - len(cells))]
                cells[i], used_fallback = cells[j], True
        item = _row_item(row, cells, keys, table.width, name_key, table.join, table.hidden)
        if used_fallback and not isinstance(item, str):
            item.reasons.append(f"the {name_key!r} cell is empty: the {fallback!r} is engraved")
        if picked and not isinstance(item, str):
            item.deduct(0.05, picked)
        if isinstance(item, str):
            result.skipped.append(SkippedLine(row.raw, item, row.line))
            continue
        columns.extend(k for k in item.values if k not in columns)
        result.items.append(item)
        sources[id(item)] = cells
    return sources


def _count_extra_copies(items: list[ParsedItem], qty_key: str) -> None:
    """An 'Extra copies' column counts the pieces beyond the first: the quantity is one more."""
    for item in items:
        extra = item.values.get(qty_key, "").strip()
        if extra.isdigit():
            item.values[qty_key] = str(int(extra) + 1)
            if int(extra):
                item.reasons.append(f"one piece plus {extra} in the {qty_key!r} column")


def _resubmissions(
    result: ParseResult,
    keys: Sequence[str],
    name_key: str | None,
    hidden: set[str],
    sources: dict[int, list[str]],
) -> None:
    """Form exports: the same sender (e-mail column) sending the same engraving twice is one piece
    (the repeat is skipped and reported); a near-identical name sent again by the same sender is
    probably a correction, so the earlier one is flagged."""
    email_key = next((k for k in keys if k in hidden and "mail" in k), None)
    if not email_key or not name_key:
        return
    i = list(keys).index(email_key)
    seen: dict[tuple[str, ...], ParsedItem] = {}
    by_sender: dict[str, list[ParsedItem]] = {}
    kept: list[ParsedItem] = []
    for item in result.items:
        cells = sources.get(id(item), [])
        sender = cells[i].strip().casefold() if i < len(cells) else ""
        if not sender:
            kept.append(item)
            continue
        engraving = (
            sender,
            *sorted(f"{k}={v}" for k, v in item.values.items() if not _REMARK_COLUMN.match(k)),
        )
        if engraving in seen:
            result.skipped.append(SkippedLine(item.raw, "the same submission sent again", item.source_line))
            continue
        seen[engraving] = item
        name = item.values.get(name_key, "")
        for earlier in by_sender.get(sender, []):
            before = earlier.values.get(name_key, "")
            if before != name and difflib.SequenceMatcher(a=before, b=name).ratio() >= 0.8:
                earlier.cap(0.6, f"the same sender later sent {name!r}: probably a correction of this one")
        by_sender.setdefault(sender, []).append(item)
        kept.append(item)
    result.items = kept


def _filled(cells: Sequence[str]) -> int:
    return sum(1 for c in cells if c)


def _row_item(
    row: Row,
    cells: list[str],
    keys: list[str],
    width: int,
    name_key: str | None,
    join: tuple[str, str] | None,
    hidden: set[str] = frozenset(),  # type: ignore[assignment]
) -> ParsedItem | str:
    """The row's item, or why the row is skipped."""
    filled = [c for c in cells if c]
    if name_key and len(filled) == 1 and width > 1 and cells[0]:
        # one value in the first column of a wider table: a remark typed under or above the rows
        only = filled[0]
        if _TOTAL.match(only) or not (check_name(only).ok or last_first(only)):
            return "a note in the table, not a row of values"
    values = {k: (cells[i] if i < len(cells) else "") for i, k in enumerate(keys)}
    for i, extra in enumerate(cells[len(keys) :], len(keys) + 1):
        if extra:
            values[f"column {i}"] = extra
    item = ParsedItem(values={}, confidence=BASE_CONFIDENCE, source_line=row.line, raw=row.raw)
    if join and name_key:
        item.values[name_key] = " ".join(p for p in (values[join[0]], values[join[1]]) if p)
        item.reasons.append(f"name joined from the {join[0]!r} and {join[1]!r} columns")
    item.values.update({k: v for k, v in values.items() if k not in hidden})
    if len(row.cells) < width:
        item.deduct(0.15, f"row has {len(row.cells)} cells, the table has {width}")
    elif len(cells) > width:
        item.deduct(0.15, f"row has {len(cells)} cells, the table has {width}")
    for flag in row.flags:
        item.deduct(0.3, flag)
    if name_key:
        name = item.values.get(name_key, "")
        if (total := _TOTAL.match(name)) and total.end() >= len(name.rstrip(":")):
            return "totals row"
        if name:
            _check_name_cell(item, name_key, name)
        elif any(_TOTAL.match(c) for c in filled):
            return "totals row"
        else:
            item.deduct(0.45, "no name in this row")
    return item


def _check_name_cell(item: ParsedItem, key: str, name: str) -> None:
    name, pronouns = split_pronouns(name)
    if pronouns:
        item.values[key] = name
        item.values["pronouns"] = pronouns
        item.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    reordered = last_first(name)
    if reordered:
        item.values[key] = name = reordered
        if LAST_FIRST_HEADER.search(key):
            item.reasons.append("reordered Last, First as the column header says")
        else:
            item.deduct(0.15, "reordered Last, First")
    check = check_name(name)
    couple = _COUPLE.split(name)
    if not check.ok and len(couple) == 2 and all(check_name(part).ok for part in couple):
        joiner = _COUPLE.search(name).group(0).strip()  # type: ignore[union-attr]
        item.reasons.append(f"two names joined by {joiner!r}: kept as one couple")
    elif not check.ok and set(words(key)) & ORG_ROLES:
        item.deduct(0.05, f"not a person's name ({check.why}): kept, the {key!r} column names businesses too")
    elif not check.ok:
        item.deduct(0.3, f"does not look like a name ({check.why})")
    issue = case_issue(name)
    if issue == "lower":
        item.deduct(0.05, "name is all lower-case (kept as typed)")
    elif issue == "upper":
        item.deduct(0.05, "name is all capitals (kept as typed)")
