"""Parsing messy orders into items (docs/parsing.md).

parse_order(text=..., ai=AiSettings.from_env())    pick the engine and parse
parse_text(text)                                    rule-based, pasted text
parse_file(data, filename)                          rule-based, .csv .tsv .txt .xlsx
parse_with_ai(text, api_key=..., ...)               AI parser with fallback to the rules
"""

from .ai import AiSettings, parse_with_ai
from .engine import parse_order
from .files import parse_file
from .model import ACCEPTED, REVIEW, ParsedItem, ParseError, ParseResult, SkippedLine, band
from .quantities import MAX_QUANTITY, expand_quantities
from .rules import parse_text

__all__ = [
    "ACCEPTED",
    "MAX_QUANTITY",
    "REVIEW",
    "AiSettings",
    "ParseError",
    "ParseResult",
    "ParsedItem",
    "SkippedLine",
    "band",
    "expand_quantities",
    "parse_file",
    "parse_order",
    "parse_text",
    "parse_with_ai",
]
