"""A simulated week of the scheduler against the Slack stand-in, on both databases: scans every 30
minutes of calendar (a week in seconds), the real Slack sender after each, and exactly which messages
reached Slack and when. Along the way: a restart (new scheduler and sender objects), a Slack failure
and its recovery, a shop with no production channel, and the Berlin DST change (29 March 2026)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from bot.notifier import SlackNotifier
from bot.scheduler import SchedulerService
from bot.slack_app import make_client
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.jobs import jobs
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace
from storage.db import Database
from storage.models import ActivityEvent, Job, JobStatus, Outbox, Workspace
from tests.pipeline.schedule.test_scans import add_job, add_link, configure
from tests.standins.blockkit_limits import validate_message
from tests.standins.slack_api import BOT_TOKEN, PRODUCTION_CHANNEL_ID, FakeSlack

BERLIN = ZoneInfo("Europe/Berlin")
NY_CHANNEL = "C0HUDSON01"


def berlin(m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(2026, m, d, hh, mm, tzinfo=BERLIN).astimezone(UTC)


def label(moment: datetime) -> str:
    return f"{moment.astimezone(BERLIN):%a %m-%d %H:%M}"


def sender_catches_up(db: Database) -> None:
    """Stands in for real time passing on the sender's own clock: its backoff (≥ 1 minute) is over."""
    with db.session() as s:
        s.execute(update(Outbox).where(Outbox.state == "pending").values(next_attempt_at=datetime.now(UTC)))


def drain(db: Database, sender: SlackNotifier, timeout: float = 10.0) -> None:
    """Send until nothing is due. The sender's PostgreSQL lock is database-wide, so a test run in
    another schema can make a round skip; then this simply goes round again."""
    deadline = time.monotonic() + timeout
    while True:
        sender.flush()
        with db.read() as s:
            due = s.exec(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.state == "pending", col(Outbox.next_attempt_at) <= datetime.now(UTC))
            ).one()
            untold = s.exec(
                select(func.count())
                .select_from(ActivityEvent)
                .join(Job, col(Job.id) == col(ActivityEvent.job_id))
                .join(Workspace, col(Workspace.id) == col(Job.workspace_id))
                .where(
                    col(ActivityEvent.id) > col(Job.slack_posted_event_id),
                    col(Workspace.production_channel).is_not(None),
                )
            ).one()
        if not due and not untold:
            return
        assert time.monotonic() < deadline, f"{due} message(s) and {untold} event(s) stay unsent"
        time.sleep(0.05)


@dataclass
class Shop:
    db: Database
    fake: FakeSlack
    runtime: Runtime
    scheduler: SchedulerService
    sender: SlackNotifier
    seen: set[tuple[str, str]] = field(default_factory=set)
    cards: dict[tuple[str, str], str] = field(default_factory=dict)  # (channel, ts) → job ref
    log: list[tuple[str, str, str]] = field(default_factory=list)  # (when, where, what)
    digests: list[dict[str, Any]] = field(default_factory=list)

    def restart(self) -> None:
        """A new process: new scheduler, new sender, new Slack client; the same database."""
        self.scheduler = SchedulerService(self.runtime)
        self.sender = SlackNotifier(self.runtime, make_client(self.runtime, retries=0))

    def step(self, now: datetime) -> None:
        while self.scheduler.run_once(now).skipped:  # another copy holds the lock: a moment later
            time.sleep(0.01)
        drain(self.db, self.sender)
        for channel in (PRODUCTION_CHANNEL_ID, NY_CHANNEL):
            for m in self.fake.messages(channel):
                if (channel, m["ts"]) in self.seen:
                    continue
                self.seen.add((channel, m["ts"]))
                self._note(now, channel, m)

    def _note(self, now: datetime, channel: str, m: dict[str, Any]) -> None:
        where = "prod" if channel == PRODUCTION_CHANNEL_ID else "hudson"
        if m.get("thread_ts") not in (None, m["ts"]):
            ref = self.cards[(channel, m["thread_ts"])]
            self.log.append((label(now), f"{where} {ref}", _gist(m["text"])))
        elif m["text"].startswith("Daily digest"):
            assert validate_message(m["blocks"], m["text"]) == []
            self.digests.append(m)
            self.log.append((label(now), f"{where} digest", _digest_gist(m)))
        else:  # a job card
            ref = m["text"].split(" ", 1)[0]
            self.cards[(channel, m["ts"])] = ref
            self.log.append((label(now), f"{where} card", ref))


