"""The scheduler's scans on both databases, with the clock passed in: urgency, preflight errors that sit,
approvals that wait, expired links, the daily digest (time zones, DST, weekends), exactly-once recording."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from bot.scheduler import render_alert
from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.errors import InvalidInput
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event, record
from pipeline.jobs.workspaces import actor_for, ensure_member, update_settings
from pipeline.schedule.alerts import Alert, ScanResult, UrgencyAlert, record_alerts
from pipeline.schedule.clock import digest_due, working_deadline, working_hours_between
from pipeline.schedule.digest import build_digest
from pipeline.schedule.scan import SCAN_LOCK, SCAN_LOCK_ARGS, scan
from storage.db import Database
from storage.models import ApprovalLink, Job, JobStatus, Outbox, Workspace
from tests.standins.blockkit_limits import validate_message

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def at(tz: ZoneInfo, y: int, m: int, d: int, hh: int = 0, mm: int = 0, fold: int = 0) -> datetime:
    """A local wall-clock time as an aware UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=tz, fold=fold).astimezone(UTC)


# ---- helpers (the acceptance tests use them too) ------------------------------------------------


def configure(db: Database, ws_id: int, actor: Actor, **settings: Any) -> None:
    with db.session() as s:
        update_settings(s, s.get(Workspace, ws_id), actor, **settings)


def add_job(
    s: Session,
    ws_id: int,
    actor: Actor,
    *,
    now: datetime,
    customer: str = "Rebecca Stone",
    status: str = JobStatus.PROOFING,
    due: date | None = None,
    errors: int = 0,
    errors_since: datetime | None = None,
    deleted: bool = False,
) -> Job:
    """A job in any state (set directly: the scheduler reads state, it does not care how it came)."""
    ws = s.get(Workspace, ws_id)
    job = jobs.create_job(s, ws, actor, now=now, customer_name=customer, customer_email="buyer@example.com")
    job.created_at = job.status_changed_at = now
    job.status, job.due_date = status, due
    job.due_sort = due or jobs.NO_DUE_DATE  # what edit_job keeps for the dashboard's sort
    job.preflight_errors, job.preflight_errors_since = errors, errors_since
    if errors:
        job.preflight_ran_at = errors_since
    if deleted:
        job.deleted_at = now
    s.add(job)
    s.flush()
    return job


def add_link(s: Session, job: Job, *, created: datetime, expires: datetime | None) -> ApprovalLink:
    job.status, job.status_changed_at = JobStatus.PENDING_APPROVAL, created
    link = ApprovalLink(job_id=job.id, token_hash=uuid.uuid4().hex, created_at=created, expires_at=expires)
    s.add_all([job, link])
    s.flush()
    return link


def outbox(db: Database, *, state: str | None = None, kind: str | None = None) -> list[tuple[str, str]]:
    """(kind, dedupe key) of every recorded message, in order."""
    with db.read() as s:
        stmt = select(Outbox).order_by(col(Outbox.id))
        if state:
            stmt = stmt.where(Outbox.state == state)
        if kind:
            stmt = stmt.where(Outbox.kind == kind)
        return [(o.kind, o.dedupe_key or "") for o in s.exec(stmt)]


def texts(db: Database, kind: str) -> list[str]:
    with db.read() as s:
        rows = s.exec(select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id)))
        return [o.payload["text"] for o in rows]


CHANNEL = "C0PROD0001"


def run(db: Database, now: datetime, channel: str | None = CHANNEL) -> ScanResult:
    return scan(db, render_alert, now, fallback_channel=channel)


def said(result: ScanResult) -> dict[str, int]:
    """What a scan recorded for job threads (the digest aside)."""
    return {kind: n for kind, n in result.recorded.items() if kind != "digest"}


def thread_keys(db: Database) -> list[str]:
    return [key for kind, key in outbox(db) if kind != "digest"]


