"""What a line of list content says: one or more items (drafts) with their values and reasons.

Comma lists, 'Name - Title - Company', 'Name: Title', 'Last, First', quantities, quoted labels,
pronouns, brackets, and names wrapped in a few words of chatter. Pure functions of one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .columns import DATE, EMAIL
from .lexicon import (
    HONORIFICS,
    PARTICLES,
    STOPWORDS,
    SUFFIXES,
    case_issue,
    check_name,
    has_org_word,
    has_title_word,
    is_header_cell,
    is_name_token,
    last_first,
    split_pronouns,
    words,
    wordset,
)
from .lines import (
    COLON,
    COLUMNS,
    DASH,
    EMAIL_IN,
    JERSEY,
    PAREN,
    QUOTED_LABEL,
    SHORT_SIGNOFF,
    SIGNOFF,
    URL_IN,
    is_phone,
    quantity_only,
    split_outside,
    stop_count,
    take_quantity,
)
from .people import is_given_name, starts_with_given_name
from .quantities import COUNT_IN_SENTENCE, count_value

BASE_CONFIDENCE = 0.95

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
_MAX_FIELDS = 8  # more parts than this after a name is not one item's values
_AND = re.compile(r"(?<!\s)\s+(?:and|&|\+|plus)\s+", re.IGNORECASE)
# 'and' in other languages splits only two full, capitalised names ('Íñigo Martínez y Gómez' is one)
_AND_OTHER = re.compile(r"(?<!\s)\s+(?:y|et|und|og|och|e|i|en)\s+")
# words before a given name that are not the person's own name: 'Drs. Lisa', 'Tía Carmen', 'Grandpa'
_KIN = wordset(
    "drs drs. messrs messrs. mmes mmes. aunt auntie uncle grandma grandpa granny gran grandad nana nan "
    "papa mama tía tío tia tio abuela abuelo abuelita abuelito oma opa tante onkel don doña dona dom "
    "ciocia wujek babcia dziadek zia zio nonna nonno tante oom"
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
_FILLER = STOPWORDS | {"oh", "um", "uh", "ah", "ok", "so", "lastly", "finally", "too"}
# 'OBE', 'FRS', 'PhD', 'MBE, DL': letters after a name, engraved with it
# '(name — award)', '(first name / title)': a legend for the lines below, not a piece
_SHAPE_LEGEND = re.compile(
    r"\((?:first\s+|full\s+)?name\s*(?:[—–/,|:+]|-|then)\s*(?:second line|title|award|role|position|rank"
    r"|years?|team|company|date|line 2)\)",
    re.IGNORECASE,
)
_POSTNOMINAL = re.compile(
    r"^(?:[A-Z][a-z]?[A-Z][A-Za-z]{0,3}\.?|Ret(?:\.|d\.?|'d)?)(?:[ ,]+[A-Z][a-z]?[A-Z][A-Za-z]{0,3}\.?)*$"
)
_COUNT_REMARK = re.compile(r"\s*\(\s*(?:[x×]\s?(\d{1,3})|(\d{1,3})\s?[x×])\b[^()]*\)\s*$", re.IGNORECASE)
_QTY_TOKEN = re.compile(r"^(?:\d{1,4}\s?[x×]|[x×]\s?\d{1,4})$", re.IGNORECASE)


@dataclass
class Draft:
    """An item in the making: values, confidence and the reasons behind it."""

    values: dict[str, str]
    confidence: float = BASE_CONFIDENCE
    reasons: list[str] = field(default_factory=list)
    label: bool = False  # a quoted label or a line that is not a name

    def deduct(self, amount: float, reason: str) -> None:
        self.confidence = round(max(0.0, self.confidence - amount), 2)
        self.reasons.append(reason)

    def cap(self, ceiling: float, reason: str) -> None:
        self.confidence = round(min(self.confidence, ceiling), 2)
        self.reasons.append(reason)


_PROSE_TOKEN = re.compile(r"\S+")
_JOINERS = frozenset({"and", "also", "plus", "&", "+", "oh", "or"})


def names_in_prose(sentence: str) -> list[Draft]:
    """Full names inside a sentence: 'for our nurses Margaret Hale, Ruth Ellison and Consuelo Marín.'"""
    found: list[Draft] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].casefold() in PARTICLES:
            run.pop()
        name = " ".join(run)
        check = check_name(name) if run else None
        # a sentence is the weakest evidence: only a run that starts with a given name (or a title
        # like 'Dr.') is read as a person, not 'the Veterans Memorial Walk' or 'our Past Presidents'
        ranked = check and not check.ok and check.why == "reads like a job title" and len(run) >= 3
        if ranked and check_name(" ".join(run[1:])).ok and _has_given_name(run[1:-1]):
            check = check_name(" ".join(run[1:]))  # 'Captain Lou Brennan': a rank before the name
        if check and check.ok and check.core >= 2 and not has_org_word(name) and _has_given_name(run[:-1]):
            d = Draft({"name": name})
            d.cap(0.7, "name found inside a sentence")
            found.append(d)
        run.clear()

    for m in _PROSE_TOKEN.finditer(sentence):
        raw = m.group(0)
        token = raw.rstrip(',.;:!?)"”')
        bare = token.strip('("“')
        if raw == token + "." and (f"{bare.casefold()}." in HONORIFICS | SUFFIXES or len(bare) == 1):
            token = bare = bare + "."  # 'Dr.', 'Jr.', an initial: the dot belongs to the name
        capital = bare[:1].isupper() and is_name_token(bare) and bare.casefold() not in STOPWORDS
        if capital or (run and bare.casefold() in PARTICLES) or (not run and bare.casefold() in HONORIFICS):
            run.append(bare)
        else:
            close()
        if token != raw:  # punctuation after the word ends the name
            close()
    close()
    return found


_SERIES_SPLIT = re.compile(
    r"\s*,\s*(?:(?:and|&|y|et|und|e|en|i|och|og)\s+)?|\s+(?:and|&|y|et|und|e|en|i|och|og)\s+"
)


_SERIES_LEAD = re.compile(r"^(?P<lead>[^,:]{1,30}?)\s+(?:is|are|sind|est|son|zijn)\s+(?P<rest>.+)$")


def name_series(text: str) -> list[str] | None:
    """'Chloé, Kai, Priya and Tom.' → the four names: three or more short capitalised names separated by
    commas, the last joined by 'and' (or '&', 'y', 'et', 'und' …); None for anything else."""
    body = text.strip()
    while body and not (body[-1].isalnum() or body[-1] in ".!)\"'’”"):
        body = body[:-1].rstrip()  # 'Dai and Amélie 🍎'
    body = body.rstrip("!")
    if body.endswith(".") and not re.search(r"\b(?:Jr|Sr|St|[A-Z])\.$", body):
        body = body[:-1]
    if "," not in body:
        return None
    names = _SERIES_SPLIT.split(body)
    if len(names) < 3 or not _SERIES_SPLIT.search(body.rsplit(",", 1)[-1]) and len(names) < 4:
        return None
    for name in names:
        ws = name.split()
        if not 1 <= len(ws) <= 3 or not all(w[:1].isupper() for w in ws) or not check_name(name).ok:
            return None
    return names


_FOR_SERIES = re.compile(r"\b(?:for|für|pour|para|voor|dla)\s+(?P<names>[A-ZÀ-Þ][^.!?]*?[.!]?)\s*$")
_ENGRAVED_QUOTE = re.compile(r"[\"“„«](?P<q>[^\"“”„«»]{2,60})[\"”“»]")


def series_in_sentence(text: str) -> list[Draft] | None:
    """'can we get 4 medals engraved "Spelling Bee Finalist 2026" for Chloé Fontaine, Kai Nakamura-Reid,
    Priya Raman and Tom Obi.': the names the sentence ends with, each with the quoted second line."""
    m = _FOR_SERIES.search(text)
    series = name_series(m.group("names")) if m else None
    if not m or not series:
        return None
    quotes = _ENGRAVED_QUOTE.findall(text[: m.start()])
    drafts = []
    for name in series:
        d = Draft({"name": name})
        d.deduct(0.05, "one of the names a sentence ends with")
        if len(quotes) == 1:
            d.values["title"] = quotes[0].strip()
            d.reasons.append(f"second line {quotes[0].strip()!r} quoted in the same sentence")
        drafts.append(d)
    return drafts


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
    m = SIGNOFF.match(last)
    return bool(m) and not m.group("name").strip(" !.,~")  # 'Thx!!', 'Thanks so much!' – nothing after


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


