"""Order notifications from marketplaces (Etsy, Shopify, Amazon Handmade, Squarespace e-mails).

Such a message is a run of records, one per ordered item, each a few `Field: value` lines
('Transaction ID', 'Item', 'Quantity', 'Personalization'), with the shipping address and a buyer's
note around them. Only the personalization field is engraved; read line by line, the item names,
colours, prices and the buyer's address would all look like pieces. So the records are read as
records: one piece per personalization field, its count from the record's 'Quantity', the text split
into the name and the second line at the slash or bar the buyer typed ('BISCUIT / Call Mom …').
"""

from __future__ import annotations

import re

from .lexicon import check_name
from .model import ParsedItem, ParseResult, SkippedLine
from .quantities import expand_quantities

# the field that holds what the buyer wants engraved
_PERSONALIZATION = re.compile(
    r"^\s*(?:personali[sz]ation|personali[sz]ed text|engraving(?:\s+text)?|custom(?:i[sz]ation)?\s+text"
    r"|text to engrave|add your personali[sz]ation)\s*:\s*(?P<text>\S.*?)\s*$",
    re.IGNORECASE,
)
_QUANTITY = re.compile(r"^\s*(?:quantity|qty)\s*:\s*(?P<n>\d{1,3})\s*$", re.IGNORECASE)
# lines that start a record ('Transaction ID: 4120558813', 'Item: …') or separate records
_RECORD_START = re.compile(r"^\s*(?:transaction\s+id|order\s+item|item|product)\s*[:#]", re.IGNORECASE)
_RULE = re.compile(r"^\s*[-=_*—–]{5,}\s*$")
_FIELD = re.compile(r"^\s*[A-Z][\w ]{1,30}:\s*\S")
# the buyer's two lines, as they typed them: 'BISCUIT / Call Mom 555-201-8893', 'Mochi | (617) 555-0199'
_LINE_BREAK = re.compile(r"\s+[/|]\s+")


def marketplace_order(lines: list[str]) -> ParseResult | None:
    """The pieces of a marketplace order notification, or None when `lines` is not one (no
    personalization field, or no record fields such as 'Quantity:' or 'Transaction ID:' around it)."""
    fields = [i for i, line in enumerate(lines) if _PERSONALIZATION.match(line)]
    if not fields or not any(_QUANTITY.match(line) or _RECORD_START.match(line) for line in lines):
        return None
    result = ParseResult(items=[], engine="rules", columns=["name", "title"], name_column="name")
    result.notes.append("Read as a marketplace order: one piece per personalization field.")
    for i in fields:
        item = _piece(lines, i)
        if item is not None:
            result.items.append(item)
    for i, line in enumerate(lines):
        if i in fields and any(it.source_line == i + 1 for it in result.items) or not line.strip():
            continue
        why = "order details, not engraved" if _FIELD.match(line) or _RULE.match(line) else "chatter"
        result.skipped.append(SkippedLine(line.strip(), why, i + 1))
    result.items = expand_quantities(result.items, "qty")
    return result


def _piece(lines: list[str], i: int) -> ParsedItem | None:
    field = _PERSONALIZATION.match(lines[i])
    if field is None:
        return None
    text = field.group("text")
    parts = _LINE_BREAK.split(text, maxsplit=1)
    name, title = parts[0].strip(), (parts[1].strip() if len(parts) == 2 else "")
    if not name:
        return None
    values = {"name": name}
    if title:
        values["title"] = title
    item = ParsedItem(values=values, confidence=0.95, source_line=i + 1, raw=lines[i].strip())
    item.reasons.append("the engraving from the order's personalization field")
    qty = _record_quantity(lines, i)
    if qty and qty > 1:
        item.values["qty"] = str(qty)
    if not check_name(name).ok:
        item.deduct(0.05, f"{name!r} is not written like a person's name (a pet, a label?)")
    return item


def _record_quantity(lines: list[str], i: int) -> int | None:
    """The 'Quantity:' of the record the field at line i belongs to (between the rules around it)."""
    start = i
    while start > 0 and not _RULE.match(lines[start - 1]) and not _PERSONALIZATION.match(lines[start - 1]):
        start -= 1
    end = i + 1
    while end < len(lines) and not _RULE.match(lines[end]) and not _RECORD_START.match(lines[end]):
        end += 1
    for line in lines[start:end]:
        if m := _QUANTITY.match(line):
            return int(m.group("n"))
    return None
