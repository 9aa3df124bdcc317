"""Mail threads in a paste: the fresh text, a forwarded message and quoted earlier messages.

A reply's own lines come first; '> ' lines, 'On … wrote:', '-----Original Message-----' and blocks
of mail headers start quoted or forwarded text. The senders named in those headers are not pieces:
a name alone above a quoted list, or signing a message, is its sender.
"""

from __future__ import annotations

import re

from .lines import (
    FORWARD_SUBJECT,
    MAIL_HEADER,
    ON_DATE_START,
    ORIGINAL_MESSAGE,
    UNDERSCORE_RULE,
    WROTE,
    WROTE_END,
    strip_marker,
)
from .model import ParsedItem, SkippedLine

_GT_PREFIX = re.compile(r"^(?:\s*>)+ ?")
_WROTE = re.compile(
    r"^On\b.+?(?P<who>[A-ZÀ-Þ][\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]+){0,3})\s*(?:<[^>]*>)?\s*wrote:?\s*$"
)


def read_zones(lines: list[str], skipped: list[SkippedLine]) -> list[tuple[str, list[tuple[int, str]]]]:
    """The paste's runs of lines, each 'fresh', 'forwarded' or 'quoted', as (line number, text) pairs
    ('> ' taken off); the lines that only start an earlier message go to `skipped`."""
    zones: list[tuple[str, list[tuple[int, str]]]] = []
    base = "fresh"
    run_kind, run = base, list[tuple[int, str]]()
    seen_text = False
    i, n = 0, len(lines)

    def push(kind: str, no: int, body: str) -> None:
        nonlocal run_kind, run
        if kind != run_kind and run:
            zones.append((run_kind, run))
            run = []
        run_kind = kind
        run.append((no, body))

    while i < n:
        raw = lines[i]
        s = raw.strip()
        if s.startswith(">"):
            push("quoted", i + 1, _GT_PREFIX.sub("", raw))
            i += 1
            continue
        marker = ORIGINAL_MESSAGE.match(s)
        if marker:
            forwarded = "forward" in s.casefold()
            why = "start of a forwarded message" if forwarded else "start of an earlier message"
            _skip(lines, skipped, i + 1, why)
            base = "forwarded" if forwarded else "quoted"
            i += 1
            continue
        if UNDERSCORE_RULE.match(s) and _header_block_at(lines, i + 1):
            _skip(lines, skipped, i + 1, "separator before an earlier message")
            i += 1
            continue
        if _header_block_at(lines, i):
            end, forwarded = _header_block(lines, i)
            for j in range(i, end):
                if lines[j].strip():
                    _skip(lines, skipped, j + 1, "email header of an earlier message")
            if not seen_text:
                base = "forwarded"  # the paste starts with a mail header: it is the message itself
            elif base != "forwarded":
                base = "forwarded" if forwarded else "quoted"
            i = end
            continue
        if WROTE.match(s):
            _skip(lines, skipped, i + 1, "start of a quoted earlier message")
            base = "quoted"
            i += 1
            continue
        if ON_DATE_START.match(s) and i + 1 < n and WROTE_END.search(lines[i + 1].strip()):
            _skip(lines, skipped, i + 1, "start of a quoted earlier message")
            _skip(lines, skipped, i + 2, "start of a quoted earlier message")
            base = "quoted"
            i += 2
            continue
        seen_text = seen_text or bool(s)
        push(base, i + 1, raw)
        i += 1
    if run:
        zones.append((run_kind, run))
    return zones


def _header_block_at(lines: list[str], i: int) -> bool:
    if i + 1 >= len(lines):
        return False
    m = MAIL_HEADER.match(lines[i].strip())
    starts = bool(m and m.group(1).casefold() in ("from", "date"))
    return starts and bool(MAIL_HEADER.match(lines[i + 1].strip()))


def _header_block(lines: list[str], i: int) -> tuple[int, bool]:
    forwarded = False
    while i < len(lines):
        m = MAIL_HEADER.match(lines[i].strip())
        if not m:
            break
        if m.group(1).casefold() == "subject" and FORWARD_SUBJECT.match(m.group(2)):
            forwarded = True
        i += 1
    return i, forwarded


def mark_zone(items: list[ParsedItem], kind: str) -> None:
    """Items read from a quoted earlier message lose a little confidence; forwarded ones say so."""
    for item in items:
        if kind == "quoted":
            item.deduct(0.1, "taken from a quoted earlier message")
        else:
            item.reasons.append("taken from the forwarded message")