# ---- working hours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "deadline"),
    [
        (at(BERLIN, 2026, 3, 2, 10), 4, at(BERLIN, 2026, 3, 2, 14)),  # Monday, inside the day
        (at(BERLIN, 2026, 3, 2, 7), 4, at(BERLIN, 2026, 3, 2, 13)),  # before opening
        (at(BERLIN, 2026, 3, 2, 18), 4, at(BERLIN, 2026, 3, 3, 13)),  # after closing
        (at(BERLIN, 2026, 3, 6, 16), 4, at(BERLIN, 2026, 3, 9, 12)),  # Friday → Monday
        (at(BERLIN, 2026, 3, 7, 11), 4, at(BERLIN, 2026, 3, 9, 13)),  # Saturday
        (at(BERLIN, 2026, 3, 27, 16), 4, at(BERLIN, 2026, 3, 30, 12)),  # over the DST weekend
        (at(BERLIN, 2026, 3, 2, 10), 40, at(BERLIN, 2026, 3, 9, 10)),  # one working week
        (at(BERLIN, 2026, 3, 2, 10), 0, at(BERLIN, 2026, 3, 2, 10)),
    ],
)
def test_working_deadline_counts_weekdays_nine_to_five(
    start: datetime, hours: float, deadline: datetime
) -> None:
    assert working_deadline(start, hours, BERLIN) == deadline
    assert working_hours_between(start, deadline, BERLIN) == pytest.approx(hours)


def test_working_hours_between() -> None:
    assert working_hours_between(at(BERLIN, 2026, 3, 6, 12), at(BERLIN, 2026, 3, 9, 12), BERLIN) == 8
    assert working_hours_between(at(BERLIN, 2026, 3, 7, 0), at(BERLIN, 2026, 3, 8, 23), BERLIN) == 0
    assert working_hours_between(at(BERLIN, 2026, 3, 9, 12), at(BERLIN, 2026, 3, 6, 12), BERLIN) == 0
    # 09:00–17:00 New York is 14:00–22:00 UTC in winter, 13:00–21:00 after the change
    friday, monday = datetime(2026, 3, 6, 13, tzinfo=UTC), datetime(2026, 3, 9, 14, tzinfo=UTC)
    assert working_hours_between(friday, monday, NEW_YORK) == 8 + 1


# ---- 1. urgency --------------------------------------------------------------------------------


def test_urgency_is_flagged_once_per_change(db: Database, ws_id: int, owner: Actor) -> None:
    configure(db, ws_id, owner, timezone="Europe/Berlin")
    t0 = at(BERLIN, 2026, 3, 2, 7)  # Monday 07:00, before the digest time
    day = date(2026, 3, 2)
    with db.session() as s:

        def job(**kw: Any) -> int:
            return add_job(s, ws_id, owner, now=t0, **kw).id

        ids = {
            "no_due": job(),
            "far": job(due=day + timedelta(days=10)),
            "in2": job(due=day + timedelta(days=2)),
            "today": job(due=day, status=JobStatus.PENDING_APPROVAL),
            "late": job(due=day - timedelta(days=1), status=JobStatus.DRAFT),
            "in3": job(due=day + timedelta(days=3), status=JobStatus.PRODUCTION_READY),
            "exported": job(due=day, status=JobStatus.EXPORTED),
            "completed": job(due=day - timedelta(days=3), status=JobStatus.COMPLETED),
            "deleted": job(due=day, deleted=True),
        }
    first = run(db, t0)
    assert first.recorded == {"urgency": 3}
    assert outbox(db) == [
        ("urgency", f"urgency:{ids['in2']}:due_soon:2026-03-04"),
        ("urgency", f"urgency:{ids['today']}:due_soon:2026-03-02"),
        ("urgency", f"urgency:{ids['late']}:overdue:2026-03-01"),
    ]
    with db.read() as s:
        stored = {name: s.get(Job, i).urgency for name, i in ids.items()}
    assert stored == {
        **{name: "" for name in ids},
        "in2": "due_soon",
        "today": "due_soon",
        "late": "overdue",
    }
    assert run(db, t0 + timedelta(minutes=30)).total == 0  # nothing changed: nothing said

    # Tuesday: "today" is overdue now, "in3" comes into the window
    run(db, t0 + timedelta(days=1))
    assert outbox(db)[3:] == [
        ("urgency", f"urgency:{ids['today']}:overdue:2026-03-02"),
        ("urgency", f"urgency:{ids['in3']}:due_soon:2026-03-05"),
    ]
    assert "is *overdue*: it was due Mon 2026-03-02 (1 day ago)" in texts(db, "urgency")[3]

    # a new due date flags again; exporting clears the flag silently; the window is per workspace
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        jobs.edit_job(s, ws, s.get(Job, ids["today"]).number, owner, due_date=date(2026, 3, 4))
        s.get(Job, ids["late"]).status = JobStatus.EXPORTED
    result = run(db, t0 + timedelta(days=1, hours=1))
    assert result.urgency_changes == 2
    assert outbox(db)[5:] == [("urgency", f"urgency:{ids['today']}:due_soon:2026-03-04")]
    with db.read() as s:
        assert s.get(Job, ids["late"]).urgency == ""


