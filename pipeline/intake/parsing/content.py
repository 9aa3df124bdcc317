"""What a line of list content says: one or more items (drafts) with their values and reasons.

Comma lists, 'Name - Title - Company', 'Name: Title', 'Last, First', counts and labels around the
piece, lines introduced by a few words ('badges for: …'), names in chatter. Pure functions of one
line; one name and its values is segments.py, names among other words or names is names.py.
"""

from __future__ import annotations

import re

from .columns import DATE
from .drafts import Draft
from .lexicon import (
    SUFFIXES,
    check_name,
    has_org_word,
    has_title_word,
    is_header_cell,
    last_first,
    words,
    wordset,
)
from .lines import (
    COLON,
    COLUMNS,
    DASH,
    PAREN,
    QUOTED_LABEL,
    SHORT_SIGNOFF,
    SIGNOFF,
    quantity_only,
    split_outside,
    stop_count,
    take_quantity,
)
from .names import has_given_name, name_series, names_in_prose, split_and
from .people import starts_with_given_name
from .quantities import COUNT_IN_SENTENCE, count_value
from .segments import MAX_FIELDS, assign, name_among_filler, name_part, single, structured

_ORDER_HINTS = wordset(
    "for names name list badges badge plates plate tags tag engrave engraving order following below these "
    "include add make need want please one also and plus pls can could would u you do here are is"
)
_NOT_ORDER = wordset(
    "send ship shipping deliver delivery invoice bill billing pay payment contact call text email address "
    "attn attention reach reply signed pickup pick collect subject re fw fwd deadline due"
)
_LEADING_JOINER = re.compile(r"^(?:and|&|plus|also|\+)\s+", re.IGNORECASE)
# ' / ' between a full name and its second line (spaced: 'Mr/Mrs' and 'U.S.A./Canada' are not split)
_SLASH = re.compile(r"(?<!\s)\s+/\s+")
# the end of a sentence (not the dot of 'Dr.', 'Jr.' or an initial)
_SENTENCE_STOP = re.compile(r"(?<=[a-zà-ÿ]{3})[.!?]+\s+(?=\S)")
_DEDICATION = re.compile(
    r"^(?:in\s+(?:loving\s+)?(?:memory|memoriam|hono(?:u)?r|remembrance)(?:\s+of)?|en\s+(?:memoria|honor)\s+de"
    r"|in\s+(?:liebevoller\s+)?erinnerung\s+an|in\s+gedenken\s+an|à\s+la\s+mémoire\s+de|en\s+mémoire\s+de"
    r"|ter\s+nagedachtenis\s+(?:aan|van)|in\s+memoria\s+di|pamięci)\s+",
    re.IGNORECASE,
)
_TAIL_QTY = re.compile(r"\s*(?:,|\s[-–—])\s*(?P<q>[^,–—]+?)\s*[.!]?$")
_PIECE_LABEL = re.compile(
    r"^(?:brick|plate|plaque|tag|badge|item|piece|trophy|medal|ornament|paver|tile|bench|line item)"
    r"\s*#?\s*\d{1,3}\s*[:.)–—-]\s+",
    re.IGNORECASE,
)
_LEAD_DASH = re.compile(r"^\s*[–—-]\s+")
_TRAILING_COUNT = re.compile(
    r"\s*(?:\((?P<paren>[^()]{1,80})\)|,\s*(?P<said>make\s+it\s+\w+\b[^,()]*))\s*[.!]?$", re.IGNORECASE
)
_BRACKET_COUNT = re.compile(r"\s*\((?P<q>(?P<n>\d{1,3}))\s*(?:[—–-]|,|:)\s*(?P<note>[^()]*)\)\s*$")
_ONE_PIECE = re.compile(
    r"\b(?:one|1|a single|single|same)\s+(?:tag|plate|plaque|badge|piece|box|glass|engraving)\b"
    r"|\bshare\b|\btogether\b",
    re.IGNORECASE,
)
_FIRST_NAMES_PAIR = re.compile(r"^[^\W\d_][\w'’-]+\s+(&|\+)\s+[^\W\d_][\w'’-]+$")
_GROUP_SEP = re.compile(r"\s*[,;]\s*(?:and\s+)?|\s+and\s+")
# '(name — award)', '(first name / title)': a legend for the lines below, not a piece
_SHAPE_LEGEND = re.compile(
    r"\((?:first\s+|full\s+)?name\s*(?:[—–/,|:+]|-|then)\s*(?:second line|title|award|role|position|rank"
    r"|years?|team|company|date|line 2)\)",
    re.IGNORECASE,
)
_SERIES_LEAD = re.compile(r"^(?P<lead>[^,:]{1,30}?)\s+(?:is|are|sind|est|son|zijn)\s+(?P<rest>.+)$")


