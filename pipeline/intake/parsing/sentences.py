"""Pieces described in a sentence: 'two plaques for Margaret Ellison, "In Recognition of …"',
'one plaque for Reverend Thomas Abbott saying "With Gratitude"', 'four identical plates for the
women's crew: "Women's Coxless Four" with "Henley 2024" underneath'.

A count, a piece word and 'for' open a piece; quoted text is what is engraved. When a name stands
between 'for' and the first quote, the quote is its second line; when what stands there is no name
('the pew ends', 'the women's crew'), the first quote is the engraving itself and a second quote, if
any, its second line. Each piece keeps the words it was read from in its reasons.
"""

from __future__ import annotations

import re

from .drafts import Draft
from .lexicon import check_name
from .lines import NAME_LIST_SEP
from .people import starts_with_given_name
from .quantities import COUNT_FOR, count_value

_OPENER = re.compile(COUNT_FOR.pattern.lstrip("^"), re.IGNORECASE)
_QUOTED = re.compile(r"[\"“„«]([^\"“”„«»]+)[\"”“»]")
_LEAD_OUT = re.compile(
    r"(?:[,:;–—-]|\b(?:saying|reading|that\s+says|which\s+says|with|engraved|just\s+the\s+one\s+line))*\s*$",
    re.IGNORECASE,
)


def pieces_in_sentence(text: str) -> list[Draft]:
    """The pieces a sentence orders with a count and quoted engraving text (or a person's full
    name right after 'for': 'necesitamos dos placas para Nuria Gómez (Directora de Operaciones)'),
    or [] when none."""
    openers = list(_OPENER.finditer(text))
    drafts: list[Draft] = []
    for k, m in enumerate(openers):
        end = openers[k + 1].start() if k + 1 < len(openers) else len(text)
        segment = text[m.end() : end]
        count = count_value(m.group("n")) or 1
        group = _people_then_quote(
            segment
        )  # 'two for the captains, Aisha Rahman and Leo Park — both just saying "Captain"'
        draft = None if group else _piece(segment)
        if draft is None:
            listed = group or _people_listed(
                segment
            )  # 'one each for our nurses Margaret Hale, Ruth Ellison and …'
            for d in listed:
                d.reasons.append(f"read from the sentence: {text[m.start() : end].strip()!r}")
            drafts.extend(listed)
            continue
        if count > 1:
            draft.values["qty"] = str(count)
        draft.reasons.append(f"read from the sentence: {text[m.start() : end].strip()!r}")
        drafts.append(draft)
    found = {d.values["name"] for d in drafts}
    named = [d for d in _named_then_quote(text) if d.values["name"] not in found]
    return sorted(drafts + named, key=lambda d: text.find(d.values["name"]))  # in the order written


def _piece(segment: str) -> Draft | None:
    quotes = _QUOTED.findall(segment)
    if not quotes:
        return _person(segment)
    first = _QUOTED.search(segment)
    assert first is not None
    before = _lead_out(segment[: first.start()])
    tail = before.rsplit(",", 1)[-1].strip()
    if "," in before and not check_name(before).ok and check_name(tail).ok and check_name(tail).core >= 2:
        before = tail  # 'the deputy, Mr. Alan Price, saying "…"'
    check = check_name(before) if before and before[:1].isupper() else None
    if check and check.ok and (check.core >= 2 or starts_with_given_name(before)):
        d = Draft({"name": before, "title": quotes[0].strip()})
        d.confidence = 0.9
        return d
    if before and len(before.split()) > 8:
        return None
    values = {"name": quotes[0].strip()}
    if len(quotes) > 1:
        values["title"] = quotes[1].strip()
    d = Draft(values)
    d.cap(0.85, "the quoted text is the engraving (no person named)")
    return d


_DASH_CUT = re.compile(r"\s[–—-]\s")


def _people_then_quote(segment: str) -> list[Draft]:
    """Several full names before one quoted wording: each gets it as its second line."""
    first = _QUOTED.search(segment)
    if not first:
        return []
    before = _DASH_CUT.split(segment[: first.start()])[0]
    people = _people_listed(before)
    for d in people:
        d.values["title"] = first.group(1).strip()
    return people if len(people) >= 2 else []


def _lead_out(text: str) -> str:
    text = text.strip()
    while True:
        trimmed = _LEAD_OUT.sub("", text).strip()
        if trimmed == text:
            return text
        text = trimmed


