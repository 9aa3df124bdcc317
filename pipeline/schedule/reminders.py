"""Scan 5, the customer's reminders (docs/proofs-and-approval.md): an emailed approval link the customer
has not answered is followed by up to two reminder emails, recorded in the outbox with `via="email"`
(`email:reminder{n}:{link_id}`, see pipeline/approval/customer_mail.py) and sent by the mail sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import and_, delete, func, or_
from sqlalchemy import select as select_columns  # sqlmodel\'s select takes at most four
from sqlmodel import Session, col, select

from pipeline.approval.customer_mail import KIND, MAX_REMINDERS, reminder_key
from pipeline.schedule.alerts import Alert, ScanResult, existing_keys, record_alerts, workspace_groups
from storage.db import rowcount
from storage.models import ApprovalLink, Job, JobStatus, LinkMail, Workspace


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
    for days, ws_ids in workspace_groups(workspaces, lambda ws: ws.customer_reminder_days).items():
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