def slash_sides(text: str) -> list[str] | None:
    """'Mochi / The Tanakas' → ['Mochi', 'The Tanakas']: a short capitalised first line, a spaced slash,
    then the second line; None for other lines."""
    parts = [p.strip() for p in _SLASH.split(text) if p.strip()]
    if len(parts) == 2 and parts[0][:1].isupper() and len(parts[0].split()) <= 5:
        return parts
    return None


def _signs_off(text: str) -> bool:
    """The text's last sentence is a sign-off ('… that's why same number. Thx!!')."""
    last = re.split(r"(?<=[.!?])\s+", text.strip())[-1].strip()
    if SHORT_SIGNOFF.match(last):
        return True
    signoff = SIGNOFF.match(last)
    return signoff is not None and not signoff.group("name").strip(
        " !.,~"
    )  # 'Thx!!', 'Thanks so much!' – nothing after


def _title_like(left: str, drafts: list[Draft]) -> bool:
    """'High Game – Men: Dwayne Pruitt Jr.': a short capitalised label (no sentence words) before one
    full name reads as the piece's second line."""
    ws = left.split()
    return (
        len(drafts) == 1
        and check_name(drafts[0].values.get("name", "")).core >= 2
        and 1 <= len(ws) <= 6
        and left[:1].isupper()
        and not stop_count(left)
        and not set(words(left)) & _ORDER_HINTS
    )


def line_content(s: str, listed: bool) -> list[Draft] | str:
    """The items on one line of list content (marker already removed), or why there are none.

    `listed`: the line had a list marker (or follows 'names:'), so a non-name is kept as a flagged label.
    """
    s = s.strip().strip(",;").strip()
    if not s:
        return "nothing after the list marker"
    found = _labelled(s, listed)
    if found is None:
        found = _introduced(s, listed)
    if found is not None:
        return found
    # 'Tomasz Wiśniewski  – New Member …': a dash after the wide space separates, it is not text
    cells = [_LEAD_DASH.sub("", c) for c in COLUMNS.split(s) if c.strip()]
    cells = [c for c in cells if c.strip()]
    if len(cells) >= 2:
        d = structured(cells, colon=False, columns=True)
        if d:
            return [d]
        s = " ".join(s.split())
    found = _sides(s, listed)
    if found is None:
        found = _several(s, listed)
    if found is not None:
        return found
    d = single(s, listed) or name_among_filler(s)
    if d:
        return [d]
    if listed or set(words(s)) & _ORDER_HINTS and not set(words(s)) & _NOT_ORDER:
        found = names_in_prose(s)
        if found:
            return found
    return "chatter" if stop_count(s) else "no name found"


