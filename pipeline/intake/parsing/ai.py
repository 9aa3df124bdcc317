"""The AI parser: an OpenAI-compatible chat-completions endpoint with a strict JSON schema.

The model sees the order with numbered lines, in chunks of whole lines, and answers items plus the
lines it did not use. Its answer is validated here (pydantic), every value is checked against the
order (nothing invented), and any failure falls back to the rule-based parser with a note saying why.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import openai
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel, ConfigDict, ValidationError

from .lexicon import normalize_text
from .model import ParsedItem, ParseResult, SkippedLine
from .quantities import expand_quantities
from .rules import check_text, parse_text

DEFAULT_MODEL = "gpt-4o-mini"
VALUE_KEYS = ("name", "title", "company", "date", "qty", "phone", "email", "pronouns", "note")
INVENTED_CEILING = 0.55
MAX_CHUNKS = 40


@dataclass(frozen=True)
class AiSettings:
    """How to reach the model. `from_env` reads OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_MODEL."""

    api_key: str
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = 30.0
    max_retries: int = 2
    chunk_chars: int = 6000
    concurrency: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AiSettings | None:
        env = os.environ if environ is None else environ
        key = (env.get("OPENAI_API_KEY") or "").strip()
        if not key:
            return None
        return cls(
            api_key=key,
            base_url=(env.get("OPENAI_BASE_URL") or "").strip() or None,
            model=(env.get("OPENAI_MODEL") or "").strip() or DEFAULT_MODEL,
        )


# ------------------------------------------------------------------ the answer's schema


class _Values(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None
    title: str | None
    company: str | None
    date: str | None
    qty: str | None
    phone: str | None
    email: str | None
    pronouns: str | None
    note: str | None


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    line: int
    values: _Values
    confidence: float
    reasons: list[str]


class _Unused(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    line: int
    why: str


class AiAnswer(BaseModel):
    """The model's answer for one chunk, validated before anything is used."""

    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[_Item]
    unused_lines: list[_Unused]


def _nullable_string() -> dict[str, Any]:
    return {"type": ["string", "null"]}


RESPONSE_FORMAT: ResponseFormatJSONSchema = {
    "type": "json_schema",
    "json_schema": {
        "name": "parsed_order",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["items", "unused_lines"],
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["line", "values", "confidence", "reasons"],
                        "properties": {
                            "line": {"type": "integer"},
                            "values": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": list(VALUE_KEYS),
                                "properties": {k: _nullable_string() for k in VALUE_KEYS},
                            },
                            "confidence": {"type": "number"},
                            "reasons": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
                "unused_lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["line", "why"],
                        "properties": {"line": {"type": "integer"}, "why": {"type": "string"}},
                    },
                },
            },
        },
    },
}

