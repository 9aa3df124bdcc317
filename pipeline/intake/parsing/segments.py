"""One segment of a line of list content: a name with what is attached to it, and the values after it.

A name with its pronouns, brackets (a note, a title, a count, post-nominals), jersey number and
e-mail taken off; a quoted label; a name wrapped in a few filler words ('oh and 2x for Wei Chen
pls'); 'Name - Title - Company', 'Name: Title', 'Title - Name' and column cells, whose parts after
the name go to title, company, phone, e-mail, date or note.
"""

from __future__ import annotations

import re

from .columns import DATE, EMAIL
from .drafts import Draft
from .lexicon import (
    HONORIFICS,
    STOPWORDS,
    case_issue,
    check_name,
    has_org_word,
    has_title_word,
    last_first,
    split_pronouns,
)
from .lines import (
    EMAIL_IN,
    JERSEY,
    PAREN,
    QUOTED_LABEL,
    URL_IN,
    is_phone,
    quantity_only,
    split_outside,
    stop_count,
    take_quantity,
)
from .names import AND, AND_OTHER, own_name_words, shares_surname
from .people import starts_with_given_name

MAX_FIELDS = 8  # more parts than this after a name is not one item's values
# 'OBE', 'FRS', 'PhD', 'MBE, DL': letters after a name, engraved with it
POSTNOMINAL = re.compile(
    r"^(?:[A-Z][a-z]?[A-Z][A-Za-z]{0,3}\.?|Ret(?:\.|d\.?|'d)?)(?:[ ,]+[A-Z][a-z]?[A-Z][A-Za-z]{0,3}\.?)*$"
)
_COUNT_REMARK = re.compile(r"\s*\(\s*(?:[x×]\s?(\d{1,3})|(\d{1,3})\s?[x×])\b[^()]*\)\s*$", re.IGNORECASE)


def structured(parts: list[str], *, colon: bool, columns: bool = False, dashed: bool = False) -> Draft | None:
    """'Name - Title - Company', 'Name: Title', tab/wide-space columns; or 'Title - Name'."""
    if len(parts) > MAX_FIELDS:
        return None
    qty, left = take_quantity(parts[0])
    rest = list(parts[1:])
    if (whole := quantity_only(parts[0])) and rest:  # 'qty 2 - Willow Rosenberg'
        qty, left, rest = whole, rest[0], rest[1:]
        if not rest:
            draft = name_part(left)
            if draft:
                draft.values["qty"] = qty
            return draft
    if rest and (alone := quantity_only(rest[-1])):  # 'Mrs. Ellen Ripley - 3x'
        qty, rest = qty or alone, rest[:-1]
    qty_end, last = take_quantity(rest[-1]) if rest else (None, "")
    if qty_end and last:
        rest[-1], qty = last, qty or qty_end
    draft = name_part(left, min_core=2 if colon else 1)
    if draft:
        assign(draft, rest, columns, dashed)
        tail = rest[0] if len(rest) == 1 else ""
        tail_check = check_name(PAREN.sub("", tail).strip())
        if tail_check.ok and tail_check.core >= 2 and not columns:
            _which_is_the_name(draft, left, tail)
    elif columns and len(parts) == 2 and rest and DATE.match(left.strip()):
        # '2019–2020  Rev. Canon Peter Lyall (MBE)' on an honours board: the years, then the name
        draft = name_part(rest[0], min_core=1)
        if draft:
            draft.values["title"] = left.strip()
            draft.reasons.append(f"{left.strip()!r} in the column before the name read as the second line")
    elif len(parts) == 2 and rest and not columns:
        draft = name_part(rest[0], min_core=1 if has_title_word(left) else 2)
        if draft:
            draft.values["title"] = left.strip()
            draft.deduct(0.1, "name came after the title")
    if draft and qty:
        draft.values["qty"] = qty
    return draft


