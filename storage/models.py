"""The database tables: everything docs/jobs.md ("Words") names, with the whole product in mind.

Times are timezone-aware UTC (`utcnow()`); sqlmodel's UTCDateTime keeps them so on both databases.
JSON columns hold structured values (parsed values, layouts, mappings, details) that are read whole.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _json(default: Any = None) -> Any:
    factory = (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default or []))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


class Keyed:
    """`pk`: the id of a row that is in the database (read from it, or added and flushed)."""

    if TYPE_CHECKING:
        id: int | None

    @property
    def pk(self) -> int:
        if self.id is None:
            raise RuntimeError(f"{type(self).__name__} has no id until it is flushed")
        return self.id


class JobStatus:
    DRAFT = "draft"
    PARSING = "parsing"
    PROOFING = "proofing"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    PRODUCTION_READY = "production_ready"
    EXPORTED = "exported"
    COMPLETED = "completed"
    ALL = (DRAFT, PARSING, PROOFING, PENDING_APPROVAL, APPROVED, PRODUCTION_READY, EXPORTED, COMPLETED)


class Role:
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    ALL = (OWNER, ADMIN, MEMBER)


class ProofStatus:
    PENDING = "pending"
    GENERATED = "generated"
    APPROVED = "approved"
    NEEDS_REVISION = "needs_revision"
    ALL = (PENDING, GENERATED, APPROVED, NEEDS_REVISION)


class Workspace(SQLModel, Keyed, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slack_team_id: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    default_font: str = Field(default="DejaVu Sans", max_length=100)
    cut_color: str = Field(default="#FF0000", max_length=7)
    engrave_color: str = Field(default="#000000", max_length=7)
    timezone: str = Field(default="UTC", max_length=64)
    production_channel: str | None = Field(default=None, max_length=32)
    due_soon_days: int = 2
    preflight_alert_hours: float = 4.0
    approval_reminder_days: float = 2.0
    customer_reminder_days: float = 2.0  # days before the customer is emailed a reminder; 0: never
    mail_from: str | None = Field(default=None, max_length=254)  # overrides CRAFTSTAGE_MAIL_FROM
    mail_reply_to: str | None = Field(default=None, max_length=254)  # the shop's own address
    digest_time: str = Field(default="08:30", max_length=5)
    digest_weekends: bool = False
    next_job_number: int = 1001
    created_at: datetime = Field(default_factory=utcnow)


class Member(SQLModel, Keyed, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    slack_user_id: str = Field(max_length=32)
    display_name: str = Field(default="", max_length=200)
    role: str = Field(default=Role.MEMBER, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class Template(SQLModel, Keyed, table=True):
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(default="", max_length=200)
    category: str = Field(default="", max_length=100)
    current_version: int = 1
    archived: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class TemplateVersion(SQLModel, Keyed, table=True):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="template.id", index=True)
    version: int
    source: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    artwork_path: str | None = Field(default=None, max_length=500)
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, Keyed, table=True):
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        # the dashboard's filters and sorts; deleted_at leads so "not deleted" narrows within the index
        Index("ix_job_ws_created", "workspace_id", "deleted_at", "created_at"),
        Index("ix_job_ws_due", "workspace_id", "deleted_at", "due_sort"),
        Index("ix_job_ws_customer", "workspace_id", "deleted_at", "customer_sort"),
        Index("ix_job_ws_status", "workspace_id", "deleted_at", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    number: int
    customer_name: str = Field(max_length=200)
    customer_email: str = Field(max_length=254)
    reference: str | None = Field(default=None, max_length=100)
    due_date: date | None = None
    due_sort: date = Field(default=date(9999, 12, 31))  # the due date, or the far future: sorts without NULLs
    notes: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(default=JobStatus.DRAFT, max_length=20)
    # casefolded copies that make search and sort case-insensitive on both databases
    search_text: str = Field(default="", max_length=400)
    customer_sort: str = Field(default="", max_length=200)
    template_version_id: int | None = Field(default=None, foreign_key="template_version.id")
    input_text: str | None = Field(default=None, sa_column=Column(Text))
    input_filename: str | None = Field(default=None, max_length=255)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    approval_skipped: bool = False
    preflight_errors: int = 0
    preflight_warnings: int = 0
    preflight_infos: int = 0
    preflight_ran_at: datetime | None = None
    preflight_errors_since: datetime | None = None
    urgency: str = Field(default="", max_length=16)
    slack_channel: str | None = Field(default=None, max_length=32)
    slack_ts: str | None = Field(default=None, max_length=32)
    slack_posted_event_id: int = 0  # the last activity event the thread has been told about
    last_actor: str = Field(default="", max_length=200)
    created_by: str = Field(default="", max_length=64)
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    status_changed_at: datetime = Field(default_factory=utcnow)
    deleted_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"J-{self.number}"


class ParseBatch(SQLModel, Keyed, table=True):
    """Parsed items waiting at the review gate before they join the job."""

    __tablename__ = "parse_batch"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    engine: str = Field(default="rules", max_length=16)
    engine_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    items: list = _json([])
    skipped_lines: list = _json([])
    columns: list = _json([])
    state: str = Field(default="review", max_length=16)  # review | accepted | discarded
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Item(SQLModel, Keyed, table=True):
    __table_args__ = (Index("ix_item_job_position", "job_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id")
    position: int
    raw_values: dict = _json({})
    values: dict = _json({})
    confidence: float = 1.0
    reasons: list = _json([])
    acknowledged: bool = False
    proof_status: str = Field(default=ProofStatus.PENDING, max_length=16)
    proof_version: int = 0
    proof_input_hash: str | None = Field(default=None, max_length=64)
    layout: dict | None = Field(default=None, sa_column=Column(JSON))
    change_note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FieldMapping(SQLModel, Keyed, table=True):
    __tablename__ = "field_mapping"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", unique=True)
    template_version_id: int = Field(foreign_key="template_version.id")
    pairs: list = _json([])
    serial: dict | None = Field(default=None, sa_column=Column(JSON))
    updated_at: datetime = Field(default_factory=utcnow)


class ProofVersion(SQLModel, Keyed, table=True):
    __tablename__ = "proof_version"
    __table_args__ = (UniqueConstraint("item_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    version: int
    input_hash: str = Field(max_length=64)
    template_version_id: int | None = Field(default=None, foreign_key="template_version.id")
    pdf_path: str = Field(max_length=500)
    png_path: str = Field(max_length=500)
    # the template field values this version was drawn from (what changed is told against them);
    # None on versions drawn before they were kept
    values: dict | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class ApprovalLink(SQLModel, Keyed, table=True):
    __tablename__ = "approval_link"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    active: bool = True
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_viewed_at: datetime | None = None


class ApprovalDecision(SQLModel, Keyed, table=True):
    """One decision on one proof version; the unique key lets exactly one concurrent decision win."""

    __tablename__ = "approval_decision"
    __table_args__ = (UniqueConstraint("item_id", "proof_version"),)
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", index=True)
    link_id: int | None = Field(default=None, foreign_key="approval_link.id")
    proof_version: int
    decision: str = Field(max_length=20)  # approved | change_requested
    via: str = Field(default="link", max_length=16)  # link | phone | email | skipped
    note: str | None = Field(default=None, sa_column=Column(Text))
    actor: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class PreflightIssue(SQLModel, Keyed, table=True):
    __tablename__ = "preflight_issue"
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    item_id: int | None = Field(default=None, foreign_key="item.id")
    field_key: str | None = Field(default=None, max_length=64)
    code: str = Field(max_length=32)
    severity: str = Field(max_length=8)  # error | warning | info
    message: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class MachineProfile(SQLModel, Keyed, table=True):
    __tablename__ = "machine_profile"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    name: str = Field(max_length=100)
    bed_width_mm: float
    bed_height_mm: float
    units: str = Field(default="mm", max_length=2)  # how the shop entered the sizes: mm | in
    margin_mm: float = 5.0
    gap_mm: float = 3.0
    output_format: str = Field(default="svg", max_length=8)  # svg | pdf | dxf | lbrn2
    text_mode: str = Field(default="curves", max_length=8)  # text | curves
    cut_color: str = Field(default="#FF0000", max_length=7)
    engrave_color: str = Field(default="#000000", max_length=7)
    cut_outline: bool = True
    include_artwork: bool = True
    item_order: str = Field(default="job", max_length=16)  # job | name
    # thin artwork strokes (at most score_width_mm wide) as lines in this colour; "" = filled with the rest
    score_color: str = Field(default="", max_length=7)
    score_width_mm: float = 0.25
    # the smallest code module the machine engraves cleanly on its material; codes engraved inverted
    # (quiet zone and light modules) for dark materials that engrave light
    min_module_mm: float = 0.25
    invert_codes: bool = False
    # laser settings per operation (a LightBurn project's layers); None: LightBurn's default
    engrave_mode: str = Field(default="fill", max_length=8)  # fill | line
    engrave_speed_mm_s: float | None = None
    engrave_power_pct: float | None = None
    engrave_passes: int | None = None
    engrave_interval_mm: float | None = None
    score_speed_mm_s: float | None = None
    score_power_pct: float | None = None
    score_passes: int | None = None
    cut_speed_mm_s: float | None = None
    cut_power_pct: float | None = None
    cut_passes: int | None = None
    builtin: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Export(SQLModel, Keyed, table=True):
    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    profile_name: str = Field(max_length=100)
    output_format: str = Field(max_length=8)
    text_mode: str = Field(max_length=8)
    zip_path: str = Field(max_length=500)
    files: list = _json([])
    sheets: int = 0
    without_approval: bool = False
    created_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Font(SQLModel, Keyed, table=True):
    """A font a workspace uploaded."""

    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    family: str = Field(max_length=200)
    weight: str = Field(default="normal", max_length=8)
    filename: str = Field(max_length=255)
    path: str = Field(max_length=500)
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class ActivityEvent(SQLModel, Keyed, table=True):
    __tablename__ = "activity_event"
    __table_args__ = (
        Index("ix_activity_job", "job_id", "id"),
        Index("ix_activity_ws", "workspace_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    job_id: int | None = Field(default=None, foreign_key="job.id")
    event_type: str = Field(max_length=64)
    actor_kind: str = Field(max_length=16)  # user | customer | system
    actor_id: str = Field(default="", max_length=64)
    actor_display: str = Field(default="", max_length=200)
    details: dict = _json({})
    created_at: datetime = Field(default_factory=utcnow)


class Task(SQLModel, Keyed, table=True):
    """Recorded background work (parsing, proofs, export) so a crash never leaves a job stuck."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id")
    job_id: int | None = Field(default=None, foreign_key="job.id", index=True)
    kind: str = Field(max_length=32)
    state: str = Field(default="queued", max_length=16)  # queued | running | done | failed
    owner: str | None = Field(default=None, max_length=120)  # the running copy's pipeline.core.instance tag
    params: dict = _json({})
    done: int = 0
    total: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None


