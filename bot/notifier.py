"""Job cards and thread replies, driven by the activity log and the outbox.

Use cases never talk to Slack. They write activity events (and, for messages that carry more than an
event should, outbox rows) in their own transactions; this sender follows both and posts what matters
to people: the card is posted once and updated in place, every other event is a reply in the card's
thread. A job's cursor (`slack_posted_event_id`) only moves after Slack said ok, so nothing is lost
when Slack is down: the sender simply tries again later. One sender acts at a time (a PostgreSQL
advisory lock; SQLite runs one process). Each workspace is posted to with its own client (its own bot
token with the installable app, see bot/installations.py); a paused workspace's posts wait.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlmodel import col, func, select

from bot import messages
from bot.blocks import job_card
from bot.channels import channel_for
from bot.home import VIEWERS, render_home
from bot.installations import AUTH_ERRORS, Installations, OneToken, SlackClients
from pipeline.background.rounds import Rounds
from pipeline.core.runtime import Runtime
from pipeline.jobs.summary import summarize
from storage.models import ActivityEvent, Job, Outbox, Workspace, utcnow

log = logging.getLogger(__name__)
_SENDER_LOCK = 0x43534E44  # "CSND"
# one sender per database schema (several deployments or test runs may share one PostgreSQL database)
_LOCK_SQL = "SELECT {fn}(:k, hashtext(current_schema()))"
_BATCH = 20
METADATA_TYPE = "craftstage_post"
SENDING_GRACE = timedelta(seconds=60)  # a row "sending" this long was interrupted by a crash


class SlackNotifier(Rounds):
    name = "slack sender"

    def __init__(self, runtime: Runtime, clients: SlackClients | WebClient, *, poll_s: float = 2.0) -> None:
        super().__init__(poll_s=poll_s)
        self.runtime = runtime
        # a bare client (tests, tools) is the one token every workspace uses
        self.clients: SlackClients = (
            clients if isinstance(clients, (OneToken, Installations)) else OneToken(clients)  # type: ignore[arg-type]
        )
        self._verified_jobs: set[int] = set()  # threads checked for posts a crash left unrecorded

    # the Notifier port -------------------------------------------------------------------------
    def job_changed(self, job_id: int, event: str, **details: Any) -> None:
        self.kick()

    def flush(self) -> int:
        """Send everything that is due; returns how many Slack messages went out."""
        with self._flush_lock, self.runtime.db.engine.connect() as lock_conn:
            if not self.runtime.db.is_sqlite:
                got = lock_conn.execute(
                    text(_LOCK_SQL.format(fn="pg_try_advisory_lock")), {"k": _SENDER_LOCK}
                ).scalar()
                lock_conn.commit()
                if not got:
                    return 0
            try:
                return self._send_events() + self._send_outbox()
            except Exception:
                # a reply may have reached Slack without its cursor being recorded (the database went
                # away between the two): look at the threads again before posting to them
                self._verified_jobs.clear()
                raise
            finally:
                if not self.runtime.db.is_sqlite:
                    lock_conn.execute(text(_LOCK_SQL.format(fn="pg_advisory_unlock")), {"k": _SENDER_LOCK})
                    lock_conn.commit()

    def _channel(self, client: WebClient, ws: Workspace) -> str | None:
        return channel_for(self.runtime, client, ws)

    def _paused(self) -> list[int]:
        with self.runtime.db.read() as s:
            return self.clients.paused_workspace_ids(s)

    # activity events → card + thread replies ----------------------------------------------------
    def _send_events(self) -> int:
        sent = 0
        paused = self._paused()
        with self.runtime.db.read() as s:
            pending = s.exec(
                select(Job.id)
                .join(ActivityEvent, col(ActivityEvent.job_id) == Job.id)
                .where(
                    col(ActivityEvent.id) > Job.slack_posted_event_id, col(Job.workspace_id).not_in(paused)
                )
                .group_by(col(Job.id))
                .order_by(func.min(ActivityEvent.id))
                .limit(200)
            ).all()
        for job_id in pending:
            assert job_id is not None  # a primary key read from the database
            try:
                sent += self._send_job(job_id)
            except SlackApiError as exc:
                log.warning("slack refused a post for job %s: %s", job_id, exc.response.get("error"))
                if exc.response.get("error") in AUTH_ERRORS:
                    self._refused_job(job_id, exc)
        return sent

    def _send_job(self, job_id: int) -> int:
        with self.runtime.db.read() as s:
            job = s.get(Job, job_id)
            ws = s.get(Workspace, job.workspace_id) if job else None
            if job is None or ws is None:
                return 0
            client = self.clients.for_team(ws.slack_team_id)
            if client is None:
                return 0  # paused: the workspace has no installation (its events wait)
            channel = job.slack_channel or self._channel(client, ws)
            if channel is None:
                return 0  # waits until a production channel is configured; the Home tab says so
            events = s.exec(
                select(ActivityEvent)
                .where(ActivityEvent.job_id == job_id, col(ActivityEvent.id) > job.slack_posted_event_id)
                .order_by(col(ActivityEvent.id))
                .limit(_BATCH)
            ).all()
            # Read the job again *after* its events: on PostgreSQL each statement sees the latest
            # commits, so an event committed between the first read and the events query (preflight
            # finishing right after proofs) would otherwise be posted under a card that predates it,
            # and the cursor moving past it would leave the card stale until the job's next event.
            s.refresh(job)
            card_text, card_blocks = job_card(summarize(s, ws, job))
        sent = 0
        ts = job.slack_ts
        if ts is not None and job_id not in self._verified_jobs:
            events = self._skip_already_posted(client, job_id, channel, ts, events)
            self._verified_jobs.add(job_id)
        if ts is None:
            resp = client.chat_postMessage(
                channel=channel, text=card_text, blocks=card_blocks, unfurl_links=False
            )
            ts = resp["ts"]
            channel = resp["channel"]
            with self.runtime.db.session() as s:
                j = s.get(Job, job_id)
                if j is None:
                    return sent  # purged meanwhile
                j.slack_channel, j.slack_ts = channel, ts
            sent += 1
        for ev in events:
            for msg in messages.thread_messages(ev, job):
                self._post(client, channel, ts, msg, {"event_id": ev.pk})
                sent += 1
            with self.runtime.db.session() as s:
                j = s.get(Job, job_id)
                if j is None:
                    return sent  # purged meanwhile
                j.slack_posted_event_id = max(j.slack_posted_event_id, ev.pk)
        if events:
            client.chat_update(channel=channel, ts=ts, text=card_text, blocks=card_blocks)
            self._refresh_homes(client, job.workspace_id)
        return sent

    def _refused_job(self, job_id: int, exc: SlackApiError) -> None:
        with self.runtime.db.read() as s:
            job = s.get(Job, job_id)
            ws = s.get(Workspace, job.workspace_id) if job else None
        if ws is not None:
            self.clients.refused(ws.slack_team_id, exc)

    def _refresh_homes(self, client: WebClient, ws_id: int) -> None:
        """Republish the Home tab of people who looked at it lately (their own filters kept)."""
        for user, state, view_hash in VIEWERS.due(ws_id):
            try:
                view = render_home(self.runtime, ws_id, state)
                resp = client.views_publish(user_id=user, view=view, hash=view_hash)
                VIEWERS.refreshed(user, (resp.get("view") or {}).get("hash"))
            except SlackApiError as exc:  # hash_conflict: the person changed their view meanwhile
                log.info("did not refresh the Home tab of %s: %s", user, exc.response.get("error"))

    def _skip_already_posted(
        self, client: WebClient, job_id: int, channel: str, ts: str, events: Sequence[ActivityEvent]
    ) -> Sequence[ActivityEvent]:
        """After a crash between posting and recording, the thread already has some replies: find the
        newest event id our messages carry in their metadata and move the cursor past it."""
        try:
            replies = client.conversations_replies(
                channel=channel, ts=ts, include_all_metadata=True, limit=200
            )
        except SlackApiError:
            return events
        found: list[dict[str, Any]] = replies.get("messages", [])
        posted = [
            int(m["metadata"]["event_payload"].get("event_id", 0))
            for m in found
            if (m.get("metadata") or {}).get("event_type") == METADATA_TYPE
        ]
        newest = max(posted, default=0)
        if newest and any(ev.pk <= newest for ev in events):
            with self.runtime.db.session() as s:
                j = s.get(Job, job_id)
                if j is not None:  # None: purged meanwhile
                    j.slack_posted_event_id = max(j.slack_posted_event_id, newest)
            return [ev for ev in events if ev.pk > newest]
        return events

    def _post(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str | None,
        msg: messages.Message,
        mark: dict[str, Any],
    ) -> Any:
        if msg.file_path:
            path = Path(msg.file_path)
            if not path.is_absolute():  # stored relative to the data folder's files
                path = self.runtime.settings.files_dir / path
            if path.exists():
                # uploads carry no metadata: a crash right after one may repeat the file (harmless)
                return client.files_upload_v2(
                    channel=channel,
                    thread_ts=thread_ts,
                    file=str(path),
                    filename=msg.file_name or path.name,
                    title=msg.file_title or path.name,
                    initial_comment=msg.text,
                )
        return client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=msg.text,
            blocks=msg.blocks,
            unfurl_links=False,
            metadata={"event_type": METADATA_TYPE, "event_payload": mark},
        )

    # outbox: messages with more than an event carries (approval links, alerts) -------------------
    def _send_outbox(self) -> int:
        sent = 0
        now = utcnow()
        paused = self._paused()
        with self.runtime.db.read() as s:
            due = s.exec(
                select(Outbox.id)
                .where(
                    col(Outbox.via) == "slack",  # emails to customers have their own sender
                    col(Outbox.workspace_id).not_in(paused),
                    (col(Outbox.state) == "pending") & (col(Outbox.next_attempt_at) <= now)
                    | (col(Outbox.state) == "sending") & (col(Outbox.next_attempt_at) <= now - SENDING_GRACE),
                )
                .order_by(col(Outbox.id))
                .limit(_BATCH)
            ).all()
        for outbox_id in due:
            assert outbox_id is not None  # a primary key read from the database
            if self._send_one(outbox_id):
                sent += 1
        return sent

    def _send_one(self, outbox_id: int) -> bool:
        with self.runtime.db.read() as s:
            found = s.get(Outbox, outbox_id)
            if found is None:
                return False  # purged with its job meanwhile
            team_id = s.get_one(Workspace, found.workspace_id).slack_team_id
        client = self.clients.for_team(team_id)
        if client is None:
            return False  # paused since the round began: the row waits, untouched
        with self.runtime.db.session() as s:
            row = s.get(Outbox, outbox_id)
            if row is None:
                return False  # purged with its job meanwhile
            ws = s.get_one(Workspace, row.workspace_id)
            job = s.get(Job, row.job_id) if row.job_id else None
            channel = (job.slack_channel if job else None) or self._channel(client, ws)
            thread_ts = job.slack_ts if job else None
            interrupted = row.state == "sending"
            if channel is not None and (job is None or thread_ts is not None):
                # recorded as being sent before it goes: a crash from here on is found again, below
                row.state, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, utcnow()
        if channel is None or (job is not None and thread_ts is None):
            self._retry_later(outbox_id, "no production channel or job card yet", seconds=60)
            return False
        if interrupted and self._already_in_slack(client, outbox_id, channel, thread_ts):
            self._mark_sent(outbox_id, None)
            return False
        msg = messages.outbox_message(row, mail=self.runtime.settings.mail_enabled)
        try:
            resp = self._post(client, channel, thread_ts, msg, {"outbox_id": outbox_id})
        except SlackApiError as exc:
            if self.clients.refused(team_id, exc):
                # the token no longer works (uninstalled, revoked): not the message's fault, so no
                # long backoff; once the workspace is paused the row waits for it to install again
                self._retry_later(outbox_id, str(exc.response.get("error")), seconds=5, cap=60)
            elif _transient(exc):
                # Slack rate limiting or having an outage: try again soon (never before its Retry-After),
                # not after the backoff of up to an hour meant for refusals such as channel_not_found,
                # which held an approval link back for minutes after a short outage had ended
                wait = _retry_after(exc)
                self._retry_later(outbox_id, str(exc.response.get("error")), seconds=2, cap=60, at_least=wait)
            else:
                self._retry_later(outbox_id, str(exc.response.get("error")), seconds=30)
            return False
        self._mark_sent(outbox_id, resp.get("ts"))
        if job is not None:
            self._refresh_card(client, job.pk)
        return True

    def _already_in_slack(
        self, client: WebClient, outbox_id: int, channel: str, thread_ts: str | None
    ) -> bool:
        """Did a message of this outbox row reach Slack before the process died?"""
        try:
            if thread_ts:
                found = client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                found = client.conversations_history(channel=channel, include_all_metadata=True, limit=200)
        except SlackApiError:
            return False
        replies: list[dict[str, Any]] = found.get("messages", [])
        return any(
            (m.get("metadata") or {}).get("event_type") == METADATA_TYPE
            and m["metadata"].get("event_payload", {}).get("outbox_id") == outbox_id
            for m in replies
        )

    def _mark_sent(self, outbox_id: int, ts: str | None) -> None:
        with self.runtime.db.session() as s:
            row = s.get(Outbox, outbox_id)
            if row is None:
                return  # purged with its job meanwhile
            row.state, row.sent_at, row.result_ts = "sent", utcnow(), ts
            row.payload = messages.scrub(row.payload)

    def _refresh_card(self, client: WebClient, job_id: int) -> None:
        with self.runtime.db.read() as s:
            job = s.get(Job, job_id)
            if job is None or job.slack_ts is None or job.slack_channel is None:
                return  # purged meanwhile, or no card yet
            ws = s.get_one(Workspace, job.workspace_id)
            text, blocks = job_card(summarize(s, ws, job))
        try:
            client.chat_update(channel=job.slack_channel, ts=job.slack_ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not update the card of job %s: %s", job_id, exc.response.get("error"))

    def _retry_later(
        self, outbox_id: int, error: str, *, seconds: int, cap: int = 3600, at_least: float = 0
    ) -> None:
        with self.runtime.db.session() as s:
            row = s.get(Outbox, outbox_id)
            if row is None:
                return  # purged with its job meanwhile
            row.state = "pending"
            row.last_error = error[:500]
            backoff = max(min(seconds * (2 ** min(row.attempts, 6)), cap), at_least)
            row.next_attempt_at = utcnow() + timedelta(seconds=backoff)


def _transient(exc: SlackApiError) -> bool:
    """Rate limited (429) or a server error (5xx): Slack will take the same message again later."""
    status = getattr(exc.response, "status_code", 0) or 0
    return status == 429 or status >= 500


def _retry_after(exc: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (getattr(exc.response, "headers", None) or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else 0.0
    except ValueError:
        return 0.0
