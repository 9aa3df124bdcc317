"""The rule-based parser for pasted text: emails, chat messages, a document's text.

One pass over the lines, in three layers:
  zones       fresh text / a forwarded message / a quoted earlier message (threads.py)
  paragraphs  runs of non-blank lines; multi-line records and the shapes of blocks (blocks.py),
              tab, pipe, wide-space or header-led comma tables (message_tables.py, built by tables.py)
  lines       greeting, sign-off, signature, contact details, chatter, pieces named in passing
              (chat.py) — or list content, which content.py turns into one or more items (comma
              lists, Name - Title, Last, First …)
Then the result: what the message says about its tables, senders and repeated mentions dropped, the
order's own corrections applied (instructions.py). Every non-blank line ends up in an item or in
`skipped` with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .blocks import (
    HEADING_AS_TITLE,
    Record,
    comma_shape,
    draft_from_parts,
    flag_odd_lines,
    heading_over_group,
    is_closing_block,
    is_salutation,
    outline_headings,
    paragraph_records,
    single_word_check,
    title_from_heading,
    vote_last_first,
    vote_shape,
)
from .brackets import keep_brackets
from .chat import (
    DASH_SENDER,
    SENTENCE_END,
    chat_senders,
    lone_closing_name,
    pieces_in_passing,
)
from .content import line_content, slash_sides
from .evidence import check_items
from .instructions import apply_instructions, is_instruction
from .labels import labels_in_list
from .lexicon import (
    check_name,
    normalize_text,
)
from .lines import (
    BARE_NUMBER,
    CHAT_BRACKET,
    CHAT_SENDER,
    CHAT_STAMP,
    COLON,
    MAIL_FOOTER,
    MAIL_HEADER,
    NUMBERED,
    PAREN,
    SIG_SEPARATOR,
    is_contact_only,
    is_greeting,
    is_heading,
    is_signoff,
    stop_count,
    strip_decoration,
    strip_marker,
)
from .marketplace import marketplace_order
from .message_tables import KEY_ORDER, as_message_keys, column_on_second_line, columns_not_engraved, table_run
from .model import ParsedItem, ParseError, ParseResult, SkippedLine
from .quantities import COUNT_FOR, COUNT_IN_SENTENCE, count_value, expand_quantities
from .tables import Row, build_table
from .threads import drop_senders, mark_zone, only_lone_names, only_senders, read_zones

MAX_TEXT_CHARS = 200_000
"""About 5,000 lines of email; longer lists belong in a CSV or XLSX file (worst-case parse stays ~1 s)."""
_INTRO_SECOND_LINE = re.compile(
    r"[\"“„«]([^\"“”„«»]{1,60})[\"”“»]\s*(?:underneath|below|under\s+it|on\s+(?:the\s+)?(?:second|2nd)\s+line"
    r"|as\s+(?:the\s+)?(?:second|2nd)\s+line|on\s+line\s*2)\b[^:]*:\s*$",
    re.IGNORECASE,
)
_TOTAL_LINE = re.compile(
    r"^[*_]*(?:grand\s+)?(?:total|gesamt|insgesamt|totale?|razem|suma)\b[*_]*\s*[:=–—-]?\s*\d", re.I
)
_MD_HEADING = re.compile(r"^#{1,6}\s+(?=\D)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")


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


class _TextParser:
    """One paste's lines read into items; every non-blank line not in an item is skipped with a reason."""

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
        self.chat_senders = chat_senders(lines)

    # ------------------------------------------------------------------ zones

    def run(self) -> ParseResult:
        deferred: list[list[tuple[int, str]]] = []
        for kind, lines in read_zones(self.lines, self.skipped):
            if kind == "quoted":
                deferred.append(lines)
            else:
                self._segment(lines, kind)
        if (
            deferred
            and self.items
            and (
                only_lone_names(self.lines, self.items) or only_senders(self.lines, self.items, self.skipped)
            )
        ):
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
        records = paragraph_records(paragraphs)
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
                mark_zone(self.items[before:], kind)
            if n == len(paragraphs) - 1 and n > 0:
                lone_closing_name(paragraph, self.items[before:], before - start)
                if before > start and len(paragraph) == 1 and DASH_SENDER.match(paragraph[0][1]):
                    self.items[before:] = []  # '— Events team' closing the message: the sender
                    self._skip(paragraph[0][0], "signature (a dash before the sender's name)")

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
            end, rows, header = (i, [], None) if state.after_signoff or signature else table_run(par, i)
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
        labels_in_list(self.items, self.skipped, par, first_item)
        if m := _INTRO_SECOND_LINE.search(par[0][1]):
            # 'Sponsors (please engrave company name, then "Gold Sponsor 2024" underneath):'
            for item in self.items[first_item:]:
                if "name" in item.values and not item.values.get("title"):
                    item.values["title"] = m.group(1)
                    item.reasons.append(f"second line {m.group(1)!r} from the line introducing its group")
        single_word_check(self.items[first_item:])
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
        text = self._message_text(no, s, state, signature)
        if text is None:
            return None
        marker, rest = ("", text) if no in self.numbered_titles else strip_marker(text)
        guessed_qty = None
        if not marker and (m := BARE_NUMBER.match(text)):
            if bare_markers:
                marker, rest = m.group(1), text[m.end() :]
            else:
                guessed_qty, rest = m.group(1), text[m.end() :]
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
            why = self._not_content(text, state, signature)
            if why:
                return self._skip(no, why)
        sents = SENTENCE_END.split(rest.strip())
        if not marker and len(sents) >= 2 and is_signoff(sents[-1]):
            rest = " ".join(sents[:-1])  # '… and one for our dog Rocket? Thanks, Priya': she signs off
            self.skipped.append(SkippedLine(sents[-1], "sign-off at the end of the line", no))
        found = pieces_in_passing(no, text, rest, marker, self.items)
        if isinstance(found, str):
            return self._skip(no, found)
        if found is not None:
            self.items.extend(found)
            return None
        counted = None
        if m := COUNT_FOR.match(rest):  # 'two plaques for Eleanor Vance, "Single Sculls Champion"'
            counted, rest = count_value(m.group("n")), rest[m.end() :]
        drafts = line_content(rest, listed=bool(marker) or counted is not None or no in self.slash_lines)
        parts = self.shaped.get(no)
        if parts:  # the block's shape says 'name, second line'
            one = drafts[0] if isinstance(drafts, list) and len(drafts) == 1 else None
            if (
                one is None
                or one.values["name"] != parts[0]
                or any(r.endswith("or a second person?") for r in one.reasons)
            ):
                drafts = [draft_from_parts(parts)]
        if isinstance(drafts, str) or not drafts:
            return self._skip(no, drafts if isinstance(drafts, str) else "no name found")
        for d in drafts:
            if counted and "qty" not in d.values and len(drafts) == 1:
                if counted > 1:
                    d.values["qty"] = str(counted)
                d.reasons.append(
                    f"quantity {counted} written before the name: {text[: len(text) - len(rest)]!r}"
                )
            if guessed_qty and "qty" not in d.values and len(drafts) == 1:
                d.values["qty"] = guessed_qty
                d.deduct(0.15, f"guessed quantity {guessed_qty} from the number before the name")
            self.items.append(
                ParsedItem(
                    values=d.values, confidence=d.confidence, reasons=d.reasons, source_line=no, raw=text
                )
            )

    def _message_text(self, no: int, s: str, state: _State, signature: bool) -> str | None:
        """The line without its markup and chat header ('[10:14] Karen: '), or None when the line is
        skipped: a heading, a signature, mail headers and footers, contact details, an instruction."""
        s = strip_decoration(s) or s
        if _MD_HEADING.match(s):
            self._skip(no, "heading (Markdown)")
            return None
        s = _MD_EMPHASIS.sub(r"\2", s)  # '**Dr. Ingrid Solberg** — Keynote': the stars are markup
        if SIG_SEPARATOR.match(s):
            state.after_signoff = True
            self._skip(no, "signature separator")
            return None
        if MAIL_FOOTER.match(s):
            self._skip(no, "mail app footer")
            return None
        if self.zone == "quoted" and (m := MAIL_HEADER.match(s)) and m.group(1).casefold() != "to":
            self._skip(no, "mail header of a quoted message")  # '> From: Sister Agnes Farrell'
            return None
        if is_contact_only(s):
            why = "contact details in a signature" if state.after_signoff or signature else "contact details"
            self._skip(no, why)
            return None
        if (m := CHAT_SENDER.match(s)) and m.group("sender") in self.chat_senders:
            s = s[m.end() :]  # 'Ms. Alvarez: Lily, Noah, Aarav and Zoë.' → the message
            if m.group("sender") != self.chat_senders[0] and stop_count(s):
                self._skip(no, "chatter")  # the shop's reply: 'Sure thing, ready Friday.'
                return None
        if m := CHAT_BRACKET.match(s) or CHAT_STAMP.match(s):
            rest = (m.group("after") or m.groupdict().get("before") or "").strip()
            sender, sep, message = rest.partition(": ")
            if not rest or check_name(rest).ok or check_name(PAREN.sub("", rest).strip()).ok:
                self._skip(no, "chat message header (time and sender)")  # 'Morgan (EngraveCraft)'
                return None
            if sep and message.strip() and check_name(sender).ok:
                s = message.strip()  # '[10:14] Karen: Gerald Fitzpatrick' → the message
        if signature:
            self._skip(no, "looks like a signature")
            return None
        if is_instruction(s):
            self._skip(no, "an instruction about the list")
            return None
        return s

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

    # ----------------------------------------------------------------- result

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

    def _result(self) -> ParseResult:
        keep_brackets(self.items, self.lines)
        columns_not_engraved(self.tables, self.lines, self.notes)
        second = column_on_second_line(self.tables, self.lines, self.notes)
        if sum(len(t.items) for t in self.tables) < len(self.items):
            # items from the text around a table: the table speaks the message's keys
            for table in self.tables:
                as_message_keys(table, second)
            self.table_columns = [c for t in self.tables for c in t.columns]
        used = {it.source_line for it in self.items}
        reported = {s.line for s in self.skipped}
        for no, line in enumerate(self.lines, 1):
            if line.strip() and no not in used and no not in reported:
                self._skip(no, "not used")
        self.items.sort(key=lambda it: it.source_line or 0)
        drop_senders(self.lines, self.items, self.skipped)
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
