"""The approval link by email, and reminders to a customer who has not answered (docs/proofs-and-approval.md).

Emails go through the outbox like Slack posts (`via="email"`), each with a dedupe key naming its link
and purpose, so asking twice, a restart or a second scheduler copy never sends one twice:

    email:link:{link_id}         the link itself, when the shop asks for it to be emailed
    email:reminder1:{link_id}    N days after the link email was accepted (the workspace's
                                 `customer_reminder_days`, default 2; 0: no reminders)
    email:reminder2:{link_id}    N days after the first reminder was accepted, if the link still works

A reminder is recorded only while the link works and the job waits for the customer, and the sender
checks both again just before it sends; the last one is two reminders per link. The scheduler's scan
records the reminders (pipeline/schedule/reminders.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from pipeline.approval import links
from pipeline.core.actors import Actor
from pipeline.core.addresses import ADDRESS
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.core.keys import seal
from pipeline.core.outbox import enqueue
from pipeline.core.settings import Settings
from storage.models import Job, JobStatus, LinkMail, Workspace

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
    link = links.resolve(session, token)
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
    link = links.resolve(session, token)
    job = session.get(Job, link.job_id) if link is not None else None
    if job is None or job.workspace_id != workspace_id:
        raise InvalidInput({"link": "That approval link no longer works: make a new one first."})
    return job, email_link(session, job, url, actor, settings)
