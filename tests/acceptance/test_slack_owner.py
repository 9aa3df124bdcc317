"""What an owner does beyond the daily flow, from Slack: edit a job's details, discard parsed items,
withdraw / resume / revoke an approval link, change a member's role, purge a deleted job, delete a
machine profile. Members get a polite refusal for the owner-only ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from pipeline.approval import links
from storage.db import Database
from storage.models import ActivityEvent, Job, MachineProfile, Member, ParseBatch
from tests.acceptance.harness import RunningApp, running_app
from tests.acceptance.test_slack_admin import PROFILE_VALUES
from tests.acceptance.test_slack_flow import (
    card_and_thread,
    create_job,
    job_waiting_for_approval,
    response_view,
    submit,
    wait_view,
)
from tests.standins.slack_requests import text_value

MEMBER = "U0BOB00001"


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Any:
    with running_app(db, tmp_path / "data") as running:
        yield running


def said(app: RunningApp, words: str, **kw: Any) -> str:
    resp = app.slack.slash_command("/job", words, **kw)
    assert resp.status_code == 200 and resp.json()["response_type"] == "ephemeral", resp.text
    return resp.json()["text"]


def status(db: Database) -> str:
    with db.read() as s:
        return s.exec(select(Job)).one().status


def link_token(app: RunningApp) -> str:
    """The token of J-1001's approval link, as posted in its thread."""
    _, thread = card_and_thread(app, "J-1001")
    return next(m["text"] for m in thread if "/approve/" in m["text"]).split("\n")[1].rsplit("/", 1)[1]


def test_withdraw_resume_and_revoke_the_approval_link(app: RunningApp, db: Database) -> None:
    job_waiting_for_approval(app)
    token = link_token(app)
    assert status(db) == "pending_approval"
    assert "back in proofing" in said(app, "withdraw J-1001")
    assert status(db) == "proofing"
    with db.session() as s:
        assert links.resolve(s, token) is not None  # the same link stays
    assert "is proofing, not waiting" in said(app, "withdraw J-1001")
    assert "waiting for the customer again" in said(app, "resume J-1001")
    assert status(db) == "pending_approval"
    assert "switched off" in said(app, "revoke J-1001")
    assert status(db) == "proofing"
    with db.session() as s:
        assert links.resolve(s, token) is None
    assert "no active approval link" in said(app, "revoke J-1001")
    assert "create a new one" in said(app, "resume J-1001")
    with db.read() as s:
        kinds = [e.event_type for e in s.exec(select(ActivityEvent).order_by("id"))]
    assert "approval_link_revoked" in kinds


def test_discard_parsed_items_waiting_for_review(app: RunningApp, db: Database) -> None:
    resp, view_id = create_job(app)
    meta = response_view(resp)["private_metadata"]
    submit(app, "job_parse", {"order_text": {"value": text_value("Maria Gonzalez\n")}}, meta, view_id=view_id)
    wait_view(app, "job_review")
    assert "are discarded" in said(app, "discard J-1001")
    with db.read() as s:
        assert [b.state for b in s.exec(select(ParseBatch))] == ["discarded"]
    assert status(db) == "draft"
    assert "no parsed items waiting for review" in said(app, "discard J-1001")


def test_edit_a_job_and_a_stale_window_is_refused(app: RunningApp, db: Database) -> None:
    create_job(app)
    assert app.slack.slash_command("/job", "edit J-1001").status_code == 200
    opened = wait_view(app, "job_edit")
    assert "Rebecca Stone" in json.dumps(opened["blocks"])
    values = {
        "customer_name": {"value": text_value("Rebecca Stone-Hill")},
        "customer_email": {"value": text_value("rebecca@lakeside.example")},
        "reference": {"value": text_value("LYS-25")},
        "notes": {"value": text_value(None)},
    }
    bad = {**values, "customer_email": {"value": text_value("nope")}}
    refused = submit(app, "job_edit", bad, opened["private_metadata"])
    assert "customer_email" in refused.json()["errors"]
    saved = response_view(submit(app, "job_edit", values, opened["private_metadata"]))
    assert "is saved" in json.dumps(saved["blocks"])
    with db.read() as s:
        job = s.exec(select(Job)).one()
    assert (job.customer_name, job.reference) == ("Rebecca Stone-Hill", "LYS-25")
    values["reference"] = {"value": text_value("LYS-26")}  # the same window again: someone saved since
    stale = response_view(submit(app, "job_edit", values, opened["private_metadata"]))
    assert "while you were editing" in json.dumps(stale["blocks"])
    with db.read() as s:
        assert s.exec(select(Job)).one().reference == "LYS-25"