def _labelled(s: str, listed: bool) -> list[Draft] | str | None:
    """A line that says more than its piece: a label numbering it ('Brick 1:'), a count after it
    ('– 2 szt.', '(2 stuks)'), a dedication, a legend for the lines below, a signature, or a label
    over several names. None when it is none of these."""
    if (label := _PIECE_LABEL.match(s)) and label.end() < len(s):
        # 'Brick 1: Walter "Walt" Kowalski, 1938–2021': the label numbers the piece, it is not engraved
        drafts = line_content(s[label.end() :], listed=True)
        if isinstance(drafts, list):
            for d in drafts:
                d.reasons.append(f"label {label.group(0).strip(' :.)–-')!r} before the piece is not engraved")
        return drafts
    if _SHAPE_LEGEND.search(s):
        return "introduces the list (says the shape of its lines)"  # '… plaques 🎉 (name — award)'
    for tail in filter(None, (_TAIL_QTY.search(s), _BRACKET_COUNT.search(s))):
        qty = quantity_only(tail.group("q")) or tail.groupdict().get("n")
        if not qty or tail.start() == 0:
            continue
        # 'Name – Title – 2 szt.', 'Name, Title, qty 2', 'Name – Date (2 — one for each of us!)'
        drafts = line_content(s[: tail.start()], listed)
        if isinstance(drafts, list) and len(drafts) == 1 and "qty" not in drafts[0].values:
            drafts[0].values["qty"] = qty
            if note := (tail.groupdict().get("note") or "").strip():
                drafts[0].values["note"] = note
            return drafts
        break
    if (counted := _TRAILING_COUNT.search(s)) and counted.start() > 0:
        # 'Kantinedienst (2 stuks)', 'Benefactora (2 placas por favor, una es para su hija)',
        # 'Dental Assistant, make it three he keeps losing them': the remark gives this piece's count
        remark = (counted.group("paren") or counted.group("said")).strip()
        said = COUNT_IN_SENTENCE.match(remark)
        qty = next((count_value(g) for g in said.groups() if g), None) if said else None
        drafts = line_content(s[: counted.start()], listed) if qty and qty > 1 else "no count"
        if isinstance(drafts, list) and len(drafts) == 1 and "qty" not in drafts[0].values:
            drafts[0].values["qty"] = str(qty)
            drafts[0].values["note"] = remark
            drafts[0].reasons.append(f"quantity {qty} from the remark {remark!r}")
            return drafts
    dedication = _DEDICATION.match(s)
    if dedication and check_name(s[dedication.end() :]).ok:
        # 'In Memory of Walter Brandt' on a donor wall: the dedication is engraved with the name
        d = Draft({"name": s})
        d.reasons.append(f"{dedication.group(0).strip()!r} kept with the name, as written (a dedication)")
        return [d]
    if (dash := DASH.search(s)) and _signs_off(s[: dash.start()]):
        return "signature (the sender after a sign-off)"  # '… Thx!! – Shelby, Paws & Claws Rescue'
    group = _titled_group(s)
    if group:
        return group
    return None


def _introduced(s: str, listed: bool) -> list[Draft] | str | None:
    """'can u do badges for: A, B and C', 'Campeones: Álvaro Jiménez y Sergio Muñoz': the names after
    a few words that introduce them (or that say the line is about something else). None when no
    such words lead the line, or nothing follows them."""
    for pattern in (COLON, DASH):
        m = pattern.search(s)
        if not m or m.end() >= len(s):
            continue
        left = s[: m.start()]
        intro = _intro(left, pattern is COLON)
        if intro == "other":
            return "mentions a name but is not part of the list"
        if intro == "order":
            right = s[m.end() :]
            stop = _SENTENCE_STOP.search(right)
            if (
                stop
                and "," in right[: stop.start()]
                and any(w[:1].islower() for w in right[stop.end() :].split())
            ):
                right = right[: stop.start()]  # 'badges for: A, B and C. "Barista" underneath on all four'
            drafts = line_content(right, listed=listed or bool(set(words(left)) & _ORDER_HINTS))
            if isinstance(drafts, str):
                break  # nothing after the intro: try the line as a whole
            if (has_title_word(left) or _title_like(left, drafts)) and all(
                "title" not in d.values for d in drafts
            ):
                for d in drafts:  # 'Campeones: Álvaro Jiménez y Sergio Muñoz'
                    d.values["title"] = left.strip()
                    d.deduct(0.1, "name came after the title")
            else:
                for d in drafts:
                    d.deduct(0.05, f"line had extra text: {left.strip()!r}")
            return drafts
    return None


