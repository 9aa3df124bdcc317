"""In Slack: the approval link's message in the job's thread offers "Email it to …"; a click emails
that link through the real SMTP stand-in and the thread says so once the server took it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from pipeline.background.mailer import MailSender
from pipeline.jobs.workspaces import actor_for
from storage.db import Database
from storage.models import Member, Workspace
from tests.acceptance.harness import RunningApp, running_app
from tests.acceptance.test_slack_flow import response_view, submit, wait_view
from tests.handlers.approval_fixtures import seed_job
from tests.standins.blockkit_limits import validate_message
from tests.standins.slack_api import PRODUCTION_CHANNEL_ID
from tests.standins.slack_requests import text_value
from tests.standins.smtp_server import SmtpStandIn

CUSTOMER = "rebecca@example.org"


@pytest.fixture
def app(db: Database, tmp_path: Path, smtp: SmtpStandIn) -> Iterator[RunningApp]:
    with running_app(db, tmp_path / "data", smtp_url=smtp.url(), mail_from="proofs@shop.example") as running:
        yield running


def thread(app: RunningApp) -> list[dict[str, Any]]:
    app.settle()
    card = next(
        m for m in app.fake.messages(PRODUCTION_CHANNEL_ID) if (m.get("text") or "").startswith("J-1001")
    )
    return app.fake.posts_in_thread(PRODUCTION_CHANNEL_ID, card["ts"])


def test_the_email_button_sends_the_link_once_and_the_thread_says_when(
    app: RunningApp, db: Database, smtp: SmtpStandIn
) -> None:
    app.slack.slash_command("/job", "help")  # the workspace and its first member (the owner)
    with db.read() as s:
        ws = s.exec(select(Workspace)).one()
        actor = actor_for(s.exec(select(Member)).one())
    seed_job(db, ws.id, actor, app.runtime.settings.files_dir)
    app.settle()
    app.slack.block_actions("job_approval", "J-1001")
    opened = wait_view(app, "job_approval")
    resp = submit(
        app, "job_approval", {"expires_days": {"value": text_value("14")}}, opened["private_metadata"]
    )
    assert response_view(resp)["callback_id"] == "info"

    (post,) = [m for m in thread(app) if "/approve/" in m.get("text", "")]
    assert validate_message(post["blocks"], post["text"]) == []
    (button,) = [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == f"Email it to {CUSTOMER}"
    url = post["text"].split("\n")[1]
    assert button["value"] == url

    for n in (1, 2):  # a second click emails nothing more
        click = app.slack.block_actions(button["action_id"], button["value"], message=post)
        assert click.status_code == 200
        app.fake.wait_until(lambda n=n: len(app.fake.webhook_posts()) >= n, what="the answer to the click")
    told = [w["text"] for w in app.fake.webhook_posts()]
    assert told[0].startswith(f":envelope: Emailing the link for J-1001 to {CUSTOMER}")
    assert told[1] == f"The link for J-1001 was already emailed to {CUSTOMER}; the thread says when it went."
    assert not [m for m in thread(app) if "emailed" in m.get("text", "")], "not before the server took it"

    MailSender(app.runtime).flush()
    (got,) = smtp.received
    assert got.rcpt_tos == [CUSTOMER]
    assert url in got.message.get_body(preferencelist=("plain",)).get_content()
    deadline = time.monotonic() + 10
    while not (said := [m["text"] for m in thread(app) if "Link emailed" in m.get("text", "")]):
        assert time.monotonic() < deadline, "the thread never said it"
    assert len(said) == 1 and said[0].startswith(f":envelope: Link emailed to {CUSTOMER} at ")


def test_a_link_of_another_workspace_or_a_dead_link_is_refused(app: RunningApp, db: Database) -> None:
    app.slack.slash_command("/job", "help")
    fake_url = f"{app.url}/approve/" + "A" * 43
    click = app.slack.block_actions("job_email_link", fake_url)
    assert click.status_code == 200
    app.fake.wait_until(app.fake.webhook_posts, what="the answer to the click")
    (told,) = app.fake.webhook_posts()
    assert told["text"] == ":warning: That approval link no longer works: make a new one first."
    assert told["response_type"] == "ephemeral"
