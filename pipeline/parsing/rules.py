"""The rule-based parser for pasted text: emails, chat messages, a document's text.

One pass over the lines, in three layers:
  zones       fresh text / a forwarded message / a quoted earlier message (replies, "> " lines)
  paragraphs  runs of non-blank lines; tab, wide-space or header-led comma tables go to tables.py
  lines       greeting, sign-off, signature, contact details, chatter — or list content,
              which content.py turns into one or more items (comma lists, Name - Title, Last, First …)
Every non-blank line ends up in an item or in `skipped` with a reason.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass

from .blocks import (
    HEADING_AS_TITLE,
    Record,
    flag_odd_lines,
    heading_over_group,
    is_closing_block,
    is_salutation,
    labelled_record,
    outline_headings,
    split_sides,
    stacked_record,
    title_from_heading,
    vote_last_first,
    vote_shape,
)
from .brackets import keep_brackets
from .columns import looks_like_header
from .content import line_content, slash_sides
from .drafts import Draft
from .evidence import check_items
from .instructions import apply_instructions, is_instruction
from .lexicon import (
    SUFFIXES,
    check_name,
    is_header_cell,
    normalize_text,
)
from .lines import (
    BARE_NUMBER,
    CHAT_BRACKET,
    CHAT_SENDER,
    CHAT_STAMP,
    COLON,
    COLUMNS,
    FORWARD_SUBJECT,
    MAIL_FOOTER,
    MAIL_HEADER,
    NUMBERED,
    ON_DATE_START,
    ORIGINAL_MESSAGE,
    PAREN,
    PHONE_ONLY,
    SIG_SEPARATOR,
    UNDERSCORE_RULE,
    WROTE,
    WROTE_END,
    is_contact_only,
    is_greeting,
    is_heading,
    is_signoff,
    quantity_only,
    split_outside,
    stop_count,
    strip_decoration,
    strip_marker,
    take_quantity,
)
from .marketplace import marketplace_order
from .model import ParsedItem, ParseError, ParseResult, SkippedLine
from .names import series_in_sentence
from .people import starts_with_given_name
from .quantities import COUNT_FOR, COUNT_IN_SENTENCE, count_value, expand_quantities
from .segments import POSTNOMINAL
from .sentences import extend_titles, pieces_in_sentence
from .tables import Row, build_table

MAX_TEXT_CHARS = 200_000
"""About 5,000 lines of email; longer lists belong in a CSV or XLSX file (worst-case parse stays ~1 s)."""
KEY_ORDER = ("name", "title", "company", "date", "phone", "email", "number", "pronouns", "note", "qty")
_GT_PREFIX = re.compile(r"^(?:\s*>)+ ?")
# a line that may stand for a piece: capitalised, short, not a sentence
_LABEL_LINE = re.compile(r"^[A-ZÀ-Þ\"“][^.!?:;,@()\[\]–—]{1,60}$")
# the end of a sentence, not the dot of a title or an initial ('Dra. Lucía', 'Dr. Andrés', 'J. Smith')
_SENTENCE = re.compile(
    r"(?<!\b[A-Z]\.)(?<!\bDr\.)(?<!\bDra\.)(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bSr\.)(?<!\bSra\.)"
    r"(?<!\bSt\.)(?<!\bProf\.)(?<!\bRev\.)(?<!\bFr\.)(?<!\bLt\.)(?<!\bSgt\.)(?<!\bCapt\.)(?<=[.!?])\s+(?=\S)"
)
_LIST_SEP = re.compile(r"\s*,\s*(?:and\s+|&\s+)?|\s+(?:and|&|y|et|und|e|i|en|og|och)\s+")
# 'Please do the following name badges', 'In Loving Memory of' (its name on the next line)
_NOT_LABEL = re.compile(
    r"^(?:please|pls|could|can|would|we|i|here|below|attached|thanks|thank)\b|\b(?:of|the|for|and|to|a)$",
    re.IGNORECASE,
)
_INTRO_SECOND_LINE = re.compile(
    r"[\"“„«]([^\"“”„«»]{1,60})[\"”“»]\s*(?:underneath|below|under\s+it|on\s+(?:the\s+)?(?:second|2nd)\s+line"
    r"|as\s+(?:the\s+)?(?:second|2nd)\s+line|on\s+line\s*2)\b[^:]*:\s*$",
    re.IGNORECASE,
)
_CHAT_LEAD = re.compile(
    r"^(?:(?:oh|ah|and|also|plus|ok|okay|p\.?s\.?)\b[\s,]*)+(?=(?-i:[A-ZÀ-Þ]))", re.IGNORECASE
)
_ADD_LEAD = re.compile(
    r"^(?:(?:oh|and|also|plus|please)\s+)*add\s+(?:one\s+more\s*[:,-]?\s*)?", re.IGNORECASE
)
_TOTAL_LINE = re.compile(
    r"^[*_]*(?:grand\s+)?(?:total|gesamt|insgesamt|totale?|razem|suma)\b[*_]*\s*[:=–—-]?\s*\d", re.I
)
_QUOTED = re.compile(r"[\"“„«]([^\"“”„«»]{1,60})[\"”“»]")
_QUOTE_GAP = re.compile(r"^\s*(?:,|;|&|\+|,?\s*(?:and|or|y|et|und|e|en|i))?\s*$", re.IGNORECASE)
_DASH_SENDER = re.compile(r"^(?:—|--|~)\s*\S")
_MD_HEADING = re.compile(r"^#{1,6}\s+(?=\D)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_PIPE_ROW = re.compile(r"^\|.*\|$")
_PIPE_RULE = re.compile(r"^\|(?:\s*:?-{2,}:?\s*\|)+$")
# a table column that holds the piece's second line when a table sits inside a message
# '(the) Dept column is just for our records', 'the Team column doesn't go on the plaque'
_COLUMN_NOT_ENGRAVED = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w/&-]*(?:\s+[\w/&-]+)?)\s+column\s+(?:is|are)?\s*(?:just|only)?\s*"
    r"(?:for\s+(?:our|my|the)?\s*(?:records?|reference|info|internal)|not\s+(?:to\s+be\s+)?engraved"
    r"|(?:does\s*n[o']?t|does not|should\s*n[o']?t|won't)\s+go)",
    re.IGNORECASE,
)
# 'Grade is just for sorting, don't engrave it', "don't engrave the Grade column"
_COLUMN_FOR_SORTING = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w/&-]*(?:\s+[\w/&-]+)?)\s+(?:column\s+)?(?:is|are)\s+(?:just|only)\s+"
    r"(?:for|used for)\s+(?:our|my|the)?\s*(?:records?|reference|info|internal|sorting|filing)"
    r"|\b(?:do\s*n[o']?t|do not|please don't)\s+engrave\s+the\s+(?P<col2>[^\W\d_][\w/&-]*)(?:\s+column)?",
    re.IGNORECASE,
)
# 'the jersey number on the second line', 'Team on line 2'
_SECOND_LINE_COLUMN = re.compile(
    r"\b(?:the\s+)?(?P<col>[^\W\d_][\w-]*)(?:\s+(?:number|no\.?|name|text))?\s+(?:goes\s+)?(?:on|in)\s+(?:the\s+)?"
    r"(?:(?:second|2nd|bottom)\s+line|line\s+(?:two|2))\b",
    re.IGNORECASE,
)
_PREFIX_EXAMPLE = re.compile(r"^[^.]*?\blike\s+[\"“'](?P<pre>[#№]|No\.\s?)\d+[\"”']")
_WROTE = re.compile(
    r"^On\b.+?(?P<who>[A-ZÀ-Þ][\w'’-]+(?:\s+[A-ZÀ-Þ][\w'’-]+){0,3})\s*(?:<[^>]*>)?\s*wrote:?\s*$"
)
_TITLE_HEADER = re.compile(
    r"\b(?:title|award|role|position|category|line 2|second line|achievement|honou?r"
    r"|prize|prix|premio|preis)\b",
    re.IGNORECASE,
)


@dataclass
class _State:
    after_signoff: bool = False


def parse_text(text: str) -> ParseResult:
    """Parse pasted text into items with the rule-based parser (always offline)."""
    check_text(text)
    lines = normalize_text(text).split("\n")
    result = marketplace_order(lines) or _TextParser(lines).run()
    result.engine_note = result.engine_note or "rule-based parser"
    return result


def check_text(text: str | None) -> None:
    """Refuse an empty or oversized paste with a sentence for the shop."""
    if text is None or not text.strip():
        raise ParseError("The order is empty: paste the names (or upload a file) and try again.")
    if len(text) > MAX_TEXT_CHARS:
        raise ParseError(
            f"The text is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
            "Upload a long list as a CSV or XLSX file, or split the text into parts."
        )


def _has_name_column(rows: list[Row]) -> bool:
    """Inferred tables (wide spaces, pipes) must have a column of names to count as a table."""
    width = min(len(r.cells) for r in rows)
    return any(sum(check_name(r.cells[c].strip()).ok for r in rows) * 2 > len(rows) for c in range(width))


def _closing_list_line(text: str) -> str | None:
    """The last sentence of a line of chat, when it is shaped like a list line ('Name – Title')
    with a full name on one side."""
    sents = _SENTENCE.split(text.strip())
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
    sents = _SENTENCE.split(text.strip())
    before = " ".join(sents[:-1]).split()
    if len(sents) < 2 or len(before) < 4 or sum(w[:1].islower() for w in before) < 2:
        return None  # not prose before it ('Dr. Jane Foster, PhD' splits after 'Dr.')
    last = sents[-1].rstrip(".!").strip()
    parts = [p.strip() for p in _LIST_SEP.split(last) if p.strip()]
    if len(parts) >= 2 and all(check_name(p).ok and p[:1].isupper() for p in parts):
        return parts
    return None


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


def _chat_senders(lines: list[str]) -> list[str]:
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


def _draft_from_parts(parts: list[str]) -> Draft:
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


def _as_message_keys(table: ParseResult, second: str | None = None) -> None:
    """A table among other lines of a message speaks the message's keys: its name column becomes
    `name`, and its one text column beside it (or the one headed like a second line: 'Award',
    'Line 2') `title`."""
    name = table.name_column
    if not name or not table.items:
        return
    others = [c for c in table.columns if c != name and c not in KEY_ORDER]
    title = others[0] if len(others) == 1 else next((c for c in others if _TITLE_HEADER.search(c)), None)
    if second in others:
        title = second
    if "title" in table.columns:
        title = None
    rename = {name: "name"} | ({title: "title"} if title else {})
    for item in table.items:
        item.values = {rename.get(k, k): v for k, v in item.values.items()}
    table.columns = [rename.get(c, c) for c in table.columns]
    table.name_column = "name"


class _TextParser:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.items: list[ParsedItem] = []
        self.skipped: list[SkippedLine] = []
        self.notes: list[str] = []
        self.table_columns: list[str] = []
        self.name_column: str | None = None
        self.tables: list[ParseResult] = []
        self.shaped: dict[int, list[str]] = {}
        self.slash_lines: set[int] = set()
        self.numbered_titles: set[int] = set()
        self.lone_marker = False
        self.zone = "fresh"
        self.heading_is_title = any(HEADING_AS_TITLE.search(line) for line in lines)
        self.chat_senders = _chat_senders(lines)

    # ------------------------------------------------------------------ zones

    def run(self) -> ParseResult:
        deferred: list[list[tuple[int, str]]] = []
        for kind, lines in self._zones():
            if kind == "quoted":
                deferred.append(lines)
            else:
                self._segment(lines, kind)
        if deferred and self.items and (self._only_lone_names() or self._only_senders()):
            # 'Sorry, Jon should be John. / Gareth' above the quoted list: the list is the quoted one
            for item in self.items:
                item.cap(0.6, "a name alone in the reply above the quoted list: the sender?")
            for lines in deferred:
                self._segment(lines, "quoted")
            deferred = []
        if deferred:
            if self.items:
                for lines in deferred:
                    for no, body in lines:
                        if body.strip():
                            self._skip(no, "quoted from an earlier message")
            else:
                for lines in deferred:
                    self._segment(lines, "quoted")
        return self._result()

    def _header_senders(self) -> set[str]:
        """The words of the senders' names: 'From: Diane Koh <…>', 'On Mon, … Paul Herrera <…> wrote:'."""
        senders: set[str] = set()
        for line in self.lines:
            bare = _GT_PREFIX.sub("", line).strip()
            m = MAIL_HEADER.match(bare)
            if m and m.group(1).casefold() == "from":
                senders |= set(re.sub(r"<[^>]*>|\S+@\S+", " ", m.group(2)).split())
            elif w := _WROTE.match(bare):
                senders |= set(w.group("who").split())
        return senders

    def _only_senders(self) -> bool:
        """The fresh text found only names of people in the mail headers ('Diane' signing her reply
        'From: Diane Koh'): the list is in the quoted message, and those names are its senders."""
        senders = self._header_senders()
        if not senders or not all(set(it.values.get("name", "-").split()) <= senders for it in self.items):
            return False
        for item in self.items:
            if item.source_line:
                self._skip(item.source_line, "the sender, named in the mail header")
        self.items = []
        return True

    def _only_lone_names(self) -> bool:
        """The fresh text found only a name or two, each alone, with nothing else on its line."""
        return len(self.items) <= 2 and all(
            set(it.values) == {"name"} and self._alone(it.source_line or 0, it.raw) for it in self.items
        )

    def _alone(self, no: int, raw: str) -> bool:
        """Line `no` is a paragraph of its own, unmarked, and not under a line that introduces a list."""

        def blank(k: int) -> bool:
            return not (1 <= k <= len(self.lines)) or not self.lines[k - 1].strip()

        if not (blank(no - 1) and blank(no + 1)) or strip_marker(raw)[0]:
            return False
        earlier = [ln.strip() for ln in self.lines[: no - 1] if ln.strip()]
        return not (earlier and earlier[-1].endswith(":"))

    def _zones(self) -> list[tuple[str, list[tuple[int, str]]]]:
        zones: list[tuple[str, list[tuple[int, str]]]] = []
        base = "fresh"
        run_kind, run = base, []
        seen_text = False
        i, n = 0, len(self.lines)

        def push(kind: str, no: int, body: str) -> None:
            nonlocal run_kind, run
            if kind != run_kind and run:
                zones.append((run_kind, run))
                run = []
            run_kind = kind
            run.append((no, body))

        while i < n:
            raw = self.lines[i]
            s = raw.strip()
            if s.startswith(">"):
                push("quoted", i + 1, _GT_PREFIX.sub("", raw))
                i += 1
                continue
            marker = ORIGINAL_MESSAGE.match(s)
            if marker:
                forwarded = "forward" in s.casefold()
                why = "start of a forwarded message" if forwarded else "start of an earlier message"
                self._skip(i + 1, why)
                base = "forwarded" if forwarded else "quoted"
                i += 1
                continue
            if UNDERSCORE_RULE.match(s) and self._header_block_at(i + 1):
                self._skip(i + 1, "separator before an earlier message")
                i += 1
                continue
            if self._header_block_at(i):
                end, forwarded = self._header_block(i)
                for j in range(i, end):
                    if self.lines[j].strip():
                        self._skip(j + 1, "email header of an earlier message")
                if not seen_text:
                    base = "forwarded"  # the paste starts with a mail header: it is the message itself
                elif base != "forwarded":
                    base = "forwarded" if forwarded else "quoted"
                i = end
                continue
            if WROTE.match(s):
                self._skip(i + 1, "start of a quoted earlier message")
                base = "quoted"
                i += 1
                continue
            if ON_DATE_START.match(s) and i + 1 < n and WROTE_END.search(self.lines[i + 1].strip()):
                self._skip(i + 1, "start of a quoted earlier message")
                self._skip(i + 2, "start of a quoted earlier message")
                base = "quoted"
                i += 2
                continue
            seen_text = seen_text or bool(s)
            push(base, i + 1, raw)
            i += 1
        if run:
            zones.append((run_kind, run))
        return zones

    def _header_block_at(self, i: int) -> bool:
        if i + 1 >= len(self.lines):
            return False
        m = MAIL_HEADER.match(self.lines[i].strip())
        starts = bool(m and m.group(1).casefold() in ("from", "date"))
        return starts and bool(MAIL_HEADER.match(self.lines[i + 1].strip()))

    def _header_block(self, i: int) -> tuple[int, bool]:
        forwarded = False
        while i < len(self.lines):
            m = MAIL_HEADER.match(self.lines[i].strip())
            if not m:
                break
            if m.group(1).casefold() == "subject" and FORWARD_SUBJECT.match(m.group(2)):
                forwarded = True
            i += 1
        return i, forwarded

    # ------------------------------------------------------------- paragraphs

    def _segment(self, lines: list[tuple[int, str]], kind: str) -> None:
        self.zone = kind
        state = _State()
        paragraphs: list[list[tuple[int, str]]] = [[]]
        for no, body in lines:
            if body.strip():
                paragraphs[-1].append((no, body.strip()))
            elif paragraphs[-1]:
                paragraphs.append([])
        paragraphs = [p for p in paragraphs if p]
        start = len(self.items)
        signed = (
            len(paragraphs) >= 3
            and 2 <= len(paragraphs[-1]) <= 3
            and check_name(paragraphs[-1][0][1]).core >= 2
            and is_closing_block([paragraphs[-2][-1][1], *(b for _, b in paragraphs[-1])])
        )
        if signed:  # '… Thank you!' then, after a blank line, 'Ms. R. Patel' / 'Head of Year 13'
            for no, _ in paragraphs.pop():
                self._skip(no, "looks like a signature")
        records = self._records(paragraphs)
        for n, paragraph in enumerate(paragraphs):
            before = len(self.items)
            last = n == len(paragraphs) - 1
            if n == 0 and len(paragraphs) > 1 and is_salutation(paragraph):
                self._skip(paragraph[0][0], "greeting (the reader's name)")
                continue
            if n in records and not state.after_signoff:
                self._record(records[n])
                continue
            closing = last and before > start and is_closing_block([b for _, b in paragraph])
            self._paragraph(paragraph, state, last=last, closing=closing)
            if kind != "fresh":
                self._mark_zone(self.items[before:], kind)
            if n == len(paragraphs) - 1 and n > 0:
                self._lone_closing_name(paragraph, self.items[before:], before - start)
                if before > start and len(paragraph) == 1 and _DASH_SENDER.match(paragraph[0][1]):
                    self.items[before:] = []  # '— Events team' closing the message: the sender
                    self._skip(paragraph[0][0], "signature (a dash before the sender's name)")

    @staticmethod
    def _records(paragraphs: list[list[tuple[int, str]]]) -> dict[int, Record]:
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

    def _record(self, record: Record) -> None:
        values = {"name": record.name}
        if record.title:
            values["title"] = record.title
        if record.qty:
            values["qty"] = record.qty
        item = ParsedItem(
            values=values,
            confidence=0.9,
            reasons=list(record.reasons),
            source_line=record.lines[0],
            raw="\n".join(self.lines[no - 1].strip() for no in record.lines),
        )
        if any("guessed" in r for r in record.reasons):
            item.cap(0.8, "a single block read as name and second line")
        if any("also reads as a name" in r for r in record.reasons):
            item.cap(0.8, "its second line could be a second name")
        if record.intro:
            self._skip(record.intro, "introduces the piece below")
        check = check_name(record.name)
        if not check.ok:
            item.cap(0.8, f"{record.name!r} does not look like a name ({check.why})")
        self.items.append(item)
        for no in record.lines[1:]:
            self._skip(no, "part of the block above (second line or count)")

    @staticmethod
    def _lone_closing_name(paragraph: list[tuple[int, str]], items: list[ParsedItem], earlier: int) -> None:
        """'Coach B' alone at the very end, after a list: more likely the sender than a piece."""
        if earlier < 2 or len(paragraph) != 1 or len(items) != 1 or strip_marker(paragraph[0][1])[0]:
            return
        item = items[0]
        if set(item.values) == {"name"} and len(item.values["name"].split()) <= 3:
            item.cap(0.6, "a name alone at the end of the message, after the list: the sender?")

    @staticmethod
    def _mark_zone(items: list[ParsedItem], kind: str) -> None:
        for item in items:
            if kind == "quoted":
                item.deduct(0.1, "taken from a quoted earlier message")
            else:
                item.reasons.append("taken from the forwarded message")

    def _paragraph(
        self, par: list[tuple[int, str]], state: _State, last: bool, closing: bool = False
    ) -> None:
        # contact lines make the closing paragraph a signature (elsewhere they are skipped one by one)
        signature = closing or (
            last
            and len(par) > 1
            and any(is_contact_only(s) for _, s in par)
            and not any(strip_marker(s)[0] for _, s in par)
        )
        numbers = [int(m.group(1)) for _, s in par if (m := BARE_NUMBER.match(s))]
        bare_markers = len(numbers) >= 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        first_item = len(self.items)
        outline = set() if signature else set(outline_headings([b for _, b in par]))
        self.shaped = {par[k][0]: parts for k, parts in comma_shape([b for _, b in par]).items()}
        # a block whose lines are mostly 'First line / second line' is a list, markers or not
        # '1. Ritter: Matthias Brückner' among unnumbered 'Title: Name' lines: the number is the title's
        numbered = [no for no, b in par if NUMBERED.match(b) and strip_marker(b)[0]]
        self.lone_marker = sum(1 for _, b in par if strip_marker(b)[0]) == 1  # a list of one is no list
        sparse = numbered and len(par) >= 4 and len(numbered) * 2 < len(par)
        self.numbered_titles = (
            {no for no in numbered if COLON.search(self.lines[no - 1])} if sparse else set()
        )
        slashed = [no for no, b in par if slash_sides(strip_marker(b)[1] or b)]
        self.slash_lines = set(slashed) if len(slashed) >= 3 and len(slashed) * 2 >= len(par) else set()
        group: tuple[str, int] | None = None
        i = 0
        while i < len(par):
            end, rows, header = (i, [], None) if state.after_signoff or signature else self._table_run(par, i)
            if end > i:
                self._table(rows, header)
                i = end
                continue
            if i in outline:
                group = (strip_marker(par[i][1])[1], len(self.items))
                self._skip(par[i][0], "heading over a group (nested list)")
                i += 1
                continue
            before = len(self.items)
            self._line(par[i][0], par[i][1], state, signature, bare_markers)
            if group:
                title_from_heading(self.items[before:], group[0], self.heading_is_title)
            i += 1
        self._labels_in_list(par, first_item)
        if m := _INTRO_SECOND_LINE.search(par[0][1]):
            # 'Sponsors (please engrave company name, then "Gold Sponsor 2024" underneath):'
            for item in self.items[first_item:]:
                if "name" in item.values and not item.values.get("title"):
                    item.values["title"] = m.group(1)
                    item.reasons.append(f"second line {m.group(1)!r} from the line introducing its group")
        self._single_word_check(self.items[first_item:])
        heading = None if signature else heading_over_group([b for _, b in par])
        if heading:
            top = par[0][0]
            own = [it for it in self.items[first_item:] if it.source_line == top]
            if own:  # the heading was read as a name: it is not a piece
                self.items[first_item:] = [it for it in self.items[first_item:] if it not in own]
                self._skip(top, "heading over a group")
            title_from_heading(self.items[first_item:], heading, self.heading_is_title)
        vote_shape(self.items[first_item:], frozenset(self.numbered_titles))
        vote_last_first(self.items[first_item:])
        flag_odd_lines(self.items[first_item:])

    def _table_run(self, par: list[tuple[int, str]], i: int) -> tuple[int, list[Row], bool | None]:
        """A run of table lines starting at i: tabs, wide spaces, or a header line with delimiters."""
        no, s = par[i]
        if "\t" in s:
            j = i
            while j < len(par) and "\t" in par[j][1]:
                j += 1
            if j - i >= 2:
                return j, [Row(b.split("\t"), n, b) for n, b in par[i:j]], None
        if _PIPE_ROW.match(s):  # '| Name | Award |' (Markdown, Notion, Confluence)
            j = i
            while j < len(par) and _PIPE_ROW.match(par[j][1]):
                j += 1
            if j - i >= 2:
                rule = j - i >= 3 and _PIPE_RULE.match(par[i + 1][1])
                return j, [Row(b.split("|"), n, b) for n, b in par[i:j]], True if rule else None
        for delim in (",", ";", "|", "\t"):
            cells = [c.strip() for c in s.split(delim)]
            if len(cells) >= 2 and all(c and is_header_cell(c) for c in cells):
                j = i + 1
                while j < len(par) and delim in par[j][1]:
                    j += 1
                body = [Row(next(csv.reader([b], delimiter=delim)), n, b) for n, b in par[i + 1 : j]]
                return j, [Row(cells, no, s), *body], True
        if strip_marker(s)[0]:
            return i, [], None
        width = len(COLUMNS.split(s))
        j = i
        while j < len(par) and not strip_marker(par[j][1])[0] and 2 <= len(COLUMNS.split(par[j][1])) <= width:
            j += 1
        rows = [Row(COLUMNS.split(b), n, b) for n, b in par[i:j]]
        if j - i >= 2 and (looks_like_header(rows[0].cells) or _has_name_column(rows)):
            return j, rows, None
        return i, [], None

    def _table(self, rows: list[Row], header: bool | None) -> None:
        table = build_table(rows, header=header)
        self.tables.append(table)
        self.items.extend(table.items)
        self.skipped.extend(table.skipped)
        self.notes.extend(table.notes)
        self.table_columns.extend(c for c in table.columns if c not in self.table_columns)
        self.name_column = self.name_column or table.name_column

    # ------------------------------------------------------------------ lines

    def _line(self, no: int, s: str, state: _State, signature: bool, bare_markers: bool) -> None:
        s = strip_decoration(s) or s
        if _MD_HEADING.match(s):
            return self._skip(no, "heading (Markdown)")
        s = _MD_EMPHASIS.sub(r"\2", s)  # '**Dr. Ingrid Solberg** — Keynote': the stars are markup
        if SIG_SEPARATOR.match(s):
            state.after_signoff = True
            return self._skip(no, "signature separator")
        if MAIL_FOOTER.match(s):
            return self._skip(no, "mail app footer")
        if self.zone == "quoted" and (m := MAIL_HEADER.match(s)) and m.group(1).casefold() != "to":
            return self._skip(no, "mail header of a quoted message")  # '> From: Sister Agnes Farrell'
        if is_contact_only(s):
            why = "contact details in a signature" if state.after_signoff or signature else "contact details"
            return self._skip(no, why)
        if (m := CHAT_SENDER.match(s)) and m.group("sender") in self.chat_senders:
            s = s[m.end() :]  # 'Ms. Alvarez: Lily, Noah, Aarav and Zoë.' → the message
            if m.group("sender") != self.chat_senders[0] and stop_count(s):
                return self._skip(no, "chatter")  # the shop's reply: 'Sure thing, ready Friday.'
        if m := CHAT_BRACKET.match(s) or CHAT_STAMP.match(s):
            rest = (m.group("after") or m.groupdict().get("before") or "").strip()
            sender, sep, message = rest.partition(": ")
            if not rest or check_name(rest).ok or check_name(PAREN.sub("", rest).strip()).ok:
                return self._skip(no, "chat message header (time and sender)")  # 'Morgan (EngraveCraft)'
            if sep and message.strip() and check_name(sender).ok:
                s = message.strip()  # '[10:14] Karen: Gerald Fitzpatrick' → the message
        if signature:
            return self._skip(no, "looks like a signature")
        if is_instruction(s):
            return self._skip(no, "an instruction about the list")
        marker, rest = ("", s) if no in self.numbered_titles else strip_marker(s)
        guessed_qty = None
        if not marker and (m := BARE_NUMBER.match(s)):
            if bare_markers:
                marker, rest = m.group(1), s[m.end() :]
            else:
                guessed_qty, rest = m.group(1), s[m.end() :]
        if _TOTAL_LINE.match(rest):
            return self._skip(no, "a total, not a piece")  # 'Total: 3 badges'
        if (
            len(rest.split()) <= 6
            and COUNT_IN_SENTENCE.search(rest)
            and not any(c.isupper() or c in "\"“”'‘’«»" for c in rest)
        ):
            return self._skip(no, "a count for a piece")  # '* needs 2 copies' under a piece
        if not marker or (state.after_signoff and self.lone_marker):
            # after the sign-off even '1. Vorsitzender' is the signature's role line
            why = self._not_content(s, state, signature)
            if why:
                return self._skip(no, why)
        sents = _SENTENCE.split(rest.strip())
        if not marker and len(sents) >= 2 and is_signoff(sents[-1]):
            rest = " ".join(sents[:-1])  # '… and one for our dog Rocket? Thanks, Priya': she signs off
            self.skipped.append(SkippedLine(sents[-1], "sign-off at the end of the line", no))
        lead = _CHAT_LEAD.match(rest)
        if lead and split_sides(rest[lead.end() :]):  # 'oh and Kenji Watanabe - Rookie of the Quarter'
            drafts = line_content(rest[lead.end() :], listed=True)
            if isinstance(drafts, list) and len(drafts) == 1:
                drafts[0].deduct(0.05, f"added in passing ({lead.group(0).strip()!r} before the name)")
                d = drafts[0]
                self.items.append(ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s))
                return None
        labels = _QUOTED.findall(rest)
        if len(labels) >= 2 and all(_QUOTE_GAP.match(g) for g in _QUOTED.split(rest)[2:-1:2]):
            # 'can you do 3 keychains: "MOM", "DAD" and "NANA" thx': each quoted word is a piece
            for label in labels:
                item = ParsedItem({"name": label.strip()}, 0.85, source_line=no, raw=s)
                item.cap(0.8, "quoted text in a sentence, read as the engraving (no person named)")
                self.items.append(item)
            return None
        last = None if marker else _closing_list_line(rest)
        if last:  # "don't forget Beth! Bethany Crane - Team Player"
            drafts = line_content(last, listed=True)
            if isinstance(drafts, list) and len(drafts) == 1 and drafts[0].values.get("title"):
                d = drafts[0]
                d.deduct(0.1, f"taken from the end of a message: {last!r}")
                self.items.append(ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s))
                return None
        tail = None if marker else _names_closing_sentence(rest)
        if tail:  # 'Can I get 4 name tags for the kids' backpacks? Chloé, Kai, Priya and Tom.'
            why = f"names taken from the message's last sentence: {', '.join(tail)}"
            for name in tail:
                self.items.append(ParsedItem({"name": name}, 0.9, [why], source_line=no, raw=s))
            return None
        if not marker and (series := series_in_sentence(rest)):
            for d in series:
                self.items.append(ParsedItem(d.values, d.confidence, d.reasons, source_line=no, raw=s))
            return None
        described = pieces_in_sentence(rest)
        longer = extend_titles(rest, {it.values.get("title", "") for it in self.items}) if described else {}
        if longer:
            for item in self.items:
                if item.values.get("title") in longer:
                    item.values["title"] = longer[item.values["title"]]
                    item.reasons.append(f"second line written out in full later: {rest!r}")
            return self._skip(no, "second lines for the pieces above")
        if described:
            for d in described:
                self.items.append(
                    ParsedItem(
                        values=d.values, confidence=d.confidence, reasons=d.reasons, source_line=no, raw=s
                    )
                )
            return None
        counted = None
        if m := COUNT_FOR.match(rest):  # 'two plaques for Eleanor Vance, "Single Sculls Champion"'
            counted, rest = count_value(m.group("n")), rest[m.end() :]
        drafts = line_content(rest, listed=bool(marker) or counted is not None or no in self.slash_lines)
        parts = self.shaped.get(no)
        same = (
            parts and isinstance(drafts, list) and len(drafts) == 1 and drafts[0].values["name"] == parts[0]
        )
        if parts and (not same or any(r.endswith("or a second person?") for r in drafts[0].reasons)):
            drafts = [_draft_from_parts(parts)]  # the block's shape says 'name, second line
        if isinstance(drafts, str) or not drafts:
            return self._skip(no, drafts or "no name found")
        for d in drafts:
            if counted and "qty" not in d.values and len(drafts) == 1:
                if counted > 1:
                    d.values["qty"] = str(counted)
                d.reasons.append(f"quantity {counted} written before the name: {s[: len(s) - len(rest)]!r}")
            if guessed_qty and "qty" not in d.values and len(drafts) == 1:
                d.values["qty"] = guessed_qty
                d.deduct(0.15, f"guessed quantity {guessed_qty} from the number before the name")
            self.items.append(
                ParsedItem(values=d.values, confidence=d.confidence, reasons=d.reasons, source_line=no, raw=s)
            )

    @staticmethod
    def _not_content(s: str, state: _State, signature: bool) -> str | None:
        """Why a line without a list marker is not list content, or None when it may be."""
        if state.after_signoff:
            return "contact details in a signature" if is_contact_only(s) else "looks like a signature"
        if is_greeting(s):
            return "greeting"
        if is_signoff(s):
            state.after_signoff = True
            return "sign-off"
        if signature:
            return "looks like a signature"
        if is_heading(s):
            return "heading over the list"
        if s.endswith(":"):
            return "introduces the list"
        return None

    def _skip(self, no: int, why: str) -> None:
        self.skipped.append(SkippedLine(self.lines[no - 1].strip(), why, no))

    # --------------------------------------------------------------- content

    def _labels_in_list(self, par: list[tuple[int, str]], first_item: int) -> None:
        """A line of a list block that gave no item because what stands where the names are is no
        person's name — a sponsor, a team, a family, a pet called 'Rex 2' — is kept as a flagged
        piece, read the way its block reads: 'Team Bullseye - Division 2 Winners, qty 4' beside
        'Name – Title' lines; 'In Memory of Walter Brennan' on a donor list of bare names."""
        items = self.items[first_item:]
        body = [b for _, b in par if not b.rstrip().endswith(":")]
        if not items or not all(len(b.split()) <= 10 and not b.rstrip().endswith((".", "?")) for b in body):
            return  # prose, not a list
        lines = {no for no, _ in par}
        found = [s for s in self.skipped if s.line in lines and s.why in ("chatter", "no name found")]
        starts = {it.source_line for it in items}
        if (
            len(found) >= 2
            and all((s.line or 0) - 1 in starts for s in found)
            and not any(split_sides(strip_marker(s.text)[1]) for s in found)
        ):
            return  # every other line: each name's second line, not pieces of their own
        titled = sum("title" in it.values for it in items) * 2 > len(items)
        for (
            item
        ) in items:  # 'Club Deportivo Ribera – Mejor Club' kept whole as a name: read it like its block
            name = item.values.get("name", "")
            sides = split_sides(name) if titled and set(item.values) == {"name"} else None
            if sides and not check_name(name).ok:
                item.values = {"name": sides[0], "title": sides[1]}
                item.cap(
                    0.6,
                    f"{sides[0]!r} is not a person's name, but its line is shaped like its block's",
                )
        title_first = sum(
            any("name came after the title" in r or "'Title – Name'" in r for r in it.reasons) for it in items
        )
        for skipped in found:
            text = strip_marker(skipped.text.strip())[1]
            if is_instruction(text):
                continue
            sides = split_sides(text) if titled else None
            if sides is None and not titled:
                sides = split_sides(text)
                sides = (
                    sides if sides and PHONE_ONLY.match(sides[1]) and not is_header_cell(sides[0]) else None
                )
            if sides and PHONE_ONLY.match(sides[1]):  # 'Max 2 - 07700 900111' among pet tags
                values = {"name": sides[0], "phone": sides[1]}
                why = f"{sides[0]!r} is not a person's name, but it stands where the names are in its block"
            elif sides and (count := quantity_only(sides[1])):  # 'Mum & Dad - 2 glasses'
                values = {"name": sides[0], "qty": count}
                why = f"{sides[0]!r} is not a person's name, but it stands where the names are in its block"
            elif sides:
                name, title = (sides[1], sides[0]) if title_first * 2 > len(items) else sides
                values = {"name": name, "title": title}
                why = (
                    f"{name!r} is not a person's name, but its line has the shape of the others in its block"
                )
            elif not titled and _LABEL_LINE.match(text) and not _NOT_LABEL.search(text):
                values = {"name": text}
                why = "not a person's name, but it stands in a list of names (a family, a group, a pet?)"
            else:
                continue
            last = "title" if "title" in values else "name"
            qty, rest = take_quantity(values[last])
            if qty and rest:
                values[last], values["qty"] = rest.rstrip(" ,;"), qty
            self.skipped.remove(skipped)
            confidence = 0.6
            if sides and starts_with_given_name(values["name"]):  # 'Ciarán Mac an tSaoir — 40 Years …'
                confidence, why = (
                    0.85,
                    f"{values['name']!r} starts with a known given name, in a line shaped like its block's",
                )
            self.items.append(
                ParsedItem(values, confidence, [why], source_line=skipped.line, raw=skipped.text)
            )
        self.items[first_item:] = sorted(self.items[first_item:], key=lambda it: it.source_line or 0)

    def _drop_senders(self) -> None:
        """A name alone at the end of a message that is the sender in a mail header ('From: Dana
        White <…>' … 'Dana') signs the message: it is not a piece. So does a name-only line at the
        end of a message written by that person ('On … Paul Herrera wrote:' … '> Paul'), and the
        company of their address under it ('carol@engraveworks.example' … 'EngraveWorks')."""
        senders = self._header_senders()
        if not senders:
            return
        authors: list[tuple[int, set[str]]] = []  # where each message starts, and who wrote it
        for no, line in enumerate(self.lines, 1):
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
            end = next((no for no, _ in authors if no > line), len(self.lines) + 1)
            after = [it for it in self.items if line < (it.source_line or 0) < end]
            return all(
                set(it.values) == {"name"} and {x.casefold() for x in it.values["name"].split()} <= who
                for it in [item, *after]
            )

        for item in list(self.items):
            lone = any("a name alone at the end" in r for r in item.reasons)
            name = item.values.get("name", "")
            if not item.source_line or not name:
                continue
            if (lone and set(name.split()) <= senders) or signs(item):
                self.items.remove(item)
                self._skip(item.source_line, "the sender, named in the mail header")

    def _drop_mentions(self) -> None:
        """A name read out of a sentence that is a piece already listed ('Henry VIII (yes really …)',
        'two of the Victoria Cross plaque') is that piece mentioned again, not a new one: its line
        goes back to the sentences the order's instructions are read from."""
        listed = {
            v
            for it in self.items
            if not any("inside a sentence" in r for r in it.reasons)
            for k, v in it.values.items()
            if k in ("name", "title", "note")
        }
        for item in [it for it in self.items if any("inside a sentence" in r for r in it.reasons)]:
            if item.values.get("name") in listed and item.source_line:
                self.items.remove(item)
                if not any(it.source_line == item.source_line for it in self.items):
                    self._skip(item.source_line, "mentions a piece already listed")

    @staticmethod
    def _single_word_check(items: list[ParsedItem]) -> None:
        """A one-word name among full names is probably a first name only, or a label."""
        names = [(it, it.values.get("name", "")) for it in items if "name" in it.values]
        multi = sum(1 for _, n in names if check_name(n).core >= 2)
        if multi * 2 <= len(names):
            return
        for item, name in names:
            if check_name(name).ok and check_name(name).core == 1:
                item.deduct(0.1, "only one word, while the other names have more")

    # ----------------------------------------------------------------- result

    def _columns_not_engraved(self) -> None:
        """'The Dept column is just for our records, it doesn't go on the plaque': that column of a
        pasted table is kept out of the items, as the message says."""
        columns = {c.casefold(): c for t in self.tables for c in t.columns if c != t.name_column}
        if not columns:
            return
        for line in self.lines:
            found = [*_COLUMN_NOT_ENGRAVED.finditer(line), *_COLUMN_FOR_SORTING.finditer(line)]
            for m in found:
                key = columns.get((m.group("col") or m.groupdict().get("col2") or "").strip().casefold())
                if not key:
                    continue
                for table in self.tables:
                    for item in table.items:
                        if item.values.pop(key, None) is not None:
                            item.reasons.append(f"the {key!r} column is not engraved, as the message says")
                    table.columns = [c for c in table.columns if c != key]
                self.notes.append(f"Column {key!r} not engraved: {line.strip()!r}")

    def _column_on_second_line(self) -> str | None:
        """'… and the jersey number on the second line like "#7"': the pasted table's column the
        message says is the second line; cells written like the example get its prefix ('#')."""
        columns = {c.casefold(): c for t in self.tables for c in t.columns if c != t.name_column}
        for line in self.lines:
            for m in _SECOND_LINE_COLUMN.finditer(line):
                key = columns.get(m.group("col").casefold())
                if not key:
                    continue
                example = _PREFIX_EXAMPLE.search(line[m.end() :])
                for table in self.tables:
                    for item in table.items:
                        cell = item.values.get(key, "")
                        if example and cell.isdigit():
                            item.values[key] = example.group("pre") + cell
                            item.reasons.append(
                                f"{key!r} written like the message's example {example.group(0).strip()!r}"
                            )
                        item.reasons.append(f"the {key!r} column is the second line, as the message says")
                self.notes.append(f"Column {key!r} is the second line: {line.strip()!r}")
                return key
        return None

    def _result(self) -> ParseResult:
        keep_brackets(self.items, self.lines)
        self._columns_not_engraved()
        second = self._column_on_second_line()
        if sum(len(t.items) for t in self.tables) < len(self.items):
            # items from the text around a table: the table speaks the message's keys
            for table in self.tables:
                _as_message_keys(table, second)
            self.table_columns = [c for t in self.tables for c in t.columns]
        used = {it.source_line for it in self.items}
        reported = {s.line for s in self.skipped}
        for no, line in enumerate(self.lines, 1):
            if line.strip() and no not in used and no not in reported:
                self._skip(no, "not used")
        self.items.sort(key=lambda it: it.source_line or 0)
        self._drop_senders()
        self._drop_mentions()
        self.items = apply_instructions(self.items, self.lines, self.skipped)
        check_items(self.items)
        self.skipped.sort(key=lambda s: s.line or 0)
        items = expand_quantities(self.items)
        seen = {k for it in items for k in it.values}
        columns = [k for k in KEY_ORDER if k in seen and k != "qty"]
        columns += [k for k in self.table_columns if k not in columns]
        columns += sorted(seen - set(columns) - {"qty"})
        name_column = "name" if "name" in seen else self.name_column
        return ParseResult(
            items=items,
            skipped=self.skipped,
            engine="rules",
            columns=columns,
            name_column=name_column,
            notes=self.notes,
        )
