"""What the scans say and how it is recorded: the `Alert` classes, one scan's result, and the outbox
rows written with a dedupe key each (docs/slack.md, "Scheduler"), plus the query helpers every scan shares.

A scan works out what to say, has it rendered by the caller's `render` function (bot/scheduler.py
builds Block Kit) and records it here in the same transaction as the state it changes; recording an
alert whose key exists is a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import and_, any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from pipeline.jobs.jobs import FINISHED
from storage.models import (
    Job,
    Outbox,
    Workspace,
    utcnow,
)

# New alerts one check records per scan, most pressing first. A backlog (a scheduler started on a full
# database) drains over the next scans: each transaction stays short (SQLite's write lock, PostgreSQL's
# row locks), and Slack takes about one message a second per channel anyway.
MAX_PER_CHECK = 2000

_CHUNK = 1000


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


def workspace_groups(
    workspaces: Iterable[Workspace], key: Callable[[Workspace], Any]
) -> dict[Any, list[int]]:
    """Workspace ids by a computed key, so each distinct (date, window …) costs one query, not one each."""
    groups: dict[Any, list[int]] = defaultdict(list)
    for ws in workspaces:
        groups[key(ws)].append(ws.id)  # type: ignore[arg-type]
    return groups


def chunks(values: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def one_of(s: Session, column: Any, values: Sequence[Any]) -> Iterator[ColumnElement[bool]]:
    """`column IN values` as few conditions as the database allows: one array parameter on
    PostgreSQL (thousands of placeholders cost more to build than to run), chunks on SQLite."""
    if not values:
        return
    if s.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        return
    for chunk in chunks(values):
        yield column.in_(chunk)


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def open_job() -> Any:
    return and_(col(Job.deleted_at).is_(None), col(Job.status).not_in(FINISHED))


def existing_keys(s: Session, keys: Iterable[str]) -> set[str]:
    """Those of `keys` the outbox already has."""
    found: set[str] = set()
    for among in one_of(s, col(Outbox.dedupe_key), list(keys)):
        found.update(s.execute(select(Outbox.dedupe_key).where(among)).scalars())
    return found


def record_alerts(s: Session, alerts: Sequence[Alert], render: Renderer, *, state: str = "pending") -> int:
    """Record alerts in the outbox (the bulk form of pipeline.core.outbox.enqueue): an alert whose dedupe
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
