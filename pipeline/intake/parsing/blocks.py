"""Regions of a message that are read as a whole before its lines: the closing block (sign-off and
signature), multi-line blocks (name, then its second line, then a count), headings over groups, runs
of 'Name, Title, Company' lines; and the votes that read a block's lines alike (name or title first,
Last, First, a one-word name among full names).

Why here and not line by line: a line such as 'Teşekkürler,' or 'Diolch,' is a perfectly good
one-word name on its own; it is its place (the last block, a short line ending in a comma or '!',
then a name and perhaps a role) that says it closes the message. That shape holds in any language,
so it needs no list of sign-off words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .drafts import Draft
from .lexicon import SUFFIXES, check_name, has_title_word
from .lines import SIGNOFF, is_signoff, split_outside, strip_marker, take_quantity, without_trailing_symbols
from .model import ParsedItem
from .people import starts_with_given_name
from .segments import POSTNOMINAL

_CLOSING_END = re.compile(r"[,!،]\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Þ])")
_PAREN_REMARK = re.compile(r"\s*\([^)]*\)\s*$")
_DASH_NAME = re.compile(r"^[-–—~]\s*(?=\S)")


def is_closing_block(lines: list[str]) -> bool:
    """The message's last block: 'Teşekkürler,' / 'Osu!' / '… Thx!' then a name (and role lines).

    The first line is short and ends in ',' or '!' (or is a known sign-off); the next is a name,
    possibly written '- Morgan'; at most two more lines (role, organisation) follow.
    """
    if not 2 <= len(lines) <= 4:
        return False
    first, second = lines[0].strip(), lines[1].strip()
    if strip_marker(first)[0]:
        return False
    # 'Need these by the 28th. Thanks!': the line's last sentence is what closes the message
    first = _SENTENCE_END.split(first)[-1].strip() or first
    if any(ch.isdigit() for ch in first):
        return False
    first = without_trailing_symbols(first, ",!.،?:;)\"'’”") or first
    closes = (
        is_signoff(first)
        or (_CLOSING_END.search(first) is not None and len(first.split()) <= 6)
        # 'Thank you so much, the ones you did last year were gorgeous!'
        or (SIGNOFF.match(first) is not None and first.endswith(("!", ".")))
    )
    if not closes:
        return False
    name = _PAREN_REMARK.sub("", _DASH_NAME.sub("", second)).strip()  # 'Sarah (soon to be Thompson!)'
    check = check_name(name)
    if is_signoff(first) and not any(ch.isdigit() for ch in name) and len(name.split()) <= 5:
        return not strip_marker(name)[0]  # 'With gratitude,' / 'The Vance family'
    return check.ok and len(name.split()) <= 4


_SPLIT = re.compile(r"(?<!\s)\s*:\s+|(?<!\s)\s+(?:--?|–|—|−)\s+")


def _sides(raw: str, numbered_title: bool = False) -> tuple[str, str] | None:
    """The two sides of 'A: B' or 'A – B' on a list line (marker removed unless the number belongs to
    the title, '1. Ritter: …'), or None."""
    body = raw.strip() if numbered_title else strip_marker(raw.strip())[1]
    parts = _SPLIT.split(body, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        return None
    return parts[0].strip(), parts[1].strip()


def split_sides(line: str) -> tuple[str, str] | None:
    """The two sides of a list line 'A: B' or 'A – B', or None."""
    return _sides(line)


def _person_like(text: str) -> bool:
    check = check_name(text)
    return check.ok and check.core >= 2 and not has_title_word(text)


def vote_shape(items: list[ParsedItem], numbered_titles: frozenset[int] = frozenset()) -> None:
    """Read a block's two-part lines one way: 'Name – Title' or 'Title – Name', by majority.

    Each line votes with the side that looks like a person (two or more name words, no award or
    job words); the block's reading is applied to every line, so one line whose award happens to
    look like a name ('Best Newcomer: Tilly') or whose title was not recognised is read like its
    neighbours. Lines read against their own evidence keep a reason and stay below the accept line.
    """
    split = [
        (item, _sides(item.raw, item.source_line in numbered_titles))
        for item in items
        if "name" in item.values
    ]
    sided = [(item, sides) for item, sides in split if sides]
    if len(sided) < 2:
        return
    left = sum(_leans(a, b) for _, (a, b) in sided)
    right = sum(_leans(b, a) for _, (a, b) in sided)
    if left > right and left * 2 >= len(sided):
        _settle_name_first(sided)
        return
    if right <= left or right * 2 < len(sided):
        return
    for item, (a, b) in sided:
        name = item.values["name"]
        if name == b and not item.values.get("title"):
            item.values["title"] = a
            item.reasons.append(f"{a!r} read as the second line, as in the other lines of its block")
        elif name == a and item.values.get("title") == b:
            item.values["name"], item.values["title"] = b, a
            item.reasons.append("read as 'Title – Name', as most lines of its block are")
            if not _person_like(b):
                item.cap(0.8, f"{b!r} does not look like a person's name but sits where the names are")
        else:
            continue
        item.reasons[:] = [r for r in item.reasons if "also looks like a name" not in r]
        item.confidence = max(item.confidence, 0.85 if _person_like(item.values["name"]) else 0.0)


def _leans(this: str, other: str) -> bool:
    """Does a line's side `this` look more like the person than `other`? A person-like side against
    one that is not, or, when both look like names, a known given name against none
    ('Oscar Lindqvist – Long Jump Gold')."""
    if not _person_like(this):
        return False
    if not _person_like(other):
        return True
    return starts_with_given_name(this) and not starts_with_given_name(other)


def _settle_name_first(split: list[tuple[ParsedItem, tuple[str, str]]]) -> None:
    """Most lines of the block are 'Name – Title': a line whose title also looked like a name
    ('Oscar Lindqvist – Long Jump Gold') is read the same way, and its doubt is lifted."""
    for item, (a, _b) in split:
        doubt = [r for r in item.reasons if "also looks like a name" in r]
        if item.values.get("name") != a or not doubt:
            continue
        item.reasons[:] = [r for r in item.reasons if r not in doubt]
        item.reasons.append("read as 'Name – Title', as most lines of its block are")
        item.confidence = round(min(0.95, item.confidence + 0.2), 2)


def vote_last_first(items: list[ParsedItem]) -> None:
    """'Nguyen, Linh' on every line (or row) of a block is the customer's way of writing names:
    the reordering is the block's shape, not a guess made line by line, so its doubt is mostly
    lifted (one line reordered among others that are not keeps it)."""
    reordered = [it for it in items if "reordered Last, First" in it.reasons]
    if len(reordered) < 3 or len(reordered) * 5 < len(items) * 4:
        return
    for item in reordered:
        item.reasons.remove("reordered Last, First")
        item.reasons.append("reordered Last, First, as every line of its block is written")
        item.confidence = round(min(1.0, item.confidence + 0.1), 2)


def flag_odd_lines(items: list[ParsedItem]) -> None:
    """Within one block, an item without the second line most of its neighbours have is flagged
    when its line held more than the name (so something on it may have been read wrongly)."""
    if len(items) < 3:
        return
    titled = sum(bool(it.values.get("title")) for it in items)
    if titled * 3 < len(items) * 2:
        return
    for item in items:
        bare = strip_marker(item.raw.strip())[1].strip()
        if item.values.get("title") or bare == item.values.get("name"):
            continue  # a line holding just the name: nothing on it was lost
        item.cap(0.8, "no second line, while the other lines of its block have one")


# 'Please put the team name on the second line', 'team name underneath', 'group as line 2'
HEADING_AS_TITLE = re.compile(
    r"\b(?:team|group|class|squad|category|division|section|heading|house|year)(?:'s)?\s+names?\s+"
    r"(?:on|as|in|under(?:neath)?|below)\b[^.\n]{0,30}?(?:second|2nd|next|bottom|other|line\s*2|underneath|below)"
    r"|\b(?:second|2nd)\s+line\s*(?::|=|is|should\s+be|with)?\s*(?:the\s+)?(?:team|group|class|squad|category)",
    re.IGNORECASE,
)


def heading_over_group(lines: list[str]) -> str | None:
    """'U10 Falcons' over '- Leo Grant', '- Mia Johansson' (or 'SIXTH FORM' over 'Prize – Name'
    lines): the first line of a block, unmarked and single, whose other lines all share a list
    shape, is a heading over that group (not itself a piece)."""
    if len(lines) < 3 or strip_marker(lines[0])[0]:
        return None
    tier = lines[0].strip().rstrip(":")
    if _is_caps_heading(tier) and not any(_is_caps_heading(ln.strip()) for ln in lines[1:]):
        return tier  # 'GOLD' over a donor list, 'YEAR 7' over pupils
    label = _GROUP_LABEL.match(lines[0].strip())
    if label and all(strip_marker(ln)[0] or _sides(ln) for ln in lines[1:]):
        return label.group(1).strip()  # 'TEAM: Thunderbolts', 'Division – U12'
    if _sides(lines[0]) or not (
        all(strip_marker(ln)[0] for ln in lines[1:]) or all(_sides(ln) for ln in lines[1:])
    ):
        return None
    head = lines[0].strip().rstrip(":").strip()
    named = check_name(head).ok and check_name(head).core >= 2
    if not head or len(head.split()) > 6 or named and starts_with_given_name(head):
        return None
    return head


# 'TEAM: Thunderbolts', 'Group – Blue', 'Klasse: 4b': a label naming a group, then the group's name
_GROUP_LABEL = re.compile(
    r"^(?:team|group|class|squad|division|category|section|house|year|grade|level|tier|league|age group"
    r"|équipe|equipo|mannschaft|gruppe|klasse|groupe|grupo|squadra|ploeg|drużyna)\s*(?::|–|—|-)\s*(\S.{0,40})$",
    re.IGNORECASE,
)
_NUMERAL_MARKER = re.compile(r"^(?:\d{1,3}|[ivx]{1,4})[.)]$", re.IGNORECASE)
_LETTER_MARKER = re.compile(r"^[a-z][.)]$|^[-*+•·●▪◦‣∙○■□–—]$")


def _is_caps_heading(text: str) -> bool:
    """'GOLD', 'BRONZE TIER', 'YEAR 7': one to three words in capitals, nothing else."""
    letters = [c for c in text if c.isalpha()]
    return 0 < len(text.split()) <= 3 and len(letters) >= 3 and all(c.isupper() for c in letters)


def outline_headings(lines: list[str]) -> list[int]:
    """Lines of a nested outline that head a sub-list: '1) Varsity Basketball' over 'a. Name – Award'
    lines. A numbered line with no 'A – B' shape, followed by lines with a different (lettered or
    bulleted) marker, is the group's heading, not a piece."""
    heads = []
    for i, line in enumerate(lines[:-1]):
        marker = strip_marker(line.strip())[0]
        below = strip_marker(lines[i + 1].strip())[0]
        if (
            _NUMERAL_MARKER.match(marker)
            and _LETTER_MARKER.match(below)
            and not _sides(line)
            and len(strip_marker(line.strip())[1].split()) <= 6
        ):
            heads.append(i)
    return heads


