"""Quantity expansion: one parsed item per physical piece."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from .model import ParsedItem

MAX_QUANTITY = 500
"""Larger quantities are flagged instead of expanded (a typo or a phone number, most likely)."""

_INT = re.compile(r"^\s*(\d{1,9})\s*(?:x|pcs?|pieces?)?\s*$", re.IGNORECASE)


def parse_quantity(text: str) -> int | None:
    """The whole number in a quantity cell ("3", " 2 ", "3x", "2.0"), or None when it is not one."""
    m = _INT.match(text)
    if m:
        return int(m.group(1))
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 0 else None


def expand_quantities(
    items: Iterable[ParsedItem], qty_key: str = "qty", cap: int = MAX_QUANTITY
) -> list[ParsedItem]:
    """Expand each item whose `qty_key` value is a whole number into that many items.

    The quantity key is removed from expanded items (each is one piece now) and the
    expansion is recorded in their reasons, so expanding twice changes nothing.
    Quantities that are not whole numbers, zero, or above `cap` are left in place and flagged.
    """
    out: list[ParsedItem] = []
    for item in items:
        raw_qty = item.values.get(qty_key)
        if raw_qty is None or not raw_qty.strip():
            if raw_qty is not None:
                item.values.pop(qty_key)
            out.append(item)
            continue
        qty = parse_quantity(raw_qty)
        if qty is None:
            item.cap(0.55, f"quantity {raw_qty!r} is not a whole number; kept as one item")
            out.append(item)
        elif qty == 0:
            item.cap(0.55, "quantity 0; kept as one item, check whether it is wanted")
            out.append(item)
        elif qty > cap:
            item.cap(0.4, f"quantity {qty} looks wrong (over {cap}); not expanded, kept as one item")
            out.append(item)
        else:
            values = {k: v for k, v in item.values.items() if k != qty_key}
            if qty == 1:
                out.append(replace(item, values=values, reasons=list(item.reasons)))
                continue
            for n in range(1, qty + 1):
                reasons = [*item.reasons, f"quantity {qty}: expanded into {qty} items ({n} of {qty})"]
                out.append(replace(item, values=dict(values), reasons=reasons))
    return out