def test_urgency_window_of_zero_days_means_due_today(db: Database, ws_id: int, owner: Actor) -> None:
    configure(db, ws_id, owner, due_soon_days=0)
    t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    with db.session() as s:
        today = add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 2)).id
        add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 3))
    run(db, t0)
    assert outbox(db) == [("urgency", f"urgency:{today}:due_soon:2026-03-02")]
    assert "due Mon 2026-03-02 (today)" in texts(db, "urgency")[0]


def test_a_failed_scan_records_nothing_and_the_next_one_everything(
    db: Database, ws_id: int, owner: Actor
) -> None:
    t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    with db.session() as s:
        for n in range(3):
            add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 3), customer=f"Customer {n}")
    calls = 0

    def flaky(alert: Alert) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("crash half-way")
        return render_alert(alert)

    with pytest.raises(RuntimeError):
        scan(db, flaky, t0)
    assert outbox(db) == []
    with db.read() as s:
        assert {j.urgency for j in s.exec(select(Job))} == {""}
    assert run(db, t0).recorded == {"urgency": 3}
    assert run(db, t0).total == 0


def test_recording_the_same_alert_twice_is_a_no_op(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        job = add_job(s, ws_id, owner, now=datetime(2026, 3, 2, tzinfo=UTC))
    alert = UrgencyAlert(
        ws_id, job.id, job.ref, "R", "proofing", date(2026, 3, 3), "due_soon", date(2026, 3, 2)
    )
    with db.session() as s:
        assert record_alerts(s, [alert, alert], render_alert) == 1
    with db.session() as s:
        assert record_alerts(s, [alert], render_alert) == 0
    assert len(outbox(db)) == 1


# ---- 2. preflight errors that sit --------------------------------------------------------------


def test_preflight_errors_flagged_after_working_hours_once_per_episode(
    db: Database, ws_id: int, owner: Actor, member: Actor
) -> None:
    configure(db, ws_id, owner, timezone="Europe/Berlin")
    since = at(BERLIN, 2026, 3, 6, 16)  # Friday 16:00: 1 working hour left this week
    with db.session() as s:
        job = add_job(s, ws_id, owner, now=since, errors=3, errors_since=since)
        quiet = add_job(s, ws_id, owner, now=since, errors=1, errors_since=since, status=JobStatus.COMPLETED)
        record(s, ws_id, job.id, Event.ITEM_EDITED, member, position=2)
        record(s, ws_id, job.id, Event.CHANGE_REQUESTED, Actor.customer(), note="typo")
        record(s, ws_id, job.id, Event.PREFLIGHT_COMPLETED, SYSTEM, errors=3)
    for moment in (at(BERLIN, 2026, 3, 7, 12), at(BERLIN, 2026, 3, 9, 11, 59)):  # Saturday, Monday
        assert "preflight_alert" not in run(db, moment).recorded
    run(db, at(BERLIN, 2026, 3, 9, 12))  # Monday 12:00 = 1 + 3 working hours
    key = f"preflight:{job.id}:{since.isoformat()}"
    assert outbox(db, kind="preflight_alert") == [("preflight_alert", key)]
    said = texts(db, "preflight_alert")[0]
    assert "*J-1001* has had 3 preflight errors for more than 4 working hours" in said
    assert "since Fri 2026-03-06 16:00 CET" in said
    assert "<@U_MEMBER>, you worked on it last." in said  # the last *person*, not the customer
    assert "preflight_alert" not in run(db, at(BERLIN, 2026, 3, 10, 12)).recorded

    # fixed, then broken again: a new episode, flagged again after its own 4 working hours
    later = at(BERLIN, 2026, 3, 10, 15)
    with db.session() as s:
        j = s.get(Job, job.id)
        j.preflight_errors, j.preflight_errors_since = 1, later
    run(db, at(BERLIN, 2026, 3, 11, 10, 59))
    assert len(outbox(db, kind="preflight_alert")) == 1
    run(db, at(BERLIN, 2026, 3, 11, 11))
    assert thread_keys(db)[1:] == [f"preflight:{job.id}:{later.isoformat()}"]
    assert str(quiet.id) not in {k.split(":")[1] for k in thread_keys(db)}


def test_preflight_alert_names_a_non_member_and_says_nothing_without_anyone(
    db: Database, ws_id: int, owner: Actor
) -> None:
    since = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with db.session() as s:
        named = add_job(s, ws_id, owner, now=since, errors=1, errors_since=since)
        record(s, ws_id, named.id, Event.ITEM_EDITED, Actor.user("U_GONE", "Gina <Gone>"), position=1)
        nobody = add_job(s, ws_id, owner, now=since, errors=1, errors_since=since)
        s.execute(text("DELETE FROM activity_event WHERE job_id = :j"), {"j": nobody.id})
    run(db, datetime(2026, 3, 3, 9, tzinfo=UTC))
    first, second = texts(db, "preflight_alert")
    assert "Gina &lt;Gone&gt;, you worked on it last." in first and "<@" not in first
    assert "worked on it last" not in second and "1 preflight error for" in second


# ---- 3. approvals ------------------------------------------------------------------------------


def test_waiting_approval_reminded_once_and_expired_link_deactivated(
    db: Database, ws_id: int, owner: Actor
) -> None:
    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with db.session() as s:
        waiting = add_job(s, ws_id, owner, now=t0, customer="Ana & Co")
        link = add_link(s, waiting, created=t0, expires=t0 + timedelta(days=5))
        other = add_job(s, ws_id, owner, now=t0)
        old = add_link(s, other, created=t0, expires=t0 + timedelta(days=1))
        other.status = JobStatus.APPROVED  # approved before its link expired: deactivated, nothing said
        s.add(other)
    assert said(run(db, t0 + timedelta(days=1, hours=-1))) == {}
    result = run(db, t0 + timedelta(days=1))
    assert result.links_expired == 1 and said(result) == {}
    run(db, t0 + timedelta(days=2))
    assert thread_keys(db) == [f"approval_reminder:{link.id}"]
    text = texts(db, "approval_reminder")[0]
    assert "*J-1001* has waited 2 days for Ana &amp; Co's approval" in text and "buyer@example.com" in text
    assert said(run(db, t0 + timedelta(days=3))) == {}

    run(db, t0 + timedelta(days=5))
    assert thread_keys(db)[1:] == [f"approval_expired:{link.id}"]
    assert "`/job approval J-1001`" in texts(db, "approval_expired")[0]
    with db.read() as s:
        assert s.get(ApprovalLink, link.id).active is False
        assert s.get(ApprovalLink, old.id).active is False
        assert s.get(Job, waiting.id).status == JobStatus.PENDING_APPROVAL
    assert said(run(db, t0 + timedelta(days=6))) == {}


def test_reminder_counts_from_when_the_job_went_back_to_the_customer(
    db: Database, ws_id: int, owner: Actor
) -> None:
    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with db.session() as s:
        job = add_job(s, ws_id, owner, now=t0)
        add_link(s, job, created=t0, expires=None)
        job.status_changed_at = t0 + timedelta(days=3)  # withdrawn and sent again on the same link
        s.add(job)
    assert said(run(db, t0 + timedelta(days=4))) == {}
    assert said(run(db, t0 + timedelta(days=5))) == {"approval_reminder": 1}


# ---- 4. the digest -----------------------------------------------------------------------------


def test_digest_lists_every_section_and_caps_long_lists(db: Database, ws_id: int, owner: Actor) -> None:
    configure(db, ws_id, owner, timezone="America/New_York")
    t0 = at(NEW_YORK, 2026, 3, 2, 6)  # Monday
    today = date(2026, 3, 2)
    with db.session() as s:
        for n in range(25):
            add_job(s, ws_id, owner, now=t0, due=today - timedelta(days=1 + n % 3), customer=f"Late {n} <x>")
        add_job(s, ws_id, owner, now=t0, due=today, customer="Today")
        add_job(s, ws_id, owner, now=t0, due=today + timedelta(days=2), customer="Soon")
        add_job(s, ws_id, owner, now=t0, due=today + timedelta(days=3), customer="Later")
        add_job(s, ws_id, owner, now=t0, status=JobStatus.PENDING_APPROVAL, customer="Waiting")
        add_job(s, ws_id, owner, now=t0, errors=2, errors_since=t0, customer="Blocked")
        add_job(s, ws_id, owner, now=t0, status=JobStatus.PRODUCTION_READY, customer="Ready")
        add_job(s, ws_id, owner, now=t0, status=JobStatus.EXPORTED, due=today, customer="Gone")
        add_job(s, ws_id, owner, now=t0, deleted=True, due=today, customer="Deleted")
    assert digest_due(_ws(db, ws_id), at(NEW_YORK, 2026, 3, 2, 8, 29)) is None
    assert digest_due(_ws(db, ws_id), at(NEW_YORK, 2026, 3, 2, 8, 30)) == today
    run(db, at(NEW_YORK, 2026, 3, 2, 8, 29))
    assert [k for k, _ in outbox(db)] == ["urgency"] * 27
    run(db, at(NEW_YORK, 2026, 3, 2, 8, 30))
    assert outbox(db)[-1] == ("digest", f"digest:{ws_id}:2026-03-02")
    with db.read() as s:
        digest = build_digest(s, s.get(Workspace, ws_id), today)
        row = s.exec(select(Outbox).where(Outbox.kind == "digest")).one()
    assert row.job_id is None
    assert [(sec.key, sec.total, len(sec.entries)) for sec in digest.sections] == [
        ("overdue", 25, 10),
        ("due_today", 1, 1),
        ("due_soon", 1, 1),
        ("waiting_approval", 1, 1),
        ("blocked", 1, 1),
        ("ready", 1, 1),
    ]
    assert [e.due_date for e in digest.sections[0].entries][:2] == [today - timedelta(days=3)] * 2
    blocks = row.payload["blocks"]
    assert validate_message(blocks, row.payload["text"]) == []
    overdue = blocks[1]["text"]["text"]
    assert overdue.startswith(":rotating_light: *Overdue* (25)")
    assert overdue.endswith("_…and 15 more_") and "&lt;x&gt;" in overdue and "<x>" not in overdue
    assert row.payload["text"].startswith("Daily digest 2026-03-02: 25 overdue, 1 due today, 1 due soon")


def test_digest_fits_slack_with_very_long_names(db: Database, ws_id: int, owner: Actor) -> None:
    t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    with db.session() as s:
        for n in range(40):
            add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 1), customer=f"{n:02d} " + "&<>" * 65)
    with db.read() as s:
        digest = build_digest(s, s.get(Workspace, ws_id), date(2026, 3, 2), limit=40)
    payload = render_alert(digest)
    assert validate_message(payload["blocks"], payload["text"]) == []
    assert "more_" in payload["blocks"][1]["text"]["text"]


