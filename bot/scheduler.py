"""The scheduler in a running app: APScheduler runs pipeline.schedule.scan.scan every minute, and this module
says the scans' alerts in Block Kit (thread replies and the daily digest).

The scan itself takes the leader lock (a PostgreSQL advisory lock for the length of its transaction),
so several copies of the app can all run this service: one acts per round, the others skip. The digest
is not a cron entry per workspace: every round asks each workspace whether its local digest time has
come, so time zones, DST jumps and settings changed at run time need no rescheduling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.blocks import SECTION_LIMIT, Block, clip, context, esc, list_line, section
from bot.channels import adopt_defaults
from bot.installations import slack_clients
from pipeline.core.runtime import Runtime
from pipeline.jobs.lifecycle import LABELS
from pipeline.schedule.alerts import (
    Alert,
    ApprovalReminder,
    Digest,
    DigestSection,
    LinkExpired,
    PreflightAlert,
    ScanResult,
    UrgencyAlert,
)
from pipeline.schedule.scan import scan
from storage.models import utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SECTION_ICONS = {
    "overdue": ":rotating_light:",
    "due_today": ":date:",
    "due_soon": ":alarm_clock:",
    "waiting_approval": ":hourglass_flowing_sand:",
    "blocked": ":warning:",
    "ready": ":large_green_circle:",
}


# ---- what the alerts say -----------------------------------------------------------------------


def day_text(d: date) -> str:
    return f"{d:%a} {d.isoformat()}"


def moment_text(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M} {moment.tzname()}"


def _plural(n: float, word: str) -> str:
    n = int(n)
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _payload(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    return {"text": text, "blocks": blocks or [section(text)]}


def urgency_text(a: UrgencyAlert) -> str:
    status = LABELS.get(a.status, a.status)
    days = (a.due_date - a.today).days
    if a.level == "overdue":
        late = _plural(-days, "day")
        return (
            f":rotating_light: *{a.ref}* for {esc(a.customer)} is *overdue*: it was due "
            f"{day_text(a.due_date)} ({late} ago). Status: {status}."
        )
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    return (
        f":alarm_clock: *{a.ref}* for {esc(a.customer)} is *due soon*: due {day_text(a.due_date)} "
        f"({when}). Status: {status}."
    )


def preflight_text(a: PreflightAlert) -> str:
    who = f"<@{a.who_user_id}>" if a.who_user_id else esc(a.who_name) if a.who_name else None
    hours = f"{a.hours:g} working hour{'' if a.hours == 1 else 's'}"
    text = (
        f":warning: *{a.ref}* has had {_plural(a.errors, 'preflight error')} for more than {hours} "
        f"(since {moment_text(a.since_local)}). It cannot go to production until they are fixed: "
        f"`/job preflight {a.ref}` lists them."
    )
    return text + (f"\n{who}, you worked on it last." if who else "")


def _waited(days: float) -> str:
    return _plural(days, "day") if days >= 1 else _plural(max(days * 24, 1), "hour")


def reminder_text(a: ApprovalReminder) -> str:
    progress = f" {a.approved} of {a.items} item(s) approved so far." if a.items else ""
    return (
        f":hourglass_flowing_sand: *{a.ref}* has waited {_waited(a.days)} for "
        f"{esc(a.customer)}'s approval (asked {moment_text(a.waiting_since_local)}).{progress} "
        f"Nudge them at {esc(a.email)}, or record an approval they gave by phone or email."
    )


def expired_text(a: LinkExpired) -> str:
    return (
        f":no_entry: The approval link for *{a.ref}* expired {moment_text(a.expired_local)} and no "
        f"longer opens. The job still waits for approval: make a new link with `/job approval {a.ref}` "
        "or record the customer's answer."
    )


def digest_section(sec: DigestSection) -> Block:
    head = f"{SECTION_ICONS.get(sec.key, '')} *{sec.title}* ({sec.total})".strip()
    lines: list[str] = []
    size = len(head)
    for e in sec.entries:
        due = e.due_date.isoformat() if e.due_date else None
        line = "• " + list_line(e.ref, clip(e.customer, 80), e.status, "", False, due)
        if size + len(line) + 40 > SECTION_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
    more = sec.total - len(lines)
    if more > 0:
        lines.append(f"_…and {more} more_")
    return section("\n".join([head, *lines]))


def digest_payload(d: Digest) -> dict[str, Any]:
    counts = ", ".join(f"{s.total} {s.title.lower()}" for s in d.sections)
    title = f"Daily digest for {d.shop}, {day_text(d.local_date)}" if d.shop else "Daily digest"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": clip(title, 150)}}]
    blocks.extend(digest_section(s) for s in d.sections)
    blocks.append(context("`/job list --sort due` lists every job · `/job show J-…` opens one"))
    return {"text": f"Daily digest {d.local_date.isoformat()}: {counts}", "blocks": blocks[:50]}


def render_alert(alert: Alert) -> dict[str, Any]:
    """The outbox payload ({"text", "blocks"}) of a scheduler alert."""
    if isinstance(alert, Digest):
        return digest_payload(alert)
    if isinstance(alert, UrgencyAlert):
        return _payload(urgency_text(alert))
    if isinstance(alert, PreflightAlert):
        return _payload(preflight_text(alert))
    if isinstance(alert, ApprovalReminder):
        return _payload(reminder_text(alert))
    if isinstance(alert, LinkExpired):
        return _payload(expired_text(alert))
    raise TypeError(f"no rendering for {type(alert).__name__}")


# ---- the service -------------------------------------------------------------------------------


class SchedulerService:
    """Runs the scans on APScheduler's background thread; `clock` is injectable for tests."""

    JOB_ID = "craftstage-scan"

    def __init__(self, runtime: Runtime, *, clock: Clock = utcnow, interval_s: float | None = None) -> None:
        self.runtime = runtime
        self.clock = clock
        self.interval_s = interval_s or runtime.settings.scheduler_interval_s
        self._scheduler: BackgroundScheduler | None = None
        self._sender: Any = None
        self._client: Any = None
        self._lock = threading.Lock()

    def run_once(self, now: datetime | None = None) -> ScanResult:
        """One scan now (or at `now`); safe to call while the background job runs."""
        with self._lock:
            # the default channel stands in only for the workspace that owns it (see bot/channels.py)
            adopt_defaults(self.runtime, self._slack_client())
            return scan(
                self.runtime.db,
                render_alert,
                now or self.clock(),
            )

    def _slack_client(self) -> Any:
        """Each workspace's client (its own token with the installable app); None when Slack is off."""
        if self._client is None:
            self._client = slack_clients(self.runtime)
        return self._client

    def run_once_and_send(self) -> tuple[ScanResult, int]:
        """`python app.py scheduler --once`: one scan, then one round of the Slack sender (if Slack is
        configured); returns the scan and how many Slack messages went out."""
        result = self.run_once()
        clients = self._slack_client()
        if clients is None:
            return result, 0
        from bot.notifier import SlackNotifier

        return result, SlackNotifier(self.runtime, clients).flush()

    def _tick(self) -> None:
        try:
            self.run_once()
        except Exception:  # the next round tries again (database restart …)
            log.exception("scheduler scan failed; the next round retries")

    def start(self, *, sender: bool = False) -> SchedulerService:
        """Start scanning (the first scan at once). `sender=True` also starts a Slack sender, for
        `python app.py scheduler`, which runs without the web app and its sender."""
        if self._scheduler is not None:
            return self
        if sender:
            self._start_sender()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.interval_s, timezone=UTC),
            id=self.JOB_ID,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(int(self.interval_s), 1),
        )
        self._scheduler.start()
        log.info("scheduler started: a scan every %gs", self.interval_s)
        return self

    def _start_sender(self) -> None:
        from bot.notifier import SlackNotifier

        clients = self._slack_client()
        if clients is None:
            log.warning("Slack is not configured: alerts are recorded and wait for a Slack sender")
            return
        self._sender = SlackNotifier(self.runtime, clients)
        self.runtime.notifier = self._sender
        self._sender.start()

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._sender is not None:
            self._sender.stop()
            self._sender = None
