"""The customer's approval from the shop's side: the link made, stopped or resumed; an approval
taken by phone or email recorded, or skipped."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.approval import customer_mail, links, offline
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput
from pipeline.core.outbox import enqueue
from pipeline.core.runtime import Runtime
from pipeline.jobs import jobs, lifecycle
from pipeline.jobs.activity import Event
from storage.models import JobStatus, Workspace


@dataclass(frozen=True)
class LinkForm:
    ref: str
    customer_email: str
    has_link: bool


@dataclass(frozen=True)
class Link:
    job_id: int
    ref: str
    url: str
    expires: str  # YYYY-MM-DD, or "never"


def link_form(runtime: Runtime, who: Who, ref: str) -> LinkForm:
    """The window for a new link; refused unless the job is proofing (and ready) or awaiting approval."""
    with runtime.db.read() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        if job.status not in (JobStatus.PROOFING, JobStatus.PENDING_APPROVAL):
            raise InvalidInput({"job": f"{job.ref} is {job.status}: approval links are made while proofing"})
        if job.status == JobStatus.PROOFING:
            why = lifecycle.check(s, job, JobStatus.PENDING_APPROVAL, who.actor)
            if why:
                raise InvalidInput({"job": f"{job.ref} can't be sent for approval yet: {why}"})
        return LinkForm(job.ref, job.customer_email, links.active_link(s, job) is not None)


def create_link(runtime: Runtime, who: Who, ref: str, days: float | None) -> Link:
    """A new link (the old one stops), posted in the job's thread and mailed to the customer."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        made = links.create_link(s, job, who.actor, days, base_url=runtime.settings.public_base_url)
        expires = f"{made.link.expires_at:%Y-%m-%d}" if made.link.expires_at else "never"
        message = {"url": made.url, "email": job.customer_email, "expires": expires}
        enqueue(s, job.workspace_id, job.id, "approval_link", message)
        link = Link(job.pk, job.ref, made.url, expires)
    runtime.notifier.job_changed(link.job_id, Event.APPROVAL_LINK_GENERATED)
    return link


def revoke_link(runtime: Runtime, who: Who, ref: str) -> str:
    """Stop the job's link at once (a job awaiting approval goes back to proofing)."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        links.revoke_link(s, job, who.actor)
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.APPROVAL_LINK_REVOKED)
    return done


def withdraw_request(runtime: Runtime, who: Who, ref: str) -> str:
    """Take a job waiting for approval back to proofing (to add or change items); its link stays, and
    the customer's page says the shop is updating the proofs until `resume_link`."""
    with runtime.db.session() as s:
        job = jobs.lock_job(s, jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref))
        if job.status != JobStatus.PENDING_APPROVAL:
            raise InvalidInput({"job": f"{job.ref} is {job.status}, not waiting for the customer's approval"})
        lifecycle.move(s, job, JobStatus.PROOFING, who.actor, reason="the shop withdrew the approval request")
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.STATUS_CHANGED)
    return done


def resume_link(runtime: Runtime, who: Who, ref: str) -> str:
    """Ask the customer again on the job's working link after the shop took it back to proofing."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        links.resume_link(s, job, who.actor)
        job_id, done = job.pk, job.ref
    runtime.notifier.job_changed(job_id, Event.STATUS_CHANGED)
    return done


def record_approval(runtime: Runtime, who: Who, ref: str, how: str, note: str) -> None:
    """The customer approved by phone or email (`how`), or the shop skips approval (`how` = skip)."""
    with runtime.db.session() as s:
        job = jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref)
        if how == "skip":
            offline.skip_approval(s, job, who.actor, note)
        else:
            offline.record_offline_approval(s, job, who.actor, how, note)
        job_id = job.pk
    runtime.notifier.job_changed(job_id, Event.APPROVAL_RECORDED)


def job_ref(runtime: Runtime, who: Who, ref: str) -> str:
    """The job's ref as written by CraftStage (checks the job exists)."""
    with runtime.db.read() as s:
        return jobs.get_job(s, s.get_one(Workspace, who.ws_id), ref).ref


@dataclass(frozen=True)
class Emailing:
    ref: str
    to: str
    new: bool  # False: this link was already emailed (the thread says when)


def email_link(runtime: Runtime, who: Who, url: str) -> Emailing:
    """Email a working link of one of the workspace's jobs to its customer (a button in the thread
    carries the link's URL; any other URL gets the answer a dead link gets)."""
    with runtime.db.session() as s:
        job, queued = customer_mail.email_link_of_workspace(s, who.ws_id, url, who.actor, runtime.settings)
        return Emailing(job.ref, queued.to, queued.new)
