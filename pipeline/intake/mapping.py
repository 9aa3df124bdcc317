"""Field mapping (docs/parsing.md, "Field mapping"): parsed columns → a template's field keys, with
transforms and serials.

The mapping is stored per job as JSON (`FieldMapping.to_dict()` / `from_dict()`); raw parsed values
stay with the items so a mapping can be changed later without loss.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Transform = Literal["none", "upper", "lower", "title", "trim"]
MatchKind = Literal["exact", "synonym", "fuzzy", "manual", "none"]
TRANSFORMS: tuple[Transform, ...] = ("none", "upper", "lower", "title", "trim")

FUZZY_THRESHOLD = 0.72

# Groups of column labels that mean the same field; the first entry is the usual field key.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "names",
        "full name",
        "fullname",
        "player name",
        "player",
        "recipient",
        "recipient name",
        "attendee",
        "attendee name",
        "person",
        "participant",
        "honoree",
        "honouree",
        "guest name",
        "student",
        "student name",
        "employee",
        "employee name",
        "member",
        "member name",
        "engraving name",
        "name on plate",
        "display name",
        "winner",
        "awardee",
        "inductee",
        "your name",
        "nombre",
        "nom",
    ),
    "pet_name": ("pet name", "pets name", "pet", "dog name", "cat name", "animal name", "pet's name"),
    "title": (
        "title",
        "job title",
        "position",
        "role",
        "job",
        "designation",
        "rank",
        "function",
        "funktion",
        "occupation",
        "cargo",
        "puesto",
        "titre",
        "poste",
    ),
    "company": (
        "company",
        "department",
        "dept",
        "organization",
        "organisation",
        "org",
        "team",
        "club",
        "school",
        "business",
        "employer",
        "division",
        "agency",
        "firm",
        "unit",
        "affiliation",
        "abteilung",
        "firma",
        "empresa",
        "société",
    ),
    "year": ("year", "yr", "season", "class of", "class year", "graduation year"),
    "date": ("date", "event date", "day", "when"),
    "achievement": (
        "achievement",
        "award",
        "honor",
        "honour",
        "accomplishment",
        "recognition",
        "category",
        "prize",
        "award name",
        "distinction",
    ),
    "phone": ("phone", "phone number", "telephone", "tel", "mobile", "cell", "contact number", "owner phone"),
    "email": ("email", "e mail", "email address", "mail"),
    "number": ("number", "jersey number", "jersey", "no", "shirt number", "player number"),
    "message": (
        "message",
        "text",
        "inscription",
        "engraving",
        "engraving text",
        "wording",
        "dedication",
        "quote",
    ),
    "owner": ("owner", "owner name", "parent", "guardian"),
    "pronouns": ("pronouns",),
    "qty": ("qty", "quantity", "count", "copies"),
}
# Fields that stand in for each other when the template has one but not the other.
RELATED = {frozenset({"year", "date"}), frozenset({"name", "pet_name"}), frozenset({"achievement", "title"})}


class MappingPair(BaseModel):
    """One parsed column and the template field it fills (None: ignored), with a transform."""

    model_config = ConfigDict(extra="forbid")
    column: str
    field_key: str | None = None
    transform: Transform = "none"
    matched_by: MatchKind = "none"
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MappingPair:
        return cls.model_validate(dict(data))


class SerialSpec(BaseModel):
    """Number items into a field: start, step and zero padding ('007'), with optional text around."""

    model_config = ConfigDict(extra="forbid")
    field: str
    start: int = 1
    step: int = 1
    pad: int = Field(default=0, ge=0, le=12)
    prefix: str = ""
    suffix: str = ""

    @field_validator("step")
    @classmethod
    def _step_not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("the step cannot be 0")
        return v

    def format(self, index: int) -> str:
        """The serial of the item at `index` (0-based)."""
        n = self.start + index * self.step
        return f"{self.prefix}{n:0{self.pad}d}{self.suffix}" if self.pad else f"{self.prefix}{n}{self.suffix}"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SerialSpec:
        return cls.model_validate(dict(data))


class FieldMapping(BaseModel):
    """A job's mapping: the pairs, an optional serial field, and the template it was made for."""

    model_config = ConfigDict(extra="forbid")
    pairs: list[MappingPair]
    serial: SerialSpec | None = None
    template_key: str | None = None
    template_version: int | None = None

    def apply(self, raw_values: Mapping[str, str]) -> dict[str, str]:
        return apply_mapping(raw_values, self.pairs)

    def apply_all(self, raw_values: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
        """Map every item, then number them when a serial is set."""
        mapped = [self.apply(v) for v in raw_values]
        return number_items(mapped, self.serial) if self.serial else mapped

    def fits(self, template_key: str, template_version: int | None = None) -> bool:
        """False when the template changed since the mapping was made: ask for the mapping again."""
        return self.template_key == template_key and (
            template_version is None or self.template_version == template_version
        )

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldMapping:
        return cls.model_validate(dict(data))


# ---------------------------------------------------------------------------- suggesting

_LABEL_SPLIT = re.compile(r"[\s_\-./:()]+")


def normalize_label(label: str) -> str:
    """'Jersey #' → 'jersey number', 'player_name' → 'player name', 'E-Mail' → 'e mail'."""
    text = label.casefold().replace("#", " number ").replace("’", "'")
    text = re.sub(r"\bno\.", "number ", text)
    return " ".join(w for w in _LABEL_SPLIT.split(text) if w)


_HEADER_PARTS = re.compile(r"\s*(?:/|\(|\)|,|;|\|)\s*")


def _related(group: str) -> set[str]:
    return {g for pair in RELATED if group in pair for g in pair if g != group}


def _group_of(label: str) -> str | None:
    for group, names in SYNONYMS.items():
        if label == group.replace("_", " ") or label in names:
            return group
    return None


def _score(column: str, field_key: str) -> tuple[float, MatchKind]:
    nc, nf = normalize_label(column), normalize_label(field_key)
    if not nc or not nf:
        return 0.0, "none"
    if nc == nf:
        return 1.0, "exact"
    gc, gf = _group_of(nc), _group_of(nf)
    if gc and gc == gf:
        return 0.9, "synonym"
    last = nc.split()[-1]
    if gf and (_group_of(last) == gf or last == nf):
        return 0.8, "synonym"  # 'Recipient Name' → name, 'Event Date' → date
    if gc and gf and frozenset({gc, gf}) in RELATED:
        return 0.7, "synonym"
    # 'Award / line 2', 'Award (engraved under the name)': one part of the header names the field
    for part in _HEADER_PARTS.split(column):
        np = normalize_label(part)
        if np and (np == nf or (gf and _group_of(np) in (gf, *_related(gf)))):
            return 0.75, "synonym"
    candidates = [nf, *SYNONYMS.get(gf or "", ())]
    ratio = max(difflib.SequenceMatcher(None, nc, c).ratio() for c in candidates)
    if ratio >= FUZZY_THRESHOLD:
        return round(0.6 * ratio, 3), "fuzzy"
    return 0.0, "none"


def suggest_mapping(columns: Sequence[str], field_keys: Sequence[str]) -> list[MappingPair]:
    """One pair per column (field_key None when nothing fits); each field is used at most once."""
    scored = [
        (score, -ci, -fi, column, field, kind)
        for ci, column in enumerate(columns)
        for fi, field in enumerate(field_keys)
        for score, kind in [_score(column, field)]
        if score > 0
    ]
    scored.sort(reverse=True)
    chosen: dict[str, MappingPair] = {}
    taken: set[str] = set()
    for score, _, _, column, field, kind in scored:
        if column in chosen or field in taken:
            continue
        chosen[column] = MappingPair(column=column, field_key=field, matched_by=kind, score=score)
        taken.add(field)
    return [chosen.get(c) or MappingPair(column=c) for c in columns]


# ------------------------------------------------------------------------------ applying


def _lookup(raw_values: Mapping[str, str], column: str) -> str:
    if column in raw_values:
        return raw_values[column] or ""
    folded = column.casefold()
    return next((v or "" for k, v in raw_values.items() if k.casefold() == folded), "")


def apply_mapping(raw_values: Mapping[str, str], pairs: Iterable[MappingPair]) -> dict[str, str]:
    """Field values for one item. Unmapped columns are ignored; several columns mapped to one
    field are joined with a space, in pair order ('First Name' + 'Last Name' → name)."""
    out: dict[str, str] = {}
    for pair in pairs:
        if not pair.field_key:
            continue
        value = transform_value(_lookup(raw_values, pair.column), pair.transform)
        if pair.field_key in out:
            out[pair.field_key] = " ".join(v for v in (out[pair.field_key], value) if v)
        else:
            out[pair.field_key] = value
    return out


def transform_value(value: str, transform: Transform) -> str:
    if transform == "upper":
        return value.upper()
    if transform == "lower":
        return value.lower()
    if transform == "title":
        return title_case(value)
    if transform == "trim":
        return " ".join(value.split())
    return value


# ---------------------------------------------------------------------------- title case

_LOWER_INSIDE = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "di",
        "da",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ter",
        "ten",
    }
    | {"y", "bin", "binti", "ibn", "zu", "of", "the", "and", "for", "at", "in", "on", "a", "an", "to"}
)
_FIXED = {
    "jr": "Jr",
    "jr.": "Jr.",
    "sr": "Sr",
    "sr.": "Sr.",
    "phd": "PhD",
    "ph.d.": "Ph.D.",
    "md": "MD",
    "m.d.": "M.D.",
    "dds": "DDS",
    "esq": "Esq",
    "esq.": "Esq.",
    "cpa": "CPA",
    "rn": "RN",
    "mba": "MBA",
    "obe": "OBE",
    "mbe": "MBE",
    "ceo": "CEO",
    "cfo": "CFO",
    "cto": "CTO",
    "coo": "COO",
    "vp": "VP",
    "mvp": "MVP",
    "usa": "USA",
    "fc": "FC",
}
_ROMAN = frozenset({"ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"})
_MAC_NAMES = frozenset(
    {"macarthur", "macdonald", "mackenzie", "macleod", "macmillan", "macgregor", "macintyre", "mackay"}
    | {"maclean", "macneil", "macpherson", "macaulay", "macinnes", "macdougall", "macfarlane", "mackinnon"}
    | {"maclachlan", "macrae", "macqueen", "macdonnell", "mackintosh"}
)
_INITIALS = re.compile(r"^(?:[^\W\d_]\.)+$")
_APOSTROPHE = re.compile(r"^([^\W\d_])(['’])([^\W\d_]{2,})$")