def _has_given_name(tokens: list[str]) -> bool:
    """A known given name among `tokens` ('Firefighter Paramedic Jess …', 'Dr. Ana …')."""
    return any(is_given_name(t.split("-")[0]) for t in tokens if t.casefold() not in HONORIFICS)


def _own(text: str) -> list[str]:
    """Words of a person's own name, without honorifics, family words and particles ('Drs. Lisa')."""
    return [w for w in text.split() if w.casefold() not in _KIN | HONORIFICS | PARTICLES]


def _own_words(text: str) -> int:
    return len(_own(text))


def _shares_surname(first: str, second: str) -> bool:
    """'Lisa & Mark Chen', 'Francisco Javier y Ana Belén Molina': the first person's words are all
    given names (no surname of their own) and the second person's name is longer. 'Kwame O'Connor
    and Ana Lúcia Ezberri' are two people ('O'Connor' is not a given name)."""
    own, other = _own(first), _own(second)
    if not own or len(own) >= len(other):
        return False
    return len(own) == 1 or all(is_given_name(w) for w in own)


def split_and(text: str, min_core: int = 2) -> list[str] | None:
    """'Tomás Ruiz and Ingrid Bergström' → two names; 'Mr. and Mrs. Smith' stays one."""
    pieces = _AND.split(PAREN.sub("", text).strip() if text.rstrip().endswith(")") else text)
    if len(pieces) < 2:
        other = _AND_OTHER.split(text.strip())
        if len(other) < 2 or not all(len(p.split()) >= 2 and p[:1].isupper() for p in other):
            return None
        pieces = other
    if len(pieces) == 2 and len(pieces[1].split()) >= 2 and _shares_surname(pieces[0], pieces[1]):
        # 'Malcolm & Jean Burrows', 'Drs. Lisa & Mark Chen', 'Francisco Javier y Ana Belén Molina':
        # the first person has no surname of their own, so the couple shares one engraving
        return None
    if len(pieces) == 2 and all(
        _own_words(p) <= 1 and len(p.split()) >= 2 or p.split()[0].casefold() in _KIN | HONORIFICS
        for p in pieces
    ):
        return None  # 'Tía Carmen and Tío Luis', 'Don Manuel Ortega y Doña Pilar Sáez': one household
    checks = [check_name(p) for p in pieces]
    return pieces if all(c.ok and c.core >= min_core for c in checks) else None