def _ws(db: Database, ws_id: int) -> Workspace:
    with db.read() as s:
        return s.get(Workspace, ws_id)


def test_nothing_to_say_posts_nothing_that_day(db: Database, ws_id: int, owner: Actor) -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday, after 08:30 UTC
    run(db, t0)
    assert outbox(db) == [("digest", f"digest:{ws_id}:2026-03-02")]
    assert outbox(db, state="pending") == []  # recorded as the day's decision, never sent
    with db.session() as s:
        add_job(s, ws_id, owner, now=t0, status=JobStatus.PRODUCTION_READY)
    assert run(db, t0 + timedelta(hours=2)).total == 0  # a job added later that day: no digest
    assert run(db, t0 + timedelta(days=1)).recorded == {"digest": 1}


def test_no_channel_anywhere_thread_alerts_wait_but_no_stale_digest(
    db: Database, ws_id: int, owner: Actor
) -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with db.session() as s:
        job = add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 3))
    run(db, t0, channel=None)
    run(db, t0 + timedelta(days=2), channel=None)
    assert outbox(db) == [
        ("urgency", f"urgency:{job.id}:due_soon:2026-03-03"),
        ("urgency", f"urgency:{job.id}:overdue:2026-03-03"),
    ]
    configure(db, ws_id, owner, production_channel="C0SHOP0001")
    run(db, t0 + timedelta(days=2, hours=3), channel=None)  # set later that day: that day's digest
    assert outbox(db)[2:] == [("digest", f"digest:{ws_id}:2026-03-04")]


