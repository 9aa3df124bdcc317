"""What changed on an item since the customer last looked at its proof.

"Last looked" is the newest earlier proof version with a decision on it (approved, or a change asked
for, on the link, by phone or by email): the version the customer judged. A newer version is compared
with that one, field by field, from the values each version was drawn from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func
from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from storage.models import ApprovalDecision, Item, ProofVersion


@dataclass(frozen=True)
class FieldChange:
    key: str
    old: str
    new: str


def field_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[FieldChange] | None:
    """The fields of `new` whose text differs from `old` (in `new`'s order); None when either side is
    unknown (a version drawn before its values were kept)."""
    if old is None or new is None:
        return None
    changes = []
    for key, value in new.items():
        before, now = _text(old.get(key)), _text(value)
        if before != now:
            changes.append(FieldChange(str(key), before, now))
    return changes


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def seen_version() -> ColumnElement[Any]:
    """SQL for the version the customer last looked at, in a query of items: the newest version before
    the item's current one with a decision on it (NULL when there is none)."""
    return (
        select_columns(func.max(ApprovalDecision.proof_version))
        .where(
            col(ApprovalDecision.item_id) == col(Item.id),
            col(ApprovalDecision.proof_version) < col(Item.proof_version),
        )
        .correlate(Item)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class ItemChange:
    """One item's new proof next to the version the customer last looked at."""

    item_id: int
    version: int
    seen: int
    changes: list[FieldChange] | None  # None: the earlier version's values are not known

    def as_details(self) -> dict[str, Any]:
        """For an activity event's details (JSON)."""
        fields = None if self.changes is None else [[c.key, c.old, c.new] for c in self.changes]
        return {"item_id": self.item_id, "version": self.version, "seen": self.seen, "fields": fields}


def changes_since_seen(session: Session, item_ids: Iterable[int]) -> list[ItemChange]:
    """For each of `item_ids` whose current proof is newer than the one the customer last looked at:
    what changed (in job order)."""
    ids = list(item_ids)
    if not ids:
        return []
    now, then = aliased(ProofVersion), aliased(ProofVersion)
    seen = seen_version().label("seen")
    inner = (
        select_columns(col(Item.id), col(Item.proof_version), col(Item.position), seen)
        .where(col(Item.id).in_(ids))
        .subquery()
    )
    rows = session.execute(
        select_columns(inner.c.id, inner.c.proof_version, inner.c.seen, col(now.values), col(then.values))
        .join(now, and_(col(now.item_id) == inner.c.id, col(now.version) == inner.c.proof_version))
        .outerjoin(then, and_(col(then.item_id) == inner.c.id, col(then.version) == inner.c.seen))
        .where(inner.c.seen.is_not(None))
        .order_by(inner.c.position, inner.c.id)
    ).all()
    return [ItemChange(i, v, seen, field_changes(old, new)) for i, v, seen, new, old in rows]


def item_label(values: Mapping[str, Any]) -> str:
    """An item's plate in a few words: its first non-empty value on one line ("Chloé Dubois")."""
    first = next((" ".join(str(v).split()) for v in values.values() if v and str(v).strip()), "")
    return first[:59].rstrip() + "…" if len(first) > 60 else first
