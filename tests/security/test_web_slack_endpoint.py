"""`/slack/events` verifies first and parses later: the body is capped before it is read, and anything
unsigned, stale or malformed is answered 401/400 before Bolt sees it, with one log line and no traceback."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from tests.acceptance.harness import RunningApp
from tests.security.web_fixtures import (
    app,
    assert_no_traceback,
    raw_exchange,
    rss_bytes,
    slack_headers,
    status_of,
)
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, signature

__all__ = ["app"]

MB = 1024 * 1024
MALFORMED = [
    (b"payload=%7B", "application/x-www-form-urlencoded"),
    (b'{"type":', "application/json"),
    (b"payload=[1]", "application/x-www-form-urlencoded"),
    (b'payload={"type":"block_actions","team":"T1","user":7}', "application/x-www-form-urlencoded"),
    ("payload=caf\u00e9".encode("latin-1"), "application/x-www-form-urlencoded"),  # not UTF-8
    (b"[1, 2]", "application/json"),
]


def _post(app: RunningApp, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{app.url}/slack/events", content=body, headers=headers, timeout=10)


def test_a_60_mb_body_is_refused_before_it_is_read(app: RunningApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = rss_bytes()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {60 * MB}\r\n\r\n".encode()
    )
    started = time.monotonic()
    # the answer comes after the first megabyte: the server never waits for (or keeps) the rest
    answer = raw_exchange(app.url, head, b"x" * MB, (b"x" * MB for _ in range(59)))
    assert status_of(answer) == 413
    assert time.monotonic() - started < 15
    assert rss_bytes() - before < 30 * MB
    assert_no_traceback(caplog)


def test_a_streamed_body_stops_at_the_cap(app: RunningApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    before = rss_bytes()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = f"{MB:x}\r\n".encode() + b"y" * MB + b"\r\n"
    answer = raw_exchange(app.url, head, chunk * 3, (chunk for _ in range(57)))
    assert status_of(answer) == 413
    assert rss_bytes() - before < 30 * MB
    assert_no_traceback(caplog)


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_unsigned_malformed_bodies_get_401(
    app: RunningApp, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    assert _post(app, body, {"Content-Type": content_type}).status_code == 401
    wrong = slack_headers(body, content_type, DEFAULT_SIGNING_SECRET + "-not-ours")
    assert _post(app, body, wrong).status_code == 401
    assert_no_traceback(caplog)
    refusals = [r for r in caplog.records if "slack request refused" in r.getMessage()]
    assert len(refusals) == 2  # one line each


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_signed_malformed_bodies_get_400(
    app: RunningApp, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = slack_headers(body, content_type, DEFAULT_SIGNING_SECRET)
    assert _post(app, body, headers).status_code == 400
    assert_no_traceback(caplog)


@pytest.mark.parametrize("stamp", ["abc", "1e9", "-5", "17.5", "0x10", str(int(time.time()) - 600)])
def test_a_bad_or_stale_timestamp_gets_401(
    app: RunningApp, caplog: pytest.LogCaptureFixture, stamp: str
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"command=%2Fjob&text=help&team_id=T1&user_id=U1"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, DEFAULT_SIGNING_SECRET, stamp),
    }
    response = _post(app, body, headers)
    assert response.status_code == 401
    assert "went wrong" not in response.text
    assert_no_traceback(caplog)


def test_a_well_signed_request_still_reaches_bolt(app: RunningApp) -> None:
    response = app.slack.slash_command("/job", "help")
    assert response.status_code == 200 and "/job" in response.text