def test_weekends_are_skipped_unless_configured(db: Database, ws_id: int, owner: Actor) -> None:
    with db.session() as s:
        add_job(s, ws_id, owner, now=datetime(2026, 3, 6, tzinfo=UTC), status=JobStatus.PRODUCTION_READY)
    for day in (6, 7, 8, 9):  # Friday … Monday
        run(db, datetime(2026, 3, day, 12, tzinfo=UTC))
    assert [k for _, k in outbox(db)] == [f"digest:{ws_id}:2026-03-06", f"digest:{ws_id}:2026-03-09"]
    configure(db, ws_id, owner, digest_weekends=True)
    run(db, datetime(2026, 3, 14, 12, tzinfo=UTC))
    assert outbox(db)[-1] == ("digest", f"digest:{ws_id}:2026-03-14")


def _digests_over(
    db: Database, start: datetime, hours: int, step_min: int = 15
) -> list[tuple[str, datetime]]:
    """Scan every `step_min` minutes; (dedupe key, scan time) of each digest recorded."""
    seen: list[tuple[str, datetime]] = []
    for n in range(hours * 60 // step_min):
        now = start + timedelta(minutes=n * step_min)
        if run(db, now).recorded.get("digest"):
            seen.append((outbox(db)[-1][1], now))
    return seen


@pytest.mark.parametrize(
    ("tz", "day", "utc_hour"),
    [
        ("Europe/Berlin", date(2026, 3, 28), 7),  # CET, the day before the change
        ("Europe/Berlin", date(2026, 3, 29), 6),  # CEST from 02:00 that night
        ("America/New_York", date(2026, 10, 31), 12),  # EDT
        ("America/New_York", date(2026, 11, 1), 13),  # EST from 02:00 that night
    ],
)
def test_digest_at_local_0830_across_dst(
    db: Database, ws_id: int, owner: Actor, tz: str, day: date, utc_hour: int
) -> None:
    configure(db, ws_id, owner, timezone=tz, digest_weekends=True)
    with db.session() as s:
        add_job(s, ws_id, owner, now=datetime(2026, 3, 1, tzinfo=UTC), status=JobStatus.PRODUCTION_READY)
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).astimezone(UTC)
    posted = datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)
    assert _digests_over(db, start, 24) == [(f"digest:{ws_id}:{day.isoformat()}", posted)]


