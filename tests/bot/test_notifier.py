"""The thread sender against the Slack stand-in: cards in place, replies in order, nothing lost while
Slack fails, nothing posted twice after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.notifier import METADATA_TYPE, SlackNotifier
from bot.slack_app import make_client
from pipeline.core.actors import Actor
from pipeline.core.outbox import enqueue
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.jobs import jobs
from pipeline.jobs.activity import Event, record
from storage.db import Database
from storage.models import Job, Outbox, Workspace, utcnow
from tests.standins.blockkit_limits import validate_message
from tests.standins.slack_api import BOT_TOKEN, PRODUCTION_CHANNEL_ID, FakeSlack

CH = PRODUCTION_CHANNEL_ID


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        f.add_channel(CH, team_id="T0001")  # the default channel belongs to the shop under test
        yield f


@pytest.fixture
def runtime(db: Database, tmp_path: Path, fake: FakeSlack) -> Runtime:
    settings = Settings(data_dir=tmp_path, slack_bot_token=BOT_TOKEN, slack_api_url=fake.base_url, channel=CH)
    return Runtime(settings=settings, db=db)


def sender(runtime: Runtime) -> SlackNotifier:
    """A fresh sender, as after a restart (its client does not retry, so failures show at once)."""
    return SlackNotifier(runtime, make_client(runtime, retries=0))


def new_job(runtime: Runtime, ws_id: int, actor: Actor, name: str = "Rebecca Stone") -> Job:
    with runtime.db.session() as s:
        return jobs.create_job(
            s, s.get(Workspace, ws_id), actor, customer_name=name, customer_email="r@example.com"
        )


def thread(fake: FakeSlack, job: Job, runtime: Runtime) -> list[dict]:
    with runtime.db.read() as s:
        ts = s.get(Job, job.id).slack_ts
    assert ts is not None
    return fake.posts_in_thread(CH, ts)


def test_card_then_replies_in_order_and_card_updated(
    runtime: Runtime, fake: FakeSlack, ws_id: int, owner: Actor
) -> None:
    job = new_job(runtime, ws_id, owner)
    with runtime.db.session() as s:
        record(s, ws_id, job.id, Event.ITEMS_PARSED, owner, items=5, flagged=1, engine="rules", skipped=3)
        record(s, ws_id, job.id, Event.JOB_COMPLETED, owner)
    sender(runtime).flush()
    cards = [m for m in fake.messages(CH) if m.get("thread_ts") in (None, m["ts"])]
    assert len(cards) == 1 and cards[0]["text"].startswith("J-1001")
    assert validate_message(cards[0]["blocks"], cards[0]["text"]) == []
    replies = [m["text"] for m in thread(fake, job, runtime)]
    assert replies[0].startswith(":mag: Parsed *5* item(s)") and "marked the job completed" in replies[1]
    assert fake.calls("chat.update"), "the card is updated in place"
    sender(runtime).flush()  # nothing new: nothing posted again
    assert len(thread(fake, job, runtime)) == 2


def test_user_text_is_escaped_and_pings_nobody(
    runtime: Runtime, fake: FakeSlack, ws_id: int, owner: Actor
) -> None:
    job = new_job(runtime, ws_id, owner, name="<!channel> & <@U0ALICE001> Stone")
    with runtime.db.session() as s:
        jobs.edit_job(s, s.get(Workspace, ws_id), job.ref, owner, reference="<!here>")
    sender(runtime).flush()

    def mrkdwn_texts(node: object) -> list[str]:  # plain_text is never parsed for mentions by Slack
        if isinstance(node, dict):
            own = [node["text"]] if node.get("type") == "mrkdwn" else []
            return own + [t for v in node.values() for t in mrkdwn_texts(v)]
        if isinstance(node, list):
            return [t for v in node for t in mrkdwn_texts(v)]
        return []

    everything = " ".join(m["text"] + " ".join(mrkdwn_texts(m.get("blocks"))) for m in fake.messages(CH))
    assert (
        "<!channel>" not in everything and "<!here>" not in everything and "<@U0ALICE001>" not in everything
    )
    assert "&lt;!channel&gt; &amp; &lt;@U0ALICE001&gt;" in everything


def test_slack_down_loses_nothing(runtime: Runtime, fake: FakeSlack, ws_id: int, owner: Actor) -> None:
    job = new_job(runtime, ws_id, owner)
    with runtime.db.session() as s:
        record(s, ws_id, job.id, Event.JOB_COMPLETED, owner)
        enqueue(s, ws_id, job.id, "alert", {"text": "Due tomorrow"}, dedupe_key="alert:1")
    fake.outage(["chat.postMessage"], status=500, seconds=60)
    sender(runtime).flush()
    assert fake.messages(CH) == []
    with runtime.db.read() as s:
        row = s.exec(select(Outbox)).one()
        assert row.state == "pending" and row.attempts >= 0
    fake.clear_faults()
    s2 = sender(runtime)
    s2.flush()
    with runtime.db.session() as s:  # the outbox row waits for its backoff; let it be due now
        row = s.exec(select(Outbox)).one()
        row.next_attempt_at = utcnow()
    s2.flush()
    texts = [m["text"] for m in thread(fake, job, runtime)]
    assert texts.count("Due tomorrow") == 1 and any("completed" in t for t in texts)


def test_crash_after_posting_does_not_post_twice(
    runtime: Runtime, fake: FakeSlack, ws_id: int, owner: Actor
) -> None:
    job = new_job(runtime, ws_id, owner)
    sender(runtime).flush()  # the card
    with runtime.db.session() as s:
        ev = record(s, ws_id, job.id, Event.JOB_COMPLETED, owner)
        s.flush()
        ev_id = ev.id
        row = enqueue(s, ws_id, job.id, "alert", {"text": "Overdue"}, dedupe_key="alert:x")
        row_id = row.id
    with runtime.db.read() as s:
        j = s.get(Job, job.id)
    # what a process that died right after Slack said ok, before recording it, leaves behind:
    client = make_client(runtime, retries=0)
    client.chat_postMessage(
        channel=CH,
        thread_ts=j.slack_ts,
        text="(posted before the crash)",
        metadata={"event_type": METADATA_TYPE, "event_payload": {"event_id": ev_id}},
    )
    client.chat_postMessage(
        channel=CH,
        thread_ts=j.slack_ts,
        text="Overdue",
        metadata={"event_type": METADATA_TYPE, "event_payload": {"outbox_id": row_id}},
    )
    with runtime.db.session() as s:
        row = s.get(Outbox, row_id)
        row.state, row.next_attempt_at = "sending", utcnow() - timedelta(minutes=5)
    sender(runtime).flush()  # the restarted sender
    texts = [m["text"] for m in thread(fake, job, runtime)]
    assert texts == ["(posted before the crash)", "Overdue"]
    with runtime.db.read() as s:
        assert s.get(Outbox, row_id).state == "sent"
        assert s.get(Job, job.id).slack_posted_event_id >= ev_id


def test_dedupe_key_records_an_alert_once(runtime: Runtime, ws_id: int, owner: Actor) -> None:
    job = new_job(runtime, ws_id, owner)
    with runtime.db.session() as s:
        assert enqueue(s, ws_id, job.id, "alert", {"text": "a"}, dedupe_key="k") is not None
        assert enqueue(s, ws_id, job.id, "alert", {"text": "a"}, dedupe_key="k") is None
    with runtime.db.read() as s:
        assert len(s.exec(select(Outbox)).all()) == 1


def test_no_channel_waits(db: Database, tmp_path: Path, fake: FakeSlack, ws_id: int, owner: Actor) -> None:
    runtime = Runtime(
        settings=Settings(data_dir=tmp_path, slack_bot_token=BOT_TOKEN, slack_api_url=fake.base_url), db=db
    )
    job = new_job(runtime, ws_id, owner)
    sender(runtime).flush()
    assert fake.calls("chat.postMessage") == []
    with db.session() as s:
        s.get(Workspace, ws_id).production_channel = CH
    sender(runtime).flush()
    assert any(m["text"].startswith(job.ref) for m in fake.messages(CH))


class _DatabaseGoesAway(Exception):
    pass


def test_database_lost_after_posting_does_not_post_twice(
    runtime: Runtime, fake: FakeSlack, ws_id: int, owner: Actor
) -> None:
    """The same sender (no restart) posts a reply, then cannot record it: its next round finds the
    reply in the thread instead of posting it again."""
    job = new_job(runtime, ws_id, owner)

    class CursorLost(SlackNotifier):
        lose_next_write = False

        def _post(self, *args, **kwargs):
            resp = super()._post(*args, **kwargs)
            self.lose_next_write = True
            return resp

    notifier = CursorLost(runtime, make_client(runtime, retries=0))
    real_session = runtime.db.session

    @contextmanager
    def session():
        if notifier.lose_next_write:
            notifier.lose_next_write = False
            raise _DatabaseGoesAway("server closed the connection unexpectedly")
        with real_session() as s:
            yield s

    notifier.flush()  # the card
    with runtime.db.session() as s:
        record(s, ws_id, job.id, Event.JOB_COMPLETED, owner)
    notifier.flush()  # checked the thread once: nothing posted before
    with runtime.db.session() as s:
        record(s, ws_id, job.id, Event.JOB_COMPLETED, owner)
    runtime.db.session = session
    try:
        with pytest.raises(_DatabaseGoesAway):
            notifier.flush()
    finally:
        runtime.db.session = real_session
    notifier.flush()
    marks = [
        m["metadata"]["event_payload"]["event_id"] for m in thread(fake, job, runtime) if m.get("metadata")
    ]
    assert len(marks) == len(set(marks)) == 2, marks