def _header_senders(lines: list[str]) -> set[str]:
    """The words of the senders' names: 'From: Diane Koh <…>', 'On Mon, … Paul Herrera <…> wrote:'."""
    senders: set[str] = set()
    for line in lines:
        bare = _GT_PREFIX.sub("", line).strip()
        m = MAIL_HEADER.match(bare)
        if m and m.group(1).casefold() == "from":
            senders |= set(re.sub(r"<[^>]*>|\S+@\S+", " ", m.group(2)).split())
        elif w := _WROTE.match(bare):
            senders |= set(w.group("who").split())
    return senders


def only_senders(lines: list[str], items: list[ParsedItem], skipped: list[SkippedLine]) -> bool:
    """The fresh text found only names of people in the mail headers ('Diane' signing her reply
    'From: Diane Koh'): the list is in the quoted message, and those names are its senders."""
    senders = _header_senders(lines)
    if not senders or not all(set(it.values.get("name", "-").split()) <= senders for it in items):
        return False
    for item in items:
        if item.source_line:
            _skip(lines, skipped, item.source_line, "the sender, named in the mail header")
    items.clear()
    return True


def only_lone_names(lines: list[str], items: list[ParsedItem]) -> bool:
    """The fresh text found only a name or two, each alone, with nothing else on its line."""
    return len(items) <= 2 and all(
        set(it.values) == {"name"} and _alone(lines, it.source_line or 0, it.raw) for it in items
    )


def _alone(lines: list[str], no: int, raw: str) -> bool:
    """Line `no` is a paragraph of its own, unmarked, and not under a line that introduces a list."""

    def blank(k: int) -> bool:
        return not (1 <= k <= len(lines)) or not lines[k - 1].strip()

    if not (blank(no - 1) and blank(no + 1)) or strip_marker(raw)[0]:
        return False
    earlier = [ln.strip() for ln in lines[: no - 1] if ln.strip()]
    return not (earlier and earlier[-1].endswith(":"))


def drop_senders(lines: list[str], items: list[ParsedItem], skipped: list[SkippedLine]) -> None:
    """A name alone at the end of a message that is the sender in a mail header ('From: Dana
    White <…>' … 'Dana') signs the message: it is not a piece. So does a name-only line at the
    end of a message written by that person ('On … Paul Herrera wrote:' … '> Paul'), and the
    company of their address under it ('carol@engraveworks.example' … 'EngraveWorks')."""
    senders = _header_senders(lines)
    if not senders:
        return
    authors: list[tuple[int, set[str]]] = []  # where each message starts, and who wrote it
    for no, line in enumerate(lines, 1):
        bare = _GT_PREFIX.sub("", line).strip()
        m, w = MAIL_HEADER.match(bare), _WROTE.match(bare)
        if m and m.group(1).casefold() == "from":
            who = set(re.sub(r"<[^>]*>|\S+@\S+", " ", m.group(2)).split())
            who |= {d.split(".")[0] for d in re.findall(r"@([\w.-]+)", m.group(2))}
        elif w:
            who = set(w.group("who").split()) | {d.split(".")[0] for d in re.findall(r"@([\w.-]+)", bare)}
        else:
            continue
        authors.append((no, {x.casefold() for x in who}))

    def signs(item: ParsedItem) -> bool:
        """Is the item a name-only line whose words all belong to the author of its message,
        with nothing but such lines after it in that message?"""
        line = item.source_line or 0
        if set(item.values) != {"name"} or not line:
            return False
        above = [(no, who) for no, who in authors if no < line]
        if not above:
            return False
        who = above[-1][1]
        end = next((no for no, _ in authors if no > line), len(lines) + 1)
        after = [it for it in items if line < (it.source_line or 0) < end]
        return all(
            set(it.values) == {"name"} and {x.casefold() for x in it.values["name"].split()} <= who
            for it in [item, *after]
        )

    for item in list(items):
        lone = any("a name alone at the end" in r for r in item.reasons)
        name = item.values.get("name", "")
        if not item.source_line or not name:
            continue
        if (lone and set(name.split()) <= senders) or signs(item):
            items.remove(item)
            _skip(lines, skipped, item.source_line, "the sender, named in the mail header")


def _skip(lines: list[str], skipped: list[SkippedLine], no: int, why: str) -> None:
    skipped.append(SkippedLine(lines[no - 1].strip(), why, no))
