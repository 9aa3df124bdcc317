"""Signed but malformed payloads (what a buggy or hostile client signed with the real secret could send)
get a clear answer where the person is (a field error, a window, an ephemeral reply) or a 400: never a
500, a traceback, or a 404 after Slack's 3 seconds."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest

from bot.ids import HomeAction, JobAction, JobView
from tests.acceptance.harness import RunningApp
from tests.security.web_fixtures import app, assert_no_traceback
from tests.standins.slack_requests import SlackRequest, block_actions, sign, slash_command, view_submission

__all__ = ["app"]
JOB_PAGE_LIMIT = "from 1 to"


def resigned(request: SlackRequest, change: Callable[[dict[str, Any]], None]) -> SlackRequest:
    """The interaction with its payload changed, signed again exactly as Slack signs."""
    payload = json.loads(dict(parse_qsl(request.body.decode()))["payload"])
    change(payload)
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    return SlackRequest(body, {**request.headers, **sign(body)})


def answer_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.text, "Slack would show its own generic error for an empty answer to a submission"
    return response.json()


def assert_clear(text: str) -> None:
    assert "went wrong" not in text and "Error" not in text and "Traceback" not in text
    assert len(text) > 10


@pytest.fixture(autouse=True)
def _logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


def test_state_values_that_are_not_objects_get_field_errors(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    app.slack.slash_command("/job", "help")
    request = view_submission(JobView.NEW_JOB, {"customer_name": {"value": None}}, "", fake=app.fake)

    def garble(payload: dict[str, Any]) -> None:
        payload["view"]["state"]["values"] = {
            "customer_name": "Rebecca",
            "customer_email": [1, 2],
            "due_date": {"value": "2030-01-01"},
            "notes": {"value": {"type": "plain_text_input", "value": 7}},
        }

    answer = answer_of(app.slack.send(resigned(request, garble)))
    assert answer["response_action"] == "errors"
    assert_clear(" ".join(answer["errors"].values()))
    request = view_submission(JobView.NEW_JOB, {}, "", fake=app.fake)
    answer = answer_of(app.slack.send(resigned(request, lambda p: p["view"]["state"].update(values=[1]))))
    assert answer["response_action"] == "errors"
    assert_no_traceback(caplog)


@pytest.mark.parametrize("meta", ["[1, 2]", "not json", '{"job": [1]}', '{"job": {"x": 1}}', '"J-1001"'])
def test_job_metadata_that_is_not_a_job_reference_gets_a_field_error(
    app: RunningApp, caplog: pytest.LogCaptureFixture, meta: str
) -> None:
    app.slack.slash_command("/job", "help")
    answer = answer_of(app.slack.view_submission(JobView.PARSE, {"order_text": {"value": "1. Ann"}}, meta))
    assert answer["response_action"] == "errors"
    assert_clear(answer["errors"]["order_text"])
    assert_no_traceback(caplog)


@pytest.mark.parametrize(
    ("meta", "block"),
    [('{"job": "J-1001", "batch": 1}', "fix:abc"), ('{"job": "J-1001", "batch": "abc"}', "fix:3")],
)
def test_a_review_with_a_broken_item_or_batch_number_is_answered(
    app: RunningApp, caplog: pytest.LogCaptureFixture, meta: str, block: str
) -> None:
    app.slack.slash_command("/job", "help")
    values = {block: {"value": "Ann Lee"}, "ack": {"value": {"type": "checkboxes", "selected_options": []}}}
    answer = answer_of(app.slack.view_submission(JobView.REVIEW, values, meta))
    if answer["response_action"] == "errors":
        assert_clear(" ".join(answer["errors"].values()))
    else:
        assert answer["response_action"] == "update"
        assert_clear(json.dumps(answer["view"]["blocks"]))
    assert_no_traceback(caplog)


@pytest.mark.parametrize("meta", ['{"job": "J-1001", "item": "abc"}', '{"job": "J-1001", "item": 1e300}'])
def test_an_edit_with_a_broken_item_number_is_answered(
    app: RunningApp, caplog: pytest.LogCaptureFixture, meta: str
) -> None:
    app.slack.slash_command("/job", "help")
    answer = answer_of(app.slack.view_submission(JobView.EDIT_ITEM, {"v:name": {"value": "Ann"}}, meta))
    assert answer["response_action"] in ("errors", "update")
    assert_clear(json.dumps(answer))
    assert_no_traceback(caplog)


@pytest.mark.parametrize("value", ["abc", "1e20", "-3", "99999999999999999999999"])
def test_a_home_page_button_with_a_broken_value_still_shows_the_home_tab(
    app: RunningApp, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    app.slack.app_home_opened()
    app.fake.wait_for("views.publish", 1, timeout=10)
    home = app.fake.home_view("U_TEST") or {}
    request = block_actions(f"{HomeAction.PAGE}_next", value, view=home or {"id": "V1"}, fake=app.fake)
    assert app.slack.send(request).status_code == 200
    app.fake.wait_for("views.publish", 2, timeout=10)
    assert_no_traceback(caplog)


@pytest.mark.parametrize("action_id", [JobAction.SHOW, JobAction.EDIT_ITEM])
def test_a_button_value_naming_no_job_is_answered_in_words(
    app: RunningApp, caplog: pytest.LogCaptureFixture, action_id: str
) -> None:
    app.slack.slash_command("/job", "help")
    assert app.slack.block_actions(action_id, "abc:def").status_code == 200
    posts = app.fake.wait_until(lambda: app.fake.webhook_posts(), timeout=10, what="an ephemeral answer")
    assert_clear(posts[-1]["text"])
    assert_no_traceback(caplog)


def test_a_payload_that_names_no_workspace_is_answered(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    def no_team(payload: dict[str, Any]) -> None:
        payload["team"] = None
        payload["user"].pop("team_id", None)

    response = app.slack.send(resigned(block_actions(JobAction.SHOW, "J-1001", fake=app.fake), no_team))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        posts = app.fake.wait_until(lambda: app.fake.webhook_posts(), timeout=10, what="an ephemeral answer")
        assert "workspace" in posts[-1]["text"]
    submission = resigned(view_submission(JobView.PARSE, {}, '{"job":"J-1001"}', fake=app.fake), no_team)
    answer = app.slack.send(submission)
    assert answer.status_code in (200, 400)
    if answer.status_code == 200:
        assert "workspace" in answer.text
    command = slash_command("/job", "list", fake=app.fake)
    fields = dict(parse_qsl(command.body.decode()))
    fields.pop("team_id")
    body = urlencode(fields).encode()
    reply = app.slack.send(SlackRequest(body, {**command.headers, **sign(body)}))
    assert reply.status_code == 200 and "workspace" in reply.json()["text"]
    assert_no_traceback(caplog)


@pytest.mark.parametrize("page", ["1e20", "100000000000000000000", "0", "-1", "abc"])
def test_job_list_with_an_impossible_page_is_answered(
    app: RunningApp, caplog: pytest.LogCaptureFixture, page: str
) -> None:
    started = time.monotonic()
    reply = app.slack.slash_command("/job", f"list --page {page}")
    assert time.monotonic() - started < 3
    assert reply.status_code == 200
    text = reply.json()["text"]
    assert "page" in text.lower() and JOB_PAGE_LIMIT in text
    assert_no_traceback(caplog)
