"""Last look at each item read from free text: does what came out look like something to engrave?

The line reader decides what a line holds; this pass checks the result against evidence that does
not depend on how it was read, and lowers the confidence (with the reason) where the evidence is
against it, so the review gate stops it instead of the customer:
- lower-case words run through the "name" while the order's other names are capitalised
  ('una para ella', 'dus alleen naam'): a piece of a sentence, not a name;
- the name ends like a sentence ('hij verliest ze altijd.');
- a filler word in front of the name ('oh and Kenji Watanabe').
"""

from __future__ import annotations

import re

from .lexicon import HONORIFICS, PARTICLES
from .model import ParsedItem

_FILLER_START = re.compile(r"^(?:oh|and|also|plus|so|um|ok|okay|btw|then|y|et|und|en)\b", re.IGNORECASE)
_INITIAL = re.compile(r"(?:^|\s)(?:[^\W\d_]|[^\W\d_]{1,4}\.)$")


def _lower_words(name: str) -> int:
    return sum(
        1
        for w in name.split()
        if w[:1].islower()
        and len(w.strip(".,;:!?")) >= 4
        and w.casefold() not in PARTICLES
        and w.casefold() not in HONORIFICS
    )


def check_items(items: list[ParsedItem]) -> None:
    """Flag names that read like pieces of sentences (only when the order capitalises names)."""
    names = [it.values.get("name", "") for it in items if it.values.get("name")]
    capitalised = sum(1 for n in names if n[:1].isupper() and not _lower_words(n))
    mostly_capitalised = capitalised * 2 > len(names)
    for item in items:
        name = item.values.get("name", "")
        if not name:
            continue
        if mostly_capitalised and _lower_words(name):
            item.cap(
                0.6,
                f"{name!r} has lower-case words while the other names are capitalised: part of a sentence?",
            )
        elif name.endswith(".") and not _INITIAL.search(name) and len(name.split()) >= 2:
            item.cap(0.6, f"{name!r} ends like a sentence")
        if _FILLER_START.match(name) and len(name.split()) > 1:
            item.cap(0.7, f"{name.split()[0]!r} in front of the name reads like chatter")
