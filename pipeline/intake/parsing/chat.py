"""Chat pastes, pieces named in passing, and the ends of messages.

The senders of a chat pasted without times ('Ms. Alvarez: …' on most lines); pieces on a line of
chat or prose rather than a list line ('oh and Kenji Watanabe - Rookie of the Quarter', '"MOM",
"DAD" and "NANA"', pieces described in a sentence); a list line or a few names closing a line of
chat ("… don't forget Beth! Bethany Crane - Team Player"); a name alone, or '— Events team',
closing a message after its list: the sender rather than a piece.
"""

from __future__ import annotations

import re
from collections import Counter

from .blocks import split_sides
from .content import line_content
from .lexicon import check_name
from .lines import CHAT_SENDER, NAME_LIST_SEP, PAREN, strip_marker
from .model import ParsedItem
from .names import series_in_sentence
from .sentences import extend_titles, pieces_in_sentence

# the end of a sentence, not the dot of a title or an initial ('Dra. Lucía', 'Dr. Andrés', 'J. Smith')
SENTENCE_END = re.compile(
    r"(?<!\b[A-Z]\.)(?<!\bDr\.)(?<!\bDra\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bSr\.)(?<!\bSra\.)"
    r"(?<!\bSt\.)(?<!\bProf\.)(?<!\bRev\.)(?<!\bFr\.)(?<!\bLt\.)(?<!\bSgt\.)(?<!\bCapt\.)(?<=[.!?])\s+(?=\S)"
)
_ADD_LEAD = re.compile(
    r"^(?:(?:oh|and|also|plus|please)\s+)*add\s+(?:one\s+more\s*[:,-]?\s*)?", re.IGNORECASE
)
DASH_SENDER = re.compile(r"^(?:—|--|~)\s*\S")
_CHAT_LEAD = re.compile(
    r"^(?:(?:oh|ah|and|also|plus|ok|okay|p\.?s\.?)\b[\s,]*)+(?=(?-i:[A-ZÀ-Þ]))", re.IGNORECASE
)
_QUOTED = re.compile(r"[\"“„«]([^\"“”„«»]{1,60})[\"”“»]")
_QUOTE_GAP = re.compile(r"^\s*(?:,|;|&|\+|,?\s*(?:and|or|y|et|und|e|en|i))?\s*$", re.IGNORECASE)


def chat_senders(lines: list[str]) -> list[str]:
    """The senders of a chat pasted without times ('Ms. Alvarez: …' on most lines): a few names that
    start three or more lines, at least one of them with a real sentence after the colon (so that
    'Gold Sponsor: Acme' lines are not taken for a chat). The customer, who writes most lines, first."""
    heads = [(m.group("sender"), line[m.end() :]) for line in lines if (m := CHAT_SENDER.match(line.strip()))]
    senders = Counter(sender for sender, _ in heads)
    if len(heads) < 3 or len(senders) > 3:
        return []
    top, count = senders.most_common(1)[0]
    if count < 2 or not check_name(PAREN.sub("", top)).ok:
        return []  # the customer writes most of the lines, under a person's name
    if not any(len(message.split()) >= 6 for _, message in heads):
        return []
    return [sender for sender, _ in senders.most_common()]


def _closing_list_line(text: str) -> str | None:
    """The last sentence of a line of chat, when it is shaped like a list line ('Name – Title')
    with a full name on one side."""
    sents = SENTENCE_END.split(text.strip())
    before = " ".join(sents[:-1]).split()
    if len(sents) < 2 or len(before) < 2 or not any(w[:1].islower() for w in before):
        return None
    last = _ADD_LEAD.sub("", sents[-1])  # '… also add Best goalie - Finn Doherty'
    sides = split_sides(last)
    if sides and any(check_name(side).ok and check_name(side).core >= 2 for side in sides):
        return last
    return None