def line_content(s: str, listed: bool) -> list[Draft] | str:
    """The items on one line of list content (marker already removed), or why there are none.

    `listed`: the line had a list marker (or follows 'names:'), so a non-name is kept as a flagged label.
    """
    s = s.strip().strip(",;").strip()
    if not s:
        return "nothing after the list marker"
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
    if (tail := _TRAILING_COUNT.search(s)) and tail.start() > 0:
        # 'Kantinedienst (2 stuks)', 'Benefactora (2 placas por favor, una es para su hija)',
        # 'Dental Assistant, make it three he keeps losing them': the remark gives this piece's count
        remark = (tail.group("paren") or tail.group("said")).strip()
        said = COUNT_IN_SENTENCE.match(remark)
        qty = next((count_value(g) for g in said.groups() if g), None) if said else None
        drafts = line_content(s[: tail.start()], listed) if qty and qty > 1 else "no count"
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
    # 'Tomasz Wiśniewski  – New Member …': a dash after the wide space separates, it is not text
    cells = [_LEAD_DASH.sub("", c) for c in COLUMNS.split(s) if c.strip()]
    cells = [c for c in cells if c.strip()]
    if len(cells) >= 2:
        d = _structured(cells, colon=False, columns=True)
        if d:
            return [d]
        s = " ".join(s.split())
    for pattern in (DASH, COLON):
        parts = [p for p in pattern.split(s) if p.strip()]
        if len(parts) >= 2:
            d = _structured(parts, colon=pattern is COLON, dashed=pattern is DASH)
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
        d = _structured(parts, colon=False)  # 'Pvt. Harold J. Becker / U.S. Army 1942–1946'
        if d:
            return [d]
    elif len(parts) == 2 and listed and parts[0][:1].isupper() and not DATE.match(parts[0].strip()):
        if check_name(parts[0]).ok and (d := _structured(parts, colon=False, columns=True)):
            # 'Mochi / The Tanakas' in a block of such lines: a pet's (or first) name, then its second line
            d.reasons.append("name / second line, the shape of the other lines of its block")
            return [d]
        # a listed 'First line / second line' whose first line is not a person ('Gold Star Mothers of
        # Clark County / In Honor of All Who Served'): kept as written, for review
        d = Draft({"name": parts[0].strip(), "title": parts[1].strip()})
        d.cap(0.6, f"{parts[0].strip()!r} is not a person's name: kept as the first line, check it")
        return [d]
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
        d = Draft({"name": s.strip()})
        d.cap(0.8, "two full names joined by '&': kept as one engraving (a couple?); or two people?")
        return [d]
    if pieces:
        drafts = [d for p in pieces if (d := _single(p, listed))]
        remark = PAREN.search(s) if s.rstrip().endswith(")") else None
        for d in drafts:
            if remark:
                d.values["note"] = remark.group(1).strip()
                d.deduct(0.05, f"moved ({remark.group(1).strip()}) out of the name into a note")
        return drafts
    d = _single(s, listed) or _trimmed(s)
    if d:
        return [d]
    if listed or set(words(s)) & _ORDER_HINTS and not set(words(s)) & _NOT_ORDER:
        found = names_in_prose(s)
        if found:
            return found
    return "chatter" if stop_count(s) else "no name found"


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


