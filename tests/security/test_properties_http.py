"""Random JSON and form bodies, signed and unsigned, at `/slack/events` and the approval routes: the
answer is never a server error, nothing is logged as an error or with a traceback, and a refused body
stores nothing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.core.actors import Actor
from storage.db import Database
from tests.acceptance.harness import RunningApp, running_app
from tests.handlers.approval_fixtures import new_link, seed_job
from tests.security.web_fixtures import assert_no_traceback, row_counts, slack_headers
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLACK_KEYS = ["type", "team", "user", "event", "view", "actions", "command", "text", "team_id", "user_id"]
SLACK_KEYS += ["api_app_id", "challenge", "payload", "state", "private_metadata", "trigger_id", "channel"]
TYPES = ["event_callback", "block_actions", "view_submission", "view_closed", "url_verification", "shortcut"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
slack_objects = st.dictionaries(
    st.sampled_from(SLACK_KEYS) | st.text(max_size=8), json_values | st.sampled_from(TYPES), max_size=8
)
form_fields = st.dictionaries(
    st.sampled_from(["command", "text", "team_id", "user_id", "payload", "trigger_id"]) | st.text(max_size=8),
    st.sampled_from(["/job", "/template", "list --page 9e99", "new", "help"]) | st.text(max_size=30),
    max_size=6,
)


@st.composite
def slack_bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["json", "form", "payload", "bytes"]))
    if kind == "json":
        return json.dumps(draw(slack_objects)).encode(), "application/json"
    if kind == "form":
        return urlencode(draw(form_fields)).encode(), "application/x-www-form-urlencoded"
    if kind == "payload":
        payload = draw(slack_objects | json_values)
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    return draw(st.binary(max_size=200)), draw(st.sampled_from(["application/json", "text/plain", ""]))


@pytest.fixture
def live(db: Database, tmp_path: Path) -> Iterator[RunningApp]:
    # the guess and link limits are not what is tested here
    with running_app(db, tmp_path / "data", approval_guess_limit=10**6, approval_rate_limit=10**6) as app:
        app.slack.slash_command("/job", "help")  # the workspace and its first member exist
        yield app


def _settled(caplog: pytest.LogCaptureFixture) -> None:
    time.sleep(0.3)  # listeners run on after the acknowledgement
    assert_no_traceback(caplog)


def test_random_bodies_at_the_slack_endpoint(
    live: RunningApp, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = row_counts(db)
    http = httpx.Client(timeout=10)

    @PROPERTY
    @given(body=slack_bodies(), signed=st.booleans())
    def check(body: tuple[bytes, str], signed: bool) -> None:
        raw, content_type = body
        headers = slack_headers(raw, content_type, DEFAULT_SIGNING_SECRET) if signed else {}
        headers.setdefault("Content-Type", content_type or "application/octet-stream")
        response = http.post(f"{live.url}/slack/events", content=raw, headers=headers)
        assert response.status_code < 500, (raw[:200], response.status_code, response.text[:200])
        if not signed:
            assert response.status_code == 401
        if response.status_code >= 400:
            assert row_counts(db) == before
        assert "Traceback" not in response.text

    try:
        check()
    finally:
        http.close()
    _settled(caplog)


def test_random_requests_at_the_approval_routes(
    live: RunningApp, db: Database, ws_id: Any, owner: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    job_id = seed_job(db, ws_id, owner, live.runtime.settings.files_dir, items=2)
    token = new_link(db, job_id, owner).token
    before = row_counts(db)
    http = httpx.Client(base_url=live.url, timeout=10, follow_redirects=False)
    paths = st.sampled_from(["", "/approve-all", "/items/1", "/items/999999", "/proof/1/1.png", "/x"])
    tokens = st.sampled_from([token]) | st.text(max_size=60).map(lambda t: quote(t, safe=""))
    queries = st.dictionaries(st.sampled_from(["m", "i", "a", "s", "shown"]), st.text(max_size=9), max_size=3)
    forms = st.dictionaries(
        st.sampled_from(["csrf", "decision", "note", "version", "shown", "confirm"]) | st.text(max_size=8),
        st.sampled_from(["approve", "changes", "yes", "1:1,2:1"]) | st.text(max_size=60),
        max_size=6,
    )

    @PROPERTY
    @given(
        method=st.sampled_from(["GET", "POST"]),
        link=tokens,
        path=paths,
        form=forms,
        raw=st.none() | st.binary(max_size=300),
        json_accept=st.booleans(),
        query=queries,
    )
    def check(
        method: str,
        link: str,
        path: str,
        form: dict[str, str],
        raw: bytes | None,
        json_accept: bool,
        query: dict[str, str],
    ) -> None:
        headers = {"Accept": "application/json"} if json_accept else {}
        url = f"/approve/{link}{path}"
        if method == "GET":
            response = http.get(url, params=query, headers=headers)
        else:
            body = raw if raw is not None else urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            response = http.post(url, content=body, headers=headers)
        assert response.status_code < 500, (method, url, response.status_code, response.text[:200])
        if method == "POST":
            assert row_counts(db) == before  # no form without the page's CSRF token decides anything

    try:
        check()
    finally:
        http.close()
    _settled(caplog)
