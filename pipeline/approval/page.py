"""What the customer's approval page shows: the job's items with their current proofs and decisions,
read in two queries with a fingerprint (an unchanged page can be reused), and the visit logged at
most once every ten minutes. No HTTP here: handlers/web/approval.py is the door.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, or_, update
from sqlalchemy import select as select_columns  # sqlmodel\'s select takes at most four
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipeline.approval.links import (
    APPROVED,
    CHANGE_REQUESTED,
    DONE_STATUSES,
    LINK_BY_ID,
    as_utc,
    customer_actor,
    resolve,
    working_link,
)
from pipeline.jobs.activity import Event, record
from pipeline.proofs.changes import FieldChange, field_changes, item_label, seen_version
from storage.db import rowcount
from storage.models import (
    ApprovalDecision,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    ProofVersion,
    utcnow,
)

VIEW_LOG_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True)
class ItemView:
    id: int
    number: int
    values: dict[str, str]
    proof_version: int
    png_path: str | None
    png_size: tuple[int, int] | None
    state: str  # open | approved | change_requested | waiting (no proof yet)
    note: str | None
    requested: str | None = None  # on an updated proof awaiting a decision: the change the customer asked for
    # on an updated proof: the version the customer last looked at (drawn as an ItemView of its own)
    # and the fields changed since, None when that version's values are not known
    before: ItemView | None = None
    changes: list[FieldChange] | None = None
    unchanged: bool = False  # said on a decided item while other items show what changed

    @property
    def summary(self) -> str:
        return ", ".join(v for v in self.values.values() if v)

    @property
    def label(self) -> str:
        """What the page calls the item: its plate's first line and its number ("Chloé Dubois — item 7")."""
        first = item_label(self.values)
        return f"{first} — item {self.number}" if first else f"Item {self.number}"

    @property
    def compare(self) -> bool:
        """Whether the card shows what changed since the version the customer last looked at."""
        return self.before is not None and self.state == "open"


@dataclass(frozen=True)
class PageView:
    link_id: int
    job_id: int
    job_ref: str
    shop_name: str
    customer_name: str
    due_date: date | None
    expires_at: datetime | None
    stage: str  # open | done (every item approved, job moved on) | paused (back with the shop)
    items: list[ItemView]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def approved(self) -> int:
        return sum(1 for i in self.items if i.state == APPROVED)

    @property
    def changes(self) -> int:
        return sum(1 for i in self.items if i.state == CHANGE_REQUESTED)

    @property
    def decided(self) -> int:
        return self.approved + self.changes

    @property
    def remaining(self) -> list[ItemView]:
        return [i for i in self.items if i.state == "open"]

    @property
    def all_decided(self) -> bool:
        return self.total > 0 and self.decided == self.total


def page_view(session: Session, link: ApprovalLink, *, now: datetime | None = None) -> bool:
    """Log "Approval page viewed" (customer as actor) unless this link was logged in the last 10 minutes.

    Returns whether an event was written. The conditional update makes simultaneous reloads log once.
    """
    now = now or utcnow()
    cutoff = now - VIEW_LOG_INTERVAL
    result = session.execute(
        update(ApprovalLink)
        .where(
            col(ApprovalLink.id) == link.id,
            or_(col(ApprovalLink.last_viewed_at).is_(None), col(ApprovalLink.last_viewed_at) < cutoff),
        )
        .values(last_viewed_at=now)
    )
    if rowcount(result) != 1:
        return False
    job = session.get(Job, link.job_id)
    assert job is not None
    record(session, job.workspace_id, job.id, Event.APPROVAL_PAGE_VIEWED, customer_actor(job, link))
    return True