def title_from_heading(items: list[ParsedItem], heading: str, asked: bool) -> None:
    """Put a group's heading on its items' second line when the order asks for it."""
    for item in items:
        if not asked:
            item.reasons.append(
                f"listed under the heading {heading!r} (not engraved: the order does not ask)"
            )
        elif not item.values.get("title"):
            item.values["title"] = heading
            item.reasons.append(f"second line {heading!r} from the heading over its group, as the order asks")


_LINE_LABEL = re.compile(
    r"^(?:line|zeile|ligne|l[íi]nea|regel|linia|riga|row)\s*([1-4])\s*[:=–—-]\s*(.*)$", re.IGNORECASE
)
# 'Name: Frank Müller' / 'Second line: 32 Years of Dedicated Service' (a form filled in by hand)
_FIELD_LABEL = re.compile(
    r"^(name|first line|1st line|line one|second line|2nd line|line two|third line|3rd line|line three"
    r"|title|role|position|award|job title)"
    r"\s*[:=–—-]\s*(.*)$",
    re.IGNORECASE,
)
_LINE_WORDS = {"name": 1, "first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2}
_LINE_WORDS |= {"third": 3, "3rd": 3, "three": 3, "title": 2, "role": 2, "position": 2, "award": 2}


def _line_number(label: str) -> int:
    """1 for '1' or 'Name' or 'First line', 2 for 'Second line' …"""
    if label.isdigit():
        return int(label)
    words = label.casefold().split()
    return next((_LINE_WORDS[w] for w in words if w in _LINE_WORDS), 0)


_BLANK = re.compile(
    r"^[(\[]?\s*(?:leave\s+)?(?:blank|empty|none|nothing|n/?a|-+|–)\s*[)\]]?\.?$", re.IGNORECASE
)
_COUNT_LINE = re.compile(
    r"^(?:[x×]\s?(\d{1,3})|(\d{1,3})\s?[x×]?|(?:qty|quantity)\.?\s*[:=]?\s*(\d{1,3}))"
    r"(?:\s+(?:please|pls|of\s+(?:these|this|them)|copies|pieces|plates|needed))?\s*[.!]?$",
    re.IGNORECASE,
)


@dataclass
class Record:
    """One piece written as a block of lines: the name, its second line, a count, the lines used."""

    name: str
    title: str
    qty: str | None
    lines: list[int]
    reasons: list[str] = field(default_factory=list)
    intro: int | None = None
    """The line above that introduces the piece ('Engraving:'), if any."""


def labelled_record(lines: list[tuple[int, str]]) -> Record | None:
    """'Line 1: Harold & Vera Jennings' / 'Line 2: Together Forever' (a heading such as 'Brick 1:'
    above is allowed). Each labelled line is taken as written; '(leave blank)' means no second line."""
    body = lines[1:] if lines and lines[0][1].rstrip().endswith(":") and len(lines) > 1 else lines
    found = [(no, _LINE_LABEL.match(text.strip()) or _FIELD_LABEL.match(text.strip())) for no, text in body]
    if not found or not all(m for _, m in found):
        return None
    by_number = {_line_number(m.group(1)): m.group(2).strip() for _, m in found if m}
    if len(by_number) != len(found) or (len(found) == 1 and _FIELD_LABEL.match(body[0][1].strip())):
        return None  # a lone 'Name: …' is a line like any other
    name = by_number.get(1, "")
    if not name or _BLANK.match(name):
        return None
    title = by_number.get(2, "")
    title = "" if _BLANK.match(title) else title
    reasons = ["lines read from their labels ('Line 1', 'Name', 'Second line' …)"]
    if _BLANK.match(by_number.get(2, "x")):
        reasons.append("second line left blank, as written")
    return Record(name, title, None, [no for no, _ in lines], reasons)


def stacked_record(lines: list[tuple[int, str]], loose: bool = False) -> Record | None:
    """A block of a name, then its second line, then perhaps a count ('x2', '3 please'); a line
    that introduces it ('Engraving:') may stand above. `loose`: the second line may look like a name
    too ('Forever Together'), for blocks among others of this shape."""
    intro = None
    head = lines[0][1].strip() if lines else ""
    if (
        len(lines) == 3
        and not strip_marker(head)[0]
        and (head.endswith(":") or head.endswith(".") and len(head.split()) >= 4)
    ):
        intro, lines = lines[0][0], lines[1:]
    if not 2 <= len(lines) <= 3:
        return None
    texts = [t.strip() for _, t in lines]
    if any(strip_marker(t)[0] for t in texts) or texts[0].endswith(":"):
        return None
    first = check_name(texts[0])
    if len(texts[0].split()) > 5 or not texts[0][:1].isupper() or any(ch.isdigit() for ch in texts[0]):
        return None
    second = check_name(texts[1])
    signoff = is_signoff(texts[1]) and not has_title_word(texts[1])  # 'Best Vegetable Plot' is no sign-off
    if (
        len(texts) == 2
        and not loose
        and second.ok
        and second.core >= 2
        and starts_with_given_name(texts[1])
        and not (first.ok and starts_with_given_name(texts[0]))
        and not texts[0].endswith((",", "!", "."))
    ):  # 'Valedictorian' / 'Hannah Oyelaran': the award above the name
        reasons = ["second line written above the name"]
        return Record(texts[1], texts[0], None, [no for no, _ in lines], reasons, intro)
    if second.ok and second.core >= 2 and not loose or signoff or texts[1].endswith((":", "?")):
        return None
    if loose and not (first.ok and first.core >= 2):
        return None
    if _COUNT_LINE.match(texts[1]):
        return None
    qty = None
    if len(texts) == 3:
        m = _COUNT_LINE.match(texts[2])
        if not m:
            return None
        qty = next(g for g in m.groups() if g)
    reasons = [] if first.ok else [f"{texts[0]!r} does not look like a person's name ({first.why})"]
    return Record(texts[0], texts[1], qty, [no for no, _ in lines], reasons, intro)


def is_salutation(lines: list[tuple[int, str]]) -> bool:
    """'Greg,' alone at the top of a message: the reader being addressed, not a piece."""
    if len(lines) != 1:
        return False
    text = lines[0][1].strip()
    if not text.endswith(",") or strip_marker(text)[0]:
        return False
    name = text.rstrip(",").strip()
    return len(name.split()) <= 2 and check_name(name).ok


def paragraph_records(paragraphs: list[list[tuple[int, str]]]) -> dict[int, Record]:
    """Blocks that each hold one piece over several lines ('Line 1:' / 'Line 2:' labels, or a
    name, its second line and a count). Unlabelled blocks count only when two or more share the
    shape; a lone one is still read that way when it is not the message's last block, but flagged."""
    labelled = {n: r for n, p in enumerate(paragraphs) if (r := labelled_record(p))}
    stacked = {n: r for n, p in enumerate(paragraphs) if n not in labelled and (r := stacked_record(p))}
    if (
        sum(not any("does not look like" in r for r in rec.reasons) for rec in stacked.values())
        < len(stacked) / 2
    ):
        stacked = {}  # blocks whose first lines are mostly not names: not name-and-title blocks
    if len(stacked) >= 2:  # a block of the same shape whose second line also reads as a name
        for n, p in enumerate(paragraphs):
            if n not in labelled and n not in stacked and (r := stacked_record(p, loose=True)):
                r.reasons.append(
                    f"{r.title!r} also reads as a name; taken as the second line like the other blocks"
                )
                stacked[n] = r
    if len(stacked) == 1:
        n, record = next(iter(stacked.items()))
        if n == len(paragraphs) - 1 or n == 0:
            stacked = {}
        else:
            record.reasons.append(f"second line {record.title!r} guessed from the line under the name")
    else:
        for record in stacked.values():
            record.reasons.append("name, then its second line: the shape of every block here")
    return labelled | stacked


def comma_shape(lines: list[str]) -> dict[int, list[str]]:
    """'Name, Title, Company' lines: runs of (bulleted or plain) lines that all split into the same
    number of comma parts, whose first parts are mostly full names and whose other parts are not all
    names or post-nominals (else it is a comma list of names, or 'Name, CPA'). Line index → parts.
    The block's shape decides, not each line on its own."""
    shaped: dict[int, list[str]] = {}
    i = 0
    while i < len(lines):
        j, width, parts = i, 0, []
        while j < len(lines):
            cells = [c.strip() for c in split_outside(strip_marker(lines[j])[1], ",")]
            if len(cells) < 2 or not all(cells) or (width and len(cells) != width):
                break
            width = len(cells)
            parts.append(cells)
            j += 1
        if j - i >= 2:
            first = sum(check_name(c[0]).ok and check_name(c[0]).core >= 2 for c in parts)
            texts = [
                c for row in parts for c in row[1:] if not (POSTNOMINAL.match(c) or c.casefold() in SUFFIXES)
            ]
            named = all(check_name(c).ok and check_name(c).core >= 2 for c in texts)
            if first * 3 >= len(parts) * 2 and texts and not named:
                shaped.update({k: cells for k, cells in zip(range(i, j), parts, strict=True)})
        i = max(j, i + 1)
    return shaped


def draft_from_parts(parts: list[str]) -> Draft:
    """One piece from a 'Name, Title, Company' line read by its block's shape."""
    keys = ("name", "title", "company")
    values = {k: v for k, v in zip(keys, parts, strict=False)}
    for n, extra in enumerate(parts[3:], 4):
        values[f"column {n}"] = extra
    d = Draft(values, reasons=["read as 'Name, Title, …' by the shape of every line in its block"])
    last = "company" if "company" in values else "title"
    qty, rest = take_quantity(values[last])
    if qty and rest:
        values[last], values["qty"] = rest, qty
    return d


def single_word_check(items: list[ParsedItem]) -> None:
    """A one-word name among full names is probably a first name only, or a label."""
    names = [(it, it.values.get("name", "")) for it in items if "name" in it.values]
    multi = sum(1 for _, n in names if check_name(n).core >= 2)
    if multi * 2 <= len(names):
        return
    for item, name in names:
        if check_name(name).ok and check_name(name).core == 1:
            item.deduct(0.1, "only one word, while the other names have more")
