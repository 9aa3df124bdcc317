"""Order-level instructions written around the list: corrections, removals and additions.

Customers fix their lists in words after (or above) them: "oops, Jon should be John", "Catherine
spelled Zoltan wrong, it's Zoltán", "Rob's should say Robert Lister", "scratch Megan", "please drop
Tom", "please also add Priya Raman – Innovation Award". The lines themselves are not items (they are
sentences), so the line reader skips them; this pass reads them against the items already found and
applies each one only when it names exactly the item(s) it changes. Every change keeps its evidence
(the sentence) in the item's reasons; an instruction that mentions an item but cannot be applied
flags that item for review instead of being ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .lexicon import HONORIFICS, STOPWORDS, check_name
from .lines import CHAT_SENDER
from .model import ParsedItem, SkippedLine
from .people import starts_with_given_name
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
_Q = "\"“”'‘’«»„"
# 'it's "Siobhan" not "Shivon"', 'say "Head Coach" not "Coach"', 'sorry Priya not Pria!!'
_NEW_NOT_OLD = (
    re.compile(
        rf"[{_Q}](?P<new>[^{_Q}]{{1,60}})[{_Q}]\s*,?\s+(?:not|instead of|rather than)\s+"
        rf"[{_Q}](?P<old>[^{_Q}]{{1,60}})[{_Q}]"
    ),
    re.compile(
        rf"(?<![{_Q}\w])(?P<new>[A-ZÀ-Þ][\w'’\-]+)\s*,?\s+not\s+(?P<old>[A-ZÀ-Þ][\w'’\-]+)(?![{_Q}\w])"
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
_ON_LINE_TWO = re.compile(
    r"\b(?:on\s+)?(?:line\s+(?:two|2)|(?:the\s+)?(?:second|2nd|bottom)\s+line|underneath|below)\b", re.I
)
_ALSO = re.compile(
    r"^(?:(?:oh|ah|and|also|plus|p\.?s\.?)\b[\s,]*)+(?P<who>[A-ZÀ-Þ][\w'’\-]+(?:\s+(?:(?:and|&)\s+)?[A-ZÀ-Þ][\w'’\-]+){0,3})"
    r"\s+(?:too|as\s+well)\b"
)
_REMARK = re.compile(r"\s*\([^)]*\)")
_SEPARATOR = re.compile(r"\s+[–—-]\s+|\s*:\s+")
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


def _first_words(item: ParsedItem) -> list[str]:
    return item.values.get("name", "").split()


def _mentions(item: ParsedItem, word: str) -> bool:
    return word in _first_words(item)


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
        for pattern in _RENAME:
            for m in pattern.finditer(text):
                if not _retitle_person(items, m.group("old"), text[m.start("new") :], text):
                    _rename(items, m.group("old"), m.group("new").strip(), text)
        for pattern in _NEW_NOT_OLD:
            for m in pattern.finditer(text):
                new, old = m.group("new").strip(), m.group("old").strip()
                if not _retitle(items, old, new, text) and len(old.split()) == 1:
                    _rename(items, old, new, text)
        for m in _ITS_NOT.finditer(text):
            _replace_name(items, m.group("old").strip(), m.group("new").strip(), text)
        for m in _ITS_WORD.finditer(text):
            _accent_fix(items, m.group("word"), text)
        for m in _FULL_NAME.finditer(text):
            new = m.group("new").strip()
            _rename(items, new.split()[0], new, text)
        for m in _SURNAME.finditer(text):
            _resurname(items, m.group("who"), m.group("new"), text)
        for m in _QUOTED.finditer(text):
            _fuller_name(items, m.group("q").strip(), text)
        for m in _REMOVE.finditer(text):
            before = list(items)
            items = _remove(items, m.group("who"), text, sentence.line, skipped)
            for k, item in enumerate(before):
                if item not in items and item.values.get("title"):
                    removed[item.values["title"]] = k
        for m in _REASSIGN.finditer(text):
            items = _reassign(items, m.group("title").strip(), m.group("name"), text, removed)
        for m in _SPLIT.finditer(text):
            items = _split_couple(items, m.group("a"), m.group("b"), text)
        single = sum(len(it.values.get("name", "").split()) == 1 for it in items) * 2 >= len(items)
        one_for = _ONE_FOR.search(text)
        if one_for:
            added = _one_more(one_for.group("rest"), text, sentence.line)
            if added and not any(it.values.get("name") == added.values["name"] for it in items):
                stale = quoted_only.get(sentence.line)
                if stale is not None and stale.values.get("name") == added.values.get("title"):
                    items = [it for it in items if it is not stale]
                items.append(added)
                continue
        m = _ADD.search(text) or _ALSO.search(text)
        if m:
            rest = m.group("rest") if "rest" in m.groupdict() else m.group("who")
            # 'oh and Björn and Anaïs too' in a list of first names: two more pieces
            names = re.split(r"\s+(?:and|&)\s+", rest) if single and "rest" not in m.groupdict() else [rest]
            for name in names:
                added = _addition(name, text, sentence.line, min_core=1 if single else 2)
                if added and not any(it.values.get("name") == added.values["name"] for it in items):
                    items.append(added)
        _flag_mentions(items, text)
    items = _fuller_from_prose(items, lines)
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


_QUOTED = re.compile(r"[\"“”«„](?P<q>[^\"“”«»„]{2,60})[\"“”»]")
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
            for m in _QUOTED.finditer(lines[it.source_line - 1])
        )
        and len(lines[it.source_line - 1]) > len(name) + 20
    }
    # lines holding items and a quoted second line ('… A, B and C. "Barista" underneath on all four')
    quoting = {it.source_line for it in items if it.source_line and _QUOTED.search(lines[it.source_line - 1])}
    rest = [it for it in items if it.source_line not in sentence_items]
    if not rest or sum("title" in it.values for it in rest) * 2 > len(rest):
        return items
    names = {it.values.get("name", "") for it in rest}
    for no in sorted(candidates | set(sentence_items) | quoting):
        text = re.sub(r"^(?:\s*>)+\s?", "", lines[no - 1]).strip()
        parts = _SENTENCE_END.split(text)
        for k, part in enumerate(parts):
            for m in [*_QUOTED.finditer(part), *_SHARED_VALUE.finditer(part)]:
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


def _rename(items: list[ParsedItem], old: str, new: str, text: str) -> bool:
    old = re.sub(r"['’]s$", "", old)  # "Rob's should say Robert Lister"
    new = new.split(",")[0].strip()
    new_words = new.split()
    # stop at words that are plainly not part of the name ('John — my mistake', 'Robert Lister, he's')
    while new_words and not new_words[-1][:1].isupper():
        new_words.pop()
    if not new_words:
        return False
    matching = [it for it in items if _mentions(it, old)]
    if not matching or len({it.values["name"] for it in matching}) != 1:
        return False
    for item in matching:
        name = item.values["name"]
        words = name.split()
        if len(new_words) >= 2 and (
            words[0] == old or words[-1] == old == new_words[-1] or (set(words) - {old}) & set(new_words)
        ):
            # 'Jon should be John Smith'; 'Dr. Raj Malhotra should be Dr. Rajesh Malhotra' (the
            # surname before 'should be' is the one that stays); '"Bernadette Mulcahy" not "Mulcahey"'
            # (the new name shares the rest of the old one)
            fixed = " ".join(new_words)
        else:
            fixed = " ".join(new_words[0] if w == old else w for w in words)
        if fixed == name:
            continue
        item.values["name"] = fixed
        item.reasons.append(f"name corrected from {name!r} as the order says: {text!r}")
        item.reasons[:] = [r for r in item.reasons if "mentioned again" not in r]
    return True


def _accent_fix(items: list[ParsedItem], word: str, text: str) -> None:
    """The one listed name word that is `word` but for its accents ('Matéo' for 'Mateo') becomes it."""
    fold = _fold(word)
    found = {w for it in items for w in it.values.get("name", "").split() if _fold(w) == fold and w != word}
    if len(found) != 1:
        return
    (old,) = found
    for item in items:
        words = item.values.get("name", "").split()
        if old in words:
            name = item.values["name"]
            item.values["name"] = " ".join(word if w == old else w for w in words)
            item.reasons.append(f"name corrected from {name!r} as the order says: {text!r}")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _replace_name(items: list[ParsedItem], old: str, new: str, text: str) -> None:
    """A whole listed name written again correctly: the pieces with exactly the old name get the new."""
    if old == new or not check_name(new).ok:
        return
    for item in items:
        if item.values.get("name") == old:
            item.values["name"] = new
            item.reasons.append(f"name corrected from {old!r} as the order says: {text!r}")
            item.reasons[:] = [r for r in item.reasons if "mentioned again" not in r]


def _resurname(items: list[ParsedItem], who: str, new: str, text: str) -> None:
    """ "Holly's surname is Brennan-Shaw": the one piece whose name starts with Holly gets the new
    last word."""
    matching = [it for it in items if _first_words(it)[:1] == [who]]
    if len({it.values["name"] for it in matching}) != 1:
        return
    for item in matching:
        name = item.values["name"]
        words = name.split()
        if len(words) < 2 or words[-1] == new:
            return
        item.values["name"] = " ".join([*words[:-1], new])
        item.reasons.append(f"name corrected from {name!r} as the order says: {text!r}")
        item.reasons[:] = [r for r in item.reasons if "mentioned again" not in r]


def _fuller_from_prose(items: list[ParsedItem], lines: list[str]) -> list[ParsedItem]:
    """A quoted name read from a sentence ('- #17: … his middle initial, so "SSG Raymond L. Delacroix"')
    that is a listed name with a word added is that piece's new name, not a piece of its own."""
    for stale in [it for it in items if "name found inside a sentence" in it.reasons and it.source_line]:
        text = lines[stale.source_line - 1].strip()
        quoted = [m.group("q").strip() for m in _QUOTED.finditer(text)]
        rest = [it for it in items if it is not stale]
        if stale.values.get("name") in quoted and _fuller_name(rest, stale.values["name"], text):
            items = rest
    return items