def _gist(text: str) -> str:
    """The part of a thread reply a person reads first."""
    for pattern, gist in (
        (r"is \*due soon\*: due (\w+ [\d-]+)", "due soon {}"),
        (r"is \*overdue\*: it was due (\w+ [\d-]+)", "overdue {}"),
        (r"has had (\d+) preflight", "preflight errors {}"),
        (r"has waited (\d+) days", "approval waiting {} days"),
        (r"approval link for \*J-\d+\* (expired)", "link {}"),
        (r"changed due_date: ([\d-]+)", "edited: due {}"),
    ):
        found = re.search(pattern, text)
        if found:
            extra = " <@U_MEMBER>" if "<@U_MEMBER>" in text else ""
            return gist.format(found.group(1)) + extra
    return text


def _digest_gist(m: dict[str, Any]) -> str:
    day = re.search(r"\d{4}-\d{2}-\d{2}", m["text"]).group(0)
    parts = []
    for block in m["blocks"][1:-1]:
        body = block["text"]["text"]
        title = re.search(r"\*([^*]+)\* \(\d+\)", body).group(1)
        refs = re.findall(r"\*(J-\d+)\*", body)
        parts.append(f"{title}: {' '.join(refs)}")
    return f"{day} | " + " | ".join(parts)


@contextmanager
def shop(db: Database, tmp_path: Path) -> Iterator[Shop]:
    with FakeSlack() as fake:
        settings = Settings(
            data_dir=tmp_path / "data", slack_bot_token=BOT_TOKEN, slack_api_url=fake.base_url
        )
        runtime = Runtime(settings=settings, db=db)
        sender = SlackNotifier(runtime, make_client(runtime, retries=0))
        yield Shop(db, fake, runtime, SchedulerService(runtime), sender)


def seed(db: Database, ws_id: int, owner: Actor, member: Actor) -> dict[str, int]:
    """Jobs in every state in Lakeside (Berlin), one in Hudson (New York, no channel yet)."""
    t0 = berlin(3, 24, 18)
    configure(db, ws_id, owner, timezone="Europe/Berlin", production_channel=PRODUCTION_CHANNEL_ID)
    with db.session() as s:

        def job(name: str, actor: Actor = owner, **kw: Any) -> int:
            return add_job(s, ws_id, actor, now=t0, customer=name, **kw).id

        ids = {
            "alder": job("Alder", due=date(2026, 3, 27)),  # J-1001
            "birch": job("Birch", due=date(2026, 3, 31)),  # J-1002
            "cedar": job(  # J-1003, created by the member: the last person on it
                "Cedar", member, errors=2, errors_since=berlin(3, 24, 15)
            ),
            "dogwood": job("Dogwood"),  # J-1004
            "elm": job("Elm", status=JobStatus.PRODUCTION_READY, due=date(2026, 4, 10)),  # J-1005
            "fir": job("Fir", status=JobStatus.COMPLETED, due=date(2026, 3, 20)),  # J-1006
            "gum": job("Gum", due=date(2026, 3, 26), deleted=True),  # J-1007
            "hazel": job("Hazel", status=JobStatus.DRAFT, due=date(2026, 3, 26)),  # J-1008
        }
        add_link(s, s.get(Job, ids["dogwood"]), created=berlin(3, 24, 10), expires=berlin(3, 28, 10))
        hudson = ensure_workspace(s, "T0HUDSON", "Hudson Engraving", timezone="America/New_York")
        hudson_owner = actor_for(ensure_member(s, hudson, "U_HANK", "Hank"))
        ids["ivy"] = add_job(s, hudson.id, hudson_owner, now=t0, customer="Ivy", due=date(2026, 3, 27)).id
        ids["hudson"] = hudson.id
    return ids


