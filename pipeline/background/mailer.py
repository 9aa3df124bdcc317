"""The customer's emails leave here: the outbox rows with `via="email"`, sent with smtplib.

A row is sent only while it still makes sense (the link works and the job waits for the customer),
with the job as it is at that moment. When the server accepts it, the row is marked sent and the
activity log says so (the job's thread: "Link emailed to … at 14:02"). When the server is down, or
answers 4xx (try later), the row waits and is tried again with a growing pause. When it answers 5xx
(a bad address, a refused message), the row fails for good and the thread says why.

Exactly once: the dedupe keys (pipeline/approval/customer_mail.py) keep an email from being recorded twice;
one sender acts at a time (a PostgreSQL advisory lock per schema; SQLite runs one process); a row
is marked "sending" before it goes. Only a crash between the server's acceptance and recording it can
send a message again: that copy carries the same Message-ID.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import col, func, select

from pipeline.approval.customer_mail import KIND, sender_address
from pipeline.approval.links import expired
from pipeline.approval.mail import LinkEmail, build_message, connect, message_id
from pipeline.background.rounds import Rounds
from pipeline.core.actors import SYSTEM
from pipeline.core.addresses import SmtpServer, parse_smtp_url
from pipeline.core.keys import unseal
from pipeline.core.runtime import Runtime
from pipeline.jobs.activity import Event, record
from pipeline.schedule.clock import workspace_zone
from storage.models import ApprovalLink, Item, Job, JobStatus, LinkMail, Outbox, Workspace, utcnow

log = logging.getLogger(__name__)
_MAILER_LOCK = 0x43534D4C  # "CSML"
_LOCK_SQL = "SELECT {fn}(:k, hashtext(current_schema()))"
_BATCH = 20
FIRST_RETRY_S = 15
MAX_RETRY_S = 30 * 60
SENDING_GRACE = timedelta(minutes=5)  # a row "sending" this long was interrupted by a crash

Clock = Callable[[], datetime]
Connector = Callable[[SmtpServer], smtplib.SMTP]


@dataclass(frozen=True)
class Outcome:
    """What became of one email: sent | retry | failed | cancelled."""

    outbox_id: int
    state: str
    to: str = ""
    detail: str = ""


class MailSender(Rounds):
    """Sends due customer emails; `flush()` is one round, `start()` runs rounds on a thread."""

    name = "mail sender"

    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock = utcnow,
        connector: Connector | None = None,
        poll_s: float = 5.0,
        timeout_s: float = 30.0,
    ) -> None:
        super().__init__(poll_s=poll_s, stop_timeout_s=timeout_s + 5)
        self.runtime = runtime
        self.clock = clock
        self.timeout_s = timeout_s
        self._connector = connector

    @property
    def server(self) -> SmtpServer:
        url = self.runtime.settings.smtp_url
        assert url is not None, "SMTP_URL is not set"
        return parse_smtp_url(url.get_secret_value())

    # one round -----------------------------------------------------------------------------------
    def flush(self, now: datetime | None = None) -> list[Outcome]:
        """Send every email that is due at `now` (default: the clock); returns what became of each."""
        now = now or self.clock()
        with self._flush_lock, self.runtime.db.engine.connect() as lock_conn:
            if not self.runtime.db.is_sqlite:
                got = lock_conn.execute(
                    text(_LOCK_SQL.format(fn="pg_try_advisory_lock")), {"k": _MAILER_LOCK}
                ).scalar()
                lock_conn.commit()
                if not got:
                    return []
            try:
                return self._send_due(now)
            finally:
                if not self.runtime.db.is_sqlite:
                    lock_conn.execute(text(_LOCK_SQL.format(fn="pg_advisory_unlock")), {"k": _MAILER_LOCK})
                    lock_conn.commit()

    def _send_due(self, now: datetime) -> list[Outcome]:
        with self.runtime.db.read() as s:
            due = s.exec(
                select(Outbox.id)
                .where(
                    col(Outbox.via) == "email",
                    (col(Outbox.state) == "pending") & (col(Outbox.next_attempt_at) <= now)
                    | (col(Outbox.state) == "sending") & (col(Outbox.next_attempt_at) <= now - SENDING_GRACE),
                )
                .order_by(col(Outbox.id))
                .limit(_BATCH)
            ).all()
        outcomes: list[Outcome] = []
        conn: smtplib.SMTP | None = None
        unreachable: str | None = None  # no connection this round: the rest wait too, untried
        try:
            for outbox_id in due:
                assert outbox_id is not None  # a primary key read from the database
                prepared = self._prepare(outbox_id, now)
                if isinstance(prepared, Outcome):
                    outcomes.append(prepared)
                    continue
                if unreachable is not None:
                    outcomes.append(self._retry(prepared.outbox_id, now, unreachable, prepared.to))
                    continue
                try:
                    if conn is None:
                        conn = self._connect()
                    conn.send_message(prepared.message)
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reply = next(iter(exc.recipients.values()), (0, b""))
                    outcomes.append(self._refused(prepared, now, code, reply, "the address"))
                except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                    what = (
                        "the sender address" if isinstance(exc, smtplib.SMTPSenderRefused) else "the message"
                    )
                    outcomes.append(self._refused(prepared, now, exc.smtp_code, exc.smtp_error, what))
                    if exc.smtp_code < 500:
                        _drop(conn)
                        conn = None
                except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timeouts, TLS errors
                    # down, unreachable, gone mid-conversation, or refusing our login: try again later
                    outcomes.append(self._retry(prepared.outbox_id, now, _describe(exc), prepared.to))
                    if conn is None:
                        unreachable = _describe(exc)
                    _drop(conn)
                    conn = None
                    if isinstance(exc, smtplib.SMTPAuthenticationError):
                        log.error("the SMTP server refused the login of SMTP_URL: %s", _describe(exc))
                else:
                    outcomes.append(self._accepted(prepared, now))
        finally:
            if conn is not None:
                try:
                    conn.quit()
                except (smtplib.SMTPException, OSError):
                    conn.close()
        return outcomes

    def _connect(self) -> smtplib.SMTP:
        if self._connector is not None:
            return self._connector(self.server)
        return connect(self.server, timeout=self.timeout_s)

    # before sending: still wanted? -----------------------------------------------------------------
    def _prepare(self, outbox_id: int, now: datetime) -> _Prepared | Outcome:
        with self.runtime.db.session() as s:
            row = s.get(Outbox, outbox_id)
            if row is None or row.state not in ("pending", "sending"):
                return Outcome(outbox_id, "skipped")
            p = row.payload
            ws = s.get(Workspace, row.workspace_id)
            job = s.get(Job, row.job_id) if row.job_id else None
            link = s.get(ApprovalLink, p.get("link_id")) if p.get("link_id") else None
            kept = s.exec(select(LinkMail).where(LinkMail.link_id == p.get("link_id"))).first()
            why_not = _not_wanted(job, link, kept, now)
            url = unseal(self.runtime.settings, kept.url) if kept is not None else None
            if why_not is None and url is None:
                why_not = "the kept link cannot be read (the data folder's link-mail.key changed)"
            sender = sender_address(self.runtime.settings, ws) if ws is not None else None
            if why_not is None and sender is None:
                why_not = "no sender address (CRAFTSTAGE_MAIL_FROM)"
            if why_not is not None:
                row.state, row.last_error = "cancelled", why_not
                log.info("email %s not sent: %s", outbox_id, why_not)
                return Outcome(outbox_id, "cancelled", p.get("to", ""), why_not)
            assert job is not None and link is not None and kept is not None and ws is not None and url
            assert sender is not None
            items = s.exec(select(func.count()).select_from(Item).where(Item.job_id == job.id)).one()
            expires = _aware(link.expires_at)
            mail = LinkEmail(
                purpose="reminder" if p.get("purpose") == "reminder" else "link",
                shop_name=ws.name,
                customer_name=job.customer_name,
                to=kept.to_address,
                sender=sender,
                reply_to=ws.mail_reply_to,
                job_ref=job.ref,
                reference=job.reference,
                items=int(items),
                due_date=job.due_date,
                url=url,
                expires_local=expires.astimezone(workspace_zone(ws)) if expires else None,
                message_id=message_id(outbox_id, sender),
            )
            try:
                message = build_message(mail, now=now)
            except (ValueError, TypeError) as exc:  # an address the email package will not take
                row.state, row.last_error = "failed", f"could not build the email: {exc}"[:500]
                _record_failure(s, row, job, kept.to_address, 0, f"the address could not be used ({exc})")
                return Outcome(outbox_id, "failed", kept.to_address, str(exc))
            # recorded as being sent before it goes: a crash from here on is found again after the grace
            row.state, row.attempts, row.next_attempt_at = "sending", row.attempts + 1, now
            return _Prepared(outbox_id, row.job_id, p.get("purpose", "link"), kept.to_address, message)

    # after sending -------------------------------------------------------------------------------
    def _accepted(self, prepared: _Prepared, now: datetime) -> Outcome:
        with self.runtime.db.session() as s:
            row = s.get(Outbox, prepared.outbox_id)
            assert row is not None
            row.state, row.sent_at, row.last_error = "sent", now, None
            kept = s.exec(select(LinkMail).where(LinkMail.link_id == row.payload.get("link_id"))).first()
            if kept is not None:
                if prepared.purpose == "reminder":
                    kept.reminders, kept.reminded_at = kept.reminders + 1, now
                elif kept.emailed_at is None:
                    kept.emailed_at = now
            job = s.get(Job, row.job_id) if row.job_id else None
            if job is not None:
                ws = s.get(Workspace, job.workspace_id)
                local = now.astimezone(workspace_zone(ws)) if ws is not None else now
                record(
                    s,
                    job.workspace_id,
                    job.id,
                    Event.LINK_EMAILED,
                    SYSTEM,
                    to=prepared.to,
                    purpose=prepared.purpose,
                    number=row.payload.get("number"),
                    at=now.isoformat(),
                    time=f"{local:%H:%M}",
                )
        self._tell(prepared.job_id, Event.LINK_EMAILED)
        log.info("email %s (%s) accepted by %s", prepared.outbox_id, prepared.purpose, self.server.label)
        return Outcome(prepared.outbox_id, "sent", prepared.to)

    def _refused(self, prepared: _Prepared, now: datetime, code: int, reply: Any, what: str) -> Outcome:
        answer = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        answer = " ".join(answer.split())[:300]
        if code < 500:  # 4xx: the server asks us to come back later
            return self._retry(prepared.outbox_id, now, f"{code} {answer}", prepared.to)
        with self.runtime.db.session() as s:
            row = s.get(Outbox, prepared.outbox_id)
            assert row is not None
            row.state, row.last_error = "failed", f"{code} {answer}"[:500]
            job = s.get(Job, row.job_id) if row.job_id else None
            if job is not None:
                _record_failure(
                    s, row, job, prepared.to, code, f"the mail server refused {what}: {code} {answer}"
                )
        self._tell(prepared.job_id, Event.EMAIL_FAILED)
        log.warning("email %s refused for good: %s %s", prepared.outbox_id, code, answer)
        return Outcome(prepared.outbox_id, "failed", prepared.to, f"{code} {answer}")

    def _retry(self, outbox_id: int, now: datetime, error: str, to: str) -> Outcome:
        with self.runtime.db.session() as s:
            row = s.get(Outbox, outbox_id)
            assert row is not None
            wait = min(FIRST_RETRY_S * 2 ** max(row.attempts - 1, 0), MAX_RETRY_S)
            row.state, row.last_error = "pending", error[:500]
            row.next_attempt_at = now + timedelta(seconds=wait)
        log.warning("email %s not sent (%s); trying again in %ss", outbox_id, error, wait)
        return Outcome(outbox_id, "retry", to, error)

    def _tell(self, job_id: int | None, event: str) -> None:
        if job_id is None:
            return
        try:
            self.runtime.notifier.job_changed(job_id, event)
        except Exception:  # the email is recorded; Slack catches up from the log
            log.exception("notifier failed for job %s", job_id)


@dataclass(frozen=True)
class _Prepared:
    outbox_id: int
    job_id: int | None
    purpose: str
    to: str
    message: Any


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import UTC

    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def _not_wanted(
    job: Job | None, link: ApprovalLink | None, kept: LinkMail | None, now: datetime
) -> str | None:
    """Why this email should not go out now, or None. Checked again just before each email."""
    if job is None or job.deleted_at is not None:
        return "the job was deleted"
    if link is None or kept is None or not link.active or link.revoked_at is not None:
        return "the link was revoked or replaced"
    if expired(link.expires_at, now):
        return "the link expired"
    if job.status != JobStatus.PENDING_APPROVAL:
        return "the job is not waiting for the customer" + (
            " (already approved)" if job.status != JobStatus.PROOFING else ""
        )
    return None


def _record_failure(s: Any, row: Outbox, job: Job, to: str, code: int, why: str) -> None:
    record(
        s,
        job.workspace_id,
        job.id,
        Event.EMAIL_FAILED,
        SYSTEM,
        to=to,
        purpose=row.payload.get("purpose", "link"),
        code=code,
        error=why[:400],
    )


def _drop(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        reply = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{exc.smtp_code} {' '.join(reply.split())}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


__all__ = ["KIND", "MailSender", "Outcome"]