def _fuller_name(items: list[ParsedItem], quoted: str, text: str) -> bool:
    """'the family wants his middle initial, so "SSG Raymond L. Delacroix"': a quoted name that is one
    listed name with a word or two added (in the same order) replaces it."""
    new_words = quoted.split()
    if not check_name(quoted).ok or len(new_words) < 2:
        return False
    matching = []
    for item in items:
        words = item.values.get("name", "").split()
        if not words or words == new_words or not 0 < len(new_words) - len(words) <= 2:
            continue
        rest = iter(new_words)
        if all(w in rest for w in words) and words[0] == new_words[0] and words[-1] == new_words[-1]:
            matching.append(item)
    if len({it.values["name"] for it in matching}) != 1:
        return False
    for item in matching:
        name = item.values["name"]
        item.values["name"] = quoted
        item.reasons.append(f"name corrected from {name!r} as the order says: {text!r}")
        item.reasons[:] = [r for r in item.reasons if "mentioned again" not in r]
    return True


def _retitle_person(items: list[ParsedItem], who: str, said: str, text: str) -> bool:
    """ "Ashley's should say Team Captain, not Rookie of the Quarter": the new text replaces the second
    line of Ashley's piece when the sentence names that second line as the wrong one."""
    who = re.sub(r"['’]s$", "", who)
    m = re.match(
        rf"(?P<new>[^,;]+?)\s*,?\s+(?:not|instead of|rather than)\s+[{_Q}]?(?P<old>[^{_Q}.!;]+)", said
    )
    if not m:
        return False
    old = m.group("old").strip()
    holders = [it for it in items if _first_words(it)[:1] == [who] and it.values.get("title") == old]
    if len(holders) != 1:
        return False
    new_title = m.group("new").strip().strip(_Q)
    holders[0].values["title"] = new_title
    holders[0].reasons.append(f"second line corrected from {old!r} as the order says: {text!r}")
    holders[0].reasons[:] = [r for r in holders[0].reasons if "mentioned again" not in r]
    return True