def _which_is_the_name(draft: Draft, left: str, tail: str) -> None:
    """Both sides of 'A – B' look like names: a known given name at the start of one side decides."""
    left_given, tail_given = starts_with_given_name(left), starts_with_given_name(tail)
    left_honorific = left.split()[0].casefold() in HONORIFICS if left.split() else False
    tail_honorific = tail.split()[0].casefold() in HONORIFICS if tail.split() else False
    if left_honorific and not tail_honorific:
        draft.reasons.append(f"{left.split()[0]!r} before the name; {tail!r} has no such title")
    elif left_given and not tail_given:
        draft.reasons.append(f"{draft.values['name'].split()[0]!r} is a known given name; {tail!r} is not")
    elif tail_given and not left_given and "title" in draft.values and draft.values["title"] == tail:
        name = name_part(tail, min_core=2)
        if name is None:
            draft.deduct(0.2, f"{tail!r} also looks like a name: which one is the name?")
            return
        draft.values["name"], draft.values["title"] = name.values["name"], left.strip()
        draft.reasons[:] = [r for r in draft.reasons if not r.startswith("guessed title")]
        draft.deduct(0.05, f"read as 'Title – Name': {tail.split()[0]!r} is a known given name")
    else:
        draft.deduct(0.2, f"{tail!r} also looks like a name: which one is the name?")


def single(s: str, listed: bool) -> Draft | None:
    """One segment: a name (with quantity, pronouns, brackets) or, in a list, a label."""
    qty, s = take_quantity(s)
    s, pronouns = split_pronouns(s)
    m = QUOTED_LABEL.match(s.strip())
    if m:
        d = _quoted(m.group(1).strip())
    else:
        found = name_part(s)
        if found is None:
            s = s.strip().strip(".,;!")
            if not listed or not s or not any(ch.isalpha() for ch in s) or stop_count(s) > 1:
                return None
            found = Draft({"name": s}, label=True)
            found.cap(0.5, f"does not look like a person's name ({check_name(s).why})")
        d = found
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    if qty:
        d.values["qty"] = qty
    return d


def _quoted(inner: str) -> Draft:
    """A segment in quotes: a person's full name, or a label ('"MOM"')."""
    d = Draft({"name": inner})
    check = check_name(inner)
    if check.ok and check.core >= 2:
        d.deduct(0.15, "the name was in quotes")
    else:
        d.label = True
        d.cap(0.5, "quoted label, probably not a person's name")
    return d


def name_part(text: str, min_core: int = 1) -> Draft | None:
    """A draft whose name is `text` (pronouns, brackets, jersey number taken off), or None."""
    text, pronouns = split_pronouns(text.strip())
    email = None
    if m := EMAIL_IN.search(text):
        email = m.group(0)
        text = re.sub(r"[<(\[]\s*$", "", text[: m.start()]) + re.sub(r"^\s*[>)\]]", "", text[m.end() :])
    extras: list[str] = []
    postnominal = ""
    for m in reversed(list(PAREN.finditer(text))):
        if text[m.end() :].strip() and m.start() > 0:
            continue  # a nickname inside the name stays: William (Bill) Turner
        if POSTNOMINAL.match(m.group(1).strip()) and not text[m.end() :].strip():
            postnominal = f" ({m.group(1).strip()})"  # 'Dr Samuel Okonkwo (OBE)': engraved as written
            text = text[: m.start()].rstrip()
            continue
        extras.insert(0, m.group(1).strip())
        text = text[: m.start()] + text[m.end() :]
    number = None
    if m := JERSEY.search(text):
        number, text = m.group(0).strip(), text[: m.start()]  # '#7' as written
    text = " ".join(text.split()).strip(" ,;")
    reordered = last_first(text)
    name = reordered or text
    check = check_name(name)
    if not check.ok or check.core < min_core or EMAIL_IN.search(name) or URL_IN.search(name):
        return None
    d = Draft({"name": name + postnominal})
    if joiner := AND.search(name) or AND_OTHER.search(name):
        first = name[: joiner.start()]
        if len(own_name_words(first)) >= 2 and shares_surname(first, name[joiner.end() :]):
            # 'Francisco Javier y Ana Belén Molina' or 'Maria Vivi and Ana Lúcia Toho': the words of
            # the first name are all given names, so it was read as sharing the second's surname
            d.cap(
                0.8,
                f"two names joined by {joiner.group(0).strip()!r}: kept as one couple sharing the surname"
                f" ({first.strip()!r} read as given names only); or two people?",
            )
        else:
            d.reasons.append(f"two names joined by {joiner.group(0).strip()!r}: kept as one couple")
    if postnominal:
        d.reasons.append(f"post-nominal letters{postnominal} kept with the name, as written")
    if reordered:
        d.deduct(0.15, "reordered Last, First")
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    if number:
        d.values["number"] = number
    if email:
        d.values["email"] = email
    for extra in filter(None, extras):
        qty, rest = take_quantity(f"({extra})")
        if qty and not rest:
            d.values["qty"] = qty
        elif has_title_word(extra) and "title" not in d.values:
            d.values["title"] = extra
            d.reasons.append(f"title taken from brackets: ({extra})")
        else:
            d.values["note"] = f"{d.values['note']}; {extra}" if "note" in d.values else extra
            d.deduct(0.05, f"moved ({extra}) out of the name into a note")
    issue = case_issue(name)
    if issue == "lower":
        d.deduct(0.05, "name is all lower-case (kept as typed)")
    elif issue == "upper":
        d.deduct(0.05, "name is all capitals (kept as typed)")
    return d


