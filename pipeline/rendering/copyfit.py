"""Copyfit groups: one size for a set. A template's shrink fields may join a named group
(``group = "names"``); the layout first finds each item's own best size for them, then sets every
item of the job to the smallest of those, per group (docs/layout.md, "One size for a set").

Measuring is cheap (text shaped and fitted, nothing drawn), so it runs over every item of a job
before any proof is drawn; the sizes it finds go into each item's layout and proof input hash, so
exactly the items whose size changes are drawn again. A value that does not fit even at min_size
(an OVERFLOW error) does not pull the others down; empty values take no part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline.rendering.layout import layout_field
from pipeline.rendering.model import EPS, ItemLayout
from pipeline.templates.fonts import FontRegistry
from pipeline.templates.template import Template


@dataclass(frozen=True)
class GroupFit:
    """One group of a job: the size its values share and how it was found."""

    group: str
    fields: tuple[str, ...]  # the template's field keys in the group
    size: float | None  # pt; None when no value of the group fits on its own
    count: int  # values set at that size
    longest: tuple[int, str, str] | None  # (item index, field key, text) that needs the smallest size
    larger: tuple[float, ...]  # the own sizes of the values the group set smaller, one each
    overflowed: int  # values that do not fit even at min_size (left as they are)
    min_size: float = 0.0

    def message(self) -> str:
        """What the group did, in a sentence for the shop (plain text: the doors escape it)."""
        noun = self.group.replace("_", " ").replace("-", " ")
        if self.size is None or self.longest is None:
            return f"no {noun} fit on their own, so the {noun} group sets no size (see OVERFLOW)"
        text = self.longest[2]
        shown = f"'{text if len(text) <= 60 else text[:59] + '…'}'"
        head = f"all {self.count} {noun} set at {self.size:g} pt"
        if self.count == 1:
            said = f"only 1 of the {noun} fits, at {self.size:g} pt ({shown})"
        elif not self.larger:
            said = f"{head}: each fits at that size on its own"
        else:
            lo, hi = min(self.larger), max(self.larger)
            sizes = f"{hi:g} pt" if lo == hi else f"{lo:g} to {hi:g} pt"
            without = f"without the group {len(self.larger)} would be {sizes}"
            said = f"{head} to match the longest, {shown}; {without}"
        if self.overflowed:
            said += (
                f"; {self.overflowed} more {'does' if self.overflowed == 1 else 'do'} not fit even at "
                f"{self.min_size:g} pt and {'is' if self.overflowed == 1 else 'are'} left out (see OVERFLOW)"
            )
        return said


@dataclass(frozen=True)
class Copyfit:
    """A job's copyfit groups: each group's size, and each item's fields the group sets."""

    groups: tuple[GroupFit, ...] = ()
    # per item (job order): field key -> the group's size, for each grouped value that fits alone
    item_sizes: tuple[dict[str, float], ...] = field(default=())

    @property
    def sizes(self) -> dict[str, float]:
        """The size of each group that has one, by group name (what ``layout_item`` takes)."""
        return {g.group: g.size for g in self.groups if g.size is not None}

    def of_item(self, index: int) -> dict[str, float]:
        """The sizes the groups set on item ``index``'s fields (part of its proof input hash)."""
        return self.item_sizes[index] if index < len(self.item_sizes) else {}

    def messages(self) -> list[str]:
        """A sentence per group that set two values or more."""
        return [g.message() for g in self.groups if g.count + g.overflowed > 1]


NO_GROUPS = Copyfit()


def has_groups(template: Template) -> bool:
    return any(f.group for f in template.fields)


def measure(
    template: Template, rows: Sequence[Mapping[str, str | None]], registry: FontRegistry | None = None
) -> Copyfit:
    """Each group's size over every item (``rows``: their values, in job order)."""
    if not has_groups(template):
        return NO_GROUPS
    per_item: list[dict[str, float]] = [{} for _ in rows]
    groups: list[GroupFit] = []
    names = list(dict.fromkeys(f.group for f in template.fields if f.group))
    for name in names:
        members = [f for f in template.fields if f.group == name]
        own: list[tuple[float, int, str, str]] = []
        overflowed = 0
        for i, values in enumerate(rows):
            for f in members:
                fl = layout_field(f, values.get(f.key), default_font=template.default_font, registry=registry)
                if fl.empty:
                    continue
                if fl.overflowed:
                    overflowed += 1
                else:
                    own.append((fl.natural_size or fl.size, i, f.key, fl.text))
        size = min(s for s, *_ in own) if own else None
        longest = next(((i, k, t) for s, i, k, t in own if s == size), None)
        if size is not None:
            for _s, i, k, _t in own:
                per_item[i][k] = size
        groups.append(
            GroupFit(
                group=name,
                fields=tuple(f.key for f in members),
                size=size,
                count=len(own),
                longest=longest,
                larger=tuple(s for s, *_ in own if size is not None and s > size + EPS),
                overflowed=overflowed,
                min_size=members[0].min_size,
            )
        )
    return Copyfit(tuple(groups), tuple(per_item))


def holds_group_sizes(layout: ItemLayout, template: Template, sizes: Mapping[str, float]) -> bool:
    """Is a stored layout at the sizes these group sizes give it? (It is when each grouped value that
    fits is at the smaller of its own size and its group's.)"""
    for f in template.fields:
        if not f.group:
            continue
        try:
            fl = layout.field(f.key)
        except KeyError:
            return False
        if fl.empty or fl.overflowed:
            continue
        own = fl.natural_size if fl.natural_size is not None else fl.size
        group = sizes.get(f.group)
        expected = own if group is None else min(own, group)
        if abs(fl.size - expected) > 1e-6:
            return False
    return True