def test_a_digest_time_skipped_by_dst_still_posts_once(db: Database, ws_id: int, owner: Actor) -> None:
    # Berlin, 29 March 2026: 02:00 becomes 03:00, so 02:30 never happens
    configure(db, ws_id, owner, timezone="Europe/Berlin", digest_weekends=True, digest_time="02:30")
    with db.session() as s:
        add_job(s, ws_id, owner, now=datetime(2026, 3, 1, tzinfo=UTC), status=JobStatus.PRODUCTION_READY)
    start = at(BERLIN, 2026, 3, 28, 12)  # already past the 28th's digest time: posted at once
    assert _digests_over(db, start, 36) == [
        (f"digest:{ws_id}:2026-03-28", start),
        (f"digest:{ws_id}:2026-03-29", at(BERLIN, 2026, 3, 29, 3)),  # the first moment after 02:30
    ]


def test_a_digest_time_repeated_by_dst_posts_once(db: Database, ws_id: int, owner: Actor) -> None:
    # New York, 1 November 2026: 01:00–02:00 happens twice (EDT, then EST)
    configure(db, ws_id, owner, timezone="America/New_York", digest_weekends=True, digest_time="01:30")
    with db.session() as s:
        add_job(s, ws_id, owner, now=datetime(2026, 10, 1, tzinfo=UTC), status=JobStatus.PRODUCTION_READY)
    first = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)
    second = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    assert second - first == timedelta(hours=1)
    seen = _digests_over(db, at(NEW_YORK, 2026, 11, 1, 0), 6)
    assert seen == [(f"digest:{ws_id}:2026-11-01", first)]


