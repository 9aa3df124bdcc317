"""Jobs: create, edit, find, list for the dashboard, soft delete and restore."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, update
from sqlalchemy import select as select_columns  # sqlmodel's select takes at most four
from sqlmodel import Session, col, func, select

from pipeline.core import cleantext
from pipeline.core.actors import Actor
from pipeline.core.addresses import ADDRESS as EMAIL
from pipeline.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from pipeline.jobs.activity import Event, record
from storage.db import rowcount
from storage.models import (
    ActivityEvent,
    ApprovalDecision,
    ApprovalLink,
    Export,
    FieldMapping,
    Item,
    Job,
    JobStatus,
    LinkMail,
    Outbox,
    ParseBatch,
    PreflightIssue,
    ProofVersion,
    Task,
    Workspace,
    utcnow,
)

JOB_REF = re.compile(r"^\s*(?:J-?)?(\d{1,9})\s*$", re.IGNORECASE)
LIMITS = {"customer_name": 200, "customer_email": 254, "reference": 100, "notes": 4000}
EDITABLE = ("customer_name", "customer_email", "reference", "due_date", "notes")
SORTS = ("created", "due", "customer")
FINISHED = (JobStatus.EXPORTED, JobStatus.COMPLETED)


def parse_ref(ref: str | int) -> int:
    """`J-1042`, `j1042` or `1042` → 1042; anything else is refused."""
    if isinstance(ref, int):
        return ref
    m = JOB_REF.match(ref or "")
    if not m:
        raise InvalidInput({"job": f"{ref!r} is not a job number (they look like J-1042)"})
    return int(m.group(1))


def _clean_text(field: str, value: Any, *, required: bool, multiline: bool = False) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput({field: "must be text"})
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        if required:
            raise InvalidInput({field: "is required"})
        return None
    cleantext.check(field, value, allow=cleantext.MULTILINE if multiline else "")
    if len(value) > LIMITS[field]:
        raise InvalidInput({field: f"is {len(value):,} characters long; the limit is {LIMITS[field]:,}"})
    return value


def _clean_email(value: Any) -> str:
    email = _clean_text("customer_email", value, required=True)
    assert email is not None
    if not EMAIL.match(email):
        raise InvalidInput({"customer_email": f"{email!r} is not a valid email address"})
    return email


def _clean_due(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidInput({"due_date": f"{value!r} is not a date (use YYYY-MM-DD, e.g. 2026-12-14)"})


def today_for(ws: Workspace, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(ws.timezone)).date()


def _validate(fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Check every given field; all problems are reported together, nothing is stored on error."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    checks = {
        "customer_name": lambda v: _clean_text("customer_name", v, required=True),
        "customer_email": _clean_email,
        "reference": lambda v: _clean_text("reference", v, required=False),
        "notes": lambda v: _clean_text("notes", v, required=False, multiline=True),
        "due_date": _clean_due,
    }
    for key in fields:
        if key not in checks:
            errors[key] = "is not a job field"
    for key, check in checks.items():
        if partial and key not in fields:
            continue
        try:
            clean[key] = check(fields.get(key))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return clean


NO_DUE_DATE = date(9999, 12, 31)


def _index_values(customer_name: str, reference: str | None, due: date | None) -> dict[str, Any]:
    return {
        "customer_sort": customer_name.casefold()[:200],
        "search_text": f"{customer_name} {reference or ''}".casefold()[:400],
        "due_sort": due or NO_DUE_DATE,
    }


def create_job(
    session: Session, ws: Workspace, actor: Actor, *, now: datetime | None = None, **fields: Any
) -> Job:
    """A new draft job numbered J-<n> (per workspace, from 1001, never reused)."""
    clean = _validate(fields, partial=False)
    if clean["due_date"] is not None and clean["due_date"] < today_for(ws, now):
        raise InvalidInput({"due_date": f"{clean['due_date'].isoformat()} is in the past"})
    # The counter row update is atomic and holds the row lock until commit: unique and gapless.
    number = (
        session.execute(
            update(Workspace)
            .where(col(Workspace.id) == ws.id)
            .values(next_job_number=Workspace.next_job_number + 1)
            .returning(col(Workspace.next_job_number))
        ).scalar_one()
        - 1
    )
    job = Job(
        workspace_id=ws.pk,
        number=number,
        created_by=actor.id,
        last_actor=actor.display,
        **clean,
        **_index_values(clean["customer_name"], clean["reference"], clean["due_date"]),
    )
    session.add(job)
    session.flush()
    record(session, ws.pk, job.pk, Event.JOB_CREATED, actor, ref=job.ref, customer=job.customer_name)
    return job


def get_job(session: Session, ws: Workspace, ref: str | int, *, include_deleted: bool = False) -> Job:
    """The job `ref` of this workspace; another workspace's job is simply not found."""
    number = parse_ref(ref)
    stmt = select(Job).where(Job.workspace_id == ws.id, Job.number == number)
    job = session.exec(stmt).first()
    if job is None or (job.deleted_at is not None and not include_deleted):
        raise NotFound(f"There is no job J-{number} in this workspace.")
    return job


