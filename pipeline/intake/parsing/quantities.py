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


# Counts written as words, in the languages orders arrive in (1–12; 'a'/'an' for one).
NUMBER_WORDS = {
    **dict.fromkeys(
        ("a", "an", "one", "single", "un", "une", "uno", "una", "ein", "eine", "een", "jeden"), 1
    ),
    **dict.fromkeys(("two", "pair", "dos", "deux", "zwei", "twee", "dwa", "dwie", "due", "duas", "iki"), 2),
    **dict.fromkeys(("three", "tres", "trois", "drei", "drie", "trzy", "tre", "três", "üç"), 3),
    **dict.fromkeys(("four", "cuatro", "quatre", "vier", "cztery", "quattro", "quatro", "dört"), 4),
    **dict.fromkeys(("five", "cinco", "cinq", "fünf", "vijf", "pięć", "cinque", "beş"), 5),
    **dict.fromkeys(("six", "seis", "sechs", "zes", "sześć", "sei", "altı"), 6),
    **dict.fromkeys(("seven", "siete", "sept", "sieben", "zeven", "siedem", "sette", "sete"), 7),
    **dict.fromkeys(("eight", "ocho", "huit", "acht", "osiem", "otto", "oito"), 8),
    **dict.fromkeys(("nine", "nueve", "neuf", "neun", "negen", "dziewięć", "nove"), 9),
    **dict.fromkeys(("ten", "diez", "dix", "zehn", "tien", "dziesięć", "dieci", "dez"), 10),
    "eleven": 11,
    "twelve": 12,
}
_COUNT = r"(?P<n>\d{1,3}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_PIECES = (
    r"(?:plaques?|plates?|badges?|tags?|trophies|trophy|medals?|shields?|cups?|pieces?|copies|ones?"
    r"|placas?|plaquettes?|schilder|schild|plaketten?|bordjes?|tabliczki|tabliczek|stuks?|szt\.?|stück"
    r"|unidades|unidad|unités?|unità|exemplares|ejemplares|exemplaires|sztuki|sztuk|medallas?|medalhas?"
    r"|targhe|targa|coppe|coppa|medaglie|medaglia|trofei|trofeo|bricks?|coasters?|keyrings?|flutes?)"
)
# 'two plaques for Eleanor Vance', 'a plaque for Theo', 'one for Tobias', 'four identical plates for'
COUNT_FOR = re.compile(
    rf"^{_COUNT}\s+(?:[\w-]+\s+){{0,2}}?(?:{_PIECES}\s+)?(?:for|para|pour|für|voor|dla|per)\s+(?=\S)",
    re.IGNORECASE,
)
# a count in a sentence about one item: 'we need 2 for Sanne', 'Voor Pip graag 2 stuks', 'make it three',
# 'do 2 for Maria', 'so 2 of hers'; or about all of them: 'two of each please'
COUNT_IN_SENTENCE = re.compile(
    rf"(?<![\w.,]){_COUNT}(?:(?<=\d)|\b)\s*(?:[x×]\b|{_PIECES}\b|of\s+(?:these|them|each|his|hers|theirs)\b|nodig\b"
    r"|(?:de|von|di|van|z)\s+(?:cada|jede\w*|chaque|ogni\w*|ciascun\w*|elk\w*|każd\w*)\b"
    rf"|needed\b|(?:[\w-]+\s+){{0,2}}?for\s+(?=[A-ZÀ-Þ]|him\b|her\b|them\b))"
    rf"|\b(?:make\s+it|er)\s+{_COUNT.replace('?P<n>', '?P<m>')}\b"
    rf"|\b(?:needs?|servono|serve|necesitamos|necesito|precisamos|preciso\s+de|brauchen(?:\s+wir)?|potrzebujemy)"
    rf"\s+{_COUNT.replace('?P<n>', '?P<k>')}\b(?!\s*(?:years?|yrs|months?|weeks?|days?|hours?|%))"
    rf"|(?<![\w.,]){_COUNT.replace('?P<n>', '?P<p>')}\s+(?:per|por|pro|par|na)\s+"
    r"(?=couple|person|name|family|household|pair|child|kid|player|echtpaar|pareja|paar|casal|coppia|parę)"
    rf"|(?<![\w.,]){_COUNT.replace('?P<n>', '?P<j>')}\s+of\s+the\s+(?=[A-ZÀ-Þ])",
    re.IGNORECASE,
)


# the count is for every piece of the list
EACH = re.compile(
    r"\b(?:of\s+each|each|of\s+(?:all|every)\s+\w+|cada|jeweils|chacun|chaque|ciascuno|ogni|elk|każd\w*"
    r"|per\s+(?:couple|person|name|family|household|pair|child|kid|player))\b",
    re.IGNORECASE,
)


def count_value(word: str) -> int | None:
    """3 for '3' or 'three' (or 'drei', 'tres' …)."""
    word = word.casefold()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)
