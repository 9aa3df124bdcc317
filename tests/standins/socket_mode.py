"""A local stand-in for Slack's Socket Mode: ``apps.connections.open`` on the Web API stand-in and a real
WebSocket server speaking Slack's Socket Mode protocol.

Usage::

    with FakeSlack() as fake, FakeSocketMode(fake) as sm:
        # the app: SLACK_API_URL=fake.base_url, SLACK_APP_TOKEN=APP_TOKEN
        sm.wait_connected()
        envelope = sm.submit(slash_command("/job", "help", fake=fake))
        ack = sm.wait_ack(envelope)                     # the payload the app acknowledged with
        sm.refresh()                                    # disconnect, reason refresh_requested
        sm.cut()                                        # the TCP link dies (RST, no close frame)

What it does, as Slack does:

* ``apps.connections.open`` (app-level token only: a bot token gets ``not_allowed_token_type``, anything
  else ``invalid_auth``) hands out ``ws://…/link/?ticket=…&app_id=…``; a ticket is good for one connection.
* Every new connection gets ``hello`` (``num_connections``, ``debug_info``, ``connection_info``) first.
* Envelopes (``events_api``, ``slash_commands``, ``interactive``) go to the newest connection that got
  ``hello`` and no ``disconnect``; with none open they wait, and go out as soon as one says hello.
  An acknowledgement is ``{"envelope_id": …, "payload": …}`` on any open connection.
* ``refresh()`` sends ``disconnect`` / ``refresh_requested`` and closes that connection ``grace`` seconds
  later (Slack gives about 10 s); ``disable()`` sends ``disconnect`` / ``link_disabled`` and closes at once,
  and until ``enable()`` every new connection gets the same instead of ``hello``.
* ``cut()`` drops the TCP connections without a WebSocket close (a reset, as when a network path dies).

Timing: ``Envelope.ack_seconds`` runs from ``submit()`` (Slack's 3-second clock starts when it has
something to deliver, connected or not) to the acknowledgement's arrival.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.standins.slack_api import API_APP_ID, FakeSlack

if TYPE_CHECKING:
    from tests.standins.slack_requests import SlackRequest

APP_TOKEN = "xapp-1-A0CRAFT001-3000000003-CraftStageFakeAppLevelToken"


@dataclass
class Envelope:
    """One envelope the stand-in delivered (or holds for delivery)."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    submitted: float
    delivered: float | None = None
    link: int | None = None  # the connection it went out on
    acked: float | None = None
    ack: dict[str, Any] | None = None  # the whole acknowledgement message

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked is None else self.acked - self.submitted

    def message(self) -> dict[str, Any]:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }


@dataclass
class Link:
    """One WebSocket connection from the app."""

    id: int
    conn: ServerConnection
    opened: float
    hello: float | None = None
    disconnect_reason: str | None = None  # set once a disconnect message went out
    closed: float | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the app sent on it

    @property
    def usable(self) -> bool:
        return self.hello is not None and self.disconnect_reason is None and self.closed is None