def assign(d: Draft, parts: list[str], columns: bool = False, dashed: bool = False) -> None:
    """Put the parts after a name into title / company / phone / email / date / note.

    After a dash ('Name – U.S. Army, 1984–2012') the rest is one second line, commas and all, unless
    a comma sets off contact details or a company."""
    pieces = [q for p in parts for q in (split_outside(p) if not columns else [p]) if q.strip()]
    if dashed and len(parts) == 1 and len(pieces) > 1:
        tail = [q.strip() for q in pieces[1:]]
        # a company is an organisation's name of two words or more, not a sport ('Class of 1978, Football')
        contact = [
            is_phone(q)
            or EMAIL.match(q)
            or (has_org_word(q) and not has_title_word(q) and len(q.split()) > 1)
            for q in tail
        ]
        if not any(contact):
            pieces = [parts[0]]
    notes: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if (m := _COUNT_REMARK.search(piece)) and m.start() > 0:
            # 'Dental Nurse (x2 please, she works at both sites)': the count and remark come off
            d.values["qty"] = next(g for g in m.groups() if g)
            notes.append(m.group(0).strip().strip("()"))
            d.reasons.append(f"quantity {d.values['qty']} from the remark {m.group(0).strip()!r}")
            piece = piece[: m.start()].strip()
        if is_phone(piece):
            key = "phone"
        elif EMAIL.match(piece):
            key = "email"
        elif DATE.match(piece):
            key = "date"
        elif has_org_word(piece) and not has_title_word(piece):
            key = "company"
        else:
            key = "title"
        if key == "title" and "title" in d.values:
            key = "company"
        if key in d.values:
            key = "note"
        if key == "title" and not has_title_word(piece):
            d.deduct(0.05, f"guessed title: {piece!r}")
        if key == "note":
            notes.append(piece)
        else:
            d.values[key] = piece
    if notes:
        d.values["note"] = "; ".join(notes)


_FILLER = STOPWORDS | {"oh", "um", "uh", "ah", "ok", "so", "lastly", "finally", "too"}
_QTY_TOKEN = re.compile(r"^(?:\d{1,4}\s?[x×]|[x×]\s?\d{1,4})$", re.IGNORECASE)
_JOINERS = frozenset({"and", "also", "plus", "&", "+", "oh", "or"})


def name_among_filler(s: str) -> Draft | None:
    """'oh and 2x for Wei Chen pls': a full name wrapped in a few filler words."""
    s, pronouns = split_pronouns(s)
    tokens = s.split()
    if len(tokens) > 12:
        return None
    i, j, qty = 0, len(tokens), None
    remark = PAREN.search(s) if s.rstrip().endswith(")") else None
    if remark:  # 'and Josephine (with the ph)': a remark after the name
        tokens = s[: remark.start()].split()
        j = len(tokens)
    while i < j:
        word = tokens[i].casefold().strip(",.!?;:")
        if word in _FILLER:
            i += 1
        elif qty is None and _QTY_TOKEN.match(word):
            qty = "".join(ch for ch in word if ch.isdigit())
            i += 1
        else:
            break
    while j > i and tokens[j - 1].casefold().strip(",.!?;:") in _FILLER:
        j -= 1
    if i == 0 and j == len(tokens):
        return None
    name = " ".join(tokens[i:j]).strip(",.!?;:")
    honorific = name.split()[0].casefold() in HONORIFICS if name else False
    joined = j == len(tokens) and all(t.casefold() in _JOINERS for t in tokens[:i])
    d = name_part(name, min_core=1 if honorific or joined else 2)
    if d is None or case_issue(name) == "lower":
        return None
    dropped = " ".join(tokens[:i] + ["…"] + tokens[j:])
    d.deduct(0.15, f"line had extra text: {dropped!r}")
    if qty:
        d.values["qty"] = qty
    if pronouns:
        d.values["pronouns"] = pronouns
        d.reasons.append(f"pronouns ({pronouns}) kept out of the name")
    return d
