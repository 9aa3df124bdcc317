"""Jobs: create, look at, list, edit, complete, delete, restore, purge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime
from pipeline.core.seen import first_time_in
from pipeline.jobs import jobs, lifecycle
from pipeline.jobs.activity import Event, EventLine, latest_for_job, record
from pipeline.jobs.jobs import JobPage
from pipeline.jobs.summary import JobSummary, summarize
from storage.models import Job, JobStatus, Workspace

JOB_FIELDS = ("customer_name", "customer_email", "reference", "due_date", "notes")


@dataclass(frozen=True)
class NewJob:
    id: int
    ref: str
    customer_name: str


def create_job(runtime: Runtime, who: Who, submission: str, fields: dict[str, Any]) -> NewJob | None:
    """A new draft job; None when the same window (`submission`) was already submitted."""
    with runtime.db.session() as s:
        if not first_time_in(s, f"view:{who.ws_id}:{submission}"):
            return None
        job = jobs.create_job(s, s.get_one(Workspace, who.ws_id), who.actor, **fields)
        made = NewJob(job.pk, job.ref, job.customer_name)
    runtime.notifier.job_changed(made.id, Event.JOB_CREATED)
    return made


def job(runtime: Runtime, who: Who, ref: str) -> Job:
    """The job `ref` of the caller's workspace (not deleted), read only."""
    with runtime.db.read() as s:
        return jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)


def show_job(runtime: Runtime, who: Who, ref: str, recent: int = 8) -> tuple[JobSummary, list[EventLine]]:
    """The job's summary and its latest activity (a deleted job too)."""
    with runtime.db.read() as s:
        ws = s.get_one(Workspace, who.ws_id)
        found = jobs.get_job(s, ws, ref, include_deleted=True)
        return summarize(s, ws, found), latest_for_job(s, found.pk, recent)


def list_jobs(runtime: Runtime, who: Who, **query: Any) -> JobPage:
    """One page of the workspace's jobs (see `pipeline.jobs.list_jobs` for the query)."""
    with runtime.db.read() as s:
        return jobs.list_jobs(s, s.get_one(Workspace, who.ws_id), **query)


def edit_job(runtime: Runtime, who: Who, ref: str, version: int | None, changes: dict[str, Any]) -> Job:
    """Change a job's details, refused if someone saved since `version` was read."""
    with runtime.db.session() as s:
        edited = jobs.edit_job(
            s, s.get_one(Workspace, who.ws_id), ref, who.actor, expected_version=version, **changes
        )
    runtime.notifier.job_changed(edited.pk, Event.JOB_EDITED)
    return edited


def complete_job(runtime: Runtime, who: Who, ref: str) -> tuple[str, bool]:
    """(ref, False) when the job was already completed, else completes it: (ref, True)."""
    with runtime.db.session() as s:
        found = jobs.lock_job(s, jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref))
        if found.status == JobStatus.COMPLETED:
            return found.ref, False
        lifecycle.move(s, found, JobStatus.COMPLETED, who.actor)
        record(s, found.workspace_id, found.id, Event.JOB_COMPLETED, who.actor)
        job_id, done = found.pk, found.ref
    runtime.notifier.job_changed(job_id, Event.JOB_COMPLETED)
    return done, True


def delete_job(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.session() as s:
        found = jobs.delete_job(s, s.get_one(Workspace, who.ws_id), ref, who.actor)
        job_id, done = found.pk, found.ref
    runtime.notifier.job_changed(job_id, Event.JOB_DELETED)
    return done


def restore_job(runtime: Runtime, who: Who, ref: str) -> str:
    with runtime.db.session() as s:
        found = jobs.restore_job(s, s.get_one(Workspace, who.ws_id), ref, who.actor)
        job_id, done = found.pk, found.ref
    runtime.notifier.job_changed(job_id, Event.JOB_RESTORED)
    return done


def purge_job(runtime: Runtime, who: Who, ref: str) -> str:
    """Remove a deleted job for good (owners and admins); its card stays as it was."""
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, who.ws_id)
        done = jobs.get_job(s, ws, ref, include_deleted=True).ref
        jobs.purge_job(s, ws, ref, who.actor)
    return done
