"""Names that share a line with other words or other names.

Full names inside a sentence ('for our nurses Margaret Hale, Ruth Ellison and Consuelo Marín'), a
series of names ('Chloé, Kai, Priya and Tom.', '… engraved "Finalist" for A, B and C'), and two names
joined by 'and' / '&' / 'y' …: two people, or one couple or household sharing one engraving.
"""

from __future__ import annotations

import re

from .drafts import Draft
from .lexicon import (
    HONORIFICS,
    PARTICLES,
    STOPWORDS,
    SUFFIXES,
    check_name,
    has_org_word,
    is_name_token,
    wordset,
)
from .lines import NAME_LIST_SEP, PAREN, without_trailing_symbols
from .people import is_given_name

AND = re.compile(r"(?<!\s)\s+(?:and|&|\+|plus)\s+", re.IGNORECASE)
# 'and' in other languages splits only two full, capitalised names ('Íñigo Martínez y Gómez' is one)
AND_OTHER = re.compile(r"(?<!\s)\s+(?:y|et|und|og|och|e|i|en)\s+")
# words before a given name that are not the person's own name: 'Drs. Lisa', 'Tía Carmen', 'Grandpa'
_KIN = wordset(
    "drs drs. messrs messrs. mmes mmes. aunt auntie uncle grandma grandpa granny gran grandad nana nan "
    "papa mama tía tío tia tio abuela abuelo abuelita abuelito oma opa tante onkel don doña dona dom "
    "ciocia wujek babcia dziadek zia zio nonna nonno tante oom"
)
_PROSE_TOKEN = re.compile(r"\S+")


def names_in_prose(sentence: str) -> list[Draft]:
    """Full names inside a sentence: 'for our nurses Margaret Hale, Ruth Ellison and Consuelo Marín.'"""
    found: list[Draft] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].casefold() in PARTICLES:
            run.pop()
        name = " ".join(run)
        check = check_name(name) if run else None
        # a sentence is the weakest evidence: only a run that starts with a given name (or a title
        # like 'Dr.') is read as a person, not 'the Veterans Memorial Walk' or 'our Past Presidents'
        ranked = check and not check.ok and check.why == "reads like a job title" and len(run) >= 3
        if ranked and check_name(" ".join(run[1:])).ok and has_given_name(run[1:-1]):
            check = check_name(" ".join(run[1:]))  # 'Captain Lou Brennan': a rank before the name
        if check and check.ok and check.core >= 2 and not has_org_word(name) and has_given_name(run[:-1]):
            d = Draft({"name": name})
            d.cap(0.7, "name found inside a sentence")
            found.append(d)
        run.clear()

    for m in _PROSE_TOKEN.finditer(sentence):
        raw = m.group(0)
        token = raw.rstrip(',.;:!?)"”')
        bare = token.strip('("“')
        if raw == token + "." and (f"{bare.casefold()}." in HONORIFICS | SUFFIXES or len(bare) == 1):
            token = bare = bare + "."  # 'Dr.', 'Jr.', an initial: the dot belongs to the name
        capital = bare[:1].isupper() and is_name_token(bare) and bare.casefold() not in STOPWORDS
        if capital or (run and bare.casefold() in PARTICLES) or (not run and bare.casefold() in HONORIFICS):
            run.append(bare)
        else:
            close()
        if token != raw:  # punctuation after the word ends the name
            close()
    close()
    return found


def name_series(text: str) -> list[str] | None:
    """'Chloé, Kai, Priya and Tom.' → the four names: three or more short capitalised names separated by
    commas, the last joined by 'and' (or '&', 'y', 'et', 'und' …); None for anything else."""
    body = without_trailing_symbols(text.strip(), ".!)\"'’”").rstrip("!")  # 'Dai and Amélie 🍎'
    if body.endswith(".") and not re.search(r"\b(?:Jr|Sr|St|[A-Z])\.$", body):
        body = body[:-1]
    if "," not in body:
        return None
    names = NAME_LIST_SEP.split(body)
    if len(names) < 3 or not NAME_LIST_SEP.search(body.rsplit(",", 1)[-1]) and len(names) < 4:
        return None
    for name in names:
        ws = name.split()
        if not 1 <= len(ws) <= 3 or not all(w[:1].isupper() for w in ws) or not check_name(name).ok:
            return None
    return names


