"""The approval link by email, against a real SMTP server on localhost (tests/standins/smtp_server.py),
on both databases: the message and its link, a server that is down or busy, a refused address,
reminders over a simulated week, and header injection through every field that reaches a header."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.messages import thread_messages
from bot.scheduler import render_alert
from pipeline.approval import links, offline
from pipeline.approval.customer_mail import MailNotSetUp, email_link
from pipeline.background.mailer import MailSender
from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.core.keys import LINK_KEY_FILE, unseal
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event
from pipeline.jobs.workspaces import update_settings
from pipeline.schedule.scan import scan
from storage.db import Database
from storage.models import ActivityEvent, Job, LinkMail, Outbox, Workspace, utcnow
from tests.handlers.approval_fixtures import LiveServer, make_runtime, seed_job, serve
from tests.standins.smtp_server import SmtpStandIn

SENDER = "proofs@craftstage.example"
SHOP_ADDRESS = "office@lakeside-trophies.example"
CUSTOMER = "rebecca@example.org"


@pytest.fixture
def live(db: Database, tmp_path: Path, smtp: SmtpStandIn) -> Iterator[LiveServer]:
    runtime, notifier = make_runtime(db, tmp_path, smtp_url=smtp.url(), mail_from=SENDER)
    with serve(runtime, notifier) as server:
        yield server


@dataclass
class Linked:
    job_id: int
    url: str
    link_id: int


def make_link(
    db: Database, live: LiveServer, job_id: int, actor: Actor, *, now: datetime | None = None, **kw: Any
) -> Linked:
    with db.session() as s:
        new = links.create_link(s, s.get(Job, job_id), actor, base_url=live.url, now=now, **kw)
        return Linked(job_id, new.url, new.link.id)


def ask_email(db: Database, live: LiveServer, linked: Linked, actor: Actor) -> bool:
    with db.session() as s:
        return email_link(s, s.get(Job, linked.job_id), linked.url, actor, live.runtime.settings).new


def events(db: Database, job_id: int, kind: str) -> list[ActivityEvent]:
    with db.read() as s:
        return list(
            s.exec(
                select(ActivityEvent)
                .where(ActivityEvent.job_id == job_id, ActivityEvent.event_type == kind)
                .order_by(col(ActivityEvent.id))
            )
        )


def thread_text(db: Database, ev: ActivityEvent) -> str:
    with db.read() as s:
        job = s.get(Job, ev.job_id)
        return " ".join(m.text for m in thread_messages(ev, job))


def parts(msg: EmailMessage) -> tuple[str, str]:
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


class _Resources(HTMLParser):
    """Every URL an HTML email would load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "background", "srcset", "poster") or (tag == "link" and name == "href"):
                self.loads.append(value or "")
            elif name == "href":
                self.links.append(value or "")


# ---- the message -------------------------------------------------------------------------------


def test_link_email_has_its_headers_both_parts_and_a_link_that_opens_the_page(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    with db.session() as s:
        update_settings(s, s.get(Workspace, ws_id), owner, mail_reply_to=SHOP_ADDRESS)
    job_id = seed_job(db, ws_id, owner, live.files_dir, items=3, due=date(2099, 12, 14))
    linked = make_link(db, live, job_id, owner, expires_in_days=14)
    assert ask_email(db, live, linked, owner) is True
    assert not events(db, job_id, Event.LINK_EMAILED), "nothing is said before the server accepted it"

    outcomes = MailSender(live.runtime).flush()
    assert [o.state for o in outcomes] == ["sent"]
    (got,) = smtp.received
    assert got.mail_from == SENDER and got.rcpt_tos == [CUSTOMER]
    msg = got.message
    assert msg["From"].addresses[0].display_name == "Lakeside Trophies"
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["Reply-To"].addresses[0].addr_spec == SHOP_ADDRESS
    assert msg["Reply-To"].addresses[0].display_name == "Lakeside Trophies"
    assert (msg["To"].addresses[0].display_name, msg["To"].addresses[0].addr_spec) == (
        "Rebecca Stone",
        CUSTOMER,
    )
    assert msg["Subject"] == "Please approve your proofs for J-1001 (PO-4471)"
    assert re.fullmatch(r"<craftstage\.\d+@craftstage\.example>", msg["Message-ID"])
    assert msg["Date"].datetime.tzinfo is not None
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]

    plain, html = parts(msg)
    with db.read() as s:
        expires = links.active_link(s, s.get(Job, job_id)).expires_at
    for text in (plain, html):
        assert "Lakeside Trophies" in text and "J-1001" in text and "PO-4471" in text
        assert "3 items" in text and "Monday 14 December 2099" in text
        assert f"{expires:%A} {expires.day} {expires:%B %Y}, {expires:%H:%M} (UTC)" in text  # expiry
        assert "approve" in text.lower()
    assert linked.url in plain
    resources = _Resources()
    resources.feed(html)
    assert resources.loads == [], "no remote images, fonts or trackers"
    assert set(resources.links) == {linked.url}
    assert 'name="viewport"' in html and "max-width:560px" in html  # laid out for a phone

    # the link the customer got opens the approval page
    url = re.search(r"https?://\S+/approve/\S+", plain).group(0)
    page = httpx.get(url, timeout=30)
    assert (
        page.status_code == 200 and "<h1>Order PO-4471</h1>" in page.text and "Lakeside Trophies" in page.text
    )
    assert "Approve all 3 remaining" in page.text

    # the thread says so, with the time, once
    (ev,) = events(db, job_id, Event.LINK_EMAILED)
    local = datetime.fromisoformat(ev.details["at"]).astimezone(UTC)
    assert thread_text(db, ev) == f":envelope: Link emailed to {CUSTOMER} at {local:%H:%M}."
    # asking again for the same link sends nothing more
    assert ask_email(db, live, linked, owner) is False
    assert MailSender(live.runtime).flush() == []
    assert len(smtp.received) == 1
    with db.read() as s:
        row = s.exec(select(Outbox).where(Outbox.via == "email")).one()
        assert row.state == "sent" and "/approve/" not in str(row.payload)


