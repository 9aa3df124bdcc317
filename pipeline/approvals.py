"""Customer approval (docs/proofs-and-approval.md): links, the page's data, decisions, and the shop's
own shortcuts.

No HTTP here: `handlers/web/approval.py` is the door. Tokens are never stored or logged; a link is found by
the sha256 of its token. Decisions are bound to the proof version the customer saw, and the unique key
on (item, proof version) lets exactly one concurrent decision win. Use cases that the customer drives
return `notices`; the caller hands them to the notifier after the transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import struct
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, bindparam, cast, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from pipeline import cleantext, lifecycle
from pipeline.activity import Event, record
from pipeline.actors import SYSTEM, Actor
from pipeline.errors import Conflict, CraftError, InvalidInput, NotFound
from pipeline.jobs import lock_job
from pipeline.notify import Notifier
from pipeline.settings import Settings
from storage.models import (
    ApprovalDecision,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    ProofVersion,
    Workspace,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 365
NOTE_LIMIT = 2000
VIEW_LOG_INTERVAL = timedelta(minutes=10)
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
APPROVED = "approved"
CHANGE_REQUESTED = "change_requested"
DECISIONS = {"approve": APPROVED, "change": CHANGE_REQUESTED}
OFFLINE_VIA = ("phone", "email")
DONE_STATUSES = (JobStatus.APPROVED, JobStatus.PRODUCTION_READY, JobStatus.EXPORTED, JobStatus.COMPLETED)
# a sha256 that no token produces, compared against when nothing matched so both paths do the same work
_NO_MATCH = "0" * 64

Notice = tuple[str, dict[str, Any]]


class StaleProof(Conflict):
    """The customer decided on a proof version that the shop has since replaced."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class AlreadyDecided(Conflict):
    """Somebody (maybe the same customer, a moment earlier) already decided this proof version."""


class LinkUnavailable(NotFound):
    """The token does not open a working link; callers answer with one neutral page."""


class ApprovalClosed(CraftError):
    """The job is not waiting for the customer right now (approved, or back with the shop)."""


class NewLink(NamedTuple):
    link: ApprovalLink
    token: str
    url: str


@dataclass
class DecisionResult:
    job_id: int
    item_id: int
    number: int
    decision: str  # approved | change_requested
    proof_version: int
    job_status: str
    notices: list[Notice] = field(default_factory=list)


@dataclass
class BulkResult:
    job_id: int
    approved: list[int]
    stale: list[int]
    job_status: str
    notices: list[Notice] = field(default_factory=list)


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

    @property
    def summary(self) -> str:
        return ", ".join(v for v in self.values.values() if v)

    @property
    def label(self) -> str:
        """What the page calls the item: its plate's first line and its number ("Chloé Dubois — item 7")."""
        first = next((" ".join(v.split()) for v in self.values.values() if v and v.strip()), "")
        if len(first) > 60:
            first = first[:59].rstrip() + "…"
        return f"{first} — item {self.number}" if first else f"Item {self.number}"


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


# ---- tokens and links --------------------------------------------------------------------------


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def approval_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/approve/{token}"


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def active_link(session: Session, job: Job) -> ApprovalLink | None:
    stmt = select(ApprovalLink).where(ApprovalLink.job_id == job.id, col(ApprovalLink.active).is_(True))
    return session.exec(stmt.order_by(col(ApprovalLink.id).desc())).first()


def _deactivate_links(session: Session, job: Job, *, revoked_at: datetime | None = None) -> list[int]:
    links = session.exec(
        select(ApprovalLink).where(ApprovalLink.job_id == job.id, col(ApprovalLink.active).is_(True))
    ).all()
    for link in links:
        link.active = False
        if revoked_at is not None:
            link.revoked_at = revoked_at
        session.add(link)
    return [link.id for link in links if link.id is not None]