def _trimmed(s: str) -> Draft | None:
    """'oh and 2x for Wei Chen pls': a full name wrapped in a few filler words."""
    s, pronouns = split_pronouns(s)
    tokens = s.split()
    if len(tokens) > 12:
        return None
    i, j, qty = 0, len(tokens), None
    remark = PAREN.search(s) if s.rstrip().endswith(")") else None
    if remark:  # 'and Josephine (with the ph)': a remark after the name
        tokens = s[: remark.start()].split()
        j = len(tokens)
    while i < j:
        word = tokens[i].casefold().strip(",.!?;:")
        if word in _FILLER:
            i += 1
        elif qty is None and _QTY_TOKEN.match(word):
            qty = "".join(ch for ch in word if ch.isdigit())
            i += 1
        else:
            break
    while j > i and tokens[j - 1].casefold().strip(",.!?;:") in _FILLER:
        j -= 1
    if i == 0 and j == len(tokens):
        return None
    name = " ".join(tokens[i:j]).strip(",.!?;:")
    honorific = name.split()[0].casefold() in HONORIFICS if name else False
    joined = j == len(tokens) and all(t.casefold() in _JOINERS for t in tokens[:i])
    d = name_part(name, min_core=1 if honorific or joined else 2)
    if d is None or case_issue(name) == "lower":
        return None
    dropped = " ".join(tokens[:i] + ["…"] + tokens[j:])
    d.deduct(0.15, f"line had extra text: {dropped!r}")
    if qty:
        d.values["qty"] = qty
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    return d


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


def _structured(
    parts: list[str], *, colon: bool, columns: bool = False, dashed: bool = False
) -> Draft | None:
    """'Name - Title - Company', 'Name: Title', tab/wide-space columns; or 'Title - Name'."""
    if len(parts) > _MAX_FIELDS:
        return None
    qty, left = take_quantity(parts[0])
    rest = list(parts[1:])
    if (whole := quantity_only(parts[0])) and rest:  # 'qty 2 - Willow Rosenberg'
        qty, left, rest = whole, rest[0], rest[1:]
        if not rest:
            draft = name_part(left)
            if draft:
                draft.values["qty"] = qty
            return draft
    if rest and (alone := quantity_only(rest[-1])):  # 'Mrs. Ellen Ripley - 3x'
        qty, rest = qty or alone, rest[:-1]
    qty_end, last = take_quantity(rest[-1]) if rest else (None, "")
    if qty_end and last:
        rest[-1], qty = last, qty or qty_end
    draft = name_part(left, min_core=2 if colon else 1)
    if draft:
        _assign(draft, rest, columns, dashed)
        tail = rest[0] if len(rest) == 1 else ""
        tail_check = check_name(PAREN.sub("", tail).strip())
        if tail_check.ok and tail_check.core >= 2 and not columns:
            _which_is_the_name(draft, left, tail)
    elif columns and len(parts) == 2 and rest and DATE.match(left.strip()):
        # '2019–2020  Rev. Canon Peter Lyall (MBE)' on an honours board: the years, then the name
        draft = name_part(rest[0], min_core=1)
        if draft:
            draft.values["title"] = left.strip()
            draft.reasons.append(f"{left.strip()!r} in the column before the name read as the second line")
    elif len(parts) == 2 and rest and not columns:
        draft = name_part(rest[0], min_core=1 if has_title_word(left) else 2)
        if draft:
            draft.values["title"] = left.strip()
            draft.deduct(0.1, "name came after the title")
    if draft and qty:
        draft.values["qty"] = qty
    return draft


