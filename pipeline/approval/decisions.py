"""The customer's decisions: an item's proof approved or sent back with a note, or every remaining
proof approved at once; a job whose items are all approved moves on.

Decisions are bound to the proof version the customer saw, and the unique key on (item, proof version)
lets exactly one concurrent decision win. The use cases return `notices`; the caller hands them to the
notifier (`send_notices`) after the transaction commits.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from pipeline.approval.links import (
    APPROVED,
    CHANGE_REQUESTED,
    DONE_STATUSES,
    customer_actor,
    resolve_or_refuse,
)
from pipeline.approval.page import display_values
from pipeline.core import cleantext
from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.errors import Conflict, CraftError, InvalidInput, NotFound
from pipeline.core.notify import Notifier
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from storage.models import (
    ApprovalDecision,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    ProofStatus,
    utcnow,
)

log = logging.getLogger(__name__)


NOTE_LIMIT = 2000

DECISIONS = {"approve": APPROVED, "change": CHANGE_REQUESTED}

Notice = tuple[str, dict[str, Any]]


class StaleProof(Conflict):
    """The customer decided on a proof version that the shop has since replaced."""

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class AlreadyDecided(Conflict):
    """Somebody (maybe the same customer, a moment earlier) already decided this proof version."""


class ApprovalClosed(CraftError):
    """The job is not waiting for the customer right now (approved, or back with the shop)."""


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


def locked_items(session: Session, job: Job) -> list[Item]:
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


def open_job(session: Session, link: ApprovalLink) -> Job:
    job = session.get(Job, link.job_id)
    assert job is not None
    job = lock_job(session, job)
    if job.status in DONE_STATUSES:
        raise ApprovalClosed("Every proof of this order is already approved. Thank you!")
    if job.status != JobStatus.PENDING_APPROVAL:
        raise ApprovalClosed("The shop is updating these proofs right now. Please check back a little later.")
    return job


def decision_at(session: Session, item_id: int, version: int) -> ApprovalDecision | None:
    stmt = select(ApprovalDecision).where(
        ApprovalDecision.item_id == item_id, ApprovalDecision.proof_version == version
    )
    return session.exec(stmt).first()


def _already(decision: str) -> AlreadyDecided:
    word = "approved" if decision == APPROVED else "sent back with a change request"
    return AlreadyDecided(f"This proof was already decided: it was {word}.")


def _undecided_item(session: Session, job: Job, item_id: int, proof_version: int) -> Item:
    """The item of `job`, locked, whose proof `proof_version` is current, drawn and not yet decided."""
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
    existing = decision_at(session, item_id, item.proof_version)
    if existing is not None:
        raise _already(existing.decision)
    if item.proof_status in (ProofStatus.APPROVED, ProofStatus.NEEDS_REVISION):
        raise _already(APPROVED if item.proof_status == ProofStatus.APPROVED else CHANGE_REQUESTED)
    if item.proof_status == ProofStatus.PENDING:
        raise ApprovalClosed("This proof is not ready yet. Please check back a little later.")
    return item


def _store_decision(
    session: Session, item: Item, link: ApprovalLink, kind: str, text: str | None, customer: Actor
) -> None:
    """The decision row; the unique key on (item, proof version) lets one concurrent decision win."""
    item_id = item_id_of(item)
    row = ApprovalDecision(
        item_id=item_id,
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
        winner = decision_at(session, item_id, item.proof_version)
        raise _already(winner.decision if winner else APPROVED) from None


def item_id_of(item: Item) -> int:
    """The id of an item read from the database (never None there)."""
    assert item.id is not None
    return item.id


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
    link = resolve_or_refuse(session, token, now)
    job = open_job(session, link)
    item = _undecided_item(session, job, item_id, proof_version)
    text = clean_note(note, required=kind == CHANGE_REQUESTED)
    customer = customer_actor(job, link)
    _store_decision(session, item, link, kind, text, customer)
    stamp = now or utcnow()
    item.proof_status = ProofStatus.APPROVED if kind == APPROVED else ProofStatus.NEEDS_REVISION
    if kind == CHANGE_REQUESTED:
        item.change_note = text
    item.updated_at = stamp
    session.add(item)
    number = _item_number(session, item)
    values = display_values(item.values or item.raw_values or {})
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
        notices += finish_if_all_approved(session, job, customer, reason="the customer approved every item")
    return DecisionResult(
        job_id=job.pk,
        item_id=item.pk,
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
    link = resolve_or_refuse(session, token, now)
    job = open_job(session, link)
    items = locked_items(session, job)
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
        if shown.get(item.pk) != item.proof_version:
            stale.append(item.pk)
            continue
        approved.append((number, item))
    try:
        with session.begin_nested():
            for _, item in approved:
                session.add(
                    ApprovalDecision(
                        item_id=item.pk,
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
        notices += finish_if_all_approved(session, job, customer, reason="the customer approved every item")
    return BulkResult(
        job_id=job.pk,
        approved=[item.pk for _, item in approved],
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


def finish_if_all_approved(session: Session, job: Job, actor: Actor, *, reason: str) -> list[Notice]:
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