_FOR_SERIES = re.compile(r"\b(?:for|für|pour|para|voor|dla)\s+(?P<names>[A-ZÀ-Þ][^.!?]*?[.!]?)\s*$")
_ENGRAVED_QUOTE = re.compile(r"[\"“„«](?P<q>[^\"“”„«»]{2,60})[\"”“»]")


def series_in_sentence(text: str) -> list[Draft] | None:
    """'can we get 4 medals engraved "Spelling Bee Finalist 2026" for Chloé Fontaine, Kai Nakamura-Reid,
    Priya Raman and Tom Obi.': the names the sentence ends with, each with the quoted second line."""
    m = _FOR_SERIES.search(text)
    series = name_series(m.group("names")) if m else None
    if not m or not series:
        return None
    quotes = _ENGRAVED_QUOTE.findall(text[: m.start()])
    drafts = []
    for name in series:
        d = Draft({"name": name})
        d.deduct(0.05, "one of the names a sentence ends with")
        if len(quotes) == 1:
            d.values["title"] = quotes[0].strip()
            d.reasons.append(f"second line {quotes[0].strip()!r} quoted in the same sentence")
        drafts.append(d)
    return drafts


def has_given_name(tokens: list[str]) -> bool:
    """A known given name among `tokens` ('Firefighter Paramedic Jess …', 'Dr. Ana …')."""
    return any(is_given_name(t.split("-")[0]) for t in tokens if t.casefold() not in HONORIFICS)


def own_name_words(text: str) -> list[str]:
    """Words of a person's own name, without honorifics, family words and particles ('Drs. Lisa')."""
    return [w for w in text.split() if w.casefold() not in _KIN | HONORIFICS | PARTICLES]


def _own_words(text: str) -> int:
    return len(own_name_words(text))


def shares_surname(first: str, second: str) -> bool:
    """'Lisa & Mark Chen', 'Francisco Javier y Ana Belén Molina': the first person's words are all
    given names (no surname of their own) and the second person's name is longer. 'Kwame O'Connor
    and Ana Lúcia Ezberri' are two people ('O'Connor' is not a given name)."""
    own, other = own_name_words(first), own_name_words(second)
    if not own or len(own) >= len(other):
        return False
    return len(own) == 1 or all(is_given_name(w) for w in own)


def split_and(text: str, min_core: int = 2) -> list[str] | None:
    """'Tomás Ruiz and Ingrid Bergström' → two names; 'Mr. and Mrs. Smith' stays one."""
    pieces = AND.split(PAREN.sub("", text).strip() if text.rstrip().endswith(")") else text)
    if len(pieces) < 2:
        other = AND_OTHER.split(text.strip())
        if len(other) < 2 or not all(len(p.split()) >= 2 and p[:1].isupper() for p in other):
            return None
        pieces = other
    if len(pieces) == 2 and len(pieces[1].split()) >= 2 and shares_surname(pieces[0], pieces[1]):
        # 'Malcolm & Jean Burrows', 'Drs. Lisa & Mark Chen', 'Francisco Javier y Ana Belén Molina':
        # the first person has no surname of their own, so the couple shares one engraving
        return None
    if len(pieces) == 2 and all(
        _own_words(p) <= 1 and len(p.split()) >= 2 or p.split()[0].casefold() in _KIN | HONORIFICS
        for p in pieces
    ):
        return None  # 'Tía Carmen and Tío Luis', 'Don Manuel Ortega y Doña Pilar Sáez': one household
    checks = [check_name(p) for p in pieces]
    return pieces if all(c.ok and c.core >= min_core for c in checks) else None
