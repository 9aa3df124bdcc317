"""Scan 1, due-date urgency: jobs that became due soon or overdue, flagged once per level and due date
(`urgency:{job_id}:{level}:{due_date}`); the stored urgency follows silently in both directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, or_, update
from sqlmodel import Session, col, select

from pipeline.schedule.alerts import (
    MAX_PER_CHECK,
    Alert,
    Renderer,
    ScanResult,
    UrgencyAlert,
    open_job,
    record_alerts,
    workspace_groups,
)
from pipeline.schedule.clock import workspace_zone
from storage.models import (
    Job,
    Workspace,
)

OVERDUE, DUE_SOON = "overdue", "due_soon"


def urgency_level_sql(today: date, soon: date) -> Any:
    """pipeline.jobs.urgency_of as SQL: "overdue", "due_soon" or ""."""
    dated = and_(open_job(), col(Job.due_date).is_not(None))
    return case(
        (and_(dated, col(Job.due_date) < today), OVERDUE),
        (and_(dated, col(Job.due_date) <= soon), DUE_SOON),
        else_="",
    )


def scan_urgency(
    s: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    limit: int = MAX_PER_CHECK,
) -> None:
    """Store each job's urgency in `job.urgency` and say so in its thread when it becomes due soon or
    overdue (a change back to nothing, e.g. after export, is stored silently)."""
    budget = limit
    groups = workspace_groups(
        workspaces, lambda ws: (now.astimezone(workspace_zone(ws)).date(), ws.due_soon_days)
    )
    for (today, window), ws_ids in groups.items():
        if budget <= 0:
            result.backlog = True
            break
        soon = today + timedelta(days=max(window, 0))
        level = urgency_level_sql(today, soon)
        differs = and_(
            col(Job.workspace_id).in_(ws_ids),
            or_(col(Job.urgency) != "", col(Job.due_date) <= soon),  # a cheap first filter
            level != col(Job.urgency),
        )
        first = select(Job.id).where(differs).order_by(col(Job.due_date), col(Job.id)).limit(budget)
        # read and write in one statement: the stored level and the alert can never disagree
        changed = s.execute(
            update(Job)
            .where(col(Job.id).in_(first.scalar_subquery()), differs)
            .values(urgency=level)
            .returning(
                col(Job.id),
                col(Job.workspace_id),
                col(Job.number),
                col(Job.customer_name),
                col(Job.status),
                col(Job.due_date),
                col(Job.urgency),
            )
            .execution_options(synchronize_session=False)
        ).all()
        alerts: list[Alert] = [
            UrgencyAlert(
                workspace_id=r.workspace_id,
                job_id=r.id,
                ref=f"J-{r.number}",
                customer=r.customer_name,
                status=r.status,
                due_date=r.due_date,
                level=r.urgency,
                today=today,
            )
            for r in sorted(changed, key=lambda r: (r.workspace_id, r.number))
            if r.urgency
        ]
        result.add(UrgencyAlert.kind, record_alerts(s, alerts, render))
        result.urgency_changes += len(changed)
        budget -= len(changed)
        result.backlog |= budget <= 0