def create_link(
    session: Session,
    job: Job,
    actor: Actor,
    expires_in_days: float | None = DEFAULT_EXPIRY_DAYS,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
) -> NewLink:
    """A new approval link for `job` (the old one stops working); moves proofing → pending_approval.

    `base_url` defaults to PUBLIC_BASE_URL from the environment. The token is returned once and
    never stored or logged: show it to the shop, then forget it.
    """
    if expires_in_days is not None and not 0 < expires_in_days <= MAX_EXPIRY_DAYS:
        raise InvalidInput(
            {"expires_in_days": f"must be more than 0 and at most {MAX_EXPIRY_DAYS} days, or none"}
        )
    now = now or utcnow()
    job = lock_job(session, job)
    if job.status != JobStatus.PENDING_APPROVAL:
        lifecycle.move(session, job, JobStatus.PENDING_APPROVAL, actor)
    replaced = _deactivate_links(session, job)
    token = secrets.token_urlsafe(32)
    link = ApprovalLink(
        job_id=job.id,
        token_hash=hash_token(token),
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days is not None else None,
        created_by=actor.display[:200],
        created_at=now,
    )
    session.add(link)
    session.flush()
    record(
        session,
        job.workspace_id,
        job.id,
        Event.APPROVAL_LINK_GENERATED,
        actor,
        link_id=link.id,
        expires_at=link.expires_at.isoformat() if link.expires_at else None,
        replaced_links=replaced,
    )
    if base_url is None:
        base_url = Settings.from_env().public_base_url
    return NewLink(link, token, approval_url(base_url, token))


def revoke_link(session: Session, job: Job, actor: Actor, *, now: datetime | None = None) -> ApprovalLink:
    """Stop the job's active link at once; a job waiting for approval goes back to proofing."""
    job = lock_job(session, job)
    link = active_link(session, job)
    if link is None:
        raise NotFound(f"{job.ref} has no active approval link.")
    _deactivate_links(session, job, revoked_at=now or utcnow())
    record(session, job.workspace_id, job.id, Event.APPROVAL_LINK_REVOKED, actor, link_id=link.id)
    if job.status == JobStatus.PENDING_APPROVAL:
        lifecycle.move(session, job, JobStatus.PROOFING, actor, reason="the approval link was revoked")
    return link


def resume_link(session: Session, job: Job, actor: Actor) -> ApprovalLink:
    """Send the customer back to the same link after the shop took the job back to proofing."""
    job = lock_job(session, job)
    link = active_link(session, job)
    if link is None or _expired(link.expires_at, utcnow()):
        raise NotFound(f"{job.ref} has no working approval link: create a new one.")
    lifecycle.move(
        session, job, JobStatus.PENDING_APPROVAL, actor, reason="approval requested again on the same link"
    )
    return link


def _expired(expires_at: datetime | None, now: datetime) -> bool:
    expires = _aware(expires_at)
    return expires is not None and expires <= now


# The link with what the page heads with, in one Core query (no ORM objects: the page is read a lot).
_LINK_QUERY = (
    select(
        col(ApprovalLink.id).label("link_id"),
        ApprovalLink.token_hash,
        ApprovalLink.active,
        ApprovalLink.revoked_at,
        ApprovalLink.expires_at,
        ApprovalLink.last_viewed_at,
        col(Job.id).label("job_id"),
        Job.deleted_at,
        Job.status,
        Job.number,
        Job.reference,
        Job.due_date,
        Job.customer_name,
        col(Workspace.name).label("shop_name"),
    )
    .join(Job, col(Job.id) == ApprovalLink.job_id)
    .join(Workspace, col(Workspace.id) == Job.workspace_id)
)
_LINK_BY_HASH = _LINK_QUERY.where(col(ApprovalLink.token_hash) == bindparam("digest"))
_LINK_BY_ID = _LINK_QUERY.where(col(ApprovalLink.id) == bindparam("link_id"))


def _working_link(session: Session, token: str, now: datetime | None) -> Any:
    """The link row for `token` if it works now, else None; the hash is compared in constant time."""
    digest = hash_token(token if isinstance(token, str) and TOKEN_SHAPE.match(token) else "")
    row = session.connection().execute(_LINK_BY_HASH, {"digest": digest}).first()
    stored = row.token_hash if row is not None else _NO_MATCH
    if not hmac.compare_digest(stored, digest) or row is None:
        return None
    if not row.active or row.revoked_at is not None or _expired(row.expires_at, now or utcnow()):
        return None
    return None if row.deleted_at is not None else row