def view_is_due(last_viewed_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether `page_view` would log now (lets a read-only page load skip the write transaction)."""
    last = as_utc(last_viewed_at)
    return last is None or last < (now or utcnow()) - VIEW_LOG_INTERVAL


_PNG_SIZES: dict[str, tuple[int, int]] = {}


def png_dimensions(path: str) -> tuple[int, int] | None:
    """Width and height from a PNG's header; remembered, since a proof file never changes once written."""
    if (known := _PNG_SIZES.get(path)) is not None:
        return known
    try:
        with open(path, "rb") as fh:
            head = fh.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    if not (width and height):
        return None
    if len(_PNG_SIZES) > 20_000:
        _PNG_SIZES.clear()
    _PNG_SIZES[path] = (width, height)
    return width, height


def proof_file_path(files_dir: Path, stored: str) -> Path:
    """Proof paths are stored absolute or relative to the files folder."""
    path = Path(stored)
    return path if path.is_absolute() else files_dir / path


def display_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


# Every item with the decision on its current proof version, that version's PNG and values, and the
# version the customer last looked at (its number, PNG and values): one query. Values come as JSON
# text, parsed only when the page is drawn (not when a drawn page is reused).
_SEEN = aliased(ProofVersion)
_ITEMS_QUERY = (
    select_columns(
        col(Item.id),
        cast(Item.values, Text),
        col(Item.proof_version),
        col(Item.proof_status),
        col(Item.change_note),
        col(ApprovalDecision.decision),
        col(ApprovalDecision.note),
        col(ProofVersion.png_path),
        cast(ProofVersion.values, Text),
        col(_SEEN.version),
        col(_SEEN.png_path),
        cast(_SEEN.values, Text),
    )
    .select_from(Item)
    .outerjoin(
        ApprovalDecision,
        and_(
            col(ApprovalDecision.item_id) == col(Item.id),
            col(ApprovalDecision.proof_version) == col(Item.proof_version),
        ),
    )
    .outerjoin(
        ProofVersion,
        and_(col(ProofVersion.item_id) == col(Item.id), col(ProofVersion.version) == col(Item.proof_version)),
    )
    .outerjoin(_SEEN, and_(col(_SEEN.item_id) == col(Item.id), col(_SEEN.version) == seen_version()))
    .where(col(Item.job_id) == bindparam("job_id"))
    .order_by(col(Item.position), col(Item.id))
)


@dataclass(frozen=True)
class PageState:
    """What one page load read: enough to draw the page, and a fingerprint of all of it.

    Two loads with the same fingerprint draw the same page, so the web layer may reuse its rendering.
    """

    link: Any
    rows: list[Any]
    fingerprint: str

    @property
    def link_id(self) -> int:
        return self.link.link_id

    @property
    def last_viewed_at(self) -> datetime | None:
        return self.link.last_viewed_at


def page_state(session: Session, token: str, *, now: datetime | None = None) -> PageState | None:
    """The page's data for `token` in two queries, or None when the link does not work."""
    link = working_link(session, token, now)
    if link is None:
        return None
    return _state_for(session, link)


def _state_for(session: Session, link: Any) -> PageState:
    rows = session.connection().execute(_ITEMS_QUERY, {"job_id": link.job_id}).all()
    shown = (tuple(link._mapping[k] for k in _SHOWN_LINK_FIELDS), [tuple(r) for r in rows])
    digest = hashlib.blake2b(repr(shown).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return PageState(link=link, rows=list(rows), fingerprint=digest)


_SHOWN_LINK_FIELDS = (
    "link_id",
    "expires_at",
    "job_id",
    "status",
    "number",
    "reference",
    "due_date",
    "customer_name",
    "shop_name",
)


def build_page(state: PageState, *, files_dir: Path | None = None) -> PageView:
    link = state.link
    items = [_item_view(number, row, files_dir) for number, row in enumerate(state.rows, start=1)]
    if any(i.compare for i in items):  # a new round: say which decided items stayed as they were
        items = [replace(i, unchanged=True) if i.before is None and i.state in DECIDED else i for i in items]
    if link.status == JobStatus.PENDING_APPROVAL:
        stage = "open"
    elif link.status in DONE_STATUSES:
        stage = "done"
    else:
        stage = "paused"
    return PageView(
        link_id=link.link_id,
        job_id=link.job_id,
        job_ref=link.reference or f"J-{link.number}",
        shop_name=link.shop_name or "",
        customer_name=link.customer_name,
        due_date=link.due_date,
        expires_at=as_utc(link.expires_at),
        stage=stage,
        items=items,
    )


DECIDED = (APPROVED, CHANGE_REQUESTED)


def _item_view(number: int, row: Any, files_dir: Path | None) -> ItemView:
    item_id, values, version, status, change_note, decision, note, png, drawn, seen, seen_png, seen_at = row
    item_state, shown_note = _state(status, decision, note, change_note, png)
    shown = display_values(json.loads(values) if values else {})
    before = changes = None
    if seen is not None and seen_png:
        seen_values = json.loads(seen_at) if seen_at else None
        before = ItemView(
            id=item_id,
            number=number,
            values=display_values(seen_values) if seen_values is not None else shown,
            proof_version=seen,
            png_path=seen_png,
            png_size=_png_size(seen_png, files_dir),
            state="before",
            note=None,
        )
        changes = field_changes(seen_values, json.loads(drawn) if drawn else None)
    return ItemView(
        id=item_id,
        number=number,
        values=shown,
        proof_version=version,
        png_path=png,
        png_size=_png_size(png, files_dir),
        state=item_state,
        note=shown_note,
        requested=change_note if item_state == "open" and version > 1 else None,
        before=before,
        changes=changes,
    )


def _png_size(png: str | None, files_dir: Path | None) -> tuple[int, int] | None:
    return png_dimensions(str(proof_file_path(files_dir, png))) if png and files_dir is not None else None


def load_page(session: Session, link: ApprovalLink, *, files_dir: Path | None = None) -> PageView:
    """Everything the page of `link` shows (items with their current proofs and decisions)."""
    row = session.connection().execute(LINK_BY_ID, {"link_id": link.id}).one()
    return build_page(_state_for(session, row), files_dir=files_dir)


def _state(
    status: str, decision: str | None, note: str | None, change_note: str | None, png: str | None
) -> tuple[str, str | None]:
    if decision is not None:
        return decision, note if decision == CHANGE_REQUESTED else None
    if status == ProofStatus.APPROVED:
        return APPROVED, None
    if status == ProofStatus.NEEDS_REVISION:
        return CHANGE_REQUESTED, change_note
    if status == ProofStatus.PENDING or png is None:
        return "waiting", None
    return "open", None


def proof_png(session: Session, token: str, item_id: int, version: int) -> str | None:
    """The stored PNG path of one proof version, if `token` works and the item belongs to its job."""
    link = resolve(session, token)
    if link is None:
        return None
    row = session.exec(
        select(ProofVersion.png_path)
        .join(Item, col(Item.id) == ProofVersion.item_id)
        .where(ProofVersion.item_id == item_id, ProofVersion.version == version, Item.job_id == link.job_id)
    ).first()
    return row