def _sides(s: str, listed: bool) -> list[Draft] | None:
    """'Name - Title - Company', 'Name: Title', 'Title - Name', 'Organisation – Award', 'Name / second
    line': the name and the values beside it, or None."""
    for pattern in (DASH, COLON):
        parts = [p for p in pattern.split(s) if p.strip()]
        if len(parts) >= 2:
            d = structured(parts, colon=pattern is COLON, dashed=pattern is DASH)
            if d:
                return [d]
    parts = [p for p in DASH.split(s) if p.strip()]
    if len(parts) == 2 and listed and parts[0][:1].isupper() and has_org_word(parts[0]):
        # 'Lakeshore Credit Union – Corporate Partner of the Year' in a list of names: kept as written
        d = Draft({"name": parts[0].strip(), "title": parts[1].strip()})
        d.cap(0.6, f"{parts[0].strip()!r} is an organization, not a person: kept as the first line, check it")
        return [d]
    parts = [p for p in _SLASH.split(s) if p.strip()]
    if len(parts) == 2 and check_name(parts[0]).ok and check_name(parts[0]).core >= 2:
        d = structured(parts, colon=False)  # 'Pvt. Harold J. Becker / U.S. Army 1942–1946'
        if d:
            return [d]
    elif len(parts) == 2 and listed and parts[0][:1].isupper() and not DATE.match(parts[0].strip()):
        if check_name(parts[0]).ok and (d := structured(parts, colon=False, columns=True)):
            # 'Mochi / The Tanakas' in a block of such lines: a pet's (or first) name, then its second line
            d.reasons.append("name / second line, the shape of the other lines of its block")
            return [d]
        # a listed 'First line / second line' whose first line is not a person ('Gold Star Mothers of
        # Clark County / In Honor of All Who Served'): kept as written, for review
        d = Draft({"name": parts[0].strip(), "title": parts[1].strip()})
        d.cap(0.6, f"{parts[0].strip()!r} is not a person's name: kept as the first line, check it")
        return [d]
    return None


def _several(s: str, listed: bool) -> list[Draft] | str | None:
    """Several pieces (or one couple) on the line: a series of names, comma or semicolon lists,
    names joined by 'and' / '&'. None when the line is not such a list."""
    lead = _SERIES_LEAD.match(s)
    if series := name_series(s) or (lead and name_series(lead.group("rest"))):
        # 'Chloé, Kai, Priya and Tom.' on a line of its own, or after 'Table 3 is'
        drafts = [Draft({"name": name}) for name in series]
        for d in drafts:
            d.reasons.append("one of the names listed in one sentence")
            if lead and not name_series(s):
                d.deduct(0.05, f"line had extra text: {lead.group('lead')!r}")
        return drafts
    for sep in (";", ","):
        parts = [p for p in split_outside(s, sep) if p]
        if len(parts) >= 2:
            found = _commas(parts, listed)
            if found is not None:
                return found
    pieces = split_and(s, min_core=1)
    remark = PAREN.search(s) if s.rstrip().endswith(")") else None
    bare = s[: remark.start()].strip() if remark else s
    pair = _FIRST_NAMES_PAIR.match(bare if not remark or _ONE_PIECE.search(remark.group(1)) else s)
    if pieces and pair and len(pieces) == 2:  # 'Bob & Sue' on a line of its own: a couple's engraving
        d = Draft({"name": bare})
        if remark:
            d.values["note"] = remark.group(1).strip()
        if remark and _ONE_PIECE.search(remark.group(1)):
            d.reasons.append(f"two names joined by {pair.group(1)!r}: one piece, as the note says")
        else:
            d.cap(0.8, f"two first names joined by {pair.group(1)!r}: kept as one engraving (a couple?)")
        return [d]
    if pieces and len(pieces) == 2 and " & " in s and all(check_name(p).core >= 2 for p in pieces):
        # 'Kerry-Ann Baptiste & Deshawn Miles': '&' between two full names reads as one couple's
        # engraving on a list of households, but it may be two people: kept whole, for review
        couple = Draft({"name": s.strip()})
        couple.cap(0.8, "two full names joined by '&': kept as one engraving (a couple?); or two people?")
        return [couple]
    if pieces:
        drafts = [one for p in pieces if (one := single(p, listed))]
        remark = PAREN.search(s) if s.rstrip().endswith(")") else None
        for d in drafts:
            if remark:
                d.values["note"] = remark.group(1).strip()
                d.deduct(0.05, f"moved ({remark.group(1).strip()}) out of the name into a note")
        return drafts
    return None