def _names_closing_sentence(text: str) -> list[str] | None:
    """The names in the last sentence of a line of prose, when that sentence is nothing but a list
    of names ('… for the kids' backpacks? Chloé, Kai, Priya and Tom.'), without its full stop."""
    sents = SENTENCE_END.split(text.strip())
    before = " ".join(sents[:-1]).split()
    if len(sents) < 2 or len(before) < 4 or sum(w[:1].islower() for w in before) < 2:
        return None  # not prose before it ('Dr. Jane Foster, PhD' splits after 'Dr.')
    last = sents[-1].rstrip(".!").strip()
    parts = [p.strip() for p in NAME_LIST_SEP.split(last) if p.strip()]
    if len(parts) >= 2 and all(check_name(p).ok and p[:1].isupper() for p in parts):
        return parts
    return None


def lone_closing_name(paragraph: list[tuple[int, str]], items: list[ParsedItem], earlier: int) -> None:
    """'Coach B' alone at the very end, after a list: more likely the sender than a piece."""
    if earlier < 2 or len(paragraph) != 1 or len(items) != 1 or strip_marker(paragraph[0][1])[0]:
        return
    item = items[0]
    if set(item.values) == {"name"} and len(item.values["name"].split()) <= 3:
        item.cap(0.6, "a name alone at the end of the message, after the list: the sender?")


def pieces_in_passing(
    no: int, s: str, rest: str, marker: str, items: list[ParsedItem]
) -> list[ParsedItem] | str | None:
    """Pieces on a line of chat or prose rather than a list line (`s`, line `no`; `rest` without its
    list marker `marker`): added in passing ('oh and …'), quoted words, a list line or names closing
    the message, a series of names, pieces described in a sentence. A reason to skip the line when it
    only writes out in full the second lines of the pieces above (`items`, changed here); None when
    the line is not read this way."""
    lead = _CHAT_LEAD.match(rest)
    if lead and split_sides(rest[lead.end() :]):  # 'oh and Kenji Watanabe - Rookie of the Quarter'
        drafts = line_content(rest[lead.end() :], listed=True)
        if isinstance(drafts, list) and len(drafts) == 1:
            drafts[0].deduct(0.05, f"added in passing ({lead.group(0).strip()!r} before the name)")
            d = drafts[0]
            return [ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s)]
    labels = _QUOTED.findall(rest)
    if len(labels) >= 2 and all(_QUOTE_GAP.match(g) for g in _QUOTED.split(rest)[2:-1:2]):
        # 'can you do 3 keychains: "MOM", "DAD" and "NANA" thx': each quoted word is a piece
        found = []
        for label in labels:
            item = ParsedItem({"name": label.strip()}, 0.85, source_line=no, raw=s)
            item.cap(0.8, "quoted text in a sentence, read as the engraving (no person named)")
            found.append(item)
        return found
    last = None if marker else _closing_list_line(rest)
    if last:  # "don't forget Beth! Bethany Crane - Team Player"
        drafts = line_content(last, listed=True)
        if isinstance(drafts, list) and len(drafts) == 1 and drafts[0].values.get("title"):
            d = drafts[0]
            d.deduct(0.1, f"taken from the end of a message: {last!r}")
            return [ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s)]
    tail = None if marker else _names_closing_sentence(rest)
    if tail:  # 'Can I get 4 name tags for the kids' backpacks? Chloé, Kai, Priya and Tom.'
        why = f"names taken from the message's last sentence: {', '.join(tail)}"
        return [ParsedItem({"name": name}, 0.9, [why], source_line=no, raw=s) for name in tail]
    if not marker and (series := series_in_sentence(rest)):
        return [ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s) for d in series]
    described = pieces_in_sentence(rest)
    longer = extend_titles(rest, {it.values.get("title", "") for it in items}) if described else {}
    if longer:
        for item in items:
            if item.values.get("title") in longer:
                item.values["title"] = longer[item.values["title"]]
                item.reasons.append(f"second line written out in full later: {rest!r}")
        return "second lines for the pieces above"
    if described:
        return [
            ParsedItem(values=d.values, confidence=d.confidence, reasons=d.reasons, source_line=no, raw=s)
            for d in described
        ]
    return None
