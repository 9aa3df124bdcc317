"""Order-level instructions written around the list: corrections, removals, additions and counts.

Customers fix their lists in words after (or above) them: "oops, Jon should be John", "Catherine
spelled Zoltan wrong, it's Zoltán", "Rob's should say Robert Lister", "scratch Megan", "please drop
Tom", "please also add Priya Raman – Innovation Award". The lines themselves are not items (they are
sentences), so the line reader skips them; this pass finds the sentences, reads them against the
items already found and applies each one (corrections.py) only when it names exactly the item(s) it
changes. Every change keeps its evidence (the sentence) in the item's reasons; an instruction that
mentions an item but cannot be applied flags that item for review instead of being ignored. Counts
('we need 2 of Ana's') and a quoted second line for every piece are read here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .corrections import (
    QUOTED,
    QUOTES,
    accent_fix,
    addition,
    flag_mentions,
    fuller_from_prose,
    fuller_name,
    one_more,
    reassign,
    remove,
    rename,
    replace_name,
    resurname,
    retitle,
    retitle_person,
    split_couple,
)
from .lexicon import HONORIFICS, STOPWORDS, check_name
from .lines import CHAT_SENDER
from .model import ParsedItem, SkippedLine
from .quantities import COUNT_IN_SENTENCE, EACH, count_value

_WORD = r"[^\W\d_][\w'’\-]*"
_NAME = rf"(?:(?:Dr|Mr|Mrs|Ms|Mx|Prof|Fr|Rev|Capt|Sgt|Lt)\.?\s+)?{_WORD}(?:\s+{_WORD}){{0,3}}"
_RENAME = (
    # 'Jon should be John', "Rob's should say Robert Lister", 'Zoltan should read Zoltán'
    re.compile(
        rf"\b(?P<old>{_WORD})(?:'s|’s)?\s+(?:should|must|needs to)\s+(?:be|say|read)\s+(?P<new>{_NAME})",
    ),
    # 'spelled Zoltan wrong, it's Zoltán'
    re.compile(rf"\bspel(?:led|t)\s+(?P<old>{_WORD})\s+wrong\W+(?:it'?s|it’s|should be)\s+(?P<new>{_NAME})"),
    # 'change Jon to John', 'not Jon but John'
    re.compile(rf"\bchange\s+(?P<old>{_WORD})\s+to\s+(?P<new>{_NAME})", re.IGNORECASE),
    re.compile(rf"\bnot\s+(?P<old>{_WORD})\s*,?\s+but\s+(?P<new>{_NAME})"),
)
# 'it's "Siobhan" not "Shivon"', 'say "Head Coach" not "Coach"', 'sorry Priya not Pria!!'
_NEW_NOT_OLD = (
    re.compile(
        rf"[{QUOTES}](?P<new>[^{QUOTES}]{{1,60}})[{QUOTES}]\s*,?\s+(?:not|instead of|rather than)\s+"
        rf"[{QUOTES}](?P<old>[^{QUOTES}]{{1,60}})[{QUOTES}]"
    ),
    re.compile(
        rf"(?<![{QUOTES}\w])(?P<new>[A-ZÀ-Þ][\w'’\-]+)\s*,?\s+not\s+(?P<old>[A-ZÀ-Þ][\w'’\-]+)(?![{QUOTES}\w])"
    ),
)
# 'Mariel would like her full name on it: Mariel Santos-Whitaker'
# "it's Siobhán Ní Bhriain, with the fadas, not Siobhan Ni Bhriain"
_ITS_NOT = re.compile(
    rf"\bit(?:'|’)?s\s+(?P<new>{_NAME})\s*,?(?:\s[^,.;]{{1,40}},)?\s+not\s+(?P<old>{_NAME})"
)
# "it's Mateo with no accent on the e": a listed word spelled again with other accents or capitals
_ITS_WORD = re.compile(r"\bit(?:'|’)?s\s+(?P<word>[A-ZÀ-Þ][\w'’\-]+)")
_FULL_NAME = re.compile(rf"\bfull\s+name\b[^:]*:\s*(?P<new>{_NAME})")
# "Holly's surname is Brennan-Shaw with the hyphen", "Ana's last name should be Ruiz"
_SURNAME = re.compile(
    rf"\b(?P<who>{_WORD})(?:'s|’s)\s+(?:sur|last\s*|family\s*)name\s+(?:is|should\s+be|=)\s+(?P<new>[A-ZÀ-Þ][\w'’\-]*)"
)
_REMOVE = re.compile(
    rf"\b(?:scratch|scrap|strike|drop|remove|delete|cancel|take\s+(?:off|out)|leave\s+(?:off|out)|cross\s+(?:off|out)"
    rf"|no\s+(?:plate|badge|trophy|plaque|medal)\s+for|streichen|quitar|eliminar|supprimer|usuń|verwijder)"
    rf"\s+(?P<who>{_NAME})",
    re.IGNORECASE,
)
_ADD = re.compile(
    r"\b(?:also\s+)?add(?:\s+(?:one|another)\s+more)?(?:\s+(?:one|another))?\s*[:,]?\s+(?:for\s+)?(?P<rest>.+)$",
    re.IGNORECASE,
)
# 'Jack and Ollie want separate plates', 'one each for Ana & Luis'
_SPLIT = re.compile(
    rf"\b(?P<a>{_WORD})\s+(?:and|&)\s+(?P<b>{_WORD})\b[^.]*?\b(?:separate|one\s+each|individual|split)\b"
)
# "Players' Player goes to Ffion Tudor instead", 'give Most Improved to Kasia Nowicka'
_REASSIGN = re.compile(
    rf"(?P<title>[A-Z][\w'’]*(?:\s+[\w'’]+){{0,4}}?)\s+(?:goes|go|should\s+go)\s+to\s+(?P<name>{_NAME})"
)
_THESE = re.compile(r"\bof\s+(?:these|this|those|them)\b|\bde\s+(?:estos|estas|ces)\b", re.IGNORECASE)
_CHAT_HEAD = re.compile(r"^\[[^\]]{1,40}\]\s*[^:\[\]]{1,40}:\s+")
# chat additions: 'oh and Alfie too, he starts in April', 'also Jonas Berg as well'
# 'Plus one for me — Coach Mike Dunleavy, no number, just "Head Coach" on line two.'
_ONE_FOR = re.compile(
    r"\b(?:plus|and|also)\s+one\s+(?:more\s+)?for\s+(?:me|him|her|us|our\s+\w+|the\s+\w+)\s*[—–:-]\s*(?P<rest>.+)$",
    re.IGNORECASE,
)
_ALSO = re.compile(
    r"^(?:(?:oh|ah|and|also|plus|p\.?s\.?)\b[\s,]*)+(?P<who>[A-ZÀ-Þ][\w'’\-]+(?:\s+(?:(?:and|&)\s+)?[A-ZÀ-Þ][\w'’\-]+){0,3})"
    r"\s+(?:too|as\s+well)\b"
)
_INSTRUCTION = re.compile(
    r"\b(?:should|instead|spel(?:led|t)|typo|correct(?:ion)?|fix|change|rename|replace|scratch|scrap|drop"
    r"|remove|delete|cancel|no longer|actually|full name|accent|add|separate|one each|split|not|too"
    r"|surname|last name|middle (?:name|initial))\b",
    re.IGNORECASE,
)


@dataclass
class Sentence:
    line: int
    text: str


# the end of a sentence, not the dot of 'Dr.', 'Mrs.' or an initial
_SENTENCE_END = re.compile(r"(?<!\b[A-Z][a-z]\.)(?<!\b[A-Z]\.)(?<!\bMrs\.)(?<!\bProf\.)(?<=[.!?;])\s+")


def sentences(lines: list[str], candidates: set[int]) -> list[Sentence]:
    """The sentences of the skipped lines that may be instructions (1-based line numbers)."""
    out: list[Sentence] = []
    for no in sorted(candidates):
        text = re.sub(r"^(?:\s*>)+\s?", "", lines[no - 1]).strip().lstrip("-•*– ").strip()
        text = CHAT_SENDER.sub("", _CHAT_HEAD.sub("", text))
        for part in _SENTENCE_END.split(text):
            if part and (_INSTRUCTION.search(part) or _ONE_FOR.search(part)):
                out.append(Sentence(no, part))
    return out


def count_sentences(lines: list[str], candidates: set[int]) -> list[Sentence]:
    """Sentences of the skipped lines that give a count ('Van Sanne hebben we er 2 nodig')."""
    out: list[Sentence] = []
    for no in sorted(candidates):
        text = CHAT_SENDER.sub("", _CHAT_HEAD.sub("", re.sub(r"^(?:\s*>)+\s?", "", lines[no - 1]).strip()))
        for part in _SENTENCE_END.split(text):
            if COUNT_IN_SENTENCE.search(part):
                out.append(Sentence(no, part))
    return out


_PER_COUPLE = re.compile(
    r"\b(?:per|each|every|a|por|pro|par|na)\s+(?:couple|pair|pareja|matrimonio|paar|ehepaar|echtpaar|stel"
    r"|casal|coppia|parę|małżeństwo)\b|\bthe couples\b|\bvoor de echtparen\b",
    re.I,
)
_COUPLE_NAME = re.compile(r"\s(?:&|and|\+|y|et|und|e|i|en)\s")


def _count_for_one(items: list[ParsedItem], text: str, line: int, last: set[str]) -> set[str]:
    """A count in a sentence that names exactly one item (by its name, or by its second line) sets
    that item's quantity; a sentence that names none but follows one that did ('actually make it
    three') changes the same item; 'two of each' sets every piece's. Returns the names it was about."""
    counts = [
        count_value(m.group("n") or m.group("m") or m.group("k") or m.group("j") or m.group("p")) or 0
        for m in COUNT_IN_SENTENCE.finditer(text)
    ]
    count = next((c for c in counts if c >= 2), 0)  # 'a spare for Luna …, so 2 of hers': the 2
    if not count:
        return set()
    named = {
        it.values["name"]
        for it in items
        if it.values.get("name")
        and any(
            re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)
            for w in it.values["name"].split()[:1]
            if len(w) >= 3 and w[:1].isupper() and w.casefold() not in STOPWORDS | HONORIFICS
        )
    }
    how = "from the sentence"
    if not named:  # 'Voor de Jansens hebben we er 2 nodig': a family name, plural or possessive
        named = {
            it.values["name"]
            for it in items
            if any(
                re.search(rf"(?<!\w){re.escape(w)}(?:s|'s|’s|es)?(?!\w)", text)
                for w in it.values.get("name", "").split()[1:]
                if len(w) >= 3 and w[:1].isupper()
            )
        }
        how = "from the sentence naming its family name"
    if not named:  # 'Para el Máximo Goleador necesitamos 2 placas': the piece named by its second line
        named = {it.values["name"] for it in items if _names_second_line(it, text)}
        how = "from the sentence naming its second line"
    if not named and last:
        named, how = last, "from the sentence after the one that named it"
    if not named and len({it.values.get("name") for it in items}) == 1 and not EACH.search(text):
        # 'Preciso de duas placas iguais' in an order of one engraving: that one
        named, how = {items[0].values.get("name", "")} - {""}, "for the order's only piece"
    above = [it for it in items if it.source_line and it.source_line < line]
    if not named and above and (_THESE.search(text) or above[-1].source_line == line - 1):
        # 'We need 80 of these please.' under the piece, or '* needs 2 copies' on the line under it
        named, how = {above[-1].values.get("name", "")} - {""}, "for the piece right above the sentence"
    if not named and _PER_COUPLE.search(text):
        # 'the couples get two boxes each (so 2 per couple)': the pieces that are two people
        for item in items:
            if "qty" not in item.values and _COUPLE_NAME.search(item.values.get("name", "")):
                item.values["qty"] = str(count)
                item.reasons.append(f"quantity {count} for each couple, as the order says: {text!r}")
        return set()
    if not named and EACH.search(text):
        for item in items:
            if "qty" not in item.values:
                item.values["qty"] = str(count)
                item.reasons.append(f"quantity {count} for every piece, as the order says: {text!r}")
        return set()
    if len(named) != 1:
        return set()
    (name,) = named
    if sum(it.values.get("name") == name for it in items) >= count:
        return named  # the pieces are there already (an award given to them, a line of its own)
    for item in items:
        if item.values.get("name") in named and ("qty" not in item.values or _from_sentence(item)):
            item.values["qty"] = str(count)
            item.reasons.append(f"quantity {count} {how}: {text!r}")
            if "right above" in how and not _THESE.search(text) and len(text.split()) > 6:
                item.cap(0.8, "which piece this count is for is guessed from where the sentence stands")
    return named


def _names_second_line(item: ParsedItem, text: str) -> bool:
    """The sentence names the item's second line ('the Victoria Cross plaque'), or its last two words
    or more ('per il doppio misto' for 'Vincitori Doppio Misto'), in any case."""
    line = item.values.get("title") or item.values.get("note") or ""
    words, low = line.casefold().split(), text.casefold()
    for k in range(len(words)):
        tail = " ".join(words[k:])
        if (
            (k == 0 or len(words) - k >= 2)
            and len(tail) >= 4
            and re.search(rf"(?<!\w){re.escape(tail)}(?!\w)", low)
        ):
            return True
    return False


def _from_sentence(item: ParsedItem) -> bool:
    return any(r.startswith("quantity ") and "sentence" in r for r in item.reasons)


def _correct_names(items: list[ParsedItem], text: str) -> None:
    """The corrections a sentence makes to names and second lines, in place ('Jon should be John',
    '"Siobhan" not "Shivon"', "it's Mateo with no accent", "Holly's surname is Brennan-Shaw" …)."""
    for pattern in _RENAME:
        for m in pattern.finditer(text):
            if not retitle_person(items, m.group("old"), text[m.start("new") :], text):
                rename(items, m.group("old"), m.group("new").strip(), text)
    for pattern in _NEW_NOT_OLD:
        for m in pattern.finditer(text):
            new, old = m.group("new").strip(), m.group("old").strip()
            if not retitle(items, old, new, text) and len(old.split()) == 1:
                rename(items, old, new, text)
    for m in _ITS_NOT.finditer(text):
        replace_name(items, m.group("old").strip(), m.group("new").strip(), text)
    for m in _ITS_WORD.finditer(text):
        accent_fix(items, m.group("word"), text)
    for m in _FULL_NAME.finditer(text):
        new = m.group("new").strip()
        rename(items, new.split()[0], new, text)
    for m in _SURNAME.finditer(text):
        resurname(items, m.group("who"), m.group("new"), text)
    for m in QUOTED.finditer(text):
        fuller_name(items, m.group("q").strip(), text)


def apply_instructions(
    items: list[ParsedItem], lines: list[str], skipped: list[SkippedLine]
) -> list[ParsedItem]:
    """Apply the corrections, removals and additions written in the order's skipped lines."""
    if not items:
        return items
    used = {it.source_line for it in items}
    candidates = {s.line for s in skipped if s.line and s.line not in used and _is_prose(s.why)}
    # a sentence read as a quoted engraving may be an addition that names its person
    quoted_only = {
        it.source_line: it
        for it in items
        if it.source_line and any(r.startswith("the quoted text is the engraving") for r in it.reasons)
    }
    candidates |= set(quoted_only)
    removed: dict[str, int] = {}  # a removed piece's second line → where it stood
    for sentence in sentences(lines, candidates):
        text = sentence.text
        _correct_names(items, text)
        for m in _REMOVE.finditer(text):
            before = list(items)
            items = remove(items, m.group("who"), text, sentence.line, skipped)
            for k, item in enumerate(before):
                if item not in items and item.values.get("title"):
                    removed[item.values["title"]] = k
        for m in _REASSIGN.finditer(text):
            items = reassign(items, m.group("title").strip(), m.group("name"), text, removed)
        for m in _SPLIT.finditer(text):
            items = split_couple(items, m.group("a"), m.group("b"), text)
        single = sum(len(it.values.get("name", "").split()) == 1 for it in items) * 2 >= len(items)
        one_for = _ONE_FOR.search(text)
        if one_for:
            added = one_more(one_for.group("rest"), text, sentence.line)
            if added and not any(it.values.get("name") == added.values["name"] for it in items):
                stale = quoted_only.get(sentence.line)
                if stale is not None and stale.values.get("name") == added.values.get("title"):
                    items = [it for it in items if it is not stale]
                items.append(added)
                continue
        adding = _ADD.search(text) or _ALSO.search(text)
        if adding:
            rest = adding.group("rest") if "rest" in adding.groupdict() else adding.group("who")
            # 'oh and Björn and Anaïs too' in a list of first names: two more pieces
            names = (
                re.split(r"\s+(?:and|&)\s+", rest) if single and "rest" not in adding.groupdict() else [rest]
            )
            for name in names:
                added = addition(name, text, sentence.line, min_core=1 if single else 2)
                if added and not any(it.values.get("name") == added.values["name"] for it in items):
                    items.append(added)
        flag_mentions(items, text)
    items = fuller_from_prose(items, lines)
    items = _shared_lines(items, lines, candidates, skipped)
    last: set[str] = set()
    last_line = 0
    for sentence in count_sentences(lines, candidates):
        about = _count_for_one(
            items, sentence.text, sentence.line, last if sentence.line - last_line <= 2 else set()
        )
        if about:
            last, last_line = about, sentence.line
    return items


