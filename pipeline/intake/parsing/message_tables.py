"""Tables inside a pasted message, and what the message says about them.

A run of tab-separated, pipe ('| Name | Award |'), wide-space or header-led comma lines is a table;
the message around it may say a column is not engraved ('the Dept column is just for our records')
or is the second line ('the jersey number on the second line like "#7"'). Among other lines of a
message, a table speaks the message's keys: its name column becomes `name`, its second line `title`.
"""

from __future__ import annotations

import csv
import re

from .columns import looks_like_header
from .lexicon import check_name, is_header_cell
from .lines import COLUMNS, strip_marker
from .model import ParseResult
from .tables import Row

# the keys of a message's items, in the order their columns are shown
KEY_ORDER = ("name", "title", "company", "date", "phone", "email", "number", "pronouns", "note", "qty")
_PIPE_ROW = re.compile(r"^\|.*\|$")
_PIPE_RULE = re.compile(r"^\|(?:\s*:?-{2,}:?\s*\|)+$")
# a table column that holds the piece's second line when a table sits inside a message
# '(the) Dept column is just for our records', 'the Team column doesn't go on the plaque'
_COLUMN_NOT_ENGRAVED = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w/&-]*(?:\s+[\w/&-]+)?)\s+column\s+(?:is|are)?\s*(?:just|only)?\s*"
    r"(?:for\s+(?:our|my|the)?\s*(?:records?|reference|info|internal)|not\s+(?:to\s+be\s+)?engraved"
    r"|(?:does\s*n[o']?t|does not|should\s*n[o']?t|won't)\s+go)",
    re.IGNORECASE,
)
# 'Grade is just for sorting, don't engrave it', "don't engrave the Grade column"
_COLUMN_FOR_SORTING = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w/&-]*(?:\s+[\w/&-]+)?)\s+(?:column\s+)?(?:is|are)\s+(?:just|only)\s+"
    r"(?:for|used for)\s+(?:our|my|the)?\s*(?:records?|reference|info|internal|sorting|filing)"
    r"|\b(?:do\s*n[o']?t|do not|please don't)\s+engrave\s+the\s+(?P<col2>[^\W\d_][\w/&-]*)(?:\s+column)?",
    re.IGNORECASE,
)
# 'the jersey number on the second line', 'Team on line 2'
_SECOND_LINE_COLUMN = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w-]*)(?:\s+(?:number|no\.?|name|text))?\s+(?:goes\s+)?(?:on|in)\s+(?:the\s+)?"
    r"(?:(?:second|2nd|bottom)\s+line|line\s+(?:two|2))\b",
    re.IGNORECASE,
)
_PREFIX_EXAMPLE = re.compile(r"^[^.]*?\blike\s+[\"“'](?P<pre>[#№]|No\.\s?)\d+[\"”']")
_TITLE_HEADER = re.compile(
    r"\b(?:title|award|role|position|category|line 2|second line|achievement|honou?r"
    r"|prize|prix|premio|preis)\b",
    re.IGNORECASE,
)


def _has_name_column(rows: list[Row]) -> bool:
    """Inferred tables (wide spaces, pipes) must have a column of names to count as a table."""
    width = min(len(r.cells) for r in rows)
    return any(sum(check_name(r.cells[c].strip()).ok for r in rows) * 2 > len(rows) for c in range(width))