# ---- exactly once across copies; bad input ------------------------------------------------------


def test_a_second_copy_skips_while_the_lock_is_held(db: Database, ws_id: int, owner: Actor) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite runs one scheduler; its writers are serialized by BEGIN IMMEDIATE")
    t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    with db.session() as s:
        add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 3))
    with db.engine.connect() as other:
        lock = {"k": SCAN_LOCK}
        assert other.execute(text(f"SELECT pg_try_advisory_lock{SCAN_LOCK_ARGS}"), lock).scalar()
        assert run(db, t0) == ScanResult(skipped=True)
        other.execute(text(f"SELECT pg_advisory_unlock{SCAN_LOCK_ARGS}"), lock)
        other.commit()
    assert run(db, t0).recorded == {"urgency": 1}


def test_unknown_time_zone_is_refused_and_a_stored_one_counts_as_utc(
    db: Database, ws_id: int, owner: Actor
) -> None:
    with pytest.raises(InvalidInput) as exc:
        configure(db, ws_id, owner, timezone="Europe/Atlantis")
    assert "timezone" in exc.value.errors
    assert _ws(db, ws_id).timezone == "UTC"
    with db.session() as s:
        s.get(Workspace, ws_id).timezone = "Mars/Base"  # written before it was checked
        add_job(s, ws_id, owner, now=datetime(2026, 3, 1, tzinfo=UTC), status=JobStatus.PRODUCTION_READY)
    run(db, datetime(2026, 3, 2, 8, 29, tzinfo=UTC))
    assert outbox(db) == []
    run(db, datetime(2026, 3, 2, 8, 30, tzinfo=UTC))
    assert outbox(db) == [("digest", f"digest:{ws_id}:2026-03-02")]


