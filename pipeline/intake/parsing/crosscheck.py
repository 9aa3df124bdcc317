"""When the AI parser reads an order, the rule-based parser reads it too (offline, in milliseconds),
and every AI item whose line the rules read differently is flagged with both readings in its reasons.

Two independent readings that agree are good evidence; where they differ, neither is trusted without
a look, and the shop sees both in words ("the AI read …; the rule-based parser read …"). A line the
rules made an item of and the AI did not is named in the result's notes, so it is not lost unseen.
"""

from __future__ import annotations

from .model import ParseResult

DISAGREE_CEILING = 0.8


def _reading(values: dict[str, str], name_key: str) -> tuple[str, str]:
    return values.get(name_key, "") or "", values.get("title", "") or ""


def cross_check(ai: ParseResult, rules: ParseResult) -> int:
    """Flag the AI items the rule-based reading disagrees with; returns how many were flagged."""
    rules_key = rules.name_column or "name"
    ai_key = ai.name_column or "name"
    by_line: dict[int, set[tuple[str, str]]] = {}
    for item in rules.items:
        if item.source_line is not None:
            by_line.setdefault(item.source_line, set()).add(_reading(item.values, rules_key))
    flagged = 0
    for item in ai.items:
        mine = _reading(item.values, ai_key)
        theirs = by_line.get(item.source_line or -1, set())
        if mine in theirs:
            continue
        if theirs:
            other = " or ".join(f"name {n!r}, title {t!r}" for n, t in sorted(theirs))
        else:
            other = "no item on this line"
        item.cap(
            DISAGREE_CEILING,
            f"the two parsers disagree: the AI read name {mine[0]!r}, title {mine[1]!r}; "
            f"the rule-based parser read {other}",
        )
        flagged += 1
    read_by_ai = {item.source_line for item in ai.items}
    left_out = sorted(line for line in by_line if line not in read_by_ai)
    for line in left_out[:20]:
        names = " and ".join(repr(n) for n, _ in sorted(by_line[line]))
        ai.notes.append(f"Line {line}: the rule-based parser read {names}, the AI made no item of it.")
    return flagged