EXPECTED = [
    ("Wed 03-25 00:00", "prod card", "J-1001"),
    ("Wed 03-25 00:00", "prod card", "J-1002"),
    ("Wed 03-25 00:00", "prod card", "J-1003"),
    ("Wed 03-25 00:00", "prod card", "J-1004"),
    ("Wed 03-25 00:00", "prod card", "J-1005"),
    ("Wed 03-25 00:00", "prod card", "J-1006"),
    ("Wed 03-25 00:00", "prod card", "J-1007"),
    ("Wed 03-25 00:00", "prod card", "J-1008"),
    ("Wed 03-25 00:00", "prod J-1001", "due soon Fri 2026-03-27"),
    ("Wed 03-25 00:00", "prod J-1008", "due soon Thu 2026-03-26"),
    (
        "Wed 03-25 08:30",
        "prod digest",
        "2026-03-25 | Due soon: J-1008 J-1001 | Waiting for approval: J-1004"
        " | Blocked by preflight errors: J-1003 | Ready to export: J-1005",
    ),
    ("Wed 03-25 11:00", "prod J-1003", "preflight errors 2 <@U_MEMBER>"),  # Tue 15–17 + Wed 9–11
    (
        "Thu 03-26 08:30",
        "prod digest",
        "2026-03-26 | Due today: J-1008 | Due soon: J-1001 | Waiting for approval: J-1004"
        " | Blocked by preflight errors: J-1003 | Ready to export: J-1005",
    ),
    ("Thu 03-26 10:00", "prod J-1004", "approval waiting 2 days"),
    ("Thu 03-26 12:00", "prod J-1008", "edited: due 2026-04-03"),  # the urgency ends silently
    (
        "Fri 03-27 08:30",  # 07:30 UTC
        "prod digest",
        "2026-03-27 | Due today: J-1001 | Waiting for approval: J-1004"
        " | Blocked by preflight errors: J-1003 | Ready to export: J-1005",
    ),
    ("Sat 03-28 00:00", "prod J-1001", "overdue Fri 2026-03-27"),
    ("Sat 03-28 10:00", "prod J-1004", "link expired"),
    # restart at Sat 12:00; Slack fails at Sun 00:00, the alert arrives once at 02:00 … 03:00 (DST)
    ("Sun 03-29 03:00", "prod J-1002", "due soon Tue 2026-03-31"),
    (
        "Mon 03-30 08:30",  # 06:30 UTC: summer time
        "prod digest",
        "2026-03-30 | Overdue: J-1001 | Due soon: J-1002 | Waiting for approval: J-1004"
        " | Blocked by preflight errors: J-1003 | Ready to export: J-1005",
    ),
    # Hudson gets a channel at 16:00: its card, then the alerts that waited, then today's digest
    ("Mon 03-30 16:00", "hudson card", "J-1001"),
    ("Mon 03-30 16:00", "hudson J-1001", "due soon Fri 2026-03-27"),
    ("Mon 03-30 16:00", "hudson J-1001", "overdue Fri 2026-03-27"),
    ("Mon 03-30 16:00", "hudson digest", "2026-03-30 | Overdue: J-1001"),
    (
        "Tue 03-31 08:30",  # J-1002 was exported on Monday
        "prod digest",
        "2026-03-31 | Overdue: J-1001 | Waiting for approval: J-1004"
        " | Blocked by preflight errors: J-1003 | Ready to export: J-1005",
    ),
    ("Tue 03-31 14:30", "hudson digest", "2026-03-31 | Overdue: J-1001"),  # 08:30 in New York
    ("Wed 04-01 00:00", "prod J-1008", "due soon Fri 2026-04-03"),  # the new due date flags again
]