class FakeSocketMode:
    """Slack's Socket Mode, for one app. A context manager; ``start()``/``stop()`` also work."""

    def __init__(
        self,
        fake: FakeSlack,
        *,
        app_token: str = APP_TOKEN,
        app_id: str = API_APP_ID,
        refresh_grace: float = 10.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.fake = fake
        self.app_token = app_token
        self.app_id = app_id
        self.refresh_grace = refresh_grace
        self._host = host
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._tickets: set[str] = set()
        self._links: list[Link] = []
        self._pending: deque[Envelope] = deque()
        self._envelopes: list[Envelope] = []
        self._disabled = False
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.connections_opened = 0  # apps.connections.open calls answered ok

    # lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeSocketMode:
        if self._server is not None:
            return self
        self._server = serve(
            self._serve_link,
            self._host,
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=None,  # the client's pings are answered; the stand-in sends none of its own
            close_timeout=1,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="FakeSocketMode", daemon=True)
        self._thread.start()
        self.fake.add_method("apps.connections.open", self._connections_open, tokens=[self.app_token])
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        for link in self.links():
            if link.closed is None:
                self._reset(link)
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSocketMode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeSocketMode is not started"
        return int(self._server.socket.getsockname()[1])

    # the Web API side ----------------------------------------------------------------------------

    def _connections_open(self, params: dict[str, Any], call: Any) -> dict[str, Any]:
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
            self.connections_opened += 1
        return {"url": f"ws://{self._host}:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _check_ticket(self, conn: ServerConnection, request: Request) -> Response | None:
        query = parse_qs(urlsplit(request.path).query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if ticket not in self._tickets:
                return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
            self._tickets.discard(ticket)
        return None

    # the WebSocket side --------------------------------------------------------------------------

    def _serve_link(self, conn: ServerConnection) -> None:
        with self._lock:
            link = Link(id=next(self._ids), conn=conn, opened=time.monotonic())
            self._links.append(link)
            disabled = self._disabled
        try:
            if disabled:
                self._send_disconnect(link, "link_disabled")
                conn.close()
            else:
                self._say_hello(link)
            for raw in conn:
                self._received(link, raw)
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._changed:
                link.closed = link.closed or time.monotonic()
                self._changed.notify_all()

    def _say_hello(self, link: Link) -> None:
        with self._changed:
            live = sum(1 for k in self._links if k.closed is None)
            hello = {
                "type": "hello",
                "num_connections": live,
                "debug_info": {
                    "host": f"applink-standin-{link.id}",
                    "build_number": 1,
                    "approximate_connection_time": 3600,
                },
                "connection_info": {"app_id": self.app_id},
            }
            link.conn.send(json.dumps(hello))
            link.hello = time.monotonic()
            self._changed.notify_all()
            while self._pending and link.usable:
                if not self._deliver_to(link, self._pending[0]):
                    break
                self._pending.popleft()

    def _received(self, link: Link, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        now = time.monotonic()
        with self._changed:
            link.messages.append(message)
            envelope_id = message.get("envelope_id")
            for envelope in self._envelopes:
                if envelope.envelope_id == envelope_id and envelope.acked is None:
                    envelope.acked, envelope.ack = now, message
            self._changed.notify_all()

    def _deliver_to(self, link: Link, envelope: Envelope) -> bool:
        try:
            link.conn.send(json.dumps(envelope.message()))
        except (ConnectionClosed, OSError):
            link.closed = link.closed or time.monotonic()
            return False
        envelope.delivered, envelope.link = time.monotonic(), link.id
        return True

    def _send_disconnect(self, link: Link, reason: str) -> None:
        link.disconnect_reason = reason
        message = {
            "type": "disconnect",
            "reason": reason,
            "debug_info": {"host": f"applink-standin-{link.id}"},
        }
        with contextlib.suppress(ConnectionClosed, OSError):
            link.conn.send(json.dumps(message))

    @staticmethod
    def _reset(link: Link) -> None:
        """Drop the TCP connection with a reset and no WebSocket close frame."""
        sock: socket.socket = link.conn.socket
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)  # wakes the connection's reader, which closes the socket: RST
        except OSError:
            pass

    # what a test does ------------------------------------------------------------------------------

    def send(
        self, type_: str, payload: dict[str, Any], *, accepts_response_payload: bool | None = None
    ) -> Envelope:
        """Deliver an envelope (``events_api``, ``slash_commands`` or ``interactive``)."""
        if accepts_response_payload is None:
            accepts_response_payload = type_ != "events_api"
        envelope = Envelope(
            envelope_id=f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            type=type_,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
            submitted=time.monotonic(),
        )
        with self._changed:
            self._envelopes.append(envelope)
            for link in reversed(self._links):
                if link.usable and self._deliver_to(link, envelope):
                    break
            else:
                self._pending.append(envelope)
            self._changed.notify_all()
        return envelope

    def submit(self, request: SlackRequest) -> Envelope:
        """The envelope Slack sends in Socket Mode for what it would otherwise post over HTTP (a request
        built by tests.standins.slack_requests): JSON bodies are events, a ``payload`` form field an
        interaction, any other form a slash command."""
        payload = request.payload()
        content_type = request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return self.send("events_api", payload)
        if "command" in payload and "trigger_id" in payload and "type" not in payload:
            return self.send("slash_commands", payload)
        return self.send("interactive", payload)

    def wait_ack(self, envelope: Envelope, timeout: float = 10.0) -> dict[str, Any]:
        """The acknowledgement's payload (``{}`` for a bare ack); AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope.acked is not None, timeout):
                raise AssertionError(
                    f"envelope {envelope.envelope_id} ({envelope.type}) was not acknowledged"
                )
            assert envelope.ack is not None
            return dict(envelope.ack.get("payload") or {})

    def wait_connected(self, count: int = 1, timeout: float = 15.0) -> Link:
        """Wait until ``count`` connections in all have said hello; the newest usable link."""

        def ready() -> Link | None:
            if sum(1 for k in self._links if k.hello is not None) < count:
                return None
            return next((k for k in reversed(self._links) if k.usable), None)

        with self._changed:
            link = self._changed.wait_for(ready, timeout)
            if link is None:
                raise AssertionError(f"the app did not connect ({len(self._links)} connection(s) so far)")
            return link

    def refresh(self, grace: float | None = None) -> None:
        """``disconnect`` with reason ``refresh_requested`` on every usable link, closed after ``grace``."""
        grace = self.refresh_grace if grace is None else grace
        with self._lock:
            links = [k for k in self._links if k.usable]
            for link in links:
                self._send_disconnect(link, "refresh_requested")
        for link in links:
            timer = threading.Timer(grace, self._close, args=(link,))
            timer.daemon = True
            timer.start()

    def disable(self) -> None:
        """Socket Mode turned off in the app's settings: ``link_disabled``, and no new link until enabled."""
        with self._lock:
            self._disabled = True
            links = [k for k in self._links if k.closed is None]
            for link in links:
                self._send_disconnect(link, "link_disabled")
        for link in links:
            self._close(link)

    def enable(self) -> None:
        with self._lock:
            self._disabled = False

    def cut(self) -> None:
        """Drop every open TCP connection at once (reset, no close frame); what is sent from now on
        waits for the next connection."""
        with self._changed:
            links = [k for k in self._links if k.closed is None]
            for link in links:
                link.closed = time.monotonic()
            self._changed.notify_all()
        for link in links:
            self._reset(link)

    @staticmethod
    def _close(link: Link) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            link.conn.close()

    # what a test reads ---------------------------------------------------------------------------

    def links(self) -> list[Link]:
        with self._lock:
            return list(self._links)

    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes)

    def open_links(self) -> list[Link]:
        with self._lock:
            return [k for k in self._links if k.closed is None]