SYSTEM_PROMPT = """\
You read a customer's order for personalized engraved items (name plates, badges, trophies, pet tags)
and list one item per name or label the customer wants engraved. The order's lines are numbered "N| text".

Rules:
- Copy every value exactly as the customer wrote it: same letters, accents, apostrophes, hyphens and
  capitals. Never correct spelling or case, never translate, never add anything that is not written.
- "Last, First" becomes "First Last"; say "reordered Last, First" in reasons.
- Keep honorifics and suffixes (Dr., Mrs., Jr., III, PhD) in the name. Put pronouns such as (she/her)
  in "pronouns", not in the name.
- title = job title, role or award; company = organization, department or team; qty = how many pieces
  as digits when the customer asks for more than one ("2x", "qty 3"); other fields null when absent.
- line = the number of the line the item comes from.
- Read the whole order before the lines. Greetings, sign-offs and signatures in any language
  ("saludos cordiales", "Mit freundlichen Grüßen", "Teşekkürler,", "God bless,") and the sender's
  name, role and company under them are not items. Neither are instruction sentences ("please keep
  the CAPS exactly"), headings over groups ("GOLD", "YEAR 7", "U10 Falcons"), markdown table
  separator rows, or a forwarded message's mail headers.
- Quoted earlier messages ("> " lines, "-----Original Message-----", "On … wrote:") hold the list when
  the new text above them only comments on it; then the newer text's corrections apply to it.
- In a list, read every line the same way as its neighbours: if most lines are "Award: Name" or
  "Award – Name", the name is on the right on every line, even when the award looks like a name
  ("Best Newcomer: Tilly"). In nested outlines ("1) Varsity Basketball" then "a. Name – Award") the
  heading is not an item and the "a." marker is not part of the name.
- A heading over a group of names becomes each name's title only when the customer asks for it
  ("put the team name on the second line"); otherwise it is not engraved.
- "Name, Title, Company": the company is not an item. "Name (Role)" puts the role in title. Post-nominals
  in brackets ("(OBE)", "(FRS)") stay in the name when the customer says to engrave them as shown.
  "Title: Name" ("Schützenkönig 2026: Klaus-Dieter Müller", "January: Priya Shah") puts the name on the
  right. A title on the line under the name (blocks separated by blank lines) is that name's title.
  Text the customer marks as the second line ("honours in [square brackets] go on line 2", "jersey
  number on line 2": "Kerry O'Brien #7" gives title "#7") goes in title, as written. Markdown markup
  (**bold**, _italic_, "# " headings) is not part of any value.
- A sponsor, company, family, team or memorial line that stands in the list where the pieces are
  ("The Harrington Family Foundation", "In Memory of Walter Brennan", "Gutter Kings – Team Champions",
  a hackathon team "Byte Me") is an item (confidence below 0.85: it is not a person's name); a
  company written beside a person's name, a sender's company, or a heading over a group is not.
- Blocks of lines (name, then its second line, then a count such as "x2") are one item; "Line 1:" /
  "Line 2:" labels give name and title; "(leave blank)" means no title.
- Couples and households joined with "&", "and", "y", "et", "und" ("Mr. & Mrs. Smith", "Malcolm &
  Jean Burrows", "Grandma & Grandpa Reyes") are ONE item, unless the customer asks for one each or the
  line joins two full names meant as separate pieces ("Álvaro Jiménez y Sergio Muñoz" on a medal list).
  Chat one-liners ("Chloé, Kai, Priya and Tom.") give one item per name.
- Quantities said anywhere count: "x3", "x 3", "(2)", ", qty 4", "– 2 szt.", "2 stuks", "(x2)",
  "two plaques for …", "two of each please" (every item), "(so 2 per couple)", "make it two" then
  "actually make it three" (the later one wins), "a spare for Luna, so 2 of hers", "1st place needs 4",
  "we need 80 of these" (the item just above), "* needs 2 copies" under an item, "Van Sanne hebben we
  er 2 nodig", a count naming the item by its award ("2 plaques for the Top Scorer"), a quantity column.
  A total row is not an item; a "#" column numbering the rows 1, 2, 3 is not a quantity. A number
  inside a name ("Rex 2", "Agent 99", "Henry VIII") or a title ("High Game 289") is part of it.
- Apply the customer's own corrections, additions and removals written after the list ("oops, Jon
  should be John", "sorry Priya not Pria", "it's \"Siobhan\" not \"Shivon\"", "make Ana's plate say
  \"Head Coach\" not \"Coach\"", "she would like her full name: Mariel Santos-Whitaker", "add one
  more: …", "oh and Alfie too", "oh and X – Award", "please drop …", "X goes to Y instead"), also
  when they come in a later reply of a forwarded or quoted thread, and say so in reasons.
- Tables: use the column the customer marks for engraving ("Name to engrave", "Preferred name",
  "Engrave Line 1") rather than a legal, billing or parent's name; when no header says "name", the
  column whose cells are names ("Runner", "Swimmer"). Two header rows (group cells such as
  "Recipient | Plate" over "First | Last | Line 2") name the columns by the lower row. Ignore
  timestamp, e-mail, ID and record columns (form exports, "Homeroom" beside "Engrave Line 1/2"), a
  duplicated form submission, and join separate first/last name columns ("Name (Last, First)" is
  engraved "First Last").
- Marketplace order e-mails (Etsy, Shopify: "Transaction ID", "Item", "Quantity", "Personalization"
  records): only the personalization text is engraved ("BISCUIT / Call Mom 555-201-8893" gives name
  "BISCUIT" and title "Call Mom 555-201-8893"), its count from the record's "Quantity"; item names,
  colours, prices and the shipping address are not items. A block of "Mochi / The Tanakas" lines is
  name / second line. A piece label ("Brick 1:", "Plate 3 –") is not engraved. Brackets stay on the name
  when the order says so ("brackets and all"); a remark in brackets after a piece ("(2 stuks)", "(2
  placas por favor, una es para su hija)", ", make it three") gives its count, not its title. Two full
  names joined by "&" ("Kerry-Ann Baptiste & Deshawn Miles") on a list of couples are one engraving,
  flagged. Chat lines start with their sender ("Ms. Alvarez: Lily, Noah …", "[09:12, 3/4/2026] Megan
  Holt: …", "Alyssa Grant  10:03 AM" on a line of its own); the sender and the shop's replies are not
  items. Columns named "Comments" or "Notes" are remarks, not engraving.
- confidence from 0 to 1. Every guess (a reading you chose among several, a name found in prose, a
  quantity or correction you applied, a value that does not look like a name) gets a confidence
  below 0.85 and a reason in words; clear items get 0.85 or more.
- Every line that gives no item goes into unused_lines with a short why: greeting, sign-off,
  signature, contact details, chatter, quoted earlier message, heading, instruction.
"""


