"""The job status table of docs/jobs.md ("Transition table") and its guards. Nothing moves a job's
status but `move`."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, func, select

from pipeline.core.actors import Actor
from pipeline.core.errors import TransitionRefused
from pipeline.jobs.activity import Event, record
from storage.models import Item, Job, JobStatus, ProofStatus, utcnow

S = JobStatus

# (from, to) -> when it happens; anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, S.PARSING): "input submitted for parsing",
    (S.PARSING, S.PROOFING): "parsed items were accepted into the job",
    (S.PARSING, S.DRAFT): "parsing failed or was cancelled and the job has no items",
    (S.PROOFING, S.PARSING): "more input is added",
    (S.PROOFING, S.PENDING_APPROVAL): "an approval link is created",
    (S.PROOFING, S.PRODUCTION_READY): "approval skipped on purpose and preflight has zero errors",
    (S.PENDING_APPROVAL, S.APPROVED): "every item is approved",
    (S.PENDING_APPROVAL, S.PROOFING): "the link is revoked, or the shop withdraws the request",
    (S.APPROVED, S.PRODUCTION_READY): "preflight has zero errors",
    (S.APPROVED, S.PROOFING): "an item, the template or the mapping changed",
    (S.PRODUCTION_READY, S.PROOFING): "an item, the template or the mapping changed",
    (S.EXPORTED, S.PROOFING): "an item, the template or the mapping changed",
    (S.PRODUCTION_READY, S.EXPORTED): "an export file is created",
    (S.EXPORTED, S.EXPORTED): "another export",
    (S.EXPORTED, S.COMPLETED): "the shop marks the order done",
    (S.COMPLETED, S.PROOFING): "reopened by an admin",
}

LABELS = {
    S.DRAFT: "Draft",
    S.PARSING: "Parsing",
    S.PROOFING: "Proofing",
    S.PENDING_APPROVAL: "Pending approval",
    S.APPROVED: "Approved",
    S.PRODUCTION_READY: "Production ready",
    S.EXPORTED: "Exported",
    S.COMPLETED: "Completed",
}


def next_statuses(status: str) -> list[str]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def item_count(session: Session, job: Job) -> int:
    return session.exec(select(func.count()).select_from(Item).where(Item.job_id == job.id)).one()


def _count_where(session: Session, job: Job, *conds: ColumnElement[bool]) -> int:
    stmt = select(func.count()).select_from(Item).where(Item.job_id == job.id, *conds)
    return session.exec(stmt).one()


def _preflight_clean(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    if job.preflight_ran_at is None:
        return "preflight has not run on the current items: run preflight first"
    if job.preflight_errors:
        n = job.preflight_errors
        return f"preflight has {n} error{'s' if n != 1 else ''}: fix {'them' if n != 1 else 'it'} first"
    return None


def _guard_has_items(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    return None if item_count(session, job) else "the job has no items yet"


def _guard_no_items(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    n = item_count(session, job)
    return f"the job already has {n} items" if n else None


def _guard_proofs_ready(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    if not item_count(session, job):
        return "the job has no items yet"
    pending = _count_where(session, job, col(Item.proof_status) == ProofStatus.PENDING)
    return f"{pending} item(s) have no proof yet: generate proofs first" if pending else None


def _guard_skip(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    if not approval_skipped:
        return "customer approval is needed, or must be skipped on purpose"
    return _preflight_clean(session, job, actor, approval_skipped)


def _guard_all_approved(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    total = item_count(session, job)
    approved = _count_where(session, job, col(Item.proof_status) == ProofStatus.APPROVED)
    if not total:
        return "the job has no items yet"
    return None if approved == total else f"only {approved} of {total} items are approved"


def _guard_admin(session: Session, job: Job, actor: Actor, approval_skipped: bool) -> str | None:
    return None if actor.is_admin else "only an owner or admin can reopen a completed job"


Guard = Callable[[Session, Job, Actor, bool], "str | None"]
GUARDS: dict[tuple[str, str], Guard] = {
    (S.PARSING, S.PROOFING): _guard_has_items,
    (S.PARSING, S.DRAFT): _guard_no_items,
    (S.PROOFING, S.PENDING_APPROVAL): _guard_proofs_ready,
    (S.PROOFING, S.PRODUCTION_READY): _guard_skip,
    (S.PENDING_APPROVAL, S.APPROVED): _guard_all_approved,
    (S.APPROVED, S.PRODUCTION_READY): _preflight_clean,
    (S.PRODUCTION_READY, S.EXPORTED): _preflight_clean,
    (S.EXPORTED, S.EXPORTED): _preflight_clean,
    (S.COMPLETED, S.PROOFING): _guard_admin,
}


def check(session: Session, job: Job, to: str, actor: Actor, *, approval_skipped: bool = False) -> str | None:
    """Why `job` cannot move to `to` now, or None when it can."""
    if to not in JobStatus.ALL:
        return f"{to!r} is not a status (statuses: {', '.join(JobStatus.ALL)})"
    if job.deleted_at is not None:
        return f"{job.ref} is deleted: restore it first"
    if (job.status, to) not in TRANSITIONS:
        options = next_statuses(job.status)
        nexts = ", ".join(options) if options else "nothing"
        return f"a job in {job.status} can next go to {nexts}"
    guard = GUARDS.get((job.status, to))
    return guard(session, job, actor, approval_skipped or job.approval_skipped) if guard else None


def move(
    session: Session,
    job: Job,
    to: str,
    actor: Actor,
    *,
    reason: str = "",
    approval_skipped: bool = False,
    **details: object,
) -> Job:
    """Move `job` to `to` or raise TransitionRefused saying what is missing; logs the move."""
    why_not = check(session, job, to, actor, approval_skipped=approval_skipped)
    if why_not:
        raise TransitionRefused(f"{job.ref} can't move from {job.status} to {to}: {why_not}.")
    frm = job.status
    job.status = to
    now = utcnow()
    job.status_changed_at = now
    job.updated_at = now
    job.last_actor = actor.display
    job.version += 1
    session.add(job)
    record(
        session,
        job.workspace_id,
        job.id,
        Event.STATUS_CHANGED,
        actor,
        **{"from": frm, "to": to, "reason": reason or TRANSITIONS[(frm, to)], **details},
    )
    return job
