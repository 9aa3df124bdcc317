"""Tables: delimited text (CSV, TSV, semicolon, pipe) and rows from spreadsheets.

Delimiter sniffing, header detection (and its absence), the name column, Last-First cells,
quantity columns, ragged rows. Keys are the table's own header names, lower-cased.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .blocks import vote_last_first
from .lexicon import (
    case_issue,
    check_name,
    has_org_word,
    has_title_word,
    is_header_cell,
    last_first,
    split_pronouns,
    words,
)
from .model import ParsedItem, ParseError, ParseResult, SkippedLine
from .quantities import expand_quantities

MAX_ROWS = 50_000
DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}

BASE_CONFIDENCE = 0.97

PHONE = re.compile(r"^\+?[\d\s().\-–/]{7,20}(?:\s*(?:x|ext\.?)\s*\d{1,5})?$", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(
    r"^(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|(?:19|20)\d{2}(?:\s*[-–/]\s*(?:19|20)?\d{2})?"
    r"|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4})$"
)
_QTY_HEADERS = frozenset(
    {"anzahl", "menge", "stück", "cantidad", "quantité", "qté", "aantal", "ilość", "quantità", "quantidade"}
) | frozenset({"qty", "qty.", "quantity", "quantities", "count", "copies", "pcs", "pieces", "how many"})
_QTY_HEADER_RE = re.compile(
    r"^#$|^(?:no\.?|number|#) of (?:plates|badges|tags|items|pieces|copies|trophies|medals|plaques)$"
    r"|^how many\b|^(?:qty|quantity)\b|^(?:line ?item|item|order|product) (?:qty|quantity)$"
)
_NAME_EXACT = ("name", "full name", "fullname", "name on plate", "engraving name", "display name", "names")
# 'name' in the languages orders arrive in ('imię i nazwisko', 'Nom à graver', 'Naam')
_NAME_WORDS = frozenset(
    {"name", "names", "nom", "nombre", "naam", "imię", "nazwisko", "nome", "navn", "namn"}
)
# a header that says which of several name columns goes on the piece
_ENGRAVE_MARK = re.compile(
    r"engrav|graver|gravier|grabar|graveren|grawer|on (?:the )?(?:plate|plaque|badge|trophy|medal)"
    r"|preferred|display|recognition|as it should appear|to appear",
    re.IGNORECASE,
)
# columns a form or HR export adds that are never engraved
_NOT_ENGRAVED = re.compile(
    r"^(?:timestamp|horodateur|zeitstempel|marca temporal|tijdstempel|sygnatura czasowa"
    r"|(?:submission|submitted|created|registration|order) (?:date|time|at|on)|date submitted|created at"
    r"|(?:[\w/]+ ){0,2}e-?mail(?: address)?|contact(?: person| name| phone)?"
    r"|adresse e-?mail|e-?mail-adresse|correo(?: electrónico)?"
    r"|(?:\w+ )?id|id(?: number)?|(?:employee|member|staff|order) (?:no\.?|number|#)"
    r"|buyer(?: name| e-?mail)?|purchaser|ordered by|billing name|customer(?: name| e-?mail)?)$",
    re.IGNORECASE,
)
# a header that is only the instruction to engrave ('Engrave As', 'Print as', 'Display name')
_ENGRAVE_AS = re.compile(
    r"^(?:engrave|engraved|engraving|print|printed|display|displayed|show)\s+(?:as|name)\b"
    r"|^as (?:engraved|printed)$",
    re.IGNORECASE,
)
# a sender's remark beside the engraving ('sorry double clicked'): shown, but not part of what is engraved
_REMARK_COLUMN = re.compile(
    r"^(?:comments?|notes?|remarks?|special instructions|notes? (?:for|to) (?:us|the shop)|anmerkungen"
    r"|bemerkungen|comentarios|commentaires|opmerkingen|uwagi|commenti)$",
    re.IGNORECASE,
)
_FIRST_LINE = re.compile(
    r"\b(?:text|wording|line\s*1|first line|inscription)\b|^(?:engraving|inscription)$", re.I
)
_COUPLE = re.compile(r"\s+(?:&|and|\+|y|et|und|e|en|i)\s+")
_LAST_FIRST_HEADER = re.compile(r"\blast\s*,\s*first\b|\bsurname\s*,\s*(?:first|given)", re.IGNORECASE)
_NAME_NOT = frozenset(
    {"first", "given", "fore", "last", "family", "sur", "company", "team", "org", "organization"}
    | {"organisation", "department", "business", "file", "user", "product", "event", "school", "club"}
)
_NAME_ROLES = (
    "recipient",
    "attendee",
    "player",
    "honoree",
    "participant",
    "student",
    "employee",
    "member",
    "person",
    "guest",
    "winner",
    "inductee",
    "pet",
    # the sponsor's or donor's own name is engraved, even when it is a business
    "sponsor",
    "donor",
)
_ORG_ROLES = frozenset({"sponsor", "donor", "sponsors", "donors"})
_FIRST_NAME = re.compile(r"\b(?:first|given|fore)\s*name\b|^(?:first|vorname|nombre|prénom|voornaam|imię)$")
_LAST_NAME = re.compile(
    r"\b(?:last|family|sur)\s*name\b"
    r"|^(?:last|surname|nachname|apellidos?|nom|nom de famille|achternaam|nazwisko)$"
)
_RULE_CELL = re.compile(r"^\s*:?[-=]*:?\s*$")
_PIECE_COUNT_HEADER = frozenset(
    {"badges", "plates", "plaques", "tags", "trophies", "medals", "pieces", "pcs", "stuks", "szt", "szt."}
)
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


# ---------------------------------------------------------------- delimited text


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


# ---------------------------------------------------------------- rows → items


def _is_number(text: str) -> bool:
    t = text.strip().replace(",", "").replace(" ", "")
    return bool(t) and (t.lstrip("#").replace(".", "", 1).isdigit())


def looks_like_header(cells: Sequence[str], below: Sequence[Sequence[str]] = ()) -> bool:
    """Is this row a header? Header-like words, no numbers, and unlike the rows under it."""
    filled = [c for c in cells if c.strip()]
    if not filled or any(_is_number(c) or DATE.match(c.strip()) or "@" in c for c in filled):
        return False
    header_like = sum(is_header_cell(c) for c in filled)
    has_person = any(
        not is_header_cell(c) and (check_name(c).ok and check_name(c).core >= 2 or last_first(c))
        for c in filled
    )
    if header_like and below and not has_person and header_like * 2 < len(filled):
        return True  # 'Name;Funktion;Abteilung': one known heading and no person in the row
    if header_like * 2 >= len(filled) and header_like:
        # data rows under a real header rarely repeat header words in the same columns
        if below:
            same = sum(
                1
                for row in below[:5]
                for i, c in enumerate(filled)
                if i < len(row) and row[i].strip().casefold() == c.strip().casefold()
            )
            return same < len(filled)
        return True
    if len(filled) >= 2 and below:
        # all-text row above a column that is numeric in every data row
        for i, c in enumerate(cells):
            if not c.strip() or check_name(c).ok:
                continue
            col = [r[i] for r in below[:10] if i < len(r) and r[i].strip()]
            if col and all(_is_number(v) for v in col):
                return True
    return False


def _unique_keys(names: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for i, name in enumerate(names):
        key = " ".join(name.split()).lower() or f"column {i + 1}"
        base, n = key, 2
        while key in keys:
            key, n = f"{base} {n}", n + 1
        keys.append(key)
    return keys


def find_name_column(keys: Sequence[str]) -> str | None:
    """The header that names the person or pet: 'name', 'full name', 'player name', 'recipient' …

    When several headers name a person, the one that says it is the engraving ('Name to engrave',
    'Preferred name', 'Nom à graver') wins over a legal, billing or buyer's name.
    """
    keys = [k for k in keys if not _NOT_ENGRAVED.match(k)]  # a billing or buyer's name is not engraved
    for key in keys:
        if _ENGRAVE_AS.match(key):
            return key
    named = [k for k in keys if set(words(k)) & _NAME_WORDS or k in _NAME_EXACT]
    for key in named:
        if _ENGRAVE_MARK.search(key):
            return key
    for key in keys:
        if _LAST_FIRST_HEADER.search(key):
            return key  # 'Name (Last, First)'
    for key in keys:
        if key in _NAME_EXACT:
            return key
    for key in keys:
        ws = words(key)
        if ws and ws[-1] in ("name", "names") and not (set(ws[:-1]) & _NAME_NOT):
            return key
    for key in keys:
        ws = words(key)
        if set(ws) & _NAME_WORDS and not (set(ws) & _NAME_NOT):
            return key  # 'Your full name (as it should appear on the badge)'
    for role in _NAME_ROLES:
        for key in keys:
            if role in words(key):
                return key
    for key in keys:
        if _ENGRAVE_MARK.search(key) and _FIRST_LINE.search(key):
            return key  # 'Engraving Text', 'Engrave Line 1', 'Inscription'
    return None


def _not_engraved(keys: Sequence[str], name_key: str | None, join: tuple[str, str] | None) -> set[str]:
    """Columns that are not part of the engraving: form timestamps and e-mails, record ids, the parts
    of a joined first/last name, and other name columns beside the one the header says to engrave."""
    hidden = {k for k in keys if _NOT_ENGRAVED.match(k)}
    if join:
        hidden |= set(join)
    if name_key and _ENGRAVE_MARK.search(name_key):
        hidden |= {
            k for k in keys if k != name_key and set(words(k)) & _NAME_WORDS and not _ENGRAVE_MARK.search(k)
        }
    return hidden - {name_key}


_LINE_N = re.compile(r"\b(?:line|zeile|ligne|línea|linea|regel|linia|riga|linha)\s*\d\b", re.IGNORECASE)
# the piece named before 'Line 2' ('Plate Line 2', 'Plaque Line 2') says the line is engraved
_PIECE_LINE = re.compile(
    r"\b(?:plate|plaque|badge|tag|trophy|medal|brick|engraving|inscription)\s+(?:line|zeile|ligne)\s*\d\b"
    r"|^(?:line|zeile|ligne|línea|regel|linia|riga|linha)\s*[2-4]$|^(?:2nd|second|3rd|third) line$"
    r"|\bengraved\b|\bunder(?:neath)? the name\b|\bsecond line\b",
    re.IGNORECASE,
)


def _engraved_lines(keys: Sequence[str], name_key: str | None) -> list[str]:
    """Columns beside the name whose header says they are engraved too ('Plaque Line 2', 'Award
    (engraved under the name)', 'Engraving Line 2')."""
    return [
        k
        for k in keys
        if k != name_key
        and not (k in _QTY_HEADERS or _QTY_HEADER_RE.match(k))
        and (_PIECE_LINE.search(k) or (_ENGRAVE_MARK.search(k) and _LINE_N.search(k)))
    ]


def _beside_engraving_lines(keys: Sequence[str], name_key: str | None) -> set[str]:
    """When the headers spell out the engraved lines ('Engrave Line 1', 'Engrave Line 2'; 'Engraving
    Text', 'Engraving Line 2'), the other text columns ('Homeroom', 'Buyer') are the customer's
    records, not engraving."""
    lines = [k for k in keys if _ENGRAVE_MARK.search(k) and (_LINE_N.search(k) or _FIRST_LINE.search(k))]
    if len(lines) < 2:
        lines = _engraved_lines(keys, name_key)
        if not lines or name_key is None:
            return set()
    keep = set(lines) | {name_key}
    return {k for k in keys if k not in keep and not (k in _QTY_HEADERS or _QTY_HEADER_RE.match(k))}


def _piece_count_column(keys: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """A column headed by the piece ('Badges', 'Plates') whose cells are all small counts."""
    for i, key in enumerate(keys):
        if key in _PIECE_COUNT_HEADER or _EXTRA_COPIES.match(key):
            cells = [r[i] for r in rows if i < len(r) and r[i]]
            low = 0 if _EXTRA_COPIES.match(key) else 1
            if cells and all(c.isdigit() and low <= int(c) < 100 for c in cells):
                return key
    return None


_EXTRA_COPIES = re.compile(r"^(?:extra|additional|more) (?:copies|plates|plaques|badges|pieces)\b")


def _first_last_columns(keys: Sequence[str]) -> tuple[str, str] | None:
    first = next((k for k in keys if _FIRST_NAME.search(k)), None)
    last = next((k for k in keys if _LAST_NAME.search(k)), None)
    return (first, last) if first and last else None


def find_qty_column(keys: Sequence[str], rows: Sequence[Sequence[str]] = ()) -> str | None:
    """The quantity column: a 'Qty', 'Anzahl', 'How many medals?' header. A bare '#' counts only when
    no other column is the quantity and its cells read as counts (mostly 1, none above 20), not as
    row numbers 1, 2, 3 … or jersey numbers."""
    found = [k for k in keys if k in _QTY_HEADERS or _QTY_HEADER_RE.match(k)]
    named = [k for k in found if k != "#"]
    if named:
        return named[0]
    if found and rows:
        if _row_numbers(keys, rows) == "#":
            return None
        i = list(keys).index("#")
        cells = [r[i] for r in rows if i < len(r) and r[i]]
        if (
            not cells
            or sum(c == "1" for c in cells) * 2 < len(cells)
            or not all(c.isdigit() and int(c) <= 20 for c in cells)
        ):
            return None  # jersey or member numbers, not counts (counts are mostly 1)
    return found[0] if found else None


def _row_numbers(keys: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """A '#' or 'No.' column that only numbers the rows 1, 2, 3 … (not engraved, not a quantity)."""
    for i, key in enumerate(keys):
        if key in ("#", "no", "no.", "nr", "nr.", "n°", "nº"):
            cells = [r[i] for r in rows if i < len(r) and r[i]]
            if len(cells) >= 2 and cells == [str(n) for n in range(1, len(cells) + 1)]:
                return key
    return None


def _name_score(cells: Sequence[str]) -> float:
    """How much a column's cells look like people's names (0–1.5; full names count more)."""
    filled = [c for c in cells if c]
    if not filled:
        return 0.0
    checks = [check_name(last_first(c) or split_pronouns(c)[0]) for c in filled]
    ratio = sum(c.ok for c in checks) / len(filled)
    full = sum(c.ok and c.core >= 2 for c in checks) / len(filled)
    return ratio + full / 2


def _name_by_content(
    keys: Sequence[str], rows: Sequence[Sequence[str]], name_key: str | None, hidden: set[str]
) -> tuple[str | None, str]:
    """The name column when the headers do not say ('Runner', 'Swimmer', 'Engrave Line 1'), or when
    the one they point to holds no names (a 'Student ID'): the column whose cells read as names.
    The first 50 rows decide."""
    sample = rows[:50]
    if name_key is not None:
        i = list(keys).index(name_key)
        cells = [r[i] if i < len(r) else "" for r in sample]
        if (
            sum(bool(c) for c in cells) * 2 < len(cells)
            or _name_score(cells) >= 0.5
            or set(words(name_key)) & _ORG_ROLES
        ):
            return name_key, ""  # names (or mostly empty: formulas never calculated), flagged row by row
    scores = {
        k: _name_score([r[i] if i < len(r) else "" for r in sample])
        for i, k in enumerate(keys)
        if k not in hidden and k != name_key
    }
    best = max(scores, key=lambda k: scores[k], default=None)
    if best is None or scores[best] < 1.0:
        return name_key, ""
    if name_key is None:
        return best, f"the names are in the {best!r} column: no header says 'name', its cells read as names"
    return best, f"the names are in the {best!r} column ({name_key!r} holds no names)"


def _guess_keys(columns: list[list[str]]) -> tuple[list[str], str | None]:
    """Keys for a table without a header: the most name-like column is `name`, others by content."""
    keys: list[str] = []
    name_idx, best = None, 0.59
    for i, col in enumerate(columns):
        filled = [c for c in col if c]
        if filled:
            checks = [check_name(last_first(c) or split_pronouns(c)[0]) for c in filled]
            ratio = sum(c.ok for c in checks) / len(filled)
            full = sum(c.ok and c.core >= 2 for c in checks) / len(filled)
            if ratio > 0.59 and ratio + full / 2 > best:  # full names beat single words
                name_idx, best = i, ratio + full / 2
    used: set[str] = set()
    for i, col in enumerate(columns):
        filled = [c for c in col if c]
        key = f"column {i + 1}"
        if i == name_idx:
            key = "name"
        elif filled:
            for candidate, test in (
                ("email", lambda c: bool(EMAIL.match(c))),
                ("phone", lambda c: bool(PHONE.match(c)) and sum(ch.isdigit() for ch in c) >= 7),
                ("date", lambda c: bool(DATE.match(c))),
                ("title", has_title_word),
                ("company", has_org_word),
            ):
                if candidate not in used and sum(map(test, filled)) / len(filled) >= 0.6:
                    key = candidate
                    break
            else:
                # plain text after the name: title, then company (the order people write them in)
                if name_idx is not None and i > name_idx and not all(_is_number(c) for c in filled):
                    key = next((k for k in ("title", "company") if k not in used), key)
        used.add(key)
        keys.append(key)
    return keys, ("name" if name_idx is not None else None)


def build_table(rows: list[Row], *, header: bool | None = None) -> ParseResult:
    """Turn rows into items. `header=None` detects the header row."""
    result = ParseResult(items=[], engine="rules")
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
        keys = _unique_keys(head + [""] * (width - len(head)))
        result.skipped.append(SkippedLine(rows[start].raw, "header row", rows[start].line))
        name_key = find_name_column(keys)
        start += 1
    else:
        columns = [[t[i] if i < len(t) else "" for t in trimmed[start:]] for i in range(width)]
        keys, name_key = _guess_keys(columns)
        if width > 1:
            guessed = ", ".join(keys)
            result.notes.append(f"No header row; columns guessed from their content ({guessed}).")
    join = _first_last_columns(keys)
    if join and name_key is not None and name_key not in join:
        join = None  # a full-name column beside the parts: the full name is the one to engrave
    if join:
        name_key = "name" if "name" not in keys else "full name"
    hidden = _not_engraved(keys, name_key, join) if header else set()
    body = trimmed[start:]
    picked = ""
    if header and not join:
        name_key, picked = _name_by_content(keys, body, name_key, hidden)
        if picked:
            hidden = _not_engraved(keys, name_key, join)
        if picked:
            result.notes.append(picked[0].upper() + picked[1:] + ".")
        numbers = _row_numbers(keys, body)
        if numbers and numbers != name_key:
            hidden.add(numbers)
    if header:
        hidden |= _beside_engraving_lines(keys, name_key)
    if hidden:
        shown = ", ".join(repr(h) for h in keys if h in hidden)
        result.notes.append(f"Columns not engraved (kept out of the items): {shown}.")
    qty_key = find_qty_column(keys, body) or _piece_count_column(keys, body)
    hidden.discard(qty_key)
    columns = [name_key, *keys] if join and name_key else list(keys)
    columns = [c for c in columns if c not in hidden]
    fallback = _fallback_name(keys, name_key, hidden)
    sources: dict[int, list[str]] = {}
    for row, cells in zip(rows[start:], trimmed[start:], strict=True):
        used_fallback = False
        if fallback and name_key in keys:
            i, j = keys.index(name_key), keys.index(fallback)
            if (i >= len(cells) or not cells[i]) and j < len(cells) and cells[j]:
                cells = [*cells, *[""] * (i + 1 - len(cells))]
                cells[i], used_fallback = cells[j], True
        item = _row_item(row, cells, keys, width, name_key, join, hidden)
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
    _resubmissions(result, keys, name_key, hidden, sources)
    vote_last_first(result.items)
    if qty_key and _EXTRA_COPIES.match(qty_key):
        for item in result.items:
            extra = item.values.get(qty_key, "").strip()
            if extra.isdigit():
                item.values[qty_key] = str(int(extra) + 1)
                if int(extra):
                    item.reasons.append(f"one piece plus {extra} in the {qty_key!r} column")
    if qty_key:
        result.items = expand_quantities(result.items, qty_key)
    result.columns = [c for c in columns if c != qty_key and c != "pronouns"] + (
        ["pronouns"] if "pronouns" in columns else []
    )
    result.name_column = name_key
    result.skipped.sort(key=lambda s: s.line or 0)
    return result


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


def _fallback_name(keys: Sequence[str], name_key: str | None, hidden: set[str]) -> str | None:
    """The name column to fall back on when the engrave-as column says to leave it blank when the
    name is the same ('Name to engrave (leave blank if same as legal name)')."""
    if not name_key or not re.search(r"\bblank\b|\bempty\b|\bif (?:same|different)\b", name_key):
        return None
    return next(
        (
            k
            for k in keys
            if k in hidden
            and k != name_key
            and set(words(k)) & _NAME_WORDS
            and not _FIRST_NAME.search(k)
            and not _LAST_NAME.search(k)
            and not _NOT_ENGRAVED.match(k)
        ),
        None,
    )


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
        if _TOTAL.match(name) and _TOTAL.match(name).end() >= len(name.rstrip(":")):
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
        if _LAST_FIRST_HEADER.search(key):
            item.reasons.append("reordered Last, First as the column header says")
        else:
            item.deduct(0.15, "reordered Last, First")
    check = check_name(name)
    couple = _COUPLE.split(name)
    if not check.ok and len(couple) == 2 and all(check_name(part).ok for part in couple):
        joiner = _COUPLE.search(name).group(0).strip()  # type: ignore[union-attr]
        item.reasons.append(f"two names joined by {joiner!r}: kept as one couple")
    elif not check.ok and set(words(key)) & _ORG_ROLES:
        item.deduct(0.05, f"not a person's name ({check.why}): kept, the {key!r} column names businesses too")
    elif not check.ok:
        item.deduct(0.3, f"does not look like a name ({check.why})")
    issue = case_issue(name)
    if issue == "lower":
        item.deduct(0.05, "name is all lower-case (kept as typed)")
    elif issue == "upper":
        item.deduct(0.05, "name is all capitals (kept as typed)")
