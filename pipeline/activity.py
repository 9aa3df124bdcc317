"""The activity log: every change to a job, written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from pipeline.actors import Actor
from storage.models import ActivityEvent


class Event:
    JOB_CREATED = "Job created"
    JOB_EDITED = "Job edited"
    STATUS_CHANGED = "Status changed"
    JOB_DELETED = "Job deleted"
    JOB_RESTORED = "Job restored"
    JOB_PURGED = "Job purged"
    INPUT_SUBMITTED = "Input submitted"
    PARSE_FAILED = "Parsing failed"
    ITEMS_PARSED = "Items parsed"
    ITEMS_ACCEPTED = "Items accepted"
    ITEMS_REPLACED = "Items replaced"
    ITEM_EDITED = "Item edited"
    TEMPLATE_CHOSEN = "Template chosen"
    MAPPING_APPLIED = "Mapping applied"
    PROOFS_GENERATED = "Proofs generated"
    PREFLIGHT_COMPLETED = "Preflight completed"
    APPROVAL_LINK_GENERATED = "Approval link generated"
    APPROVAL_LINK_REVOKED = "Approval link revoked"
    APPROVAL_PAGE_VIEWED = "Approval page viewed"
    LINK_EMAILED = "Link emailed"
    EMAIL_FAILED = "Email failed"
    ITEM_APPROVED = "Item approved"
    CHANGE_REQUESTED = "Change requested"
    APPROVAL_RECORDED = "Approval recorded"
    APPROVAL_SKIPPED = "Approval skipped"
    EXPORT_CREATED = "Export created"
    EXPORTED_WITHOUT_APPROVAL = "Exported without customer approval"
    JOB_COMPLETED = "Job completed"
    TASK_FAILED = "Task failed"
    TASK_RESUMED = "Task resumed"


def record(
    session: Session,
    workspace_id: int,
    job_id: int | None,
    event_type: str,
    actor: Actor,
    **details: Any,
) -> ActivityEvent:
    ev = ActivityEvent(
        workspace_id=workspace_id,
        job_id=job_id,
        event_type=event_type,
        actor_kind=actor.kind,
        actor_id=actor.id[:64],
        actor_display=actor.display[:200],
        details=details,
    )
    session.add(ev)
    return ev


def for_job(session: Session, job_id: int) -> list[ActivityEvent]:
    return list(session.exec(select(ActivityEvent).where(ActivityEvent.job_id == job_id).order_by("id")))


def recent(session: Session, workspace_id: int, limit: int = 10) -> list[ActivityEvent]:
    stmt = (
        select(ActivityEvent)
        .where(ActivityEvent.workspace_id == workspace_id)
        .order_by(col(ActivityEvent.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))
