"""Scan 4, the daily digest: per workspace, at its digest time, the jobs overdue, due today, due soon
and waiting for approval (`digest:{workspace_id}:{local_date}`); a day with nothing to say is
recorded as `skipped`, so a job added later that day posts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from pipeline.schedule.alerts import (
    Digest,
    DigestEntry,
    DigestSection,
    Renderer,
    ScanResult,
    digest_key,
    existing_keys,
    open_job,
    record_alerts,
)
from pipeline.schedule.clock import digest_due
from storage.models import (
    Job,
    JobStatus,
    Workspace,
)

DIGEST_LIST_LIMIT = 10  # jobs listed per digest section; the rest are counted

SECTIONS = (
    ("overdue", "Overdue"),
    ("due_today", "Due today"),
    ("due_soon", "Due soon"),
    ("waiting_approval", "Waiting for approval"),
    ("blocked", "Blocked by preflight errors"),
    ("ready", "Ready to export"),
)


def _section_conditions(today: date, window: int) -> dict[str, Any]:
    dated = and_(open_job(), col(Job.due_date).is_not(None))
    live = col(Job.deleted_at).is_(None)
    return {
        "overdue": and_(dated, col(Job.due_date) < today),
        "due_today": and_(dated, col(Job.due_date) == today),
        "due_soon": and_(
            dated, col(Job.due_date) > today, col(Job.due_date) <= today + timedelta(days=max(window, 0))
        ),
        "waiting_approval": and_(live, col(Job.status) == JobStatus.PENDING_APPROVAL),
        "blocked": and_(open_job(), col(Job.preflight_errors) > 0),
        "ready": and_(live, col(Job.status) == JobStatus.PRODUCTION_READY),
    }


def build_digest(s: Session, ws: Workspace, today: date, *, limit: int = DIGEST_LIST_LIMIT) -> Digest:
    """The digest's lists for `ws` on its local date `today`: a count per section and its first jobs,
    soonest due first."""
    conds = _section_conditions(today, ws.due_soon_days)
    counts = s.execute(
        select(*(func.sum(case((cond, 1), else_=0)) for cond in conds.values())).where(
            col(Job.workspace_id) == ws.id
        )
    ).one()
    sections = []
    for (key, title), total in zip(SECTIONS, counts, strict=True):
        if not total:
            continue
        rows = s.execute(
            select(col(Job.number), col(Job.customer_name), col(Job.status), col(Job.due_date))
            .where(col(Job.workspace_id) == ws.id, conds[key])
            .order_by(col(Job.due_date).is_(None), col(Job.due_date), col(Job.number))
            .limit(limit)
        ).all()
        entries = tuple(DigestEntry(f"J-{r.number}", r.customer_name, r.status, r.due_date) for r in rows)
        sections.append(DigestSection(key, title, int(total), entries))
    return Digest(workspace_id=ws.pk, job_id=None, shop=ws.name, local_date=today, sections=tuple(sections))


def scan_digests(
    s: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    fallback_channel: str | None = None,
) -> None:
    """Record each workspace's digest once its local digest time has come. Thread alerts of a workspace
    without a production channel wait in the outbox until it has one; its digest is not made at all
    (it would be stale by then): a channel set later that day still gets that day's digest."""
    due = {
        ws.pk: (ws, day)
        for ws in workspaces
        if (ws.production_channel or fallback_channel) and (day := digest_due(ws, now)) is not None
    }
    if not due:
        return
    done = existing_keys(s, [digest_key(ws_id, day) for ws_id, (_, day) in due.items()])
    posted: list[Digest] = []
    quiet: list[Digest] = []
    for ws_id, (ws, day) in due.items():
        if digest_key(ws_id, day) in done:
            continue
        digest = build_digest(s, ws, day)
        (quiet if digest.empty else posted).append(digest)
    result.add(Digest.kind, record_alerts(s, posted, render))
    record_alerts(s, quiet, render, state="skipped")  # the day's decision, never sent