class Outbox(SQLModel, Keyed, table=True):
    """A message for Slack or an email to the customer, recorded before it is sent; the dedupe key
    makes each one exactly once."""

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    kind: str = Field(max_length=32)
    via: str = Field(default="slack", max_length=8)  # slack | email (pipeline/background/mailer.py)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    payload: dict = _json({})
    state: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    result_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class LinkMail(SQLModel, Keyed, table=True):
    """An approval link emailed to the customer: where it went and when, for the reminders.

    `url` holds the link (its token is otherwise never stored: the reminders need it), sealed under the
    deployment's key (pipeline/core/keys.py) so the database alone opens nothing. It is kept only while the
    link works (the scheduler deletes the row once the link is revoked, replaced or
    expired; a token of a link that no longer works opens nothing).
    """

    __tablename__ = "link_mail"
    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="approval_link.id", unique=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    to_address: str = Field(max_length=254)
    url: str = Field(sa_column=Column(Text, nullable=False))
    emailed_at: datetime | None = None  # when the server accepted the link email
    reminders: int = 0  # reminders the server accepted
    reminded_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class SeenRequest(SQLModel, Keyed, table=True):
    """Slack event ids and retried requests already handled, so a retry never acts twice."""

    __tablename__ = "seen_request"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class RateLimit(SQLModel, Keyed, table=True):
    """Requests counted in fixed windows, shared by every copy of the app (see pipeline/core/ratelimit.py)."""

    __tablename__ = "rate_limit"
    kind: str = Field(max_length=16, primary_key=True)  # link | guess | guess-all
    key: str = Field(max_length=64, primary_key=True)  # a hash of the link token or client address
    window_start: int = Field(primary_key=True)  # Unix seconds, a multiple of the window length
    hits: int = 0


import storage.slack_installs  # noqa: E402,F401 - the installable Slack app's tables, on the same metadata