def _cap(word: str) -> str:
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1 :].lower()
    return word


def _title_part(part: str) -> str:
    low = part.lower()
    m = _APOSTROPHE.match(low)
    if m:  # o'brien, d'angelo
        return m.group(1).upper() + m.group(2) + _title_part(m.group(3))
    if low.startswith("mc") and len(low) > 3 and low[2].isalpha():
        return "Mc" + _cap(low[2:])
    if low in _MAC_NAMES:
        return "Mac" + _cap(low[3:])
    return _cap(low)


def _title_word(word: str, first: bool, last: bool, next_word: str | None) -> str:
    letters = [c for c in word if c.isalpha()]
    if any(c.isupper() for c in letters) and any(c.islower() for c in letters):
        return word  # McDonald, MacArthur, DeShawn, PhD: the customer's own capitals
    low = word.lower()
    if low in _FIXED and not first:
        return _FIXED[low]
    if low in _ROMAN and not first:
        return low.upper()
    if _INITIALS.match(low):
        return low.upper()
    # 'Anna van der Berg', 'de la Cruz', 'Head of Sales' (a leading particle only before another one)
    if low in _LOWER_INSIDE and not last and (not first or (next_word or "").lower() in _LOWER_INSIDE):
        return low
    return "-".join(_title_part(p) for p in re.split(r"-", word)) if "-" in word else _title_part(word)


def title_case(value: str) -> str:
    """Title Case that keeps names sensible: O'Brien, McDonald, MacArthur, van der Berg, de la Cruz,
    Pemberton-Hughes, III, Jr. Words already in mixed case are left as the customer wrote them."""
    pieces = re.split(r"(\s+)", value)
    words = [i for i, p in enumerate(pieces) if p and not p.isspace()]
    for n, i in enumerate(words):
        nxt = pieces[words[n + 1]] if n + 1 < len(words) else None
        pieces[i] = _title_word(pieces[i], first=n == 0, last=n == len(words) - 1, next_word=nxt)
    return "".join(pieces)


# ------------------------------------------------------------------------------- serials


def serial_values(count: int, spec: SerialSpec) -> list[str]:
    return [spec.format(i) for i in range(count)]


def number_items(values_list: Sequence[Mapping[str, str]], spec: SerialSpec) -> list[dict[str, str]]:
    """Copies of the value dicts with `spec.field` set to each item's serial, in order."""
    return [{**values, spec.field: spec.format(i)} for i, values in enumerate(values_list)]