def _which_is_the_name(draft: Draft, left: str, tail: str) -> None:
    """Both sides of 'A – B' look like names: a known given name at the start of one side decides."""
    left_given, tail_given = starts_with_given_name(left), starts_with_given_name(tail)
    left_honorific = left.split()[0].casefold() in HONORIFICS if left.split() else False
    tail_honorific = tail.split()[0].casefold() in HONORIFICS if tail.split() else False
    if left_honorific and not tail_honorific:
        draft.reasons.append(f"{left.split()[0]!r} before the name; {tail!r} has no such title")
    elif left_given and not tail_given:
        draft.reasons.append(f"{draft.values['name'].split()[0]!r} is a known given name; {tail!r} is not")
    elif tail_given and not left_given and "title" in draft.values and draft.values["title"] == tail:
        name = name_part(tail, min_core=2)
        if name is None:
            draft.deduct(0.2, f"{tail!r} also looks like a name: which one is the name?")
            return
        draft.values["name"], draft.values["title"] = name.values["name"], left.strip()
        draft.reasons[:] = [r for r in draft.reasons if not r.startswith("guessed title")]
        draft.deduct(0.05, f"read as 'Title – Name': {tail.split()[0]!r} is a known given name")
    else:
        draft.deduct(0.2, f"{tail!r} also looks like a name: which one is the name?")


def _commas(parts: list[str], listed: bool) -> list[Draft] | str | None:
    if all(is_header_cell(p) for p in parts):
        return "column names without rows under them"
    if len(parts) == 2 and parts[1].casefold() in SUFFIXES:
        d = _single(f"{parts[0]}, {parts[1]}", listed)
        return [d] if d else None
    joined = f"{parts[0]}, {parts[1]}"
    if last_first(joined):
        d = name_part(joined)
        if d and len(parts) <= _MAX_FIELDS and (len(parts) == 2 or not _is_name_list(parts[2:], min_core=1)):
            _assign(d, parts[2:])
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
        _assign(head, parts[1:])
        return [head]
    if head and len(parts) == 2 and not _has_given_name(second.split()) and not split_and(second, min_core=1):
        # 'Hyun-woo & Soo-jin Park, Together Forever': no given name after the comma
        _assign(head, [second])
        head.cap(0.8, f"{second!r} read as the second line (no given name in it); or a second person?")
        return [head]
    drafts: list[Draft] = []
    junk: list[str] = []
    for part in parts:
        part = _LEADING_JOINER.sub("", part)
        for p in split_and(part, min_core=1) or [part]:
            d = _single(p, listed=True) or _trimmed(p)
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


def _single(s: str, listed: bool) -> Draft | None:
    """One segment: a name (with quantity, pronouns, brackets) or, in a list, a label."""
    qty, s = take_quantity(s)
    s, pronouns = split_pronouns(s)
    m = QUOTED_LABEL.match(s.strip())
    if m:
        inner = m.group(1).strip()
        d = Draft({"name": inner})
        check = check_name(inner)
        if check.ok and check.core >= 2:
            d.deduct(0.15, "the name was in quotes")
        else:
            d.label = True
            d.cap(0.5, "quoted label, probably not a person's name")
    else:
        d = name_part(s)
        if d is None:
            s = s.strip().strip(".,;!")
            if not listed or not s or not any(ch.isalpha() for ch in s) or stop_count(s) > 1:
                return None
            d = Draft({"name": s}, label=True)
            d.cap(0.5, f"does not look like a person's name ({check_name(s).why})")
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    if qty:
        d.values["qty"] = qty
    return d


