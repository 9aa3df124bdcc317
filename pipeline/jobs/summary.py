"""What a job's card and the dashboard show: counts, urgency and the next thing to do."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import case
from sqlmodel import Session, col, func, select

from pipeline.jobs.jobs import today_for, urgency_of
from storage.models import Item, Job, JobStatus, ParseBatch, ProofStatus, Workspace

FLAGGED_BELOW = 0.85  # an item parsed with less confidence is flagged for review


@dataclass(frozen=True)
class JobSummary:
    ref: str
    status: str
    customer_name: str
    reference: str | None
    due_date: str | None
    urgency: str
    items: int
    flagged: int
    proofs_generated: int
    approved: int
    needs_revision: int
    has_template: bool
    batch_waiting: bool
    preflight_ran: bool
    preflight_errors: int
    preflight_warnings: int
    approval_skipped: bool
    deleted: bool
    next_action: str  # an action id of bot/blocks.py, or "" when nothing is to be done


def summarize(session: Session, ws: Workspace, job: Job, *, now: datetime | None = None) -> JobSummary:
    rows = session.exec(
        select(
            Item.proof_status,
            func.count(),
            func.sum(case((col(Item.confidence) < FLAGGED_BELOW, 1), else_=0)),
        )
        .where(Item.job_id == job.id)
        .group_by(Item.proof_status)
    ).all()
    counts = {status: n for status, n, _ in rows}
    items = sum(counts.values())
    flagged = sum(int(f or 0) for _, _, f in rows)
    # a parsed batch waiting for review matters only before the job has its items
    batch_waiting = job.status in (JobStatus.DRAFT, JobStatus.PARSING) and (
        session.exec(
            select(ParseBatch.id).where(ParseBatch.job_id == job.id, ParseBatch.state == "review").limit(1)
        ).first()
        is not None
    )
    generated = items - counts.get(ProofStatus.PENDING, 0)
    summary = JobSummary(
        ref=job.ref,
        status=job.status,
        customer_name=job.customer_name,
        reference=job.reference,
        due_date=job.due_date.isoformat() if job.due_date else None,
        urgency=urgency_of(job, today_for(ws, now), ws.due_soon_days),
        items=items,
        flagged=flagged,
        proofs_generated=generated,
        approved=counts.get(ProofStatus.APPROVED, 0),
        needs_revision=counts.get(ProofStatus.NEEDS_REVISION, 0),
        has_template=job.template_version_id is not None,
        batch_waiting=batch_waiting,
        preflight_ran=job.preflight_ran_at is not None,
        preflight_errors=job.preflight_errors,
        preflight_warnings=job.preflight_warnings,
        approval_skipped=job.approval_skipped,
        deleted=job.deleted_at is not None,
        next_action="",
    )
    return _with_next_action(summary)


def _with_next_action(s: JobSummary) -> JobSummary:
    S = JobStatus
    action = ""
    if s.deleted:
        action = "restore"
    elif s.status in (S.DRAFT, S.PARSING):
        action = "review" if s.batch_waiting else "parse"
    elif s.status == S.PROOFING:
        if not s.has_template:
            action = "template"
        elif s.proofs_generated < s.items or s.needs_revision:
            action = "proofs"
        elif not s.preflight_ran or s.preflight_errors:
            action = "preflight"
        else:
            action = "approval"
    elif s.status == S.PENDING_APPROVAL:
        action = "record_approval"
    elif s.status == S.APPROVED:
        action = "preflight"
    elif s.status == S.PRODUCTION_READY:
        action = "export"
    elif s.status == S.EXPORTED:
        action = "complete"
    return replace(s, next_action=action)
