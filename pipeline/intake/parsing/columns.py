"""Which column of a table is which: the header row, the name column, the quantity column, the
columns that are engraved (a second line) and those that are only the customer's records.

Headers decide first ('Name to engrave', 'Qty', 'Plaque Line 2', 'Timestamp'); where they do not
(no header row, or a 'Student ID' where the names should be), the cells do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .lexicon import (
    check_name,
    has_org_word,
    has_title_word,
    is_header_cell,
    last_first,
    split_pronouns,
    words,
)

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
_FIRST_LINE = re.compile(
    r"\b(?:text|wording|line\s*1|first line|inscription)\b|^(?:engraving|inscription)$", re.I
)
LAST_FIRST_HEADER = re.compile(r"\blast\s*,\s*first\b|\bsurname\s*,\s*(?:first|given)", re.IGNORECASE)
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
ORG_ROLES = frozenset({"sponsor", "donor", "sponsors", "donors"})
_FIRST_NAME = re.compile(r"\b(?:first|given|fore)\s*name\b|^(?:first|vorname|nombre|prénom|voornaam|imię)$")
_LAST_NAME = re.compile(
    r"\b(?:last|family|sur)\s*name\b"
    r"|^(?:last|surname|nachname|apellidos?|nom|nom de famille|achternaam|nazwisko)$"
)
_PIECE_COUNT_HEADER = frozenset(
    {"badges", "plates", "plaques", "tags", "trophies", "medals", "pieces", "pcs", "stuks", "szt", "szt."}
)
EXTRA_COPIES = re.compile(r"^(?:extra|additional|more) (?:copies|plates|plaques|badges|pieces)\b")
_LINE_N = re.compile(r"\b(?:line|zeile|ligne|línea|linea|regel|linia|riga|linha)\s*\d\b", re.IGNORECASE)
# the piece named before 'Line 2' ('Plate Line 2', 'Plaque Line 2') says the line is engraved
_PIECE_LINE = re.compile(
    r"\b(?:plate|plaque|badge|tag|trophy|medal|brick|engraving|inscription)\s+(?:line|zeile|ligne)\s*\d\b"
    r"|^(?:line|zeile|ligne|línea|regel|linia|riga|linha)\s*[2-4]$|^(?:2nd|second|3rd|third) line$"
    r"|\bengraved\b|\bunder(?:neath)? the name\b|\bsecond line\b",
    re.IGNORECASE,
)


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


def unique_keys(names: Iterable[str]) -> list[str]:
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
        if LAST_FIRST_HEADER.search(key):
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


def not_engraved(keys: Sequence[str], name_key: str | None, join: tuple[str, str] | None) -> set[str]:
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


def beside_engraving_lines(keys: Sequence[str], name_key: str | None) -> set[str]:
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


def piece_count_column(keys: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
    """A column headed by the piece ('Badges', 'Plates') whose cells are all small counts."""
    for i, key in enumerate(keys):
        if key in _PIECE_COUNT_HEADER or EXTRA_COPIES.match(key):
            cells = [r[i] for r in rows if i < len(r) and r[i]]
            low = 0 if EXTRA_COPIES.match(key) else 1
            if cells and all(c.isdigit() and low <= int(c) < 100 for c in cells):
                return key
    return None


def first_last_columns(keys: Sequence[str]) -> tuple[str, str] | None:
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
        if row_numbers(keys, rows) == "#":
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


def row_numbers(keys: Sequence[str], rows: Sequence[Sequence[str]]) -> str | None:
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


def name_by_content(
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
            or set(words(name_key)) & ORG_ROLES
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


def guess_keys(columns: list[list[str]]) -> tuple[list[str], str | None]:
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


def fallback_name(keys: Sequence[str], name_key: str | None, hidden: set[str]) -> str | None:
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