def resolve(session: Session, token: str, *, now: datetime | None = None) -> ApprovalLink | None:
    """The working link for `token`, or None (unknown, malformed, expired, revoked, replaced, deleted job).

    Callers answer every None the same way, so nobody learns which of these it was.
    """
    row = _working_link(session, token, now)
    return session.get(ApprovalLink, row.link_id) if row is not None else None


def _resolve_or_refuse(session: Session, token: str, now: datetime | None) -> ApprovalLink:
    link = resolve(session, token, now=now)
    if link is None:
        raise LinkUnavailable("This approval link is not available.")
    return link


def customer_actor(job: Job, link: ApprovalLink) -> Actor:
    return Actor.customer(job.customer_name or "customer", link.id)


# ---- what the page shows ----------------------------------------------------------------------


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
    if result.rowcount != 1:
        return False
    job = session.get(Job, link.job_id)
    assert job is not None
    record(session, job.workspace_id, job.id, Event.APPROVAL_PAGE_VIEWED, customer_actor(job, link))
    return True


def view_is_due(last_viewed_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether `page_view` would log now (lets a read-only page load skip the write transaction)."""
    last = _aware(last_viewed_at)
    return last is None or last < (now or utcnow()) - VIEW_LOG_INTERVAL


def _locked_items(session: Session, job: Job) -> list[Item]:
    """The job's items in order, locked against concurrent decisions and read fresh."""
    return list(
        session.exec(
            select(Item)
            .where(Item.job_id == job.id)
            .order_by(col(Item.position), col(Item.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    )


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


def _display_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


# Every item with the decision on its current proof version and that version's PNG: one query.
# Values come as JSON text, parsed only when the page is drawn (not when a drawn page is reused).
_ITEMS_QUERY = (
    select(
        Item.id,
        cast(Item.values, Text),
        Item.proof_version,
        Item.proof_status,
        Item.change_note,
        ApprovalDecision.decision,
        ApprovalDecision.note,
        ProofVersion.png_path,
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
    link = _working_link(session, token, now)
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
    items = []
    for number, (item_id, values, version, status, change_note, decision, note, png) in enumerate(
        state.rows, start=1
    ):
        item_state, shown_note = _state(status, decision, note, change_note, png)
        size = png_dimensions(str(proof_file_path(files_dir, png))) if png and files_dir is not None else None
        items.append(
            ItemView(
                id=item_id,
                number=number,
                values=_display_values(json.loads(values) if values else {}),
                proof_version=version,
                png_path=png,
                png_size=size,
                state=item_state,
                note=shown_note,
                requested=change_note if item_state == "open" and version > 1 else None,
            )
        )
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
        expires_at=_aware(link.expires_at),
        stage=stage,
        items=items,
    )


def load_page(session: Session, link: ApprovalLink, *, files_dir: Path | None = None) -> PageView:
    """Everything the page of `link` shows (items with their current proofs and decisions)."""
    row = session.connection().execute(_LINK_BY_ID, {"link_id": link.id}).one()
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


# ---- decisions --------------------------------------------------------------------------------


def clean_note(note: str | None, *, required: bool) -> str | None:
    """Trimmed, NFC; refused when it holds control characters or lone surrogates, when missing (if
    required) or too long."""
    text = note or ""
    if len(text) > NOTE_LIMIT * 4:  # clearly too long: say so without normalizing megabytes
        raise InvalidInput({"note": _too_long(len(text.strip()))})
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleantext.check("note", text, allow=cleantext.MULTILINE, label="Your note")
    text = text.strip()
    if not text:
        if required:
            raise InvalidInput({"note": "Please describe the change you need."})
        return None
    if len(text) > NOTE_LIMIT:
        raise InvalidInput({"note": _too_long(len(text))})
    return text


def _too_long(length: int) -> str:
    return (
        f"Your note is {length:,} characters long. Please keep it under {NOTE_LIMIT:,} characters, "
        "or send longer instructions to the shop directly."
    )


def _item_number(session: Session, item: Item) -> int:
    before = session.exec(
        select(func.count())
        .select_from(Item)
        .where(
            Item.job_id == item.job_id,
            or_(
                col(Item.position) < item.position,
                and_(col(Item.position) == item.position, col(Item.id) < item.id),
            ),
        )
    ).one()
    return before + 1


def _open_job(session: Session, link: ApprovalLink) -> Job:
    job = session.get(Job, link.job_id)
    assert job is not None
    job = lock_job(session, job)
    if job.status in DONE_STATUSES:
        raise ApprovalClosed("Every proof of this order is already approved. Thank you!")
    if job.status != JobStatus.PENDING_APPROVAL:
        raise ApprovalClosed("The shop is updating these proofs right now. Please check back a little later.")
    return job


def _decision_at(session: Session, item_id: int, version: int) -> ApprovalDecision | None:
    stmt = select(ApprovalDecision).where(
        ApprovalDecision.item_id == item_id, ApprovalDecision.proof_version == version
    )
    return session.exec(stmt).first()


def _already(decision: str) -> AlreadyDecided:
    word = "approved" if decision == APPROVED else "sent back with a change request"
    return AlreadyDecided(f"This proof was already decided: it was {word}.")


def decide(
    session: Session,
    token: str,
    item_id: int,
    proof_version: int,
    decision: str,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> DecisionResult:
    """The customer approves an item's proof, or requests a change to it (a note is required).

    Refuses: a link that does not work or an item of another job (NotFound), a job not waiting for the
    customer (ApprovalClosed), a proof replaced since it was shown (StaleProof), a proof already decided
    (AlreadyDecided), a missing or overlong note (InvalidInput).
    """
    kind = DECISIONS.get(decision)
    if kind is None:
        raise InvalidInput({"decision": "must be approve or change"})
    link = _resolve_or_refuse(session, token, now)
    job = _open_job(session, link)
    item = session.exec(
        select(Item).where(Item.id == item_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if item is None or item.job_id != job.id:
        raise NotFound("That item is not part of this order.")
    if proof_version != item.proof_version:
        if 0 < proof_version < item.proof_version:
            raise StaleProof(
                f"The shop updated this proof (it is now version {item.proof_version}). "
                "Please look at the new proof before deciding.",
                item.proof_version,
            )
        raise NotFound("That proof is not part of this order.")
    existing = _decision_at(session, item.id, item.proof_version)
    if existing is not None:
        raise _already(existing.decision)
    if item.proof_status in (ProofStatus.APPROVED, ProofStatus.NEEDS_REVISION):
        raise _already(APPROVED if item.proof_status == ProofStatus.APPROVED else CHANGE_REQUESTED)
    if item.proof_status == ProofStatus.PENDING:
        raise ApprovalClosed("This proof is not ready yet. Please check back a little later.")
    text = clean_note(note, required=kind == CHANGE_REQUESTED)
    customer = customer_actor(job, link)
    row = ApprovalDecision(
        item_id=item.id,
        link_id=link.id,
        proof_version=item.proof_version,
        decision=kind,
        via="link",
        note=text,
        actor=customer.display[:200],
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # a concurrent decision on the same proof version committed first
        winner = _decision_at(session, item.id, item.proof_version)
        raise _already(winner.decision if winner else APPROVED) from None
    stamp = now or utcnow()
    item.proof_status = ProofStatus.APPROVED if kind == APPROVED else ProofStatus.NEEDS_REVISION
    if kind == CHANGE_REQUESTED:
        item.change_note = text
    item.updated_at = stamp
    session.add(item)
    number = _item_number(session, item)
    values = _display_values(item.values or item.raw_values or {})
    summary = ", ".join(v for v in values.values() if v)
    details: dict[str, Any] = {
        "item_id": item.id,
        "item_number": number,
        "item_label": f"{number} ({summary[:80]})" if summary else str(number),
        "proof_version": item.proof_version,
        "values": values,
    }
    if kind == CHANGE_REQUESTED:
        details["note"] = text
    event = Event.ITEM_APPROVED if kind == APPROVED else Event.CHANGE_REQUESTED
    record(session, job.workspace_id, job.id, event, customer, **details)
    notices: list[Notice] = [(event, details)]
    if kind == APPROVED:
        notices += _finish_if_all_approved(session, job, customer, reason="the customer approved every item")
    return DecisionResult(
        job_id=job.id,
        item_id=item.id,
        number=number,
        decision=kind,
        proof_version=item.proof_version,
        job_status=job.status,
        notices=notices,
    )


def approve_all_remaining(
    session: Session, token: str, shown: Mapping[int, int], *, now: datetime | None = None
) -> BulkResult:
    """Approve every undecided item whose proof version is the one shown to the customer.

    `shown` maps item id → proof version as the page showed them; items replaced or added since are
    left for the customer to look at (`stale`). Items of other jobs in `shown` are ignored.
    """
    link = _resolve_or_refuse(session, token, now)
    job = _open_job(session, link)
    items = _locked_items(session, job)
    decided = set(
        session.exec(
            select(ApprovalDecision.item_id)
            .join(Item, col(Item.id) == ApprovalDecision.item_id)
            .where(Item.job_id == job.id, col(ApprovalDecision.proof_version) == col(Item.proof_version))
        ).all()
    )
    customer = customer_actor(job, link)
    stamp = now or utcnow()
    approved: list[tuple[int, Item]] = []
    stale: list[int] = []
    for number, item in enumerate(items, start=1):
        if item.id in decided or item.proof_status != ProofStatus.GENERATED:
            continue
        if shown.get(item.id) != item.proof_version:
            stale.append(item.id)
            continue
        approved.append((number, item))
    try:
        with session.begin_nested():
            for _, item in approved:
                session.add(
                    ApprovalDecision(
                        item_id=item.id,
                        link_id=link.id,
                        proof_version=item.proof_version,
                        decision=APPROVED,
                        via="link",
                        actor=customer.display[:200],
                    )
                )
            session.flush()
    except IntegrityError:
        raise AlreadyDecided(
            "Some of these proofs were decided a moment ago. Please look at the page again."
        ) from None
    for _, item in approved:
        item.proof_status = ProofStatus.APPROVED
        item.updated_at = stamp
        session.add(item)
    notices: list[Notice] = []
    if approved:
        details = {
            "bulk": True,
            "count": len(approved),
            "item_ids": [item.id for _, item in approved],
            "item_numbers": [number for number, _ in approved],
            "item_label": _numbers_label([number for number, _ in approved]),
        }
        record(session, job.workspace_id, job.id, Event.ITEM_APPROVED, customer, **details)
        notices.append((Event.ITEM_APPROVED, details))
        notices += _finish_if_all_approved(session, job, customer, reason="the customer approved every item")
    return BulkResult(
        job_id=job.id,
        approved=[item.id for _, item in approved],
        stale=stale,
        job_status=job.status,
        notices=notices,
    )


def _numbers_label(numbers: list[int], shown: int = 12) -> str:
    """[2, 3, 4] → "2, 3 and 4"; long lists end with "… (40 in all)"."""
    if len(numbers) > shown:
        return ", ".join(map(str, numbers[:shown])) + f"… ({len(numbers)} in all)"
    if len(numbers) == 1:
        return str(numbers[0])
    return ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def _finish_if_all_approved(session: Session, job: Job, actor: Actor, *, reason: str) -> list[Notice]:
    """Every item approved → approved (by `actor`), then production_ready (system) if preflight is clean."""
    session.flush()
    if lifecycle.check(session, job, JobStatus.APPROVED, actor) is not None:
        return []
    lifecycle.move(session, job, JobStatus.APPROVED, actor, reason=reason)
    notices: list[Notice] = [(Event.STATUS_CHANGED, {"from": JobStatus.PENDING_APPROVAL, "to": job.status})]
    if lifecycle.check(session, job, JobStatus.PRODUCTION_READY, SYSTEM) is None:
        lifecycle.move(session, job, JobStatus.PRODUCTION_READY, SYSTEM)
        notices.append((Event.STATUS_CHANGED, {"from": JobStatus.APPROVED, "to": job.status}))
    return notices


def send_notices(notifier: Notifier, job_id: int, notices: Iterable[Notice]) -> None:
    """Tell the shop (after commit). A failing notifier never undoes or fails the customer's decision."""
    for event, details in notices:
        try:
            notifier.job_changed(job_id, event, **details)
        except Exception:  # noqa: BLE001 - the decision is stored; Slack catches up from the log
            log.exception("notifier failed for job %s (%s)", job_id, event)


# ---- the shop's side ---------------------------------------------------------------------------


def record_offline_approval(
    session: Session,
    job: Job,
    actor: Actor,
    via: str,
    note: str | None = None,
    *,
    item_ids: Iterable[int] | None = None,
) -> Job:
    """The shop records an approval the customer gave by phone or email (all items, or `item_ids`).

    A change request still open on an item is overridden by the recorded approval (the log keeps both).
    When every item ends up approved the job moves on exactly as if the customer had used the link.
    """
    if via not in OFFLINE_VIA:
        raise InvalidInput({"via": f"must be {' or '.join(OFFLINE_VIA)}"})
    text = clean_note(note, required=False)
    job = lock_job(session, job)
    if job.status not in (JobStatus.PROOFING, JobStatus.PENDING_APPROVAL):
        status = job.status.replace("_", " ")
        raise InvalidInput({"job": f"{job.ref} is {status}: there is nothing to approve"})
    items = _locked_items(session, job)
    wanted = set(item_ids) if item_ids is not None else None
    targets = [(n, i) for n, i in enumerate(items, start=1) if wanted is None or i.id in wanted]
    if not targets or (wanted is not None and len(targets) != len(wanted)):
        raise NotFound(f"Those items are not part of {job.ref}.")
    unproofed = [n for n, i in targets if i.proof_status == ProofStatus.PENDING]
    if unproofed:
        raise InvalidInput({"items": f"item(s) {', '.join(map(str, unproofed))} have no proof yet"})
    approved_numbers = []
    for number, item in targets:
        if item.proof_status == ProofStatus.APPROVED:
            continue
        row = _decision_at(session, item.id, item.proof_version)
        if row is None:
            row = ApprovalDecision(item_id=item.id, proof_version=item.proof_version, decision=APPROVED)
        row.decision, row.via, row.note, row.actor = APPROVED, via, text, actor.display[:200]
        session.add(row)
        item.proof_status = ProofStatus.APPROVED
        item.updated_at = utcnow()
        session.add(item)
        approved_numbers.append(number)
    record(
        session,
        job.workspace_id,
        job.id,
        Event.APPROVAL_RECORDED,
        actor,
        via=via,
        note=text,
        item_numbers=approved_numbers,
        count=len(approved_numbers),
    )
    session.flush()
    all_approved = all(i.proof_status == ProofStatus.APPROVED for i in items)
    if all_approved and job.status == JobStatus.PROOFING:
        lifecycle.move(
            session, job, JobStatus.PENDING_APPROVAL, actor, reason=f"the customer's approval came by {via}"
        )
    if all_approved:
        _finish_if_all_approved(session, job, actor, reason=f"the customer approved every item by {via}")
    return job


def skip_approval(session: Session, job: Job, actor: Actor, reason: str = "") -> Job:
    """The shop goes on without the customer's approval, on purpose and on the record.

    The job's link stops working; the job moves to production_ready when preflight is clean, otherwise
    it waits in proofing with approval marked skipped (the lifecycle guards decide).
    """
    text = clean_note(reason, required=False)
    job = lock_job(session, job)
    if job.status not in (JobStatus.PROOFING, JobStatus.PENDING_APPROVAL):
        status = job.status.replace("_", " ")
        raise InvalidInput({"job": f"{job.ref} is {status}: approval can't be skipped now"})
    job.approval_skipped = True
    session.add(job)
    links = _deactivate_links(session, job)
    record(session, job.workspace_id, job.id, Event.APPROVAL_SKIPPED, actor, reason=text, closed_links=links)
    if job.status == JobStatus.PENDING_APPROVAL:
        lifecycle.move(session, job, JobStatus.PROOFING, actor, reason="approval skipped")
    if lifecycle.check(session, job, JobStatus.PRODUCTION_READY, actor) is None:
        lifecycle.move(session, job, JobStatus.PRODUCTION_READY, actor, reason="approval skipped on purpose")
    return job
