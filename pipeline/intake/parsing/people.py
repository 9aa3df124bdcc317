"""Is this a person's name? Evidence from a list of given names.

The shape of a phrase cannot tell 'Genel Müdür' (general manager) from 'Ayşe Yılmaz': both are two
capitalised words. Whether the first word is someone's given name can. The list comes from the
`gender-guesser` package, which ships about 45,000 given names from 50-odd countries (Europe, Turkey,
the Arab world, India, East Asia in romanisation) as a data file inside the package: offline, no
model to download, loaded once (about 0.2 s) and only when free text is parsed. We use only whether a
name is in the list, never the gender it guesses. A hand-made list of names would only know the names
its author thought of; `names-dataset` is far larger (hundreds of MB in memory) than this needs.

`probablepeople` (person / household / corporation, a CRF model shipped in the package) was measured
on 24 lines from the blind batches before adopting it: it tags households well ('Mr. & Mrs. Delgado',
'Priya & Anand Venkataraman') but calls 'Keystone Tooling', 'Westfield Youth Soccer', 'Gutter Kings'
and 'Byte Me' persons and 'Siobhán Ní Bhriain' a corporation, so it would neither catch the
organisations read as people nor leave non-English names alone; it is not used. Couples are told by
their joiners ('&', 'and', 'y', 'et', 'und') and a line's place in its block instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .lexicon import HONORIFICS, PARTICLES, without_accents


@lru_cache(maxsize=1)
def _detector() -> Any:  # the package has no type hints
    import gender_guesser.detector as detector

    return detector.Detector(case_sensitive=False)


@lru_cache(maxsize=65536)
def is_given_name(word: str) -> bool:
    """Is `word` a given name in some country (case-insensitive)?"""
    word = word.strip(".,;:'’\"()")
    if len(word) < 2 or not word[:1].isalpha():
        return False
    if _detector().get_gender(word) != "unknown":
        return True
    # the list spells many names without their accents ('Elodie', 'Siobhan'): try that spelling too
    plain = without_accents(word)
    return plain != word and _detector().get_gender(plain) != "unknown"


def starts_with_given_name(text: str) -> bool:
    """'Dr. Ana Lucía Ferreira' → True ('Ana'); 'Genel Müdür' → True too ('Genel' is a name
    somewhere): the evidence is one-sided, so callers compare both sides of a line."""
    for token in text.split():
        low = token.casefold()
        if low in HONORIFICS or low in PARTICLES:
            continue
        return is_given_name(token.split("-")[0])
    return False