def edit_job(
    session: Session,
    ws: Workspace,
    ref: str | int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    **changes: Any,
) -> Job:
    """Change a job's details; refused if someone else saved since `expected_version` was read."""
    job = get_job(session, ws, ref)
    if expected_version is not None and job.version != expected_version:
        who = f" by {job.last_actor}" if job.last_actor else ""
        raise Conflict(f"{job.ref} was changed{who} while you were editing; reopen it and try again.")
    clean = _validate(changes, partial=True)
    before = {k: getattr(job, k) for k in clean}
    changed = {k: v for k, v in clean.items() if before[k] != v}
    if not changed:
        return job
    name = changed.get("customer_name", job.customer_name)
    reference = changed.get("reference", job.reference)
    due = changed.get("due_date", job.due_date)
    values = {
        **changed,
        **_index_values(name, reference, due),
        "version": job.version + 1,
        "updated_at": utcnow(),
        "last_actor": actor.display,
    }
    # the version check in the WHERE clause closes the gap between reading and writing
    result = session.execute(
        update(Job).where(col(Job.id) == job.id, col(Job.version) == job.version).values(**values)
    )
    if rowcount(result) != 1:
        raise Conflict(f"{job.ref} was changed by someone else a moment ago; reopen it and try again.")
    session.refresh(job)

    def show(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v

    record(
        session,
        ws.pk,
        job.id,
        Event.JOB_EDITED,
        actor,
        changes={k: {"from": show(before[k]), "to": show(v)} for k, v in changed.items()},
    )
    return job


def delete_job(session: Session, ws: Workspace, ref: str | int, actor: Actor) -> Job:
    job = get_job(session, ws, ref)
    job.deleted_at = utcnow()
    job.version += 1
    job.last_actor = actor.display
    session.add(job)
    record(session, ws.pk, job.pk, Event.JOB_DELETED, actor)
    return job


def restore_job(session: Session, ws: Workspace, ref: str | int, actor: Actor) -> Job:
    job = get_job(session, ws, ref, include_deleted=True)
    if job.deleted_at is None:
        raise InvalidInput({"job": f"{job.ref} is not deleted"})
    job.deleted_at = None
    job.version += 1
    job.last_actor = actor.display
    session.add(job)
    record(session, ws.pk, job.pk, Event.JOB_RESTORED, actor)
    return job


def purge_job(session: Session, ws: Workspace, ref: str | int, actor: Actor) -> None:
    """Remove a deleted job and everything it had, for good (admins only)."""
    if not actor.is_admin:
        raise PermissionDenied("Only an owner or admin can purge a job.")
    job = get_job(session, ws, ref, include_deleted=True)
    if job.deleted_at is None:
        raise InvalidInput({"job": f"{job.ref} must be deleted before it can be purged"})
    item_ids = select(Item.id).where(Item.job_id == job.id)
    link_ids = select(ApprovalLink.id).where(ApprovalLink.job_id == job.id)
    session.execute(delete(ApprovalDecision).where(col(ApprovalDecision.item_id).in_(item_ids)))
    session.execute(delete(ApprovalDecision).where(col(ApprovalDecision.link_id).in_(link_ids)))
    session.execute(delete(ProofVersion).where(col(ProofVersion.item_id).in_(item_ids)))
    session.execute(delete(PreflightIssue).where(col(PreflightIssue.job_id) == job.id))
    # LinkMail before ApprovalLink: the kept email of a link points at the link
    for table in (
        LinkMail,
        Item,
        ApprovalLink,
        FieldMapping,
        ParseBatch,
        Export,
        Task,
        Outbox,
        ActivityEvent,
    ):
        session.execute(delete(table).where(col(table.job_id) == job.pk))
    session.delete(job)
    record(session, ws.pk, None, Event.JOB_PURGED, actor, ref=job.ref, customer=job.customer_name)


@dataclass(frozen=True)
class JobLine:
    """What a list of jobs shows of each one, read as plain columns (no whole rows to build)."""

    id: int
    number: int
    customer_name: str
    reference: str | None
    status: str
    due_date: date | None
    deleted_at: datetime | None
    preflight_errors: int

    @property
    def ref(self) -> str:
        return f"J-{self.number}"


_LINE = (
    col(Job.id),
    col(Job.number),
    col(Job.customer_name),
    col(Job.reference),
    col(Job.status),
    col(Job.due_date),
    col(Job.deleted_at),
    col(Job.preflight_errors),
)


@dataclass(frozen=True)
class JobRow:
    job: JobLine
    urgency: str  # "" | "due_soon" | "overdue"
    has_preflight_errors: bool


@dataclass(frozen=True)
class JobPage:
    rows: list[JobRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def urgency_of(job: Job | JobLine, today: date, window_days: int) -> str:
    if job.due_date is None or job.status in FINISHED or job.deleted_at is not None:
        return ""
    if job.due_date < today:
        return "overdue"
    if job.due_date <= today + timedelta(days=window_days):
        return "due_soon"
    return ""


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_jobs(
    session: Session,
    ws: Workspace,
    *,
    status: str | None = None,
    search: str | None = None,
    sort: str = "created",
    page: int = 1,
    per_page: int = 20,
    deleted: bool = False,
    now: datetime | None = None,
) -> JobPage:
    """The dashboard query: filter by status, search customer or reference, sort, one page."""
    if status is not None and status not in JobStatus.ALL:
        raise InvalidInput({"status": f"{status!r} is not a status ({', '.join(JobStatus.ALL)})"})
    if sort not in SORTS:
        raise InvalidInput({"sort": f"{sort!r} is not a sort ({', '.join(SORTS)})"})
    if page < 1 or not 1 <= per_page <= 100:
        raise InvalidInput({"page": "page starts at 1 and holds 1 to 100 jobs"})
    conds: list[Any] = [Job.workspace_id == ws.id]
    conds.append(col(Job.deleted_at).is_not(None) if deleted else col(Job.deleted_at).is_(None))
    if status:
        conds.append(Job.status == status)
    for word in (search or "").casefold().split()[:8]:
        conds.append(col(Job.search_text).like(f"%{_like_escape(word)}%", escape="\\"))
    order: list[Any]
    if sort == "due":
        order = [col(Job.due_sort), col(Job.number).desc()]
    elif sort == "customer":
        # with a search, scanning the matches and sorting them beats walking the whole name index
        key = col(Job.customer_sort) + "" if search and search.strip() else col(Job.customer_sort)
        order = [key, col(Job.number).desc()]
    else:
        order = [col(Job.created_at).desc(), col(Job.number).desc()]
    # the count apart: a window count on the page query would read every match in order before the
    # page could stop early (3-4x slower at 100,000 jobs, bench/bench_slack.py)
    total = session.exec(select(func.count()).select_from(Job).where(*conds)).one()
    found = session.execute(
        select_columns(*_LINE).where(*conds).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    )
    today = today_for(ws, now)
    lines = [JobLine(*row) for row in found]
    rows = [JobRow(j, urgency_of(j, today, ws.due_soon_days), j.preflight_errors > 0) for j in lines]
    return JobPage(rows=rows, total=total, page=page, per_page=per_page)


def status_counts(session: Session, ws: Workspace) -> dict[str, int]:
    stmt = (
        select(Job.status, func.count())
        .where(Job.workspace_id == ws.id, col(Job.deleted_at).is_(None))
        .group_by(Job.status)
    )
    return {status: n for status, n in session.exec(stmt)}


def lock_job(session: Session, job: Job) -> Job:
    """Re-read a job holding its row lock (PostgreSQL; SQLite writers are already serialized)."""
    stmt = select(Job).where(Job.id == job.id).with_for_update().execution_options(populate_existing=True)
    return session.exec(stmt).one()