_NAME_RUN = re.compile(r"^((?:[^\W\d_][\w'’.-]*)(?:\s+(?:[^\W\d_][\w'’.-]*)){1,4})(?:\s*\(([^()]+)\))?")


_DASH_TITLE = re.compile(r"^\s*(?:[–—:]|\s-)\s*([^.;]+?)\s*[.;]?$")


def _person(segment: str) -> Draft | None:
    """'Nuria Gómez (Directora de Operaciones), una para ella …': a full name, and a bracketed title."""
    m = _NAME_RUN.match(segment.strip())
    if not m:
        return None
    words = m.group(1).split()
    while words and not words[-1][:1].isupper():
        words.pop()
    name = " ".join(words).rstrip(".,")
    check = check_name(name)
    if not (check.ok and check.core >= 2 and starts_with_given_name(name)):
        return None
    d = Draft({"name": name})
    if m.group(2) and len(words) == len(m.group(1).split()):
        d.values["title"] = m.group(2).strip()
    elif tail := _DASH_TITLE.match(segment.strip()[len(name) :]):
        d.values["title"] = tail.group(1).strip()
    d.cap(0.85, "a full name after a count in a sentence")
    return d


_SENTENCE_END = re.compile(r"[.?!](?:\s|$)")


def _people_listed(segment: str) -> list[Draft]:
    """Full names listed at the end of the words after 'for' (up to the sentence's end): 'our
    retiring nurses Margaret Hale, Ruth Ellison and Consuelo Marín'. Each is one piece."""
    end = _SENTENCE_END.search(segment)
    parts = [p.strip() for p in NAME_LIST_SEP.split(segment[: end.start()] if end else segment) if p.strip()]
    if len(parts) < 2:
        return []
    words = parts[0].split()
    while words and not words[0][:1].isupper():
        words.pop(0)  # 'our retiring nurses Margaret Hale' → 'Margaret Hale'
    parts[0] = " ".join(words)
    if not parts[0]:  # 'the captains, Aisha Rahman and Leo Park'
        parts = parts[1:]
    if len(parts) < 2:
        return []
    checks = [check_name(p) for p in parts]
    if not all(c.ok and c.core >= 2 for c in checks) or not starts_with_given_name(parts[0]):
        return []
    drafts = []
    for name in parts:
        d = Draft({"name": name})
        d.cap(0.85, "a full name listed after a count in a sentence")
        drafts.append(d)
    return drafts


_NAME_IS = re.compile(
    r"\b(?:name\s+is\s+|named\s+|called\s+|for\s+(?:our|the|my|his|her|their)\s+(?:[a-z]+\s+){0,3})"
    r"(?P<name>(?:(?:Mrs?|Ms|Dr|Prof|Mx|Rev|Sir|Dame)\.?\s+)?[A-ZÀ-Þ][\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]+){1,3})"
    r"[^\"“„«]{0,80}?\b(?:say|says|saying|read|reads|reading|with)\b\W{0,3}[\"“„«](?P<quote>[^\"“”„«»]+)[\"”“»]"
)


def _named_then_quote(text: str) -> list[Draft]:
    """'Her name is Mrs. Gwen Hollister and the plaque should say "Thank you for 32 years"': a
    person named in a sentence, and the quoted words their piece should say."""
    drafts = []
    for m in _NAME_IS.finditer(text):
        name = m.group("name").strip()
        check = check_name(name)
        if check.ok and check.core >= 2 and starts_with_given_name(name):
            d = Draft({"name": name, "title": m.group("quote").strip()})
            d.cap(0.85, f"a name and its wording read from a sentence: {m.group(0).strip()!r}")
            drafts.append(d)
    return drafts


def extend_titles(text: str, titles: set[str]) -> dict[str, str]:
    """'… y debajo "Campeones Torneo de Primavera" o "Subcampeonas Torneo de Primavera"': each quote
    starts with a second line already read ('Campeones'); the quote is that line written out in full.
    Returns {old title: new title} when every quote extends one, else {}."""
    quotes = [q.strip() for q in _QUOTED.findall(text)]
    found: dict[str, str] = {}
    for quote in quotes:
        bases = [t for t in titles if t and quote.casefold().startswith(t.casefold() + " ")]
        if len(bases) != 1:
            return {}
        found[bases[0]] = quote
    return found