def name_part(text: str, min_core: int = 1) -> Draft | None:
    """A draft whose name is `text` (pronouns, brackets, jersey number taken off), or None."""
    text, pronouns = split_pronouns(text.strip())
    email = None
    if m := EMAIL_IN.search(text):
        email = m.group(0)
        text = re.sub(r"[<(\[]\s*$", "", text[: m.start()]) + re.sub(r"^\s*[>)\]]", "", text[m.end() :])
    extras: list[str] = []
    postnominal = ""
    for m in reversed(list(PAREN.finditer(text))):
        if text[m.end() :].strip() and m.start() > 0:
            continue  # a nickname inside the name stays: William (Bill) Turner
        if _POSTNOMINAL.match(m.group(1).strip()) and not text[m.end() :].strip():
            postnominal = f" ({m.group(1).strip()})"  # 'Dr Samuel Okonkwo (OBE)': engraved as written
            text = text[: m.start()].rstrip()
            continue
        extras.insert(0, m.group(1).strip())
        text = text[: m.start()] + text[m.end() :]
    number = None
    if m := JERSEY.search(text):
        number, text = m.group(0).strip(), text[: m.start()]  # '#7' as written
    text = " ".join(text.split()).strip(" ,;")
    reordered = last_first(text)
    name = reordered or text
    check = check_name(name)
    if not check.ok or check.core < min_core or EMAIL_IN.search(name) or URL_IN.search(name):
        return None
    d = Draft({"name": name + postnominal})
    if joiner := _AND.search(name) or _AND_OTHER.search(name):
        first = name[: joiner.start()]
        if len(_own(first)) >= 2 and _shares_surname(first, name[joiner.end() :]):
            # 'Francisco Javier y Ana Belén Molina' or 'Maria Vivi and Ana Lúcia Toho': the words of
            # the first name are all given names, so it was read as sharing the second's surname
            d.cap(
                0.8,
                f"two names joined by {joiner.group(0).strip()!r}: kept as one couple sharing the surname"
                f" ({first.strip()!r} read as given names only); or two people?",
            )
        else:
            d.reasons.append(f"two names joined by {joiner.group(0).strip()!r}: kept as one couple")
    if postnominal:
        d.reasons.append(f"post-nominal letters{postnominal} kept with the name, as written")
    if reordered:
        d.deduct(0.15, "reordered Last, First")
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    if number:
        d.values["number"] = number
    if email:
        d.values["email"] = email
    for extra in filter(None, extras):
        qty, rest = take_quantity(f"({extra})")
        if qty and not rest:
            d.values["qty"] = qty
        elif has_title_word(extra) and "title" not in d.values:
            d.values["title"] = extra
            d.reasons.append(f"title taken from brackets: ({extra})")
        else:
            d.values["note"] = f"{d.values['note']}; {extra}" if "note" in d.values else extra
            d.deduct(0.05, f"moved ({extra}) out of the name into a note")
    issue = case_issue(name)
    if issue == "lower":
        d.deduct(0.05, "name is all lower-case (kept as typed)")
    elif issue == "upper":
        d.deduct(0.05, "name is all capitals (kept as typed)")
    return d


def _assign(d: Draft, parts: list[str], columns: bool = False, dashed: bool = False) -> None:
    """Put the parts after a name into title / company / phone / email / date / note.

    After a dash ('Name – U.S. Army, 1984–2012') the rest is one second line, commas and all, unless
    a comma sets off contact details or a company."""
    pieces = [q for p in parts for q in (split_outside(p) if not columns else [p]) if q.strip()]
    if dashed and len(parts) == 1 and len(pieces) > 1:
        tail = [q.strip() for q in pieces[1:]]
        # a company is an organisation's name of two words or more, not a sport ('Class of 1978, Football')
        contact = [
            is_phone(q)
            or EMAIL.match(q)
            or (has_org_word(q) and not has_title_word(q) and len(q.split()) > 1)
            for q in tail
        ]
        if not any(contact):
            pieces = [parts[0]]
    notes: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if (m := _COUNT_REMARK.search(piece)) and m.start() > 0:
            # 'Dental Nurse (x2 please, she works at both sites)': the count and remark come off
            d.values["qty"] = next(g for g in m.groups() if g)
            notes.append(m.group(0).strip().strip("()"))
            d.reasons.append(f"quantity {d.values['qty']} from the remark {m.group(0).strip()!r}")
            piece = piece[: m.start()].strip()
        if is_phone(piece):
            key = "phone"
        elif EMAIL.match(piece):
            key = "email"
        elif DATE.match(piece):
            key = "date"
        elif has_org_word(piece) and not has_title_word(piece):
            key = "company"
        else:
            key = "title"
        if key == "title" and "title" in d.values:
            key = "company"
        if key in d.values:
            key = "note"
        if key == "title" and not has_title_word(piece):
            d.deduct(0.05, f"guessed title: {piece!r}")
        if key == "note":
            notes.append(piece)
        else:
            d.values[key] = piece
    if notes:
        d.values["note"] = "; ".join(notes)