def table_run(par: list[tuple[int, str]], i: int) -> tuple[int, list[Row], bool | None]:
    """A run of table lines starting at i: tabs, wide spaces, or a header line with delimiters."""
    no, s = par[i]
    if "\t" in s:
        j = i
        while j < len(par) and "\t" in par[j][1]:
            j += 1
        if j - i >= 2:
            return j, [Row(b.split("\t"), n, b) for n, b in par[i:j]], None
    if _PIPE_ROW.match(s):  # '| Name | Award |' (Markdown, Notion, Confluence)
        j = i
        while j < len(par) and _PIPE_ROW.match(par[j][1]):
            j += 1
        if j - i >= 2:
            rule = j - i >= 3 and _PIPE_RULE.match(par[i + 1][1])
            return j, [Row(b.split("|"), n, b) for n, b in par[i:j]], True if rule else None
    for delim in (",", ";", "|", "\t"):
        cells = [c.strip() for c in s.split(delim)]
        if len(cells) >= 2 and all(c and is_header_cell(c) for c in cells):
            j = i + 1
            while j < len(par) and delim in par[j][1]:
                j += 1
            body = [Row(next(csv.reader([b], delimiter=delim)), n, b) for n, b in par[i + 1 : j]]
            return j, [Row(cells, no, s), *body], True
    if strip_marker(s)[0]:
        return i, [], None
    width = len(COLUMNS.split(s))
    j = i
    while j < len(par) and not strip_marker(par[j][1])[0] and 2 <= len(COLUMNS.split(par[j][1])) <= width:
        j += 1
    rows = [Row(COLUMNS.split(b), n, b) for n, b in par[i:j]]
    if j - i >= 2 and (looks_like_header(rows[0].cells) or _has_name_column(rows)):
        return j, rows, None
    return i, [], None


def as_message_keys(table: ParseResult, second: str | None = None) -> None:
    """A table among other lines of a message speaks the message's keys: its name column becomes
    `name`, and its one text column beside it (or the one headed like a second line: 'Award',
    'Line 2') `title`."""
    name = table.name_column
    if not name or not table.items:
        return
    others = [c for c in table.columns if c != name and c not in KEY_ORDER]
    title = others[0] if len(others) == 1 else next((c for c in others if _TITLE_HEADER.search(c)), None)
    if second in others:
        title = second
    if "title" in table.columns:
        title = None
    rename = {name: "name"} | ({title: "title"} if title else {})
    for item in table.items:
        item.values = {rename.get(k, k): v for k, v in item.values.items()}
    table.columns = [rename.get(c, c) for c in table.columns]
    table.name_column = "name"


def columns_not_engraved(tables: list[ParseResult], lines: list[str], notes: list[str]) -> None:
    """'The Dept column is just for our records, it doesn't go on the plaque': that column of a
    pasted table is kept out of the items, as the message says."""
    columns = {c.casefold(): c for t in tables for c in t.columns if c != t.name_column}
    if not columns:
        return
    for line in lines:
        found = [*_COLUMN_NOT_ENGRAVED.finditer(line), *_COLUMN_FOR_SORTING.finditer(line)]
        for m in found:
            key = columns.get((m.group("col") or m.groupdict().get("col2") or "").strip().casefold())
            if not key:
                continue
            for table in tables:
                for item in table.items:
                    if item.values.pop(key, None) is not None:
                        item.reasons.append(f"the {key!r} column is not engraved, as the message says")
                table.columns = [c for c in table.columns if c != key]
            notes.append(f"Column {key!r} not engraved: {line.strip()!r}")


def column_on_second_line(tables: list[ParseResult], lines: list[str], notes: list[str]) -> str | None:
    """'… and the jersey number on the second line like "#7"': the pasted table's column the
    message says is the second line; cells written like the example get its prefix ('#')."""
    columns = {c.casefold(): c for t in tables for c in t.columns if c != t.name_column}
    for line in lines:
        for m in _SECOND_LINE_COLUMN.finditer(line):
            key = columns.get(m.group("col").casefold())
            if not key:
                continue
            example = _PREFIX_EXAMPLE.search(line[m.end() :])
            for table in tables:
                for item in table.items:
                    cell = item.values.get(key, "")
                    if example and cell.isdigit():
                        item.values[key] = example.group("pre") + cell
                        item.reasons.append(
                            f"{key!r} written like the message's example {example.group(0).strip()!r}"
                        )
                    item.reasons.append(f"the {key!r} column is the second line, as the message says")
            notes.append(f"Column {key!r} is the second line: {line.strip()!r}")
            return key
    return None
