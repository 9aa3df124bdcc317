"""Scan 3, approvals that wait and links that expire: the shop is reminded once per link
(`approval_reminder:{link_id}`), and an expired link is deactivated and reported
(`approval_expired:{link_id}`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, or_, update
from sqlalchemy import select as select_columns  # sqlmodel\'s select takes at most four
from sqlmodel import Session, col, select

from pipeline.schedule.alerts import (
    MAX_PER_CHECK,
    Alert,
    ApprovalReminder,
    LinkExpired,
    Renderer,
    ScanResult,
    as_utc,
    one_of,
    record_alerts,
    workspace_groups,
)
from pipeline.schedule.clock import workspace_zone
from storage.models import (
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    Outbox,
    ProofStatus,
    Workspace,
)


def scan_approvals(
    s: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    limit: int = MAX_PER_CHECK,
) -> None:
    by_id = {ws.pk: ws for ws in workspaces}
    _expire_links(s, by_id, now, render, result, limit=limit)
    pending = and_(col(Job.status) == JobStatus.PENDING_APPROVAL, col(Job.deleted_at).is_(None))
    reminder_key = literal("approval_reminder:") + cast(ApprovalLink.id, String)
    candidates: list[Any] = []
    for days, ws_ids in workspace_groups(workspaces, lambda ws: max(ws.approval_reminder_days, 0.0)).items():
        if len(candidates) >= limit:
            result.backlog = True
            break
        cutoff = now - timedelta(days=days)
        rows = s.execute(
            select_columns(
                col(ApprovalLink.id).label("link_id"),
                col(ApprovalLink.created_at),
                col(Job.id),
                col(Job.workspace_id),
                col(Job.number),
                col(Job.customer_name),
                col(Job.customer_email),
                col(Job.status_changed_at),
            )
            .join(Job, col(Job.id) == col(ApprovalLink.job_id))
            .where(
                col(Job.workspace_id).in_(ws_ids),
                pending,
                col(ApprovalLink.active).is_(True),
                or_(col(ApprovalLink.expires_at).is_(None), col(ApprovalLink.expires_at) > now),
                # waiting since the link was made, or since the job went back to the customer on it
                col(ApprovalLink.created_at) <= cutoff,
                col(Job.status_changed_at) <= cutoff,
                ~select(Outbox.id).where(col(Outbox.dedupe_key) == reminder_key).exists(),
            )
            .order_by(col(ApprovalLink.created_at), col(ApprovalLink.id))  # the longest waiting first
            .limit(limit - len(candidates))
        ).all()
        candidates.extend(rows)
        result.backlog |= len(candidates) >= limit
    progress = approval_progress(s, [r.id for r in candidates])
    alerts: list[Alert] = []
    for r in candidates:
        tz = workspace_zone(by_id[r.workspace_id])
        since = max(as_utc(r.created_at), as_utc(r.status_changed_at))
        approved, items = progress.get(r.id, (0, 0))
        alerts.append(
            ApprovalReminder(
                workspace_id=r.workspace_id,
                job_id=r.id,
                ref=f"J-{r.number}",
                customer=r.customer_name,
                email=r.customer_email,
                link_id=r.link_id,
                waiting_since_local=since.astimezone(tz),
                days=(now - since).total_seconds() / 86400,
                approved=approved,
                items=items,
            )
        )
    result.add(ApprovalReminder.kind, record_alerts(s, alerts, render))


def _expire_links(
    s: Session,
    by_id: dict[int, Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    limit: int = MAX_PER_CHECK,
) -> None:
    """Deactivate links past their expiry; a job still waiting for approval hears about it (it stays
    pending_approval: the shop makes a new link or records the customer's answer)."""
    first = (
        select(ApprovalLink.id)
        .where(
            col(ApprovalLink.active).is_(True),
            col(ApprovalLink.expires_at).is_not(None),
            col(ApprovalLink.expires_at) <= now,
        )
        .order_by(col(ApprovalLink.expires_at), col(ApprovalLink.id))
        .limit(limit)
    )
    expired = s.execute(
        update(ApprovalLink)
        .where(col(ApprovalLink.id).in_(first.scalar_subquery()), col(ApprovalLink.active).is_(True))
        .values(active=False)
        .returning(col(ApprovalLink.id), col(ApprovalLink.job_id), col(ApprovalLink.expires_at))
        .execution_options(synchronize_session=False)
    ).all()
    result.links_expired += len(expired)
    result.backlog |= len(expired) >= limit
    if not expired:
        return
    jobs: dict[int, Any] = {}
    for among in one_of(s, col(Job.id), sorted({r.job_id for r in expired})):
        for row in s.execute(
            select(col(Job.id), col(Job.workspace_id), col(Job.number)).where(
                among,
                col(Job.status) == JobStatus.PENDING_APPROVAL,
                col(Job.deleted_at).is_(None),
            )
        ):
            jobs[row.id] = row
    alerts: list[Alert] = []
    for r in sorted(expired, key=lambda r: r.id):
        j = jobs.get(r.job_id)
        if j is None:
            continue
        alerts.append(
            LinkExpired(
                workspace_id=j.workspace_id,
                job_id=j.id,
                ref=f"J-{j.number}",
                link_id=r.id,
                expired_local=as_utc(r.expires_at).astimezone(workspace_zone(by_id[j.workspace_id])),
            )
        )
    result.add(LinkExpired.kind, record_alerts(s, alerts, render))


def approval_progress(s: Session, job_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(approved items, items) per job."""
    out: dict[int, tuple[int, int]] = {}
    approved = func.sum(case((col(Item.proof_status) == ProofStatus.APPROVED, 1), else_=0))
    for among in one_of(s, col(Item.job_id), job_ids):
        rows = s.execute(
            select(col(Item.job_id), approved, func.count()).where(among).group_by(col(Item.job_id))
        ).all()
        out.update({job_id: (int(a or 0), int(n)) for job_id, a, n in rows})
    return out
