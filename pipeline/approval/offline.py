"""The shop's own shortcuts around the link: an approval the customer gave by phone or email recorded
(all items or some), or approval skipped on purpose and on the record.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from pipeline.approval.decisions import clean_note, decision_at, finish_if_all_approved, locked_items
from pipeline.approval.links import APPROVED, deactivate_links
from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from storage.models import (
    ApprovalDecision,
    Job,
    JobStatus,
    ProofStatus,
    utcnow,
)

OFFLINE_VIA = ("phone", "email")


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
    items = locked_items(session, job)
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
        row = decision_at(session, item.pk, item.proof_version)
        if row is None:
            row = ApprovalDecision(item_id=item.pk, proof_version=item.proof_version, decision=APPROVED)
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
        finish_if_all_approved(session, job, actor, reason=f"the customer approved every item by {via}")
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
    links = deactivate_links(session, job)
    record(session, job.workspace_id, job.id, Event.APPROVAL_SKIPPED, actor, reason=text, closed_links=links)
    if job.status == JobStatus.PENDING_APPROVAL:
        lifecycle.move(session, job, JobStatus.PROOFING, actor, reason="approval skipped")
    if lifecycle.check(session, job, JobStatus.PRODUCTION_READY, actor) is None:
        lifecycle.move(session, job, JobStatus.PRODUCTION_READY, actor, reason="approval skipped on purpose")
    return job
