"""The approval link by email, and reminders to a customer who has not answered (docs/proofs-and-approval.md).

Emails go through the outbox like Slack posts (`via="email"`), each with a dedupe key naming its link
and purpose, so asking twice, a restart or a second scheduler copy never sends one twice:

    email:link:{link_id}         the link itself, when the shop asks for it to be emailed
    email:reminder1:{link_id}    N days after the link email was accepted (the workspace's
                                 `customer_reminder_days`, default 2; 0: no reminders)
    email:reminder2:{link_id}    N days after the first reminder was accepted, if the link still works

A reminder is recorded only while the link works and the job waits for the customer, and the sender
checks both again just before it sends; the last one is two reminders per link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import and_, delete, func, or_
from sqlalchemy import select as select_columns  # sqlmodel's select takes at most four
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from pipeline import approvals
from pipeline.actors import Actor
from pipeline.errors import CraftError, InvalidInput
from pipeline.keys import seal
from pipeline.mail import ADDRESS
from pipeline.outbox import enqueue
from pipeline.scheduler import Alert, ScanResult, _group, existing_keys, record_alerts
from pipeline.settings import Settings
from storage.db import rowcount
from storage.models import ApprovalLink, Job, JobStatus, LinkMail, Workspace

KIND = "customer_email"
MAX_REMINDERS = 2


class MailNotSetUp(CraftError):
    """SMTP_URL or the sender address is missing: nothing can be emailed."""


def link_key(link_id: int) -> str:
    return f"email:link:{link_id}"


def reminder_key(link_id: int, number: int) -> str:
    return f"email:reminder{number}:{link_id}"


def sender_address(settings: Settings, ws: Workspace) -> str | None:
    return ws.mail_from or settings.mail_from


def require_mail(settings: Settings, ws: Workspace) -> None:
    if not settings.mail_enabled:
        raise MailNotSetUp("Email is not set up: set SMTP_URL (see README, “Email to customers”).")
    if sender_address(settings, ws) is None:
        raise MailNotSetUp("Email has no sender address: set CRAFTSTAGE_MAIL_FROM (or the workspace's own).")


@dataclass(frozen=True)
class Queued:
    to: str
    link_id: int
    new: bool  # False: this link was emailed (or is on its way) already


def email_link(session: Session, job: Job, url: str, actor: Actor, settings: Settings) -> Queued:
    """Record the email carrying `url` (the job's working approval link) to the customer.

    The link must still work and belong to `job`: only someone who has the link can have it emailed.
    Returns whether a new email was recorded (one per link: asking again does nothing)."""
    ws = session.get_one(Workspace, job.workspace_id)
    require_mail(settings, ws)
    token = url.rsplit("/approve/", 1)[-1] if "/approve/" in url else ""
    link = approvals.resolve(session, token)
    if link is None or link.job_id != job.id:
        raise InvalidInput({"link": f"That link of {job.ref} no longer works: make a new one first."})
    if job.status != JobStatus.PENDING_APPROVAL:
        raise InvalidInput({"link": f"{job.ref} is not waiting for the customer's approval."})
    to = job.customer_email.strip()
    if not ADDRESS.match(to) or not to.isprintable():
        raise InvalidInput({"customer_email": f"{to!r} is not a valid email address: correct it on the job"})
    assert link.id is not None
    existing = session.exec(select(LinkMail).where(LinkMail.link_id == link.id)).first()
    if existing is None:
        try:
            with session.begin_nested():
                session.add(LinkMail(link_id=link.id, job_id=job.id, to_address=to, url=seal(settings, url)))
                session.flush()
        except IntegrityError:  # the same link, asked for at the same moment (a double click)
            pass
    row = enqueue(
        session,
        job.workspace_id,
        job.id,
        KIND,
        {"purpose": "link", "link_id": link.id, "to": to, "by": actor.display[:200]},
        dedupe_key=link_key(link.id),
        via="email",
    )
    return Queued(to=to, link_id=link.id, new=row is not None)


def email_link_of_workspace(
    session: Session, workspace_id: int, url: str, actor: Actor, settings: Settings
) -> tuple[Job, Queued]:
    """`email_link` for a link given by its URL alone (a button in Slack carries it): the link must
    work and its job belong to `workspace_id`; any other link gets the same answer."""
    token = url.rsplit("/approve/", 1)[-1] if "/approve/" in url else ""
    link = approvals.resolve(session, token)
    job = session.get(Job, link.job_id) if link is not None else None
    if job is None or job.workspace_id != workspace_id:
        raise InvalidInput({"link": "That approval link no longer works: make a new one first."})
    return job, email_link(session, job, url, actor, settings)


# ---- reminders (a part of the scheduler's scan) ------------------------------------------------


@dataclass(frozen=True)
class CustomerReminder(Alert):
    kind: ClassVar[str] = KIND
    via: ClassVar[str] = "email"
    link_id: int
    number: int  # 1 or 2
    to: str

    @property
    def dedupe_key(self) -> str:
        return reminder_key(self.link_id, self.number)

    def payload(self) -> dict[str, Any]:
        return {"purpose": "reminder", "number": self.number, "link_id": self.link_id, "to": self.to}


def forget_dead_links(s: Session) -> int:
    """Delete the kept URLs of links that no longer work (revoked, replaced, expired)."""
    dead = select(ApprovalLink.id).where(col(ApprovalLink.active).is_(False))
    return rowcount(s.execute(delete(LinkMail).where(col(LinkMail.link_id).in_(dead))))


def scan_reminders(
    s: Session, workspaces: Sequence[Workspace], now: datetime, result: ScanResult, *, limit: int
) -> None:
    """Record the reminders that are due (see the module docstring); runs after links expired."""
    forget_dead_links(s)
    last_mail = func.coalesce(col(LinkMail.reminded_at), col(LinkMail.emailed_at))
    candidates: list[Any] = []
    for days, ws_ids in _group(workspaces, lambda ws: ws.customer_reminder_days).items():
        if days <= 0:
            continue  # reminders are off in these workspaces
        if len(candidates) >= limit:
            result.backlog = True
            break
        cutoff = now - timedelta(days=days)
        rows = s.execute(
            select_columns(
                col(LinkMail.link_id),
                col(LinkMail.to_address),
                col(LinkMail.reminders),
                col(Job.id),
                col(Job.workspace_id),
            )
            .join(ApprovalLink, col(ApprovalLink.id) == col(LinkMail.link_id))
            .join(Job, col(Job.id) == col(LinkMail.job_id))
            .where(
                col(Job.workspace_id).in_(ws_ids),
                col(Job.status) == JobStatus.PENDING_APPROVAL,
                col(Job.deleted_at).is_(None),
                col(ApprovalLink.active).is_(True),
                col(ApprovalLink.revoked_at).is_(None),
                or_(col(ApprovalLink.expires_at).is_(None), col(ApprovalLink.expires_at) > now),
                col(LinkMail.emailed_at).is_not(None),
                col(LinkMail.reminders) < MAX_REMINDERS,
                # waited N days since the last email, and since the job last came back to the customer
                and_(last_mail <= cutoff, col(Job.status_changed_at) <= cutoff),
            )
            .order_by(last_mail, col(LinkMail.link_id))
            .limit(limit - len(candidates))
        ).all()
        candidates.extend(rows)
    alerts = [
        CustomerReminder(
            workspace_id=r.workspace_id,
            job_id=r.id,
            link_id=r.link_id,
            number=r.reminders + 1,
            to=r.to_address,
        )
        for r in candidates
    ]
    # a reminder whose key exists is on its way, or was refused for good: never recorded again
    done = existing_keys(s, (a.dedupe_key for a in alerts))
    alerts = [a for a in alerts if a.dedupe_key not in done]
    payloads = {a.dedupe_key: a.payload() for a in alerts}
    result.add(KIND, record_alerts(s, alerts, lambda a: payloads[a.dedupe_key]))