def test_a_workspace_sends_from_its_own_address_and_plain_text_survives_non_ascii(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        update_settings(s, ws, owner, mail_from="Ignored Name <proofs@lakeside-trophies.example>")
        ws.name = "Gravure Zoë & Fils — Ünïcode 株式会社"
    job_id = seed_job(db, ws_id, owner, live.files_dir, customer="Séan Ó Brádaigh", reference="Bön-7")
    ask_email(db, live, make_link(db, live, job_id, owner), owner)
    MailSender(live.runtime).flush()
    (got,) = smtp.received
    assert got.mail_from == "proofs@lakeside-trophies.example"
    raw_headers = got.data.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii(), "non-ASCII header text is RFC 2047 encoded"
    msg = got.message
    assert msg["From"].addresses[0].display_name == "Gravure Zoë & Fils — Ünïcode 株式会社"
    assert msg["To"].addresses[0].display_name == "Séan Ó Brádaigh"
    assert msg["Subject"] == "Please approve your proofs for J-1001 (Bön-7)"
    plain, html = parts(msg)
    assert "Hello Séan Ó Brádaigh," in plain and "Gravure Zoë &amp; Fils" in html


def test_nothing_is_emailed_without_setup_or_a_working_link(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, tmp_path: Path
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    linked = make_link(db, live, job_id, owner)
    bare, _ = make_runtime(db, tmp_path / "bare")
    with db.session() as s, pytest.raises(MailNotSetUp, match="SMTP_URL"):
        email_link(s, s.get(Job, job_id), linked.url, owner, bare.settings)
    forged = Linked(job_id, linked.url[:-4] + "AAAA", linked.link_id)
    with pytest.raises(InvalidInput, match="no longer works"):
        ask_email(db, live, forged, owner)
    with db.session() as s:
        links.revoke_link(s, s.get(Job, job_id), owner)
    with pytest.raises(InvalidInput, match="no longer works"):
        ask_email(db, live, linked, owner)


# ---- failures ----------------------------------------------------------------------------------


def test_server_down_for_a_minute_then_back_delivers_once(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    ask_email(db, live, make_link(db, live, job_id, owner), owner)
    smtp.stop()
    sender = MailSender(live.runtime, timeout_s=5)
    t0 = utcnow()
    states: list[tuple[int, str]] = []
    for second in range(0, 301, 5):  # five minutes of the sender's clock, a round every 5 s
        if second == 60:
            smtp.start()  # back after a minute
        states += [(second, o.state) for o in sender.flush(t0 + timedelta(seconds=second))]
    tries = [s for s, state in states if state == "retry"]
    (sent,) = [s for s, state in states if state == "sent"]
    assert tries and all(s < 60 for s in tries), states
    assert 60 <= sent <= 60 + 120, "the backoff brings it back within two minutes"
    assert len(tries) <= 4, "the pause grows: no hammering on a server that is down"
    assert len(smtp.received) == 1
    assert len(events(db, job_id, Event.LINK_EMAILED)) == 1
    assert events(db, job_id, Event.EMAIL_FAILED) == []


def test_a_busy_server_4xx_is_tried_again_and_delivered_once(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    ask_email(db, live, make_link(db, live, job_id, owner), owner)
    smtp.busy = "451 4.3.2 Please try again later"
    sender, t0 = MailSender(live.runtime), utcnow()
    assert [o.state for o in sender.flush(t0)] == ["retry"]
    with db.read() as s:
        row = s.exec(select(Outbox).where(Outbox.via == "email")).one()
        assert row.state == "pending" and row.last_error.startswith("451")
        assert row.next_attempt_at.astimezone(UTC) >= t0 + timedelta(seconds=15)
    assert sender.flush(t0 + timedelta(seconds=5)) == []  # not before its pause is over
    smtp.busy = None
    assert [o.state for o in sender.flush(t0 + timedelta(seconds=20))] == ["sent"]
    assert len(smtp.received) == 1 and len(events(db, job_id, Event.LINK_EMAILED)) == 1


def test_a_refused_address_550_is_said_in_the_thread_and_never_retried(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    ask_email(db, live, make_link(db, live, job_id, owner), owner)
    smtp.refuse[CUSTOMER] = "550 5.1.1 <rebecca@example.org>: Recipient address rejected: User unknown"
    sender, t0 = MailSender(live.runtime), utcnow()
    assert [o.state for o in sender.flush(t0)] == ["failed"]
    for hours in range(1, 24 * 7, 6):  # a week of sender rounds and scheduler scans
        now = t0 + timedelta(hours=hours)
        scan(db, render_alert, now)
        assert sender.flush(now) == []
    assert smtp.received == []
    (ev,) = events(db, job_id, Event.EMAIL_FAILED)
    said = thread_text(db, ev)
    assert f"could not be emailed to {CUSTOMER}" in said and "550 5.1.1" in said and "User unknown" in said
    assert events(db, job_id, Event.LINK_EMAILED) == []
    with db.read() as s:
        assert [r.state for r in s.exec(select(Outbox).where(Outbox.via == "email"))] == ["failed"]


# ---- reminders ---------------------------------------------------------------------------------


def week(
    db: Database, live: LiveServer, t0: datetime, *, step: timedelta = timedelta(minutes=30)
) -> list[tuple[float, str]]:
    """Scheduler scans and sender rounds over a simulated week; returns (day, purpose) of each email sent."""
    sender = MailSender(live.runtime)
    sent = []
    now = t0
    while now <= t0 + timedelta(days=7):
        scan(db, render_alert, now)
        for o in sender.flush(now):
            if o.state == "sent":
                with db.read() as s:
                    purpose = s.get(Outbox, o.outbox_id).payload["purpose"]
                sent.append((round((now - t0) / timedelta(days=1), 2), purpose))
        now += step
    return sent


def emailed_link(db: Database, live: LiveServer, ws_id: int, owner: Actor, t0: datetime, **link: Any) -> int:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    with db.session() as s:
        s.get(Job, job_id).status_changed_at = t0
    ask_email(db, live, make_link(db, live, job_id, owner, now=t0, **link), owner)
    return job_id


def test_a_reminder_after_two_days_one_more_after_four_and_never_again(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    t0 = utcnow() + timedelta(seconds=5)  # the outbox rows are due on the real clock: at once
    job_id = emailed_link(db, live, ws_id, owner, t0)
    sent = week(db, live, t0)
    assert sent == [(0.0, "link"), (2.0, "reminder"), (4.0, "reminder")]
    # a long header may be folded before its first word (RFC 5322 allows it); unfolded it is the same
    subjects = [r.message["Subject"].lstrip() for r in smtp.received]
    assert subjects[1:] == ["Reminder: your proofs for J-1001 (PO-4471) are waiting for your approval"] * 2
    plain, _ = parts(smtp.received[1].message)
    with db.read() as s:
        url = unseal(live.runtime.settings, s.exec(select(LinkMail.url)).one())
    assert url is not None and url in plain and "still waiting" in plain
    said = [thread_text(db, ev) for ev in events(db, job_id, Event.LINK_EMAILED)]
    assert said[1].startswith(":envelope: A reminder to approve was emailed to rebecca@example.org at ")
    assert said[2].startswith(":envelope: A second reminder to approve was emailed")


def test_no_reminder_after_a_decision_a_revocation_or_expiry_and_none_when_off(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    t0 = utcnow() + timedelta(seconds=5)
    decided = emailed_link(db, live, ws_id, owner, t0)
    revoked = emailed_link(db, live, ws_id, owner, t0)
    expiring = emailed_link(db, live, ws_id, owner, t0, expires_in_days=3)
    sender = MailSender(live.runtime)
    assert [o.state for o in sender.flush(t0)] == ["sent"] * 3
    # day 1: the customer approves one job by phone; the shop revokes another's link
    with db.session() as s:
        offline.record_offline_approval(s, s.get(Job, decided), owner, "phone")
        links.revoke_link(s, s.get(Job, revoked), owner)
    sent = week(db, live, t0 + timedelta(days=1))
    assert sent == [(1.0, "reminder")], "only the expiring link's first reminder (day 2), before it expired"
    with db.read() as s:
        assert s.exec(select(LinkMail.job_id)).all() == [decided], "dead links' URLs are forgotten"
        reminders = s.exec(
            select(Outbox.job_id).where(Outbox.payload["purpose"].as_string() == "reminder")
        ).all()
    assert reminders == [expiring]
    # reminders off: an emailed link waits a week in silence
    with db.session() as s:
        update_settings(s, s.get(Workspace, ws_id), owner, customer_reminder_days=0)
    t1 = utcnow() + timedelta(seconds=5)
    emailed_link(db, live, ws_id, owner, t1)
    assert week(db, live, t1) == [(0.0, "link")]


def test_a_reminder_recorded_before_the_customer_decided_is_not_sent(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    t0 = utcnow() + timedelta(seconds=5)  # the outbox rows are due on the real clock: at once
    job_id = emailed_link(db, live, ws_id, owner, t0)
    sender = MailSender(live.runtime)
    sender.flush(t0)
    scan(db, render_alert, t0 + timedelta(days=2, minutes=1))  # the reminder is recorded …
    with db.session() as s:  # … and the customer approves before the sender's next round
        offline.record_offline_approval(s, s.get(Job, job_id), owner, "email")
    assert [o.state for o in sender.flush(t0 + timedelta(days=2, minutes=2))] == ["cancelled"]
    assert len(smtp.received) == 1


# ---- header injection --------------------------------------------------------------------------

HOSTILE = "\r\nBcc: victim@evil.example\r\nX-Injected: yes\n\nbody starts here\u2028\u0085Cc: x@evil.example"


def test_header_injection_through_every_field_that_reaches_a_header(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    linked = make_link(db, live, job_id, owner)
    # the entry points refuse it: the customer's address, the sender and reply-to settings, SMTP setup
    for field in ("mail_from", "mail_reply_to"):
        with db.session() as s, pytest.raises(InvalidInput) as refused:
            update_settings(s, s.get(Workspace, ws_id), owner, **{field: f"shop@example.com{HOSTILE}"})
        assert set(refused.value.errors) == {field}
    with db.session() as s:
        s.get(Job, job_id).customer_email = f"{CUSTOMER}{HOSTILE}"
    with pytest.raises(InvalidInput, match="not a valid email address"):
        ask_email(db, live, linked, owner)
    # names and references are free text (stored before any check, say): they go in, made one line
    with db.session() as s:
        job = s.get(Job, job_id)
        job.customer_email = CUSTOMER
        job.customer_name = f"Rebecca{HOSTILE}"
        job.reference = f"PO-1{HOSTILE}"
        s.get(Workspace, ws_id).name = f"Lakeside{HOSTILE}"
        update_settings(s, s.get(Workspace, ws_id), owner, mail_reply_to=SHOP_ADDRESS)
    ask_email(db, live, linked, owner)
    assert [o.state for o in MailSender(live.runtime).flush()] == ["sent"]
    (got,) = smtp.received
    assert got.rcpt_tos == [CUSTOMER]
    msg = got.message
    assert sorted(msg.keys()) == sorted(
        [
            "Subject",
            "From",
            "To",
            "Reply-To",
            "Date",
            "Message-ID",
            "Auto-Submitted",
            "MIME-Version",
            "Content-Type",
        ]
    )
    flat = "Bcc: victim@evil.example X-Injected: yes body starts here Cc: x@evil.example"
    assert (
        msg["Subject"]
        .lstrip()
        .startswith("Please approve your proofs for J-1001 (PO-1 Bcc: victim@evil.example")
    )
    assert msg["From"].addresses[0].display_name == f"Lakeside {flat}"
    assert msg["Reply-To"].addresses[0].display_name == f"Lakeside {flat}"
    assert msg["To"].addresses[0].display_name == f"Rebecca {flat}"
    assert [a.addr_spec for h in ("From", "To", "Reply-To") for a in msg[h].addresses] == [
        SENDER,
        CUSTOMER,
        SHOP_ADDRESS,
    ]
    head = got.data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    for line in head.split("\r\n"):
        assert re.match(r"^([A-Za-z-]+: |[ \t])", line), f"a header line that is not a header: {line!r}"
    assert not re.search(r"^(Bcc|Cc|X-Injected):", head, re.MULTILINE | re.IGNORECASE)
    plain, _ = parts(msg)
    assert plain.splitlines()[0] == f"Hello Rebecca {flat},"  # one line in the body too


def test_a_scan_of_an_email_outbox_row_does_not_reach_slack(
    db: Database, ws_id: int, owner: Actor, live: LiveServer
) -> None:
    """The Slack sender leaves the customer's emails alone (they share the outbox)."""
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    ask_email(db, live, make_link(db, live, job_id, owner), owner)
    with db.session() as s:
        s.execute(update(Outbox).values(next_attempt_at=utcnow() - timedelta(hours=1)))
    from bot.notifier import SlackNotifier

    class NoSlack:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"Slack was called ({name}) for an email")

    assert SlackNotifier(live.runtime, NoSlack())._send_outbox() == 0


def test_a_link_is_emailed_only_within_its_own_workspace(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    from pipeline.approval.customer_mail import email_link_of_workspace
    from pipeline.jobs.workspaces import ensure_workspace

    job_id = seed_job(db, ws_id, owner, live.files_dir)
    linked = make_link(db, live, job_id, owner)
    with db.session() as s:
        other = ensure_workspace(s, "T0OTHER", "Other Shop").id
    with db.session() as s, pytest.raises(InvalidInput, match="no longer works"):
        email_link_of_workspace(s, other, linked.url, owner, live.runtime.settings)
    with db.session() as s:
        job, queued = email_link_of_workspace(s, ws_id, linked.url, owner, live.runtime.settings)
        assert (job.id, queued.to, queued.new) == (job_id, CUSTOMER, True)
    assert [o.state for o in MailSender(live.runtime).flush()] == ["sent"]
    assert [r.rcpt_tos for r in smtp.received] == [[CUSTOMER]]


def test_a_server_that_is_down_is_tried_once_per_round_not_once_per_email(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    for _ in range(3):
        job_id = seed_job(db, ws_id, owner, live.files_dir)
        ask_email(db, live, make_link(db, live, job_id, owner), owner)
    smtp.stop()
    tries: list[str] = []

    def connector(server: Any) -> Any:
        from pipeline.approval.mail import connect

        tries.append(server.label)
        return connect(server, timeout=5)

    sender, t0 = MailSender(live.runtime, connector=connector), utcnow()
    assert [o.state for o in sender.flush(t0)] == ["retry"] * 3
    assert tries == [f"127.0.0.1:{smtp.port}"]
    smtp.start()
    assert [o.state for o in sender.flush(t0 + timedelta(minutes=1))] == ["sent"] * 3
    assert len(tries) == 2 and len(smtp.received) == 3  # one connection for the three emails


def test_the_kept_link_is_sealed_and_a_replaced_key_sends_nothing(
    db: Database, ws_id: int, owner: Actor, live: LiveServer, smtp: SmtpStandIn
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir, items=1, due=date(2099, 12, 14))
    linked = make_link(db, live, job_id, owner, expires_in_days=14)
    token = linked.url.rsplit("/", 1)[-1]
    assert ask_email(db, live, linked, owner) is True
    with db.read() as s:
        stored = s.exec(select(LinkMail).where(LinkMail.link_id == linked.link_id)).one().url
    assert token not in stored and linked.url not in stored  # a database dump opens no link
    # the deployment's key replaced (a new data folder with the old database): nothing readable to send
    (live.runtime.settings.data_dir / LINK_KEY_FILE).write_text("ab" * 32)
    (outcome,) = MailSender(live.runtime).flush()
    assert outcome.state == "cancelled" and "link-mail.key" in outcome.detail, outcome
    assert smtp.received == []


def test_purging_a_job_whose_link_was_emailed_removes_the_kept_email_too(
    db: Database, ws_id: int, owner: Actor, live: LiveServer
) -> None:
    job_id = seed_job(db, ws_id, owner, live.files_dir)
    assert ask_email(db, live, make_link(db, live, job_id, owner), owner)
    with db.session() as s:
        ref = s.get_one(Job, job_id).ref
        jobs.delete_job(s, s.get_one(Workspace, ws_id), ref, owner)
    with db.session() as s:
        jobs.purge_job(s, s.get_one(Workspace, ws_id), ref, owner)
    with db.read() as s:
        assert s.get(Job, job_id) is None
        assert s.exec(select(LinkMail)).all() == []