def test_owner_changes_a_role_and_a_member_cannot(app: RunningApp, db: Database) -> None:
    said(app, "help")  # the first person in is the owner
    said(app, "help", user_id=MEMBER, user_name="bob")
    with db.read() as s:
        owner = s.exec(select(Member).where(Member.role == "owner")).one().slack_user_id
    assert "Only an owner or admin" in said(app, f"role <@{owner}> member", user_id=MEMBER, user_name="bob")
    refused = app.slack.slash_command("/template", "import", user_id=MEMBER, user_name="bob")
    assert "Sorry" in refused.text
    assert said(app, f"role <@{MEMBER}|bob> admin") == "bob is now an admin."
    app.slack.slash_command("/template", "import", user_id=MEMBER, user_name="bob")
    wait_view(app, "template_import")  # at once: the new role counts from the next request
    assert "is not a person" in said(app, "role bob admin")
    assert "has not used CraftStage" in said(app, "role <@U0NOBODY01> admin")
    assert "must be one of" in said(app, f"role <@{MEMBER}> boss")


def test_owner_purges_a_deleted_job_members_cannot(app: RunningApp, db: Database) -> None:
    create_job(app)
    said(app, "help", user_id=MEMBER, user_name="bob")
    assert "must be deleted before" in said(app, "purge J-1001")
    said(app, "delete J-1001")
    assert "Only an owner or admin" in said(app, "purge J-1001", user_id=MEMBER, user_name="bob")
    assert "removed for good" in said(app, "purge J-1001")
    with db.read() as s:
        assert s.exec(select(Job)).all() == []
        events = list(s.exec(select(ActivityEvent)))
    assert [e.event_type for e in events if e.job_id is not None] == []
    assert "job_purged" in [e.event_type for e in events]
    assert "There is no job J-1001" in said(app, "restore J-1001")


def test_owner_deletes_a_machine_profile_but_not_a_built_in_one(app: RunningApp, db: Database) -> None:
    said(app, "help")
    with db.read() as s:
        builtin = s.exec(select(MachineProfile).where(MachineProfile.builtin == True)).first()  # noqa: E712
    names = [] if builtin is None else [builtin.name]
    if not names:  # the built-in profiles are stored on first use
        app.slack.slash_command("/template", "profiles")
        with db.read() as s:
            names = [p.name for p in s.exec(select(MachineProfile).where(MachineProfile.builtin == True))]  # noqa: E712
    refused = app.slack.slash_command("/template", f"delete-profile {names[0]}")
    assert "built in" in refused.json()["text"]
    app.slack.slash_command("/template", "profile")
    opened = wait_view(app, "profile_edit")
    colours = {
        "cut_color": {"value": text_value("#FF0000")},
        "engrave_color": {"value": text_value("#0000FF")},
    }
    values = {**PROFILE_VALUES, **colours}
    submit(app, "profile_edit", values, opened["private_metadata"], view_id=opened["id"])
    member = app.slack.slash_command(
        "/template", "delete-profile Glowforge Pro", user_id=MEMBER, user_name="bob"
    )
    assert "Sorry" in member.json()["text"]
    deleted = app.slack.slash_command("/template", "delete-profile Glowforge Pro")
    assert deleted.json()["text"] == "The machine profile Glowforge Pro is deleted."
    assert "Glowforge Pro" not in app.slack.slash_command("/template", "profiles").text
