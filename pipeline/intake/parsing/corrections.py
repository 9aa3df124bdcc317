"""The changes an order's sentences make to its items, each applied only when it names exactly the
item(s) it changes.

A name corrected ('Jon should be John', "it's Siobhán … not Siobhan", accents, a surname, a fuller
name in quotes), a second line corrected, a piece removed or its award given to someone else, a
couple split into two pieces, a piece added; and, when a sentence mentions an item but changes
nothing, that item flagged for review. Which sentences say what is instructions.py.
"""

from __future__ import annotations

import re

from .lexicon import check_name, without_accents
from .model import ParsedItem, SkippedLine
from .people import starts_with_given_name

QUOTES = "\"“”'‘’«»„"
QUOTED = re.compile(r"[\"“”«„](?P<q>[^\"“”«»„]{2,60})[\"“”»]")
_ON_LINE_TWO = re.compile(
    r"\b(?:on\s+)?(?:line\s+(?:two|2)|(?:the\s+)?(?:second|2nd|bottom)\s+line|underneath|below)\b", re.I
)
_REMARK = re.compile(r"\s*\([^)]*\)")
_SEPARATOR = re.compile(r"\s+[–—-]\s+|\s*:\s+")


def _first_words(item: ParsedItem) -> list[str]:
    return item.values.get("name", "").split()


def _mentions(item: ParsedItem, word: str) -> bool:
    return word in _first_words(item)


def rename(items: list[ParsedItem], old: str, new: str, text: str) -> bool:
    """'Jon should be John', "Rob's should say Robert Lister": the pieces whose name has the word `old`
    (all the same name) get the new name. False when the sentence names no one piece."""
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


def accent_fix(items: list[ParsedItem], word: str, text: str) -> None:
    """The one listed name word that is `word` but for its accents ('Matéo' for 'Mateo') becomes it."""
    fold = without_accents(word.casefold())
    found = {
        w
        for it in items
        for w in it.values.get("name", "").split()
        if without_accents(w.casefold()) == fold and w != word
    }
    if len(found) != 1:
        return
    (old,) = found
    for item in items:
        words = item.values.get("name", "").split()
        if old in words:
            name = item.values["name"]
            item.values["name"] = " ".join(word if w == old else w for w in words)
            item.reasons.append(f"name corrected from {name!r} as the order says: {text!r}")


def replace_name(items: list[ParsedItem], old: str, new: str, text: str) -> None:
    """A whole listed name written again correctly: the pieces with exactly the old name get the new."""
    if old == new or not check_name(new).ok:
        return
    for item in items:
        if item.values.get("name") == old:
            item.values["name"] = new
            item.reasons.append(f"name corrected from {old!r} as the order says: {text!r}")
            item.reasons[:] = [r for r in item.reasons if "mentioned again" not in r]


def resurname(items: list[ParsedItem], who: str, new: str, text: str) -> None:
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


def fuller_from_prose(items: list[ParsedItem], lines: list[str]) -> list[ParsedItem]:
    """A quoted name read from a sentence ('- #17: … his middle initial, so "SSG Raymond L. Delacroix"')
    that is a listed name with a word added is that piece's new name, not a piece of its own."""
    for stale in items:
        if "name found inside a sentence" not in stale.reasons or not stale.source_line:
            continue
        text = lines[stale.source_line - 1].strip()
        quoted = [m.group("q").strip() for m in QUOTED.finditer(text)]
        rest = [it for it in items if it is not stale]
        if stale.values.get("name") in quoted and fuller_name(rest, stale.values["name"], text):
            items = rest
    return items


def fuller_name(items: list[ParsedItem], quoted: str, text: str) -> bool:
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


def retitle_person(items: list[ParsedItem], who: str, said: str, text: str) -> bool:
    """ "Ashley's should say Team Captain, not Rookie of the Quarter": the new text replaces the second
    line of Ashley's piece when the sentence names that second line as the wrong one."""
    who = re.sub(r"['’]s$", "", who)
    m = re.match(
        rf"(?P<new>[^,;]+?)\s*,?\s+(?:not|instead of|rather than)\s+[{QUOTES}]?(?P<old>[^{QUOTES}.!;]+)",
        said,
    )
    if not m:
        return False
    old = m.group("old").strip()
    holders = [it for it in items if _first_words(it)[:1] == [who] and it.values.get("title") == old]
    if len(holders) != 1:
        return False
    new_title = m.group("new").strip().strip(QUOTES)
    holders[0].values["title"] = new_title
    holders[0].reasons.append(f"second line corrected from {old!r} as the order says: {text!r}")
    holders[0].reasons[:] = [r for r in holders[0].reasons if "mentioned again" not in r]
    return True


def retitle(items: list[ParsedItem], old: str, new: str, text: str) -> bool:
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


def remove(
    items: list[ParsedItem], who: str, text: str, line: int, skipped: list[SkippedLine]
) -> list[ParsedItem]:
    """'scratch Megan', 'please drop Tom Hale': the pieces of the one name the sentence names go to
    the skipped lines, with the sentence as the reason."""
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


def reassign(
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


def split_couple(items: list[ParsedItem], a: str, b: str, text: str) -> list[ParsedItem]:
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


def one_more(rest: str, text: str, line: int) -> ParsedItem | None:
    """'Coach Mike Dunleavy, no number, just "Head Coach" on line two': the name before the first
    comma, and the quoted second line when the sentence says where it goes."""
    name = _REMARK.sub("", rest).split(",")[0].strip().rstrip(".!")
    check = check_name(name)
    if not check.ok or check.core < 2:
        return None
    item = ParsedItem(values={"name": name}, confidence=0.9, source_line=line, raw=text)
    quoted = QUOTED.search(rest)
    if quoted and _ON_LINE_TWO.search(rest[quoted.end() :] + " " + rest[: quoted.start()]):
        item.values["title"] = quoted.group("q").strip()
    item.reasons.append(f"added as the order says: {text!r}")
    return item


def addition(rest: str, text: str, line: int, min_core: int = 2) -> ParsedItem | None:
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


def flag_mentions(items: list[ParsedItem], text: str) -> None:
    """An item named again in an instruction that was not applied: someone should look."""
    for item in items:
        if any(f"as the order says: {text!r}" in r for r in item.reasons):
            continue
        words = [w for w in _first_words(item) if len(w) >= 3 and w[:1].isupper()]
        if any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) for w in words):
            item.cap(0.75, f"mentioned again in the order: {text!r} (a change for this piece?)")
