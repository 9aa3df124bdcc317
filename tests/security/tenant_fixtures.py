"""Shared helpers for the tenant tests: the running app with several workspaces on the Slack stand-in,
jobs created through signed modal submissions, and Enterprise Grid (`team: null`) payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from sqlmodel import select

from storage.db import Database
from storage.models import Job, Member, Workspace
from tests.acceptance.harness import RunningApp, running_app
from tests.standins.slack_requests import SlackRequest, date_value, sign, text_value

TEAM_B, TEAM_C = "T0SHOPB002", "T0SHOPC003"
USER_B, USER_C = "U0BOB00002", "U0CAROL003"
ORG = "E0ORG00001"


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Iterator[RunningApp]:
    with running_app(db, tmp_path / "data") as running:
        running.fake.add_team(TEAM_B, "Shop B", "shop-b")
        running.fake.add_team(TEAM_C, "Shop C", "shop-c")
        running.fake.add_user(USER_B, "bob", team_id=TEAM_B)
        running.fake.add_user(USER_C, "carol", team_id=TEAM_C)
        yield running


def job_values(name: str, email: str = "customer@example.com") -> dict[str, Any]:
    return {
        "customer_name": {"value": text_value(name)},
        "customer_email": {"value": text_value(email)},
        "reference": {"value": text_value(None)},
        "due_date": {"value": date_value(None)},
        "notes": {"value": text_value(None)},
    }


def new_job(app: RunningApp, name: str, *, team_id: str, user_id: str, **kw: Any) -> httpx.Response:
    """Submit the new-job window as a person of `team_id` (the command first, as Slack would)."""
    app.slack.slash_command("/job", "help", team_id=team_id, user_id=user_id)
    resp = app.slack.view_submission(
        "job_new", values=job_values(name), private_metadata="{}", team_id=team_id, user_id=user_id, **kw
    )
    assert resp.status_code == 200, resp.text
    return resp


def as_grid(request: SlackRequest, enterprise: str = ORG) -> SlackRequest:
    """The same interactive payload as an organization-wide install sends it: `team: null`, the
    organization in `enterprise`, the person's team only in `user.team_id` (re-signed)."""
    payload = json.loads(parse_qs(request.body.decode())["payload"][0])
    payload["team"] = None
    payload["enterprise"] = {"id": enterprise, "name": "Org"}
    payload["is_enterprise_install"] = True
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {**request.headers, **sign(body)}
    return SlackRequest(body, headers)


def jobs_of(db: Database, team_id: str) -> list[Job]:
    with db.read() as s:
        ws = s.exec(select(Workspace).where(Workspace.slack_team_id == team_id)).first()
        return list(s.exec(select(Job).where(Job.workspace_id == ws.id))) if ws else []


def member_of(db: Database, team_id: str, user_id: str) -> Member | None:
    with db.read() as s:
        ws = s.exec(select(Workspace).where(Workspace.slack_team_id == team_id)).first()
        if ws is None:
            return None
        return s.exec(
            select(Member).where(Member.workspace_id == ws.id, Member.slack_user_id == user_id)
        ).first()
