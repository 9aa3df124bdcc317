"""Word lists and small tests on words: is this a name, a job title, an organization, a header?

Shared by the free-text parser and the table reader. All sets hold casefolded words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache


def wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


HONORIFICS = wordset(
    "dr dr. mr mr. mrs mrs. ms ms. miss mx mx. prof prof. rev rev. fr fr. sir dame lady lord hon hon. "
    "capt capt. col col. lt lt. sgt sgt. gen gen. adm adm. maj maj. cpt cpt. mister madam mme mlle herr frau "
    "sra sra. sr. sra srta srta. dra dra. pastor rabbi imam sister brother coach "
    "الأستاذ الأستاذة الدكتور الدكتورة السيد السيدة الشيخ الحاج الحاجة"
)
SUFFIXES = wordset(
    "jr jr. sr sr. ii iii iv v vi phd ph.d. md m.d. dds d.d.s. esq esq. cpa rn mba obe mbe kc qc dvm jd "
    "j.d. do d.o. np pa-c lcsw"
)
# "sr." is both (Spanish "Señor" before a name, "Senior" after one); position decides.
PARTICLES = wordset(
    "van von der den de del della dela di da dos das du la le ter ten bin binti ibn al el zu af av "
    "st st. y e d' l'"
)
STOPWORDS = wordset(
    """a about above after again all also am an and another any are as asap at be been before being below
    both but by could did do does done each etc every for from get got had has have he her here hers him
    his how i i'm im if in into is it it's its just know last let me more must my need needed needs next
    no not of ok okay on only onto or other our ours out over own please pls plz same send sent she
    should so some such than thank thanks that the their them then there these they this those thx to
    too u under up us very was we were what when where which who whom why with without would you your
    yours hi hello hey dear list names order orders plate plates badge badges tag tags trophy trophies
    plaque plaques engraving engraved engrave attached following possible week today tomorrow tonight
    yesterday monday tuesday wednesday thursday friday saturday sunday good great sounds sure cool
    awesome perfect lol np ty yeah yep nope yes yup btw fyi cheers regards sorry can't cannot don't
    won't isn't didn't doesn't that's there's here's we're we'll i'll you're let's per via each one two
    three four five six anything else something everything nothing thing things anyone someone everyone
    everybody somebody mon tue tues wed thu thur thurs fri sat sun feb mar apr jun jul aug sep sept oct
    nov dec"""
)
# Words that make a phrase a job title, role or award rather than a person's name.
TITLE_WORDS = wordset(
    """coach coaches captain co-captain manager director president vice vp ceo cfo cto coo cmo cio evp svp
    lead leader officer engineer chair chairman chairwoman chairperson treasurer secretary founder
    co-founder cofounder analyst consultant specialist coordinator assistant administrator admin
    supervisor chief teacher volunteer volunteers member members player players referee physician nurse
    intern developer designer architect editor producer admiral sergeant lieutenant commander colonel
    accountant advisor adviser counsel attorney lawyer representative rep executive staff trainer
    instructor mentor mvp champion champions winner award awards goalkeeper forward midfield midfielder
    defender defense defence striker keeper sales marketing operations finance support services event
    events guest guests speaker speakers organizer organiser host sponsor student students alumni
    graduate employee employees crew ambassador rookie improved outstanding achievement excellence
    service recognition honoree inductee associate principal superintendent deputy governor mayor
    senator scientist researcher professor lecturer manager-at-large trustee board committee panelist
    moderator physio therapist counselor counsellor librarian pharmacist dentist surgeon technician
    prize prizes trophy medal best most newcomer runner-up runners-up fellow honorary finalist
    preis pokal meister meisterin sieger siegerin prix vainqueur finaliste premio campeón campeona
    campeones campeonas subcampeón subcampeones subcampeonas nagroda prijs winnaar kampioen
    mechanic cashier clerk receptionist driver chef pilot officer-in-charge analyst-in-training
    engineering department dept team bride groom bridesmaid bridesmaids groomsman groomsmen maid matron
    usher officiant bearer man mother girl boy memory memoriam loving beloved"""
)
ORG_WORDS = wordset(
    """inc inc. llc l.l.c. ltd ltd. corp corp. co. company gmbh plc fc f.c. club school academy university
    college association society foundation hospital clinic bank group league soccer football hockey
    basketball baseball softball volleyball rugby cricket lacrosse swim tennis golf youth church council
    committee federation union agency studio studios partners solutions services consulting enterprises
    industries holdings labs systems technologies international center centre institute ministry
    department office sports athletics athletic s.a. ag bv pty llp lp nonprofit charity trust fund
    network media press hotel restaurant cafe bakery store shop brewery pharmacy dental medical law
    realty construction motors logistics airlines"""
)
HEADER_WORDS = wordset(
    """name names fullname firstname lastname first last surname forename given family title titles
    jobtitle position role company organization organisation org department dept team club school qty
    quantity quantities count copies pcs date year award achievement honor honour email e-mail mail
    phone telephone tel mobile cell number no no. # jersey pet pets owner address city state zip line
    line1 line2 line3 text engraving notes note comments comment size colour color item product sku id
    player recipient attendee nickname pronouns class grade division category rank season event value
    field vorname nachname funktion abteilung firma titel nombre apellido apellidos cargo empresa puesto
    nom prénom titre société poste anzahl menge cantidad quantité aantal nazwisko imię voornaam achternaam"""
)

_SPLIT_WORDS = re.compile(r"[^\w#'’.\-]+")
_EXTRA_NAME_CHARS = frozenset("'’‘`-‐‑.")
_NICKNAME = re.compile(r'^["“”‘’\'(](?:[^\W\d_]|[-.])+["“”‘’\')]$')
# 'Mr. & Mrs. Smith', 'Malcolm & Jean Burrows', 'Drs. Lisa & Mark Chen', 'Ana y Luis García'
_COUPLE = re.compile(
    r"^((?:\S+\.\s+)?\S+\.?\s+(?:and|&|y|et|und|en|og|och|i|e)\s+\S+\.?)\s+(?=\S)", re.IGNORECASE
)
_JOINER_WORDS = frozenset({"and", "&", "y", "et", "und", "en", "og", "och", "i", "e"})
# one household written as two people: 'Tía Carmen and Tío Luis', 'Don Manuel Ortega y Doña Pilar Sáez'
_HOUSEHOLD = re.compile(r"\s+(?:and|&|y|et|und|en|i|e)\s+", re.IGNORECASE)
_HAS_DIGIT = re.compile(r"\d")
_NICKNAME = re.compile(r"[^\S\n](?:[\"“‘'][^\"“”‘’'\n]{1,30}[\"”’']|\([^()\n]{1,20}\))[^\S\n]")
# military pay grades and ranks written with digits, before a name
_RANK = re.compile(r"^(?:[A-Z]{1,4}\d{1,2}|[A-Z]\d[A-Z]|\d(?:st|nd|rd|th)\s+Lt\.?)\s+(?=[^\W\d_])")
_POSSESSIVE = re.compile(r"['’]s$")


def fold(text: str) -> str:
    return text.casefold()


def words(text: str) -> list[str]:
    """Casefolded words of a phrase, punctuation around them dropped (inner ' - . # kept)."""
    return [w.strip(".'’-") or w for w in _SPLIT_WORDS.split(text.casefold()) if w]


def is_name_token(token: str) -> bool:
    """Letters (any script, with their combining marks) plus apostrophes, hyphens and dots."""
    has_letter = False
    for ch in token:
        if ch.isalpha():
            has_letter = True
        elif ch in _EXTRA_NAME_CHARS:
            continue
        elif not unicodedata.category(ch).startswith("M"):
            return False
    return has_letter


@lru_cache(maxsize=65536)
def case_issue(text: str) -> str | None:
    """'lower' or 'upper' when a name is written all in one case (cased scripts only)."""
    if text.islower():
        return "lower" if sum(1 for c in text if c.isalpha()) >= 2 else None
    if text.isupper():
        return "upper" if sum(1 for c in text if c.isalpha()) > 3 else None
    return None


def has_title_word(text: str) -> bool:
    return any(w in TITLE_WORDS for w in words(text)) or " of " in f" {text.casefold()} "


def has_org_word(text: str) -> bool:
    return any(w in ORG_WORDS for w in words(text))


@lru_cache(maxsize=16384)
def is_header_cell(text: str) -> bool:
    """A column heading such as 'Name', 'Player Name', 'Jersey #', 'Qty', 'Pet's name', 'Line 1'."""
    t = text.strip().casefold().rstrip(":")
    if not t or len(t) > 40:
        return False
    if t in HEADER_WORDS or t.replace(" ", "").replace("_", "") in HEADER_WORDS or "#" in t:
        return True
    ws = [_POSSESSIVE.sub("", w) for w in words(t)]
    return 0 < len(ws) <= 4 and (ws[-1] in HEADER_WORDS or ws[0] in HEADER_WORDS)


@dataclass(frozen=True)
class NameCheck:
    ok: bool
    core: int = 0
    """Number of tokens that are neither honorific, suffix nor particle."""
    why: str = ""


@lru_cache(maxsize=65536)
def check_name(text: str) -> NameCheck:
    """Does this phrase look like a person's (or pet's) name? Honorifics, suffixes, particles allowed."""
    text = text.strip().rstrip(",;")
    if not text:
        return NameCheck(False, why="empty")
    if len(text) > 80:
        return NameCheck(False, why="too long for a name")
    nick = _NICKNAME.search(text)
    if nick and text[: nick.start()].strip() and text[nick.end() :].strip():
        # 'Donna "The Wall" Petrakis': a nickname in quotes between the names is part of the name
        return check_name(f"{text[: nick.start()].rstrip()} {text[nick.end() :].lstrip()}")
    rank = _RANK.match(text)
    if rank and len(text) > rank.end():
        # 'SP4 Dennis O'Malley', 'CWO3 Frances Mbeki', '1st Lt. Nathaniel Cho': a grade, like an honorific
        inner = check_name(text[rank.end() :])
        return inner if not inner.ok else NameCheck(True, inner.core)
    if _HAS_DIGIT.search(text) or "@" in text or "/" in text or "http" in text.casefold():
        return NameCheck(False, why="has digits or symbols")
    sides = _HOUSEHOLD.split(text)
    if len(sides) == 2 and all(len(side.split()) >= 2 and side[:1].isupper() for side in sides):
        checks = [check_name(side) for side in sides]
        if all(c.ok for c in checks):
            return NameCheck(True, max(c.core for c in checks))
    couple = _COUPLE.match(text)
    if couple and all(t.casefold() in HONORIFICS for t in couple.group(1).split()[::2]):
        text = (
            "Mr. " + text[couple.end() :]
        )  # 'Mr. & Mrs. Daniel Thompson' is checked as 'Mr. Daniel Thompson'
    elif couple and all(
        is_name_token(t) or t.casefold() in HONORIFICS
        for t in couple.group(1).split()
        if t.casefold() not in _JOINER_WORDS
    ):
        # two given names sharing one surname: checked as the second person's full name
        text = couple.group(1).split()[-1] + " " + text[couple.end() :]
    tokens = text.replace(",", " ").split()
    if len(tokens) == 1 and tokens[0].casefold() in HONORIFICS:
        return NameCheck(False, why="an honorific alone")
    if len(tokens) > 7:
        return NameCheck(False, why="too many words")
    core = 0
    stops = 0
    lowercase_stop = False
    folded_all = text.casefold()
    one_case = case_issue(text) is not None
    for i, tok in enumerate(tokens):
        if 0 < i < len(tokens) - 1 and _NICKNAME.match(tok):
            continue  # Robert "Bobby" Tables, William (Bill) Turner
        if not is_name_token(tok):
            return NameCheck(False, why=f"{tok!r} is not a name word")
        f = tok.casefold()
        if i == 0 and f in HONORIFICS and len(tokens) > 1:
            continue
        if i > 0 and f.rstrip(",") in SUFFIXES:
            continue
        if f in PARTICLES and i < len(tokens) - 1:
            continue
        if f.strip(".'’-") in STOPWORDS:
            stops += 1
            if tok[:1].islower() or one_case:
                lowercase_stop = True
        core += 1
    if core == 0:
        return NameCheck(False, why="no name words")
    if lowercase_stop or stops >= 2 or (stops and core == 1):
        return NameCheck(False, core, why="reads like a sentence")
    if not one_case and any(_starts_lower(t) for t in tokens[1:] if t.casefold() not in PARTICLES):
        return NameCheck(False, core, why="capitals are inconsistent")
    body = " ".join(tokens[1:]) if tokens[0].casefold() in HONORIFICS and len(tokens) > 1 else folded_all
    if any(w in TITLE_WORDS for w in words(body)):
        return NameCheck(False, core, why="reads like a job title")
    if has_org_word(text):
        return NameCheck(False, core, why="reads like an organization")
    return NameCheck(True, core)


def _starts_lower(token: str) -> bool:
    first = next((ch for ch in token if ch.isalpha()), "")
    return first.islower() and not token.casefold().startswith(("d'", "d’", "l'", "l’"))


# post-nominal credentials: capitals with an optional lower-case run and hyphen ('RRT', 'NP-C', 'PharmD',
# 'FNP-BC', 'MSc'), not a given name ('Ana', 'JR' aside, which is a suffix)
_CREDENTIAL = re.compile(r"^(?=(?:.*[A-Z]){2})[A-Z][A-Za-z]{0,5}(?:-[A-Z]{1,3})?\.?$")


@lru_cache(maxsize=65536)
def last_first(text: str) -> str | None:
    """'Nguyen, Linh' → 'Linh Nguyen'; 'de la Cruz, Isabella' → 'Isabella de la Cruz'.

    Only for one comma between a surname (possibly with particles) and one to three given names,
    optionally followed by a suffix. 'John Smith, Jr.' and 'Jane Doe, MD' are not reordered.
    """
    if text.count(",") != 1:
        return None
    left, right = (p.strip() for p in text.split(","))
    if not left or not right:
        return None
    right_tokens = right.split()
    suffix = ""
    if len(right_tokens) > 1 and right_tokens[-1].casefold() in SUFFIXES:
        suffix = right_tokens.pop()
    if not right_tokens or right_tokens[0].casefold() in SUFFIXES:
        return None
    if len(right_tokens) == 1 and len(left.split()) >= 2 and _CREDENTIAL.match(right_tokens[0]):
        return None  # 'Marguerite Bélanger, NP-C', 'Obinna Eze, PharmD': letters after the name
    left_tokens = left.split()
    left_core = [t for t in left_tokens[:-1] if t.casefold() not in PARTICLES] + left_tokens[-1:]
    # one surname, or two (García Márquez) before a single given name
    max_left = 2 if len(right_tokens) == 1 else 1
    if len(left_core) > max_left or len(right_tokens) > 3 or left_tokens[0].casefold() in HONORIFICS:
        return None
    lc, rc = check_name(left), check_name(" ".join(right_tokens))
    if not (lc.ok and rc.ok):
        return None
    given = " ".join(right_tokens)
    return f"{given} {left} {suffix}".rstrip() if suffix else f"{given} {left}"


_PRONOUNS = re.compile(
    r"(?<!\s)\s*[(\[]\s*((?:she|he|they|ze|xe|zie|ey|it|any)\s*/\s*[a-z]+(?:\s*/\s*[a-z]+)?"
    r"|any pronouns|all pronouns)\s*[)\]]",
    re.IGNORECASE,
)


def split_pronouns(text: str) -> tuple[str, str | None]:
    """'Priya Natarajan (she/her)' → ('Priya Natarajan', 'she/her')."""
    m = _PRONOUNS.search(text)
    if not m:
        return text, None
    rest = (text[: m.start()] + text[m.end() :]).strip()
    return " ".join(rest.split()) if "  " in rest else rest, m.group(1).strip()


_NEWLINES = re.compile(r"\r\n|[\r\u2028\u2029\u0085\x0b\x0c]")
_ODD_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u3000": " "})
_INVISIBLE = re.compile("[\u200b\u2060\ufeff]")


def without_accents(text: str) -> str:
    """'Matéo' → 'Mateo', 'Siobhán' → 'Siobhan': the letters without their marks (for comparing, never
    for writing a value)."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def normalize_text(text: str) -> str:
    """NFC, one kind of newline, no-break spaces as spaces, zero-width junk from copy-paste removed."""
    text = _NEWLINES.sub("\n", text)
    text = _INVISIBLE.sub("", text.translate(_ODD_SPACES))
    return unicodedata.normalize("NFC", text)


def clear_caches() -> None:
    """Forget memoized word checks (benchmarks measure cold runs)."""
    for fn in (case_issue, is_header_cell, check_name, last_first):
        fn.cache_clear()