def test_several_workspaces_each_on_their_own_clock(db: Database, ws_id: int, owner: Actor) -> None:
    from pipeline.jobs.workspaces import ensure_workspace

    configure(db, ws_id, owner, timezone="Pacific/Auckland")
    with db.session() as s:
        other = ensure_workspace(s, "T0002", "Berlin Shop", timezone="Europe/Berlin")
        other_owner = actor_for(ensure_member(s, other, "U_B", "Bea"))
        t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)  # Monday 19:00 in Auckland, 07:00 in Berlin
        nz = add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 5)).id  # 2 days after Auckland's Tue
        de = add_job(s, other.id, other_owner, now=t0, due=date(2026, 3, 5)).id  # 3 days after Berlin's Mon
    run(db, datetime(2026, 3, 2, 12, tzinfo=UTC))  # Tuesday 01:00 in Auckland
    assert thread_keys(db) == [f"urgency:{nz}:due_soon:2026-03-05"]
    run(db, datetime(2026, 3, 2, 23, tzinfo=UTC))  # Tuesday 00:00 in Berlin
    assert thread_keys(db)[1:] == [f"urgency:{de}:due_soon:2026-03-05"]


def test_every_alert_is_valid_block_kit_and_pings_nobody(db: Database, ws_id: int, owner: Actor) -> None:
    t0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
    nasty = "<!channel> & <@U0BOSS> *Ltd*"
    with db.session() as s:
        add_job(s, ws_id, owner, now=t0, due=date(2026, 3, 3), customer=nasty)
        job = add_job(s, ws_id, owner, now=t0, errors=1, errors_since=t0, customer=nasty)
        record(s, ws_id, job.id, Event.ITEM_EDITED, Actor.user("U_GONE", "<!here> Gina"), position=1)
        waiting = add_job(s, ws_id, owner, now=t0, customer=nasty)
        waiting.customer_email = "<!everyone>@example.com"
        add_link(s, waiting, created=t0, expires=t0 + timedelta(days=3))
    for day in (0, 2, 3):
        run(db, t0 + timedelta(days=day))
    with db.read() as s:
        rows = s.exec(select(Outbox).where(Outbox.state == "pending").order_by(col(Outbox.id))).all()
    assert {r.kind for r in rows} == {
        "urgency",
        "preflight_alert",
        "approval_reminder",
        "approval_expired",
        "digest",
    }
    for r in rows:
        assert validate_message(r.payload["blocks"], r.payload["text"]) == [], r.kind
        raw = str(r.payload)
        assert "<!channel>" not in raw and "<!here>" not in raw and "<!everyone>" not in raw
        assert "<@U0BOSS>" not in raw


def test_a_backlog_is_recorded_over_several_scans_most_pressing_first(
    db: Database, ws_id: int, owner: Actor
) -> None:
    t0 = datetime(2026, 3, 9, 12, tzinfo=UTC)
    with db.session() as s:
        late = [add_job(s, ws_id, owner, now=t0, due=date(2026, 3, d)).id for d in (6, 2, 4)]
        stuck = [
            add_job(s, ws_id, owner, now=t0, errors=1, errors_since=t0 - timedelta(days=d)).id for d in (3, 9)
        ]
        links = []
        for d in (2, 5, 4):
            job = add_job(s, ws_id, owner, now=t0)
            links.append(add_link(s, job, created=t0 - timedelta(days=d), expires=t0 - timedelta(hours=d)).id)

    def scan_two(now: datetime) -> ScanResult:
        return scan(db, render_alert, now, fallback_channel=CHANNEL, limit=2)

    first = scan_two(t0)
    assert first.backlog and said(first) == {"urgency": 2, "preflight_alert": 2, "approval_expired": 2}
    assert thread_keys(db) == [
        f"urgency:{late[1]}:overdue:2026-03-02",  # the most overdue first
        f"urgency:{late[2]}:overdue:2026-03-04",
        f"preflight:{stuck[0]}:{(t0 - timedelta(days=3)).isoformat()}",
        f"preflight:{stuck[1]}:{(t0 - timedelta(days=9)).isoformat()}",
        f"approval_expired:{links[1]}",  # expired longest ago first
        f"approval_expired:{links[2]}",
    ]
    second = scan_two(t0 + timedelta(minutes=1))
    assert not second.backlog and said(second) == {"urgency": 1, "approval_expired": 1}
    assert said(scan_two(t0 + timedelta(minutes=2))) == {}
    with db.read() as s:
        assert {s.get(Job, i).urgency for i in late} == {"overdue"}
