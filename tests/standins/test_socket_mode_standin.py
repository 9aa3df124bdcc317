"""The Socket Mode stand-in speaks the protocol: checked with slack_sdk's WebClient for
apps.connections.open and a plain WebSocket client for the link itself."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.standins.slack_api import API_APP_ID, BOT_TOKEN, FakeSlack
from tests.standins.slack_requests import block_actions, event_callback, slash_command
from tests.standins.socket_mode import APP_TOKEN, FakeSocketMode


def _open(fake: FakeSlack, token: str = APP_TOKEN) -> str:
    return str(fake.web_client(token).apps_connections_open(app_token=token)["url"])


def _recv(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=5))


def test_connections_open_takes_the_app_token_only() -> None:
    with FakeSlack() as fake, FakeSocketMode(fake):
        assert _open(fake).startswith("ws://127.0.0.1:")
        for token, error in ((BOT_TOKEN, "not_allowed_token_type"), ("xapp-1-nope", "invalid_auth")):
            with pytest.raises(SlackApiError) as caught:
                _open(fake, token)
            assert caught.value.response["error"] == error
        # and the app token is no bot token
        with pytest.raises(SlackApiError) as caught:
            fake.web_client(APP_TOKEN).chat_postMessage(channel="C1", text="x")
        assert caught.value.response["error"] == "not_allowed_token_type"


def test_hello_envelopes_and_acks() -> None:
    with FakeSlack() as fake, FakeSocketMode(fake) as sm:
        pending = sm.submit(slash_command("/job", "help", fake=fake))  # before any connection: waits
        with connect(_open(fake)) as ws:
            hello = _recv(ws)
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": API_APP_ID} and "host" in hello["debug_info"]
            command = _recv(ws)
            assert command["envelope_id"] == pending.envelope_id and command["type"] == "slash_commands"
            assert command["payload"]["command"] == "/job" and command["accepts_response_payload"] is True
            ws.send(json.dumps({"envelope_id": command["envelope_id"], "payload": {"text": "hi"}}))
            assert sm.wait_ack(pending) == {"text": "hi"}
            assert pending.ack_seconds is not None and pending.ack_seconds > 0

            event = sm.submit(event_callback({"type": "app_home_opened", "user": "U1", "tab": "home"}))
            action = sm.submit(block_actions("job_open", "J-1001", fake=fake))
            got = [_recv(ws), _recv(ws)]
            assert [(m["type"], m["accepts_response_payload"]) for m in got] == [
                ("events_api", False),
                ("interactive", True),
            ]
            assert got[0]["payload"]["event"]["type"] == "app_home_opened"
            assert got[1]["payload"]["type"] == "block_actions"
            for message in got:
                ws.send(json.dumps({"envelope_id": message["envelope_id"]}))
            assert sm.wait_ack(event) == {} and sm.wait_ack(action) == {}


def test_a_ticket_is_good_for_one_connection() -> None:
    with FakeSlack() as fake, FakeSocketMode(fake):
        url = _open(fake)
        with connect(url) as ws:
            assert _recv(ws)["type"] == "hello"
        with pytest.raises(InvalidStatus) as caught:
            connect(url)
        assert caught.value.response.status_code == 401


def test_refresh_moves_envelopes_to_the_new_link() -> None:
    with FakeSlack() as fake, FakeSocketMode(fake, refresh_grace=0.5) as sm, connect(_open(fake)) as old:
        _recv(old)
        sm.refresh()
        disconnect = _recv(old)
        assert disconnect["type"] == "disconnect" and disconnect["reason"] == "refresh_requested"
        held = sm.submit(slash_command("/job", "list", fake=fake))  # no usable link now: it waits
        with connect(_open(fake)) as new:
            assert _recv(new)["type"] == "hello"
            assert _recv(new)["envelope_id"] == held.envelope_id
            old.send(json.dumps({"envelope_id": held.envelope_id}))  # an ack on any open link counts
            sm.wait_ack(held)
            with pytest.raises(ConnectionClosed):
                old.recv(timeout=3)  # closed after the grace period
            assert sm.wait_connected(count=2).hello is not None


def test_link_disabled_and_cut() -> None:
    with FakeSlack() as fake, FakeSocketMode(fake) as sm:
        with connect(_open(fake)) as ws:
            _recv(ws)
            sm.disable()
            assert _recv(ws) == {
                "type": "disconnect",
                "reason": "link_disabled",
                "debug_info": {"host": "applink-standin-1"},
            }
        with connect(_open(fake)) as ws:  # still disabled: no hello for a new link either
            assert _recv(ws)["reason"] == "link_disabled"
        sm.enable()
        with connect(_open(fake)) as ws:
            assert _recv(ws)["type"] == "hello"
            sm.cut()
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as caught:
                ws.recv(timeout=3)
            assert time.monotonic() - started < 1
            assert caught.value.rcvd is None  # no close frame: the TCP connection just died
        envelope = sm.submit(slash_command("/job", "help", fake=fake))
        assert envelope.delivered is None  # waits for the next link