class AiFailure(Exception):
    """The AI answer cannot be used; the message says why in a few words."""


# --------------------------------------------------------------------------- the parser


def parse_with_ai(
    text: str,
    *,
    api_key: str,
    base_url: str | None = None,
    model: str = DEFAULT_MODEL,
    timeout: float = 30.0,
    max_retries: int = 2,
    chunk_chars: int = 6000,
    concurrency: int = 4,
) -> ParseResult:
    """Parse pasted text with the model; on any failure, the rule-based parser (engine "rules")."""
    check_text(text)
    text = normalize_text(text)
    lines = text.split("\n")
    chunks = chunk_lines(lines, chunk_chars)
    if len(chunks) > MAX_CHUNKS:
        return _fallback(text, f"the order is too long for it ({len(chunks)} chunks, limit {MAX_CHUNKS})")
    try:
        client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)
    except Exception as exc:
        return _fallback(text, f"the client could not be set up: {exc}")
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(chunks))))
    try:
        futures = [pool.submit(_ask, client, model, lines, chunk) for chunk in chunks]
        answers = [f.result() for f in futures]  # in chunk order, whatever order they finish in
    except AiFailure as exc:
        return _fallback(text, str(exc))
    except openai.APITimeoutError:
        return _fallback(text, f"timeout after {timeout:g} s")
    except openai.AuthenticationError:
        return _fallback(text, "the API key was refused")
    except openai.RateLimitError:
        return _fallback(text, f"rate limited (429) after {_retries(max_retries)}")
    except openai.APIStatusError as exc:
        return _fallback(text, f"the API answered {exc.status_code} after {_retries(max_retries)}")
    except openai.APIConnectionError:
        return _fallback(text, f"could not connect to {base_url or 'the OpenAI API'}")
    except Exception as exc:  # never let a model problem become a traceback for the shop
        return _fallback(text, f"unexpected error: {type(exc).__name__}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # one failure is enough: do not wait for the rest
        client.close()
    result = _assemble(text, lines, answers)
    result.engine_note = f"AI parser ({model}, {len(chunks)} chunk{'s' if len(chunks) != 1 else ''})"
    return result


def chunk_lines(lines: list[str], chunk_chars: int) -> list[range]:
    """Line-number ranges (0-based) of about `chunk_chars` characters each, cut between lines."""
    chunks: list[range] = []
    start, size = 0, 0
    for i, line in enumerate(lines):
        if size and size + len(line) + 1 > chunk_chars:
            chunks.append(range(start, i))
            start, size = i, 0
        size += len(line) + 1
    if start < len(lines):
        chunks.append(range(start, len(lines)))
    return [c for c in chunks if any(lines[i].strip() for i in c)] or [range(0, len(lines))]


def _ask(client: openai.OpenAI, model: str, lines: list[str], chunk: range) -> AiAnswer:
    numbered = "\n".join(f"{i + 1}| {lines[i]}" for i in chunk)
    response = client.chat.completions.create(
        model=model,
        messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": numbered}],
        response_format=RESPONSE_FORMAT,
    )
    if not response.choices:
        raise AiFailure("the answer had no choices")
    choice = response.choices[0]
    if choice.finish_reason == "length":
        raise AiFailure("the answer was cut off (too long)")
    message = choice.message
    if getattr(message, "refusal", None):
        raise AiFailure("the model refused the request")
    if not message.content:
        raise AiFailure("the answer was empty")
    try:
        data = json.loads(message.content)
    except json.JSONDecodeError as exc:
        raise AiFailure("the answer was not valid JSON") from exc
    try:
        return AiAnswer.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise AiFailure(f"the answer broke the schema at {where}: {first['msg']}") from exc


def _fallback(text: str, why: str) -> ParseResult:
    result = parse_text(text)
    result.engine = "rules"
    result.engine_note = f"AI parser failed ({why}); used the rule-based parser"
    return result


# ------------------------------------------------------------------------ checking


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


_COMMA_SPACE = re.compile(r"\s*,\s*")


class _Source:
    """The order normalized for 'does this value appear in it?' checks."""

    def __init__(self, text: str) -> None:
        self.flat = _norm(text)
        self.commas = _COMMA_SPACE.sub(",", self.flat)

    def contains(self, key: str, value: str) -> bool:
        v = _norm(value)
        if not v or v in self.flat:
            return True
        if key == "qty":
            return v == "1" or (v.isdigit() and v in self.flat)
        if key == "name":
            tokens = v.split()
            for k in range(1, len(tokens)):
                if f"{' '.join(tokens[k:])},{' '.join(tokens[:k])}" in self.commas:
                    return True  # Last, First reordered
        return False


def _assemble(text: str, lines: list[str], answers: list[AiAnswer]) -> ParseResult:
    source = _Source(text)
    items: list[ParsedItem] = []
    skipped: dict[int, SkippedLine] = {}
    used: set[int] = set()
    for answer in answers:
        for entry in answer.items:
            values = {
                k: unicodedata.normalize("NFC", v).strip()
                for k, v in entry.values.model_dump().items()
                if v is not None and v.strip()
            }
            if not values:
                continue
            line = entry.line if 1 <= entry.line <= len(lines) else None
            item = ParsedItem(
                values=values,
                confidence=round(min(1.0, max(0.0, entry.confidence)), 2),
                reasons=[r for r in entry.reasons if r.strip()],
                source_line=line,
                raw=lines[line - 1].strip() if line else "",
            )
            for key, value in values.items():
                if not source.contains(key, value):
                    item.cap(INVENTED_CEILING, f"value not found in the order: {value!r}")
            if line:
                used.add(line)
            items.append(item)
        for unused in answer.unused_lines:
            if 1 <= unused.line <= len(lines) and lines[unused.line - 1].strip():
                why = unused.why.strip() or "not used by the AI parser"
                skipped.setdefault(unused.line, SkippedLine(lines[unused.line - 1].strip(), why, unused.line))
    for no, line_text in enumerate(lines, 1):
        if line_text.strip() and no not in used and no not in skipped:
            skipped[no] = SkippedLine(line_text.strip(), "not used by the AI parser", no)
    items = expand_quantities(items)
    seen = {k for it in items for k in it.values}
    return ParseResult(
        items=items,
        skipped=[s for no, s in sorted(skipped.items()) if no not in used],
        engine="ai",
        columns=[k for k in VALUE_KEYS if k in seen and k != "qty"],
        name_column="name" if "name" in seen else None,
    )


def _retries(n: int) -> str:
    return f"{n} retr{'y' if n == 1 else 'ies'}"