def test_a_week_of_alerts_reaches_slack_exactly_once(
    db: Database, ws_id: int, owner: Actor, member: Actor, tmp_path: Path
) -> None:
    ids = seed(db, ws_id, owner, member)

    def edit_hazel() -> None:
        with db.session() as s:
            ws = s.get(Workspace, ws_id)
            jobs.edit_job(s, ws, s.get(Job, ids["hazel"]).number, owner, due_date=date(2026, 4, 3))

    def export_birch() -> None:
        with db.session() as s:
            s.get(Job, ids["birch"]).status = JobStatus.EXPORTED

    def hudson_gets_a_channel() -> None:
        with db.session() as s:
            s.get(Workspace, ids["hudson"]).production_channel = NY_CHANNEL
        sender_catches_up(db)  # its alerts waited for a card; the sender looks again every minute

    with shop(db, tmp_path) as app:
        before: dict[datetime, Callable[[], None]] = {
            berlin(3, 26, 12): edit_hazel,
            berlin(3, 28, 12): app.restart,
            berlin(3, 29, 0): lambda: app.fake.fail_next("chat.postMessage", "internal_error"),
            berlin(3, 29, 3): lambda: sender_catches_up(db),  # 02:00 does not exist that night
            berlin(3, 30, 12): export_birch,
            berlin(3, 30, 16): hudson_gets_a_channel,
        }
        now, end = berlin(3, 25), berlin(4, 1)
        while now <= end:
            if now in before:
                before[now]()
            app.step(now)
            if now == berlin(3, 29, 0):  # the failure: recorded, not delivered, waiting to retry
                assert app.log[-1][0] != label(now)
                with db.read() as s:
                    row = s.exec(select(Outbox).where(Outbox.last_error == "internal_error")).one()
                    assert (row.state, row.attempts, row.kind) == ("pending", 1, "urgency")
            now += timedelta(minutes=30)

        assert app.log == EXPECTED
        # every card shows the urgency the scheduler flagged (the sender refreshed it after each alert)
        hudson_card = next(m for m in app.fake.messages(NY_CHANNEL) if m["text"].startswith("J-1001"))
        assert ":rotating_light: overdue" in str(hudson_card["blocks"])
        with db.read() as s:
            urgency = {name: s.get(Job, i).urgency for name, i in ids.items() if name != "hudson"}
            unsent = select(Outbox).where(Outbox.state != "sent", Outbox.state != "skipped")
            assert s.exec(unsent).all() == []
        assert urgency == {
            "alder": "overdue",
            "birch": "",
            "cedar": "",
            "dogwood": "",
            "elm": "",
            "fir": "",
            "gum": "",
            "hazel": "due_soon",
            "ivy": "overdue",
        }

        # another restart, and the last day scanned again: every condition was said already
        app.restart()
        posted = app.fake.call_count("chat.postMessage")
        for minutes in range(0, 24 * 60 + 1, 30):
            app.step(berlin(3, 31) + timedelta(minutes=minutes))
        assert app.fake.call_count("chat.postMessage") == posted


@pytest.mark.parametrize("failure", ["outage", "ratelimited"])
def test_slack_down_while_an_alert_goes_out_then_back(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, failure: str
) -> None:
    configure(db, ws_id, owner, production_channel=PRODUCTION_CHANNEL_ID)
    t0 = datetime(2026, 3, 2, 6, tzinfo=UTC)
    with shop(db, tmp_path) as app:
        with db.session() as s:
            add_job(s, ws_id, owner, now=t0)
        app.step(t0)  # the card
        with db.session() as s:
            s.exec(select(Job)).one().due_date = date(2026, 3, 3)
        if failure == "outage":
            app.fake.outage(["chat.postMessage"], status=503, seconds=60)
        else:
            app.fake.fail_next("chat.postMessage", status=429, retry_after=1, times=None)
        app.step(t0 + timedelta(minutes=1))
        app.step(t0 + timedelta(minutes=2))  # still down, and backing off
        assert [where for _, where, _ in app.log] == ["prod card"]
        app.fake.clear_faults()
        app.step(t0 + timedelta(minutes=3))
        assert [where for _, where, _ in app.log] == ["prod card"]  # the sender waits out its backoff
        sender_catches_up(db)
        app.step(t0 + timedelta(minutes=4))
        app.step(t0 + timedelta(minutes=5))
        assert app.log[1:] == [("Mon 03-02 07:04", "prod J-1001", "due soon Tue 2026-03-03")]
