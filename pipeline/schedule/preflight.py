"""Scan 2, preflight errors that sit: a job whose errors stayed unresolved for the workspace's working
hours is flagged once per error episode (`preflight:{job_id}:{errors_since}`), naming who last worked on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func
from sqlalchemy import select as select_columns  # sqlmodel\'s select takes at most four
from sqlmodel import Session, col, select

from pipeline.schedule.alerts import (
    MAX_PER_CHECK,
    Alert,
    PreflightAlert,
    Renderer,
    ScanResult,
    as_utc,
    existing_keys,
    one_of,
    open_job,
    record_alerts,
    workspace_groups,
)
from pipeline.schedule.clock import working_deadline, workspace_zone
from storage.models import (
    ActivityEvent,
    Job,
    Member,
    Workspace,
)


def scan_preflight(
    s: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    limit: int = MAX_PER_CHECK,
) -> None:
    """Flag a job whose preflight errors have stood longer than the workspace's working hours, once per
    episode (an episode starts when errors appear on a clean job: `preflight_errors_since`)."""
    by_id = {ws.id: ws for ws in workspaces}
    candidates: list[Any] = []
    for hours, ws_ids in workspace_groups(workspaces, lambda ws: max(ws.preflight_alert_hours, 0.0)).items():
        # working hours never outrun the wall clock, so the cutoff is a safe first filter
        rows = s.execute(
            select_columns(
                col(Job.id),
                col(Job.workspace_id),
                col(Job.number),
                col(Job.preflight_errors),
                col(Job.preflight_errors_since),
            ).where(
                col(Job.workspace_id).in_(ws_ids),
                open_job(),
                col(Job.preflight_errors) > 0,
                col(Job.preflight_errors_since) <= now - timedelta(hours=hours),
            )
        ).all()
        candidates.extend(rows)
    keys = {r.id: f"preflight:{r.id}:{as_utc(r.preflight_errors_since).isoformat()}" for r in candidates}
    done = existing_keys(s, keys.values())
    due = []
    for r in candidates:
        if keys[r.id] in done:
            continue
        ws = by_id[r.workspace_id]
        since = as_utc(r.preflight_errors_since)
        if working_deadline(since, ws.preflight_alert_hours, workspace_zone(ws)) <= now:
            due.append(r)
    if len(due) > limit:
        result.backlog = True
        due = sorted(due, key=lambda r: as_utc(r.preflight_errors_since))[:limit]  # the longest first
    who = last_user_actors(s, [r.id for r in due])
    alerts: list[Alert] = []
    for r in sorted(due, key=lambda r: (r.workspace_id, r.number)):
        ws = by_id[r.workspace_id]
        since = as_utc(r.preflight_errors_since)
        user_id, name = who.get(r.id, (None, None))
        alerts.append(
            PreflightAlert(
                workspace_id=r.workspace_id,
                job_id=r.id,
                ref=f"J-{r.number}",
                errors=r.preflight_errors,
                since=since,
                since_local=since.astimezone(workspace_zone(ws)),
                hours=ws.preflight_alert_hours,
                who_user_id=user_id,
                who_name=name,
            )
        )
    result.add(PreflightAlert.kind, record_alerts(s, alerts, render))


def last_user_actors(s: Session, job_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
    """For each job, the person (not the customer, not the system) who last did something to it:
    (their Slack id if they are a member of the workspace, else None; the name the log has)."""
    found: dict[int, tuple[str | None, str | None]] = {}
    for among in one_of(s, col(ActivityEvent.job_id), job_ids):
        last = (
            select(col(ActivityEvent.job_id).label("job_id"), func.max(ActivityEvent.id).label("event_id"))
            .where(among, col(ActivityEvent.actor_kind) == "user")
            .group_by(col(ActivityEvent.job_id))
            .subquery()
        )
        rows = s.execute(
            select(col(ActivityEvent.job_id), col(ActivityEvent.actor_display), col(Member.slack_user_id))
            .join(last, col(ActivityEvent.id) == last.c.event_id)
            .outerjoin(
                Member,
                and_(
                    col(Member.workspace_id) == col(ActivityEvent.workspace_id),
                    col(Member.slack_user_id) == col(ActivityEvent.actor_id),
                ),
            )
        ).all()
        for r in rows:
            found[r.job_id] = (r.slack_user_id, r.actor_display or None)
    return found