# words saying a quoted text goes on every piece, under the name
_EVERY = re.compile(
    r"\b(?:second line|line 2|2nd line|under(?:neath)?|below|bottom|every|each|all of (?:these|them)"
    r"|on all|everyone"
    r"|debajo|cada|todas?|darunter|unter dem namen|jede[nrs]?|en dessous|chaque|tous|toutes|pod spodem"
    r"|każd\w*|wszystk\w*|onder|elke|sotto|ogni|tutt[ei])\b",
    re.IGNORECASE,
)
# an unquoted number ending the sentence that says it goes on every piece: 'my mobile on the back —
# same number on all of them: 07700 900 461'
_SHARED_VALUE = re.compile(r":\s*(?P<q>\+?\d[\d ().\-/]{5,20}\d)\s*$")
_INSTEAD = re.compile(r"\b(?:instead|rather than|en lugar|statt|au lieu)\b", re.IGNORECASE)


def _shared_lines(
    items: list[ParsedItem], lines: list[str], candidates: set[int], skipped: list[SkippedLine]
) -> list[ParsedItem]:
    """'All of these get "Volunteer of the Year 2026" on the second line', 'Cada placa lleva el nombre
    y debajo "Miembros Fundadores 1976"': a quoted text said to go on every piece is the title of the
    pieces that have none; '… the Key Club one should say "…" instead' gives one piece its own."""
    # a sentence read as one item because of its quoted text ('… Second line for everyone: "…"')
    sentence_items = {
        it.source_line: it
        for it in items
        if it.source_line
        and (name := it.values.get("name", ""))
        and any(
            m.group("q").strip() in (name, it.values.get("title"))
            for m in QUOTED.finditer(lines[it.source_line - 1])
        )
        and len(lines[it.source_line - 1]) > len(name) + 20
    }
    # lines holding items and a quoted second line ('… A, B and C. "Barista" underneath on all four')
    quoting = {it.source_line for it in items if it.source_line and QUOTED.search(lines[it.source_line - 1])}
    rest = [it for it in items if it.source_line not in sentence_items]
    if not rest or sum("title" in it.values for it in rest) * 2 > len(rest):
        return items
    names = {it.values.get("name", "") for it in rest}
    for no in sorted(candidates | set(sentence_items) | quoting):
        text = re.sub(r"^(?:\s*>)+\s?", "", lines[no - 1]).strip()
        parts = _SENTENCE_END.split(text)
        for k, part in enumerate(parts):
            for m in [*QUOTED.finditer(part), *_SHARED_VALUE.finditer(part)]:
                quoted = m.group("q").strip()
                if quoted in names or check_name(quoted).ok and check_name(quoted).core >= 2:
                    continue  # a name in quotes is a correction, not a second line
                context = part if part.strip() != m.group(0) or k == 0 else f"{parts[k - 1]} {part}"
                if _INSTEAD.search(context):
                    who = [it for it in items if _mentions_in(it, context[: m.start()])]
                    if len(who) == 1:
                        who[0].values["title"] = quoted
                        who[0].reasons.append(f"second line {quoted!r} from the sentence: {context!r}")
                    continue
                if not _EVERY.search(context):
                    continue
                if no in sentence_items:
                    items = [it for it in items if it is not sentence_items[no]]
                    skipped.append(SkippedLine(lines[no - 1].strip(), "a second line for every piece", no))
                for it in items:
                    if "title" not in it.values and "name" in it.values:
                        it.values["title"] = quoted
                        it.reasons.append(f"second line {quoted!r} for every piece, from: {context!r}")
    return items


def _mentions_in(item: ParsedItem, text: str) -> bool:
    """The item's name shares a capitalised word (not its first) with `text`: 'the Key Club one'."""
    ws = [w for w in re.findall(r"[^\W\d_][\w'’-]+", item.values.get("name", "")) if w[:1].isupper()]
    return any(re.search(rf"\b{re.escape(w)}\b", text) for w in ws[1:])


def _is_prose(why: str) -> bool:
    return why in (
        "greeting",
        "an instruction about the list",
        "chatter",
        "no name found",
        "not used",
        "mentions a name but is not part of the list",
        "a count for a piece",
        "mentions a piece already listed",
    ) or ("quoted" in why or "introduces" in why)


def is_instruction(line: str) -> bool:
    """A sentence that changes the list ('Jon should be John', 'scratch Megan', 'please also add …')."""
    text = line.strip().lstrip("-•*– ").strip()
    if len(text.split()) < 3:
        return False
    if any(p.search(text) for p in (*_RENAME, *_NEW_NOT_OLD, _FULL_NAME, _ITS_NOT)) or _REMOVE.search(text):
        return True
    adding = _ADD.search(text)
    return (adding is not None and adding.start() < 20) or bool(_ALSO.search(text))  # 'add …' near the start
