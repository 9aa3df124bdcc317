"""The activity log: every change to a job, written in the same transaction as the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select as select_columns  # sqlmodel's select takes at most four
from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from storage.models import ActivityEvent, Job


class Event(StrEnum):
    """What happened to a job (or the workspace): stored as a stable identifier (never
    renamed: the database holds it), shown as a sentence (`Event.sentence`, `describe`)."""

    JOB_CREATED = "job_created"
    JOB_EDITED = "job_edited"
    STATUS_CHANGED = "status_changed"
    JOB_DELETED = "job_deleted"
    JOB_RESTORED = "job_restored"
    JOB_PURGED = "job_purged"
    INPUT_SUBMITTED = "input_submitted"
    PARSE_FAILED = "parse_failed"
    ITEMS_PARSED = "items_parsed"
    ITEMS_ACCEPTED = "items_accepted"
    ITEMS_REPLACED = "items_replaced"
    ITEM_EDITED = "item_edited"
    TEMPLATE_CHOSEN = "template_chosen"
    MAPPING_APPLIED = "mapping_applied"
    PROOFS_GENERATED = "proofs_generated"
    PREFLIGHT_COMPLETED = "preflight_completed"
    APPROVAL_LINK_GENERATED = "approval_link_generated"
    APPROVAL_LINK_REVOKED = "approval_link_revoked"
    APPROVAL_PAGE_VIEWED = "approval_page_viewed"
    LINK_EMAILED = "link_emailed"
    EMAIL_FAILED = "email_failed"
    ITEM_APPROVED = "item_approved"
    CHANGE_REQUESTED = "change_requested"
    APPROVAL_RECORDED = "approval_recorded"
    APPROVAL_SKIPPED = "approval_skipped"
    EXPORT_CREATED = "export_created"
    EXPORTED_WITHOUT_APPROVAL = "exported_without_approval"
    JOB_COMPLETED = "job_completed"
    TASK_FAILED = "task_failed"
    TASK_RESUMED = "task_resumed"
    TEMPLATE_IMPORTED = "template_imported"
    MACHINE_PROFILE_CHANGED = "machine_profile_changed"
    FONT_UPLOADED = "font_uploaded"

    @property
    def sentence(self) -> str:
        return SENTENCES[self]


SENTENCES: dict[Event, str] = {
    Event.JOB_CREATED: "Job created",
    Event.JOB_EDITED: "Job edited",
    Event.STATUS_CHANGED: "Status changed",
    Event.JOB_DELETED: "Job deleted",
    Event.JOB_RESTORED: "Job restored",
    Event.JOB_PURGED: "Job purged",
    Event.INPUT_SUBMITTED: "Input submitted",
    Event.PARSE_FAILED: "Parsing failed",
    Event.ITEMS_PARSED: "Items parsed",
    Event.ITEMS_ACCEPTED: "Items accepted",
    Event.ITEMS_REPLACED: "Items replaced",
    Event.ITEM_EDITED: "Item edited",
    Event.TEMPLATE_CHOSEN: "Template chosen",
    Event.MAPPING_APPLIED: "Mapping applied",
    Event.PROOFS_GENERATED: "Proofs generated",
    Event.PREFLIGHT_COMPLETED: "Preflight completed",
    Event.APPROVAL_LINK_GENERATED: "Approval link generated",
    Event.APPROVAL_LINK_REVOKED: "Approval link revoked",
    Event.APPROVAL_PAGE_VIEWED: "Approval page viewed",
    Event.LINK_EMAILED: "Link emailed",
    Event.EMAIL_FAILED: "Email failed",
    Event.ITEM_APPROVED: "Item approved",
    Event.CHANGE_REQUESTED: "Change requested",
    Event.APPROVAL_RECORDED: "Approval recorded",
    Event.APPROVAL_SKIPPED: "Approval skipped",
    Event.EXPORT_CREATED: "Export created",
    Event.EXPORTED_WITHOUT_APPROVAL: "Exported without customer approval",
    Event.JOB_COMPLETED: "Job completed",
    Event.TASK_FAILED: "Task failed",
    Event.TASK_RESUMED: "Task resumed",
    Event.TEMPLATE_IMPORTED: "Template imported",
    Event.MACHINE_PROFILE_CHANGED: "Machine profile changed",
    Event.FONT_UPLOADED: "Font uploaded",
}


def describe(event_type: str) -> str:
    """A stored event in words (an identifier this version does not know is shown as stored)."""
    try:
        return Event(event_type).sentence
    except ValueError:
        return event_type


def record(
    session: Session,
    workspace_id: int,
    job_id: int | None,
    event_type: Event,
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


@dataclass(frozen=True)
class EventLine:
    """An event as a job's card lists it: when, what and who (its details are not read)."""

    created_at: datetime
    event_type: str
    actor_display: str
    job_id: int | None = None
    job_number: int | None = None  # read with it where a list names the job


def latest_for_job(session: Session, job_id: int, limit: int) -> list[EventLine]:
    """The job's last `limit` events, oldest first."""
    stmt = (
        select(ActivityEvent.created_at, ActivityEvent.event_type, ActivityEvent.actor_display)
        .where(ActivityEvent.job_id == job_id)
        .order_by(col(ActivityEvent.id).desc())
        .limit(limit)
    )
    return [EventLine(*row) for row in session.exec(stmt)][::-1]


def recent(session: Session, workspace_id: int, limit: int = 10) -> list[EventLine]:
    """The workspace's last `limit` events, newest first, each with its job's number."""
    stmt = (
        select_columns(
            col(ActivityEvent.created_at),
            col(ActivityEvent.event_type),
            col(ActivityEvent.actor_display),
            col(ActivityEvent.job_id),
            col(Job.number),
        )
        .outerjoin(Job, col(Job.id) == col(ActivityEvent.job_id))
        .where(col(ActivityEvent.workspace_id) == workspace_id)
        .order_by(col(ActivityEvent.id).desc())
        .limit(limit)
    )
    return [EventLine(*row) for row in session.execute(stmt)]