def _retitle(items: list[ParsedItem], old: str, new: str, text: str) -> bool:
    """'make Ana's plate say "Head Coach" not "Coach"': the one item named in the sentence whose
    second line is the old text gets the new one."""
    holders = [it for it in items if it.values.get("title") == old]
    matching = [it for it in holders if any(_mentioned(w, text) for w in _first_words(it)[:1] if len(w) >= 3)]
    if not matching and len({it.values["name"] for it in holders}) == 1:
        matching = holders  # "Mo's title should be …": the only piece with that second line
    if len({it.values["name"] for it in matching}) != 1:
        return False
    for item in matching:
        item.values["title"] = new
        item.reasons.append(f"second line corrected from {old!r} as the order says: {text!r}")
    return True


def _mentioned(word: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?:'s|’s)?(?!\w)", text) is not None


def _remove(
    items: list[ParsedItem], who: str, text: str, line: int, skipped: list[SkippedLine]
) -> list[ParsedItem]:
    words = who.split()
    while words and not words[-1][:1].isupper():
        words.pop()
    if not words:
        return items
    target = " ".join(words)
    matching = [it for it in items if it.values.get("name") == target or _mentions(it, words[0])]
    names = {it.values["name"] for it in matching}
    if len(names) != 1:
        return items
    for item in matching:
        skipped.append(SkippedLine(item.raw, f"removed as the order says: {text!r}", item.source_line))
    return [it for it in items if it not in matching]


def _reassign(
    items: list[ParsedItem], title: str, who: str, text: str, removed: dict[str, int]
) -> list[ParsedItem]:
    """A removed piece's award given to someone already on the list: a new piece for that person."""
    if title not in removed:
        return items
    words = who.split()
    while words and not words[-1][:1].isupper():
        words.pop()
    person = [it for it in items if it.values.get("name") == " ".join(words)]
    if not person:
        return items
    values = dict(person[0].values, title=title)
    values.pop("qty", None)
    new = ParsedItem(values, 0.85, [f"{title!r} given to {values['name']} as the order says: {text!r}"])
    new.source_line, new.raw = person[0].source_line, person[0].raw
    at = min(removed.pop(title), len(items))
    return [*items[:at], new, *items[at:]]


def _split_couple(items: list[ParsedItem], a: str, b: str, text: str) -> list[ParsedItem]:
    """'Jack & Ollie Bradshaw' → 'Jack Bradshaw' and 'Ollie Bradshaw', each with the same values."""
    out: list[ParsedItem] = []
    for item in items:
        words = item.values.get("name", "").split()
        if len(words) >= 4 and words[0] == a and words[1] in ("&", "and", "+") and words[2] == b:
            surname = " ".join(words[3:])
            for given in (a, b):
                values = dict(item.values, name=f"{given} {surname}")
                reasons = [r for r in item.reasons if "kept as one couple" not in r]
                reasons.append(f"split into one piece each as the order says: {text!r}")
                out.append(ParsedItem(values, item.confidence, reasons, item.source_line, item.raw))
        else:
            out.append(item)
    return out


def _one_more(rest: str, text: str, line: int) -> ParsedItem | None:
    """'Coach Mike Dunleavy, no number, just "Head Coach" on line two': the name before the first
    comma, and the quoted second line when the sentence says where it goes."""
    name = _REMARK.sub("", rest).split(",")[0].strip().rstrip(".!")
    check = check_name(name)
    if not check.ok or check.core < 2:
        return None
    item = ParsedItem(values={"name": name}, confidence=0.9, source_line=line, raw=text)
    quoted = _QUOTED.search(rest)
    if quoted and _ON_LINE_TWO.search(rest[quoted.end() :] + " " + rest[: quoted.start()]):
        item.values["title"] = quoted.group("q").strip()
    item.reasons.append(f"added as the order says: {text!r}")
    return item


def _addition(rest: str, text: str, line: int, min_core: int = 2) -> ParsedItem | None:
    """The piece a sentence adds; a one-word name only when the list is of first names."""
    rest = _REMARK.sub("", rest).strip().rstrip(".!")
    parts = _SEPARATOR.split(rest, maxsplit=1)
    if (
        len(parts) == 2
        and not check_name(parts[0].strip()).ok
        and check_name(parts[1].strip().rstrip(".")).ok
    ):
        parts = [parts[1].strip().rstrip("."), parts[0].strip()]  # "add Coach's Award: Priya Nair"
    name = parts[0].strip().rstrip(",")
    name_words = name.split()
    while name_words and not name_words[-1][:1].isupper():
        name_words.pop()
    name = " ".join(name_words)
    check = check_name(name)
    if not check.ok or check.core < min_core:
        return None
    values = {"name": name}
    if len(parts) == 2 and parts[1].strip():
        values["title"] = parts[1].strip().split(". ")[0].strip()
    item = ParsedItem(values=values, confidence=0.9, source_line=line, raw=text)
    item.reasons.append(f"added as the order says: {text!r}")
    if not starts_with_given_name(name):
        item.cap(0.75, f"added from a sentence, and {name.split()[0]!r} is not a known given name")
    return item


def _flag_mentions(items: list[ParsedItem], text: str) -> None:
    """An item named again in an instruction that was not applied: someone should look."""
    for item in items:
        if any(f"as the order says: {text!r}" in r for r in item.reasons):
            continue
        words = [w for w in _first_words(item) if len(w) >= 3 and w[:1].isupper()]
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) for w in words):
            item.cap(0.75, f"mentioned again in the order: {text!r} (a change for this piece?)")


def is_instruction(line: str) -> bool:
    """A sentence that changes the list ('Jon should be John', 'scratch Megan', 'please also add …')."""
    text = line.strip().lstrip("-•*– ").strip()
    if len(text.split()) < 3:
        return False
    if any(p.search(text) for p in (*_RENAME, *_NEW_NOT_OLD, _FULL_NAME, _ITS_NOT)) or _REMOVE.search(text):
        return True
    m = _ADD.search(text)
    return bool(m) and m.start() < 20 or bool(_ALSO.search(text))  # 'add …' near the start
