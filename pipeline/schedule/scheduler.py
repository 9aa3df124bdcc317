"""The scheduler's scans (docs/slack.md, "Scheduler"): due dates, preflight errors that sit, approvals that
wait, approval links that expire, and the daily digest.

Slack-free: a scan works out what to say (the `Alert` classes below), has it rendered by the caller's
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
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import String, and_, any_, bindparam, case, cast, func, literal, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from pipeline.jobs.jobs import FINISHED
from storage.db import Database
from storage.models import (
    ActivityEvent,
    ApprovalLink,
    Item,
    Job,
    JobStatus,
    Member,
    Outbox,
    ProofStatus,
    Workspace,
    utcnow,
)

log = logging.getLogger(__name__)

WORKDAYS = frozenset(range(5))  # Monday … Friday
WORKDAY_START = time(9, 0)
WORKDAY_END = time(17, 0)
DIGEST_LIST_LIMIT = 10  # jobs listed per digest section; the rest are counted
# New alerts one check records per scan, most pressing first. A backlog (a scheduler started on a full
# database) drains over the next scans: each transaction stays short (SQLite's write lock, PostgreSQL's
# row locks), and Slack takes about one message a second per channel anyway.
MAX_PER_CHECK = 2000
DEFAULT_DIGEST_TIME = time(8, 30)
OVERDUE, DUE_SOON = "overdue", "due_soon"
SCAN_LOCK = 0x43534348  # "CSCH": the PostgreSQL advisory lock of the scheduler, with the schema
# Advisory locks are per database, not per schema: keyed by the schema too, copies of CraftStage in
# different schemas of one database (test runs, for one) never hold each other up.
SCAN_LOCK_ARGS = "(:k, hashtext(current_schema()))"
_CHUNK = 1000


# ---- working hours -----------------------------------------------------------------------------


def _work_windows(start: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """The working periods (aware, UTC) from the local day of `start` on, without end."""
    day = start.astimezone(tz).date()
    while True:
        if day.weekday() in WORKDAYS:
            opens = datetime.combine(day, WORKDAY_START, tz).astimezone(UTC)
            closes = datetime.combine(day, WORKDAY_END, tz).astimezone(UTC)
            yield opens, closes
        day += timedelta(days=1)


def working_deadline(start: datetime, hours: float, tz: ZoneInfo) -> datetime:
    """The moment `hours` working hours have passed since `start` (zero hours: `start` itself)."""
    left = timedelta(hours=hours)
    if left <= timedelta(0):
        return start
    for opens, closes in _work_windows(start, tz):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    raise AssertionError("unreachable: the working week never ends")


def working_hours_between(start: datetime, end: datetime, tz: ZoneInfo) -> float:
    """Working hours from `start` to `end` (0 when `end` is not later)."""
    total = timedelta(0)
    for opens, closes in _work_windows(start, tz):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return total.total_seconds() / 3600


# ---- workspace clocks --------------------------------------------------------------------------

_warned_zones: set[str] = set()


def workspace_zone(ws: Workspace) -> ZoneInfo:
    """The workspace's time zone; a name that is not one (stored before it was checked) counts as UTC."""
    try:
        return ZoneInfo(ws.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        if ws.timezone not in _warned_zones:
            _warned_zones.add(ws.timezone)
            log.warning("workspace %s has an unknown time zone %r; using UTC", ws.id, ws.timezone)
        return ZoneInfo("UTC")


def digest_time(ws: Workspace) -> time:
    try:
        hh, mm = (int(part) for part in ws.digest_time.split(":"))
        return time(hh, mm)
    except (ValueError, TypeError):
        return DEFAULT_DIGEST_TIME


def digest_due(ws: Workspace, now: datetime) -> date | None:
    """The local date whose digest is due at `now`, or None.

    Due from the digest time on (compared on the local wall clock) until the end of that local day, so
    a scan that missed the exact minute (a restart, a DST jump over the digest time) still posts it; a
    digest time that a DST change repeats is still one digest, by its dedupe key.
    """
    local = now.astimezone(workspace_zone(ws))
    if local.weekday() >= 5 and not ws.digest_weekends:
        return None
    return local.date() if local.time().replace(tzinfo=None) >= digest_time(ws) else None


# ---- what the scans say ------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    kind: ClassVar[str]
    via: ClassVar[str] = "slack"  # or "email": the customer's reminders (pipeline/approval/customer_mail.py)
    workspace_id: int
    job_id: int | None

    @property
    def dedupe_key(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class UrgencyAlert(Alert):
    kind: ClassVar[str] = "urgency"
    ref: str
    customer: str
    status: str
    due_date: date
    level: str  # due_soon | overdue
    today: date  # the workspace's local date when it was flagged

    @property
    def dedupe_key(self) -> str:
        return f"urgency:{self.job_id}:{self.level}:{self.due_date.isoformat()}"


@dataclass(frozen=True)
class PreflightAlert(Alert):
    kind: ClassVar[str] = "preflight_alert"
    ref: str
    errors: int
    since: datetime  # when the errors appeared (aware, UTC)
    since_local: datetime
    hours: float  # the workspace's threshold, in working hours
    who_user_id: str | None  # a member's Slack id: the last one who worked on the job
    who_name: str | None  # otherwise the name the activity log has for them

    @property
    def dedupe_key(self) -> str:
        return f"preflight:{self.job_id}:{self.since.astimezone(UTC).isoformat()}"


@dataclass(frozen=True)
class ApprovalReminder(Alert):
    kind: ClassVar[str] = "approval_reminder"
    ref: str
    customer: str
    email: str
    link_id: int
    waiting_since_local: datetime
    days: float  # how long it has waited
    approved: int
    items: int

    @property
    def dedupe_key(self) -> str:
        return f"approval_reminder:{self.link_id}"


@dataclass(frozen=True)
class LinkExpired(Alert):
    kind: ClassVar[str] = "approval_expired"
    ref: str
    link_id: int
    expired_local: datetime

    @property
    def dedupe_key(self) -> str:
        return f"approval_expired:{self.link_id}"


@dataclass(frozen=True)
class DigestEntry:
    ref: str
    customer: str
    status: str
    due_date: date | None


@dataclass(frozen=True)
class DigestSection:
    key: str
    title: str
    total: int
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest(Alert):
    kind: ClassVar[str] = "digest"
    shop: str
    local_date: date
    sections: tuple[DigestSection, ...]  # only the non-empty ones

    @property
    def dedupe_key(self) -> str:
        return digest_key(self.workspace_id, self.local_date)

    @property
    def empty(self) -> bool:
        return not self.sections


def digest_key(workspace_id: int, local_date: date) -> str:
    return f"digest:{workspace_id}:{local_date.isoformat()}"


Renderer = Callable[[Alert], dict[str, Any]]


@dataclass
class ScanResult:
    """What one scan did; `skipped` when another copy of the scheduler held the lock."""

    skipped: bool = False
    recorded: dict[str, int] = field(default_factory=dict)  # outbox rows new in this scan, by kind
    backlog: bool = False  # a check had more to record than MAX_PER_CHECK: the next scan goes on
    urgency_changes: int = 0  # jobs whose stored urgency changed (also the silent ones, back to "")
    links_expired: int = 0

    @property
    def total(self) -> int:
        return sum(self.recorded.values())

    def add(self, kind: str, n: int) -> None:
        if n:
            self.recorded[kind] = self.recorded.get(kind, 0) + n


# ---- the scan ----------------------------------------------------------------------------------


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
        from pipeline.approval import customer_mail  # it builds on this module's alerts and recording

        customer_mail.scan_reminders(s, workspaces, now, result, limit=limit)
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


def _group(workspaces: Iterable[Workspace], key: Callable[[Workspace], Any]) -> dict[Any, list[int]]:
    """Workspace ids by a computed key, so each distinct (date, window …) costs one query, not one each."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for ws in workspaces:
        groups[key(ws)].append(ws.id)  # type: ignore[arg-type]
    return groups


def _chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _one_of(s: Session, column: Any, values: Sequence[Any]) -> Iterator[ColumnElement[bool]]:
    """`column IN values` as few conditions as the database allows: one array parameter on
    PostgreSQL (thousands of placeholders cost more to build than to run), chunks on SQLite."""
    if not values:
        return
    if s.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return
    for chunk in _chunks(values):
        yield column.in_(chunk)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _open_job() -> Any:
    return and_(col(Job.deleted_at).is_(None), col(Job.status).not_in(FINISHED))


# ---- 1. due-date urgency -----------------------------------------------------------------------


def urgency_level_sql(today: date, soon: date) -> Any:
    """pipeline.jobs.urgency_of as SQL: "overdue", "due_soon" or ""."""
    dated = and_(_open_job(), col(Job.due_date).is_not(None))
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
    groups = _group(workspaces, lambda ws: (now.astimezone(workspace_zone(ws)).date(), ws.due_soon_days))
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


# ---- 2. preflight errors that sit --------------------------------------------------------------


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
    candidates = []
    for hours, ws_ids in _group(workspaces, lambda ws: max(ws.preflight_alert_hours, 0.0)).items():
        # working hours never outrun the wall clock, so the cutoff is a safe first filter
        rows = s.execute(
            select(
                Job.id,
                Job.workspace_id,
                Job.number,
                Job.preflight_errors,
                Job.preflight_errors_since,
            ).where(
                col(Job.workspace_id).in_(ws_ids),
                _open_job(),
                col(Job.preflight_errors) > 0,
                col(Job.preflight_errors_since) <= now - timedelta(hours=hours),
            )
        ).all()
        candidates.extend(rows)
    keys = {r.id: f"preflight:{r.id}:{_aware(r.preflight_errors_since).isoformat()}" for r in candidates}
    done = existing_keys(s, keys.values())
    due = []
    for r in candidates:
        if keys[r.id] in done:
            continue
        ws = by_id[r.workspace_id]
        since = _aware(r.preflight_errors_since)
        if working_deadline(since, ws.preflight_alert_hours, workspace_zone(ws)) <= now:
            due.append(r)
    if len(due) > limit:
        result.backlog = True
        due = sorted(due, key=lambda r: _aware(r.preflight_errors_since))[:limit]  # the longest first
    who = last_user_actors(s, [r.id for r in due])
    alerts: list[Alert] = []
    for r in sorted(due, key=lambda r: (r.workspace_id, r.number)):
        ws = by_id[r.workspace_id]
        since = _aware(r.preflight_errors_since)
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
    for among in _one_of(s, col(ActivityEvent.job_id), job_ids):
        last = (
            select(col(ActivityEvent.job_id).label("job_id"), func.max(ActivityEvent.id).label("event_id"))
            .where(among, col(ActivityEvent.actor_kind) == "user")
            .group_by(col(ActivityEvent.job_id))
            .subquery()
        )
        rows = s.execute(
            select(ActivityEvent.job_id, ActivityEvent.actor_display, Member.slack_user_id)
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


# ---- 3. approvals that wait, links that expire --------------------------------------------------


def scan_approvals(
    s: Session,
    workspaces: Sequence[Workspace],
    now: datetime,
    render: Renderer,
    result: ScanResult,
    *,
    limit: int = MAX_PER_CHECK,
) -> None:
    by_id = {ws.id: ws for ws in workspaces}
    _expire_links(s, by_id, now, render, result, limit=limit)
    pending = and_(col(Job.status) == JobStatus.PENDING_APPROVAL, col(Job.deleted_at).is_(None))
    reminder_key = literal("approval_reminder:") + cast(ApprovalLink.id, String)
    candidates: list[Any] = []
    for days, ws_ids in _group(workspaces, lambda ws: max(ws.approval_reminder_days, 0.0)).items():
        if len(candidates) >= limit:
            result.backlog = True
            break
        cutoff = now - timedelta(days=days)
        rows = s.execute(
            select(
                col(ApprovalLink.id).label("link_id"),
                ApprovalLink.created_at,
                Job.id,
                Job.workspace_id,
                Job.number,
                Job.customer_name,
                Job.customer_email,
                Job.status_changed_at,
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
        since = max(_aware(r.created_at), _aware(r.status_changed_at))
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
    jobs = {}
    for among in _one_of(s, col(Job.id), sorted({r.job_id for r in expired})):
        for j in s.execute(
            select(Job.id, Job.workspace_id, Job.number).where(
                among,
                col(Job.status) == JobStatus.PENDING_APPROVAL,
                col(Job.deleted_at).is_(None),
            )
        ):
            jobs[j.id] = j
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
                expired_local=_aware(r.expires_at).astimezone(workspace_zone(by_id[j.workspace_id])),
            )
        )
    result.add(LinkExpired.kind, record_alerts(s, alerts, render))


def approval_progress(s: Session, job_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(approved items, items) per job."""
    out: dict[int, tuple[int, int]] = {}
    approved = func.sum(case((col(Item.proof_status) == ProofStatus.APPROVED, 1), else_=0))
    for among in _one_of(s, col(Item.job_id), job_ids):
        rows = s.execute(
            select(Item.job_id, approved, func.count()).where(among).group_by(col(Item.job_id))
        ).all()
        out.update({job_id: (int(a or 0), int(n)) for job_id, a, n in rows})
    return out


# ---- 4. the daily digest -----------------------------------------------------------------------

SECTIONS = (
    ("overdue", "Overdue"),
    ("due_today", "Due today"),
    ("due_soon", "Due soon"),
    ("waiting_approval", "Waiting for approval"),
    ("blocked", "Blocked by preflight errors"),
    ("ready", "Ready to export"),
)


def _section_conditions(today: date, window: int) -> dict[str, Any]:
    dated = and_(_open_job(), col(Job.due_date).is_not(None))
    live = col(Job.deleted_at).is_(None)
    return {
        "overdue": and_(dated, col(Job.due_date) < today),
        "due_today": and_(dated, col(Job.due_date) == today),
        "due_soon": and_(
            dated, col(Job.due_date) > today, col(Job.due_date) <= today + timedelta(days=max(window, 0))
        ),
        "waiting_approval": and_(live, col(Job.status) == JobStatus.PENDING_APPROVAL),
        "blocked": and_(_open_job(), col(Job.preflight_errors) > 0),
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
            select(Job.number, Job.customer_name, Job.status, Job.due_date)
            .where(col(Job.workspace_id) == ws.id, conds[key])
            .order_by(col(Job.due_date).is_(None), col(Job.due_date), col(Job.number))
            .limit(limit)
        ).all()
        entries = tuple(DigestEntry(f"J-{r.number}", r.customer_name, r.status, r.due_date) for r in rows)
        sections.append(DigestSection(key, title, int(total), entries))
    return Digest(workspace_id=ws.id, job_id=None, shop=ws.name, local_date=today, sections=tuple(sections))


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
        ws.id: (ws, day)
        for ws in workspaces
        if (ws.production_channel or fallback_channel) and (day := digest_due(ws, now)) is not None
    }
    if not due:
        return
    done = existing_keys(s, [digest_key(ws_id, day) for ws_id, (_, day) in due.items()])
    posted, quiet = [], []
    for ws_id, (ws, day) in due.items():
        if digest_key(ws_id, day) in done:
            continue
        digest = build_digest(s, ws, day)
        (quiet if digest.empty else posted).append(digest)
    result.add(Digest.kind, record_alerts(s, posted, render))
    record_alerts(s, quiet, render, state="skipped")  # the day's decision, never sent


# ---- recording ---------------------------------------------------------------------------------


def existing_keys(s: Session, keys: Iterable[str]) -> set[str]:
    """Those of `keys` the outbox already has."""
    found: set[str] = set()
    for among in _one_of(s, col(Outbox.dedupe_key), list(keys)):
        found.update(s.execute(select(Outbox.dedupe_key).where(among)).scalars())
    return found


def record_alerts(s: Session, alerts: Sequence[Alert], render: Renderer, *, state: str = "pending") -> int:
    """Record alerts in the outbox (the bulk form of pipeline.outbox.enqueue): an alert whose dedupe
    key is there already is skipped, unrendered. Returns how many are new.

    Under the scan lock nobody else records at the same time; ON CONFLICT DO NOTHING still makes a
    call from outside it (or a race) safe."""
    done = existing_keys(s, (a.dedupe_key for a in alerts))
    new: dict[str, Alert] = {}
    for a in alerts:
        if a.dedupe_key not in done:
            new.setdefault(a.dedupe_key, a)
    if not new:
        return 0
    stamp = utcnow()  # the outbox runs on the sender's clock, not the scan's: due at once
    rows = [
        {
            "workspace_id": a.workspace_id,
            "job_id": a.job_id,
            "kind": a.kind,
            "via": a.via,
            "dedupe_key": key,
            "payload": {"skipped": "nothing to say"} if state == "skipped" else render(a),
            "state": state,
            "attempts": 0,
            "next_attempt_at": stamp,
            "created_at": stamp,
        }
        for key, a in new.items()
    ]
    table = Outbox.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    # executemany: psycopg pipelines the rows, faster here than one multi-row statement
    s.execute(insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows)
    return len(rows)
