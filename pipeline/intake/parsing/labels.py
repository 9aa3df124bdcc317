"""Lines of a list block that name no person, kept as flagged pieces read the way their block reads.

What stands where the names are may be a sponsor, a team, a family or a pet called 'Rex 2': 'Team
Bullseye - Division 2 Winners, qty 4' beside 'Name – Title' lines, 'In Memory of Walter Brennan' on a
donor list of bare names, 'Max 2 - 07700 900111' among pet tags.
"""

from __future__ import annotations

import re

from .blocks import split_sides
from .instructions import is_instruction
from .lexicon import check_name, is_header_cell
from .lines import PHONE_ONLY, quantity_only, strip_marker, take_quantity
from .model import ParsedItem, SkippedLine
from .people import starts_with_given_name

# a line that may stand for a piece: capitalised, short, not a sentence
_LABEL_LINE = re.compile(r"^[A-ZÀ-Þ\"“][^.!?:;,@()\[\]–—]{1,60}$")
# 'Please do the following name badges', 'In Loving Memory of' (its name on the next line)
_NOT_LABEL = re.compile(
    r"^(?:please|pls|could|can|would|we|i|here|below|attached|thanks|thank)\b|\b(?:of|the|for|and|to|a)$",
    re.IGNORECASE,
)


def labels_in_list(
    items: list[ParsedItem], skipped: list[SkippedLine], par: list[tuple[int, str]], first_item: int
) -> None:
    """A line of a list block that gave no item because what stands where the names are is no
    person's name — a sponsor, a team, a family, a pet called 'Rex 2' — is kept as a flagged
    piece, read the way its block reads: 'Team Bullseye - Division 2 Winners, qty 4' beside
    'Name – Title' lines; 'In Memory of Walter Brennan' on a donor list of bare names."""
    block = items[first_item:]
    body = [b for _, b in par if not b.rstrip().endswith(":")]
    if not block or not all(len(b.split()) <= 10 and not b.rstrip().endswith((".", "?")) for b in body):
        return  # prose, not a list
    lines = {no for no, _ in par}
    found = [s for s in skipped if s.line in lines and s.why in ("chatter", "no name found")]
    starts = {it.source_line for it in block}
    if (
        len(found) >= 2
        and all((s.line or 0) - 1 in starts for s in found)
        and not any(split_sides(strip_marker(s.text)[1]) for s in found)
    ):
        return  # every other line: each name's second line, not pieces of their own
    titled = sum("title" in it.values for it in block) * 2 > len(block)
    # 'Club Deportivo Ribera – Mejor Club' kept whole as a name: read it like its block
    for item in block:
        name = item.values.get("name", "")
        sides = split_sides(name) if titled and set(item.values) == {"name"} else None
        if sides and not check_name(name).ok:
            item.values = {"name": sides[0], "title": sides[1]}
            item.cap(
                0.6,
                f"{sides[0]!r} is not a person's name, but its line is shaped like its block's",
            )
    title_first = sum(
        any("name came after the title" in r or "'Title – Name'" in r for r in it.reasons) for it in block
    )
    for found_line in found:
        text = strip_marker(found_line.text.strip())[1]
        if is_instruction(text):
            continue
        sides = split_sides(text) if titled else None
        if sides is None and not titled:
            sides = split_sides(text)
            sides = sides if sides and PHONE_ONLY.match(sides[1]) and not is_header_cell(sides[0]) else None
        if sides and PHONE_ONLY.match(sides[1]):  # 'Max 2 - 07700 900111' among pet tags
            values = {"name": sides[0], "phone": sides[1]}
            why = f"{sides[0]!r} is not a person's name, but it stands where the names are in its block"
        elif sides and (count := quantity_only(sides[1])):  # 'Mum & Dad - 2 glasses'
            values = {"name": sides[0], "qty": count}
            why = f"{sides[0]!r} is not a person's name, but it stands where the names are in its block"
        elif sides:
            name, title = (sides[1], sides[0]) if title_first * 2 > len(block) else sides
            values = {"name": name, "title": title}
            why = f"{name!r} is not a person's name, but its line has the shape of the others in its block"
        elif not titled and _LABEL_LINE.match(text) and not _NOT_LABEL.search(text):
            values = {"name": text}
            why = "not a person's name, but it stands in a list of names (a family, a group, a pet?)"
        else:
            continue
        last = "title" if "title" in values else "name"
        qty, rest = take_quantity(values[last])
        if qty and rest:
            values[last], values["qty"] = rest.rstrip(" ,;"), qty
        skipped.remove(found_line)
        confidence = 0.6
        if sides and starts_with_given_name(values["name"]):  # 'Ciarán Mac an tSaoir — 40 Years …'
            confidence, why = (
                0.85,
                f"{values['name']!r} starts with a known given name, in a line shaped like its block's",
            )
        items.append(ParsedItem(values, confidence, [why], source_line=found_line.line, raw=found_line.text))
    items[first_item:] = sorted(items[first_item:], key=lambda it: it.source_line or 0)
