"""Which engine parses an order.

- Files with explicit columns (.csv, .tsv, .xlsx) always go through the table reader, even when
  the AI is configured: the columns are already there, and a model could only lose or reshape them.
- Free text (a paste, a .txt file) goes to the AI parser when an API key is configured, except when
  the paste is itself a table (tab-separated rows from a spreadsheet), for the same reason.
- Otherwise the rule-based parser. Every result says which engine ran and why (`engine_note`).
- When the AI ran, the rule-based parser reads the text too and items they read differently are
  flagged with both readings (crosscheck.py).
"""

from __future__ import annotations

from .ai import AiSettings, parse_with_ai
from .crosscheck import cross_check
from .lexicon import is_header_cell
from .model import ParseError, ParseResult
from .rules import check_text, parse_text
from .sandbox import parse_upload


def parse_order(
    text: str | None = None,
    data: bytes | None = None,
    filename: str | None = None,
    ai: AiSettings | None = None,
) -> ParseResult:
    """Parse a pasted order (`text`) or an uploaded file (`data` + `filename`).

    Raises ParseError (with a sentence for the shop) for input that cannot be read at all;
    AI problems never raise: they fall back to the rule-based parser and say so.
    """
    notes: list[str] = []
    if data is not None:
        # the file is read in a separate process with memory and time limits (sandbox.py)
        upload = parse_upload(data, filename or "upload")
        if upload.result is not None:
            if ai:
                upload.result.engine_note = (
                    "rule-based table reader (the file has its columns already; AI not needed)"
                )
            return upload.result
        text = upload.text
        notes.append(f"Read as {upload.encoding}.")
    if text is None:
        raise ParseError("Nothing to parse: paste the order's text or upload a file.")
    check_text(text)
    if ai is None or not ai.api_key:
        result = parse_text(text)
        result.engine_note = "rule-based parser (no OpenAI API key configured)"
    elif is_pasted_table(text):
        result = parse_text(text)
        result.engine_note = (
            "rule-based table reader (the paste is a table with columns; the AI is not needed)"
        )
    else:
        result = parse_with_ai(
            text,
            api_key=ai.api_key,
            base_url=ai.base_url,
            model=ai.model,
            timeout=ai.timeout,
            max_retries=ai.max_retries,
            chunk_chars=ai.chunk_chars,
            concurrency=ai.concurrency,
        )
        if result.engine == "ai":
            disagreements = cross_check(result, parse_text(text))
            if disagreements:
                notes.append(
                    f"The rule-based parser read {disagreements} item(s) differently; they are flagged."
                )
    result.notes[:0] = notes
    return result


def is_pasted_table(text: str) -> bool:
    """Most lines tab-separated, or a header line of column names over delimited rows."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 2:
        return False
    if sum("\t" in ln for ln in lines) >= 0.8 * len(lines):
        return True
    for delim in (",", ";", "|"):
        head = [c.strip() for c in lines[0].split(delim)]
        if len(head) >= 2 and all(c and is_header_cell(c) for c in head):
            return sum(delim in ln for ln in lines[1:]) >= 0.8 * (len(lines) - 1)
    return False