def _titled_group(s: str) -> list[Draft] | None:
    """'DEF - Ali Khan, Ben Ode, Carl Roy': a short label that is no name, then several full names;
    each name is a piece with the label as its second line."""
    for pattern in (DASH, COLON):
        m = pattern.search(s)
        if not m:
            continue
        left, right = s[: m.start()].strip(), s[m.end() :].strip()
        names = [p.strip() for p in _GROUP_SEP.split(right) if p.strip()]
        if (
            len(names) >= 2
            and 0 < len(left.split()) <= 4
            and not (check_name(left).ok and (check_name(left).core >= 2 or starts_with_given_name(left)))
            and all(n[:1].isupper() and check_name(n).ok and check_name(n).core >= 2 for n in names)
            and not right.endswith(("!", "?"))
        ):
            drafts = []
            for name in names:
                d = Draft({"name": name, "title": left})
                d.deduct(0.1, f"one of several names after {left!r}, which is read as their second line")
                drafts.append(d)
            return drafts
    return None


def _intro(left: str, colon: bool) -> str | None:
    """'order' for 'can u do badges for', 'other' for 'please send the invoice to', else None."""
    left = left.strip()
    if not left or check_name(left).ok or last_first(left):
        return None
    ws = set(words(left))
    if ws & _NOT_ORDER:
        return "other"
    if colon or stop_count(left) or ws & _ORDER_HINTS:
        return "order"
    return None


def _commas(parts: list[str], listed: bool) -> list[Draft] | str | None:
    if all(is_header_cell(p) for p in parts):
        return "column names without rows under them"
    if len(parts) == 2 and parts[1].casefold() in SUFFIXES:
        d = single(f"{parts[0]}, {parts[1]}", listed)
        return [d] if d else None
    joined = f"{parts[0]}, {parts[1]}"
    if last_first(joined):
        d = name_part(joined)
        if d and len(parts) <= MAX_FIELDS and (len(parts) == 2 or not _is_name_list(parts[2:], min_core=1)):
            assign(d, parts[2:])
            return [d]
    head = name_part(parts[0], min_core=2)
    second = parts[1]
    if (
        head
        and len(parts) <= 4
        and not take_quantity(second)[0]
        and not QUOTED_LABEL.match(second)
        and (
            has_title_word(second)
            or has_org_word(second)
            or not check_name(second).ok
            or _role_word(parts[0], second)
        )
        and not split_and(second, min_core=1)
        and not _is_name_list(parts[2:])
    ):
        assign(head, parts[1:])
        return [head]
    if head and len(parts) == 2 and not has_given_name(second.split()) and not split_and(second, min_core=1):
        # 'Hyun-woo & Soo-jin Park, Together Forever': no given name after the comma
        assign(head, [second])
        head.cap(0.8, f"{second!r} read as the second line (no given name in it); or a second person?")
        return [head]
    drafts: list[Draft] = []
    junk: list[str] = []
    for part in parts:
        part = _LEADING_JOINER.sub("", part)
        for p in split_and(part, min_core=1) or [part]:
            d = single(p, listed=True) or name_among_filler(p)
            if d:
                drafts.append(d)
            else:
                junk.append(p)
    real = [d for d in drafts if not d.label]
    if not real:
        return None
    if len(real) * 2 <= len(parts):
        # a minority of names: only full names amid plain chatter ('one for Bernard Lowe too, same as …')
        if not all(stop_count(j) for j in junk) or not all(
            check_name(d.values["name"]).core >= 2 for d in real
        ):
            return None
        drafts = real
    for d in drafts:
        for j in junk:
            d.deduct(0.1 if len(real) * 2 <= len(parts) else 0.05, f"line had extra text: {j!r}")
    return drafts


def _role_word(name: str, second: str) -> bool:
    """'Dr. Ana Lucía Ferreira, Orthodontist': one word after a name that starts with a known given
    name, and the word itself is no given name: a role, not a second person."""
    return len(second.split()) == 1 and starts_with_given_name(name) and not starts_with_given_name(second)


def _is_name_list(parts: list[str], min_core: int = 2) -> bool:
    return bool(parts) and all(check_name(p).ok and check_name(p).core >= min_core for p in parts)
