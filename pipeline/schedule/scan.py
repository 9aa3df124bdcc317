"""One round of the scheduler's scans (docs/slack.md, "Scheduler"): due dates, preflight errors that
sit, approvals that wait, approval links that expire, the customer's reminders and the daily digest.

Slack-free: a scan works out what to say (the `Alert` classes in alerts.py), has it rendered by the caller's
`render` function (bot/scheduler.py builds Block Kit) and records it in the outbox in the same
transaction as the state it changes; the Slack sender (bot/notifier.py) delivers it and retries until
Slack takes it. Every alert carries a dedupe key naming its condition, so recording it again (after a
restart, a crash half-way, or by a second copy of the app) is a no-op:

    urgency:{job_id}:{level}:{due_date}   a job became due soon / overdue (a new due date can flag again)
    preflight:{job_id}:{errors_since}     preflight errors unresolved too long, once per error episode
    approval_reminder:{link_id}           the customer has had the link too long without deciding
    email:reminder{n}:{link_id}           the customer's emailed reminder n = 1, 2 (approval/customer_mail.py)
    approval_expired:{link_id}            the link expired; the scan deactivated it
    digest:{workspace_id}:{local_date}    the daily digest; a day with nothing to say is recorded as
                                          `skipped`, so a job added later that day posts nothing

On PostgreSQL one copy scans at a time (a transaction-level advisory lock, per schema; a copy that finds
it taken skips the round). SQLite writers are serialized by BEGIN IMMEDIATE; the dedupe keys do the rest.

Time comes in as `now` (aware), so tests drive weeks of calendar in milliseconds. Dates are local dates
in the workspace's time zone. Working hours, which "preflight errors unresolved for N hours" counts, are
Monday to Friday 09:00–17:00 in the workspace's time zone; public holidays count as working days.

The checks themselves live beside this module: urgency, preflight, approvals, reminders and digest.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import text
from sqlmodel import col, select

from pipeline.schedule.alerts import MAX_PER_CHECK, Renderer, ScanResult
from pipeline.schedule.approvals import scan_approvals
from pipeline.schedule.digest import scan_digests
from pipeline.schedule.preflight import scan_preflight
from pipeline.schedule.reminders import scan_reminders
from pipeline.schedule.urgency import scan_urgency
from storage.db import Database
from storage.models import (
    Workspace,
    utcnow,
)

log = logging.getLogger(__name__)


SCAN_LOCK = 0x43534348  # "CSCH": the PostgreSQL advisory lock of the scheduler, with the schema

# Advisory locks are per database, not per schema: keyed by the schema too, copies of CraftStage in
# different schemas of one database (test runs, for one) never hold each other up.
SCAN_LOCK_ARGS = "(:k, hashtext(current_schema()))"


def scan(
    db: Database,
    render: Renderer,
    now: datetime | None = None,
    *,
    fallback_channel: str | None = None,
    limit: int = MAX_PER_CHECK,
) -> ScanResult:
    """One round of every check for every workspace, in one transaction; see the module docstring.

    `fallback_channel` is the channel a workspace without its own production channel posts to
    (CRAFTSTAGE_CHANNEL); only the digest asks, see `scan_digests`."""
    now = (now or utcnow()).astimezone(UTC)
    result = ScanResult()
    with db.session() as s:
        if not db.is_sqlite:
            got = s.execute(
                text(f"SELECT pg_try_advisory_xact_lock{SCAN_LOCK_ARGS}"), {"k": SCAN_LOCK}
            ).scalar()
            if not got:
                return ScanResult(skipped=True)
        workspaces = list(s.exec(select(Workspace).order_by(col(Workspace.id))))
        if not workspaces:
            return result
        scan_urgency(s, workspaces, now, render, result, limit=limit)
        scan_preflight(s, workspaces, now, render, result, limit=limit)
        scan_approvals(s, workspaces, now, render, result, limit=limit)
        scan_reminders(s, workspaces, now, result, limit=limit)
        scan_digests(s, workspaces, now, render, result, fallback_channel=fallback_channel)
    if result.total or result.urgency_changes:
        log.info(
            "scheduler at %s: recorded %s; %d urgency change(s), %d link(s) expired%s",
            now.isoformat(timespec="minutes"),
            result.recorded or "nothing",
            result.urgency_changes,
            result.links_expired,
            "; more next round" if result.backlog else "",
        )
    return result
