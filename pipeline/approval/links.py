"""Approval links (docs/proofs-and-approval.md): made, stopped, resumed, and found by their token.

Tokens are never stored or logged; a link is found by the sha256 of its token, compared in constant
time, and every link that does not work is refused the same way, so nobody learns which it was. The
words a decision is recorded in (approved, change requested) are defined here for every approval module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam
from sqlalchemy import select as select_columns  # sqlmodel\'s select takes at most four
from sqlmodel import Session, col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound
from pipeline.core.settings import Settings
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
from storage.models import (
    ApprovalLink,
    Job,
    JobStatus,
    Workspace,
    utcnow,
)

DEFAULT_EXPIRY_DAYS = 30

MAX_EXPIRY_DAYS = 365

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")

APPROVED = "approved"

CHANGE_REQUESTED = "change_requested"

DONE_STATUSES = (JobStatus.APPROVED, JobStatus.PRODUCTION_READY, JobStatus.EXPORTED, JobStatus.COMPLETED)

# a sha256 that no token produces, compared against when nothing matched so both paths do the same work
_NO_MATCH = "0" * 64


class LinkUnavailable(NotFound):
    """The token does not open a working link; callers answer with one neutral page."""


class NewLink(NamedTuple):
    link: ApprovalLink
    token: str
    url: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def approval_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/approve/{token}"


def as_utc(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def active_link(session: Session, job: Job) -> ApprovalLink | None:
    stmt = select(ApprovalLink).where(ApprovalLink.job_id == job.id, col(ApprovalLink.active).is_(True))
    return session.exec(stmt.order_by(col(ApprovalLink.id).desc())).first()


def deactivate_links(session: Session, job: Job, *, revoked_at: datetime | None = None) -> list[int]:
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
    replaced = deactivate_links(session, job)
    token = secrets.token_urlsafe(32)
    link = ApprovalLink(
        job_id=job.pk,
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
    deactivate_links(session, job, revoked_at=now or utcnow())
    record(session, job.workspace_id, job.id, Event.APPROVAL_LINK_REVOKED, actor, link_id=link.id)
    if job.status == JobStatus.PENDING_APPROVAL:
        lifecycle.move(session, job, JobStatus.PROOFING, actor, reason="the approval link was revoked")
    return link


def resume_link(session: Session, job: Job, actor: Actor) -> ApprovalLink:
    """Send the customer back to the same link after the shop took the job back to proofing."""
    job = lock_job(session, job)
    link = active_link(session, job)
    if link is None or expired(link.expires_at, utcnow()):
        raise NotFound(f"{job.ref} has no working approval link: create a new one.")
    lifecycle.move(
        session, job, JobStatus.PENDING_APPROVAL, actor, reason="approval requested again on the same link"
    )
    return link


def expired(expires_at: datetime | None, now: datetime) -> bool:
    expires = as_utc(expires_at)
    return expires is not None and expires <= now


# The link with what the page heads with, in one Core query (no ORM objects: the page is read a lot).
_LINK_QUERY = (
    select_columns(
        col(ApprovalLink.id).label("link_id"),
        col(ApprovalLink.token_hash),
        col(ApprovalLink.active),
        col(ApprovalLink.revoked_at),
        col(ApprovalLink.expires_at),
        col(ApprovalLink.last_viewed_at),
        col(Job.id).label("job_id"),
        col(Job.deleted_at),
        col(Job.status),
        col(Job.number),
        col(Job.reference),
        col(Job.due_date),
        col(Job.customer_name),
        col(Workspace.name).label("shop_name"),
    )
    .join(Job, col(Job.id) == ApprovalLink.job_id)
    .join(Workspace, col(Workspace.id) == Job.workspace_id)
)

_LINK_BY_HASH = _LINK_QUERY.where(col(ApprovalLink.token_hash) == bindparam("digest"))

LINK_BY_ID = _LINK_QUERY.where(col(ApprovalLink.id) == bindparam("link_id"))


def working_link(session: Session, token: str, now: datetime | None) -> Any:
    """The link row for `token` if it works now, else None; the hash is compared in constant time."""
    digest = hash_token(token if isinstance(token, str) and TOKEN_SHAPE.match(token) else "")
    row = session.connection().execute(_LINK_BY_HASH, {"digest": digest}).first()
    stored = row.token_hash if row is not None else _NO_MATCH
    if not hmac.compare_digest(stored, digest) or row is None:
        return None
    if not row.active or row.revoked_at is not None or expired(row.expires_at, now or utcnow()):
        return None
    return None if row.deleted_at is not None else row


def resolve(session: Session, token: str, *, now: datetime | None = None) -> ApprovalLink | None:
    """The working link for `token`, or None (unknown, malformed, expired, revoked, replaced, deleted job).

    Callers answer every None the same way, so nobody learns which of these it was.
    """
    row = working_link(session, token, now)
    return session.get(ApprovalLink, row.link_id) if row is not None else None


def resolve_or_refuse(session: Session, token: str, now: datetime | None) -> ApprovalLink:
    link = resolve(session, token, now=now)
    if link is None:
        raise LinkUnavailable("This approval link is not available.")
    return link


def customer_actor(job: Job, link: ApprovalLink) -> Actor:
    return Actor.customer(job.customer_name or "customer", link.id)
