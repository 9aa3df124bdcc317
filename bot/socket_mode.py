"""Socket Mode: Slack's events, commands and interactions over a WebSocket the app opens itself, for a
shop without a public address.

The link is slack_sdk's aiohttp Socket Mode client (why this one of Bolt's adapters: the README, "Socket
Mode") on an event loop of its own thread. Each envelope goes to the synchronous Bolt app on a worker
thread, and its acknowledgement goes out the moment Bolt returns, so a slow listener never holds up the
others. Around the client: the app token is checked once at start-up (a refused token stops `serve` with
a sentence), the link counts as up only once Slack has said `hello` on the current connection, a dropped
link is reopened within a second or two, and `link_disabled` is retried every 30 s instead of at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from pipeline.core.settings import SettingsError

log = logging.getLogger(__name__)

# what apps.connections.open answers when the token itself is the problem (anything else, such as
# Slack being unreachable, is retried while the app runs)
TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "not_allowed_token_type",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
    }
)
PING_INTERVAL = 5.0  # seconds between pings; a link without pongs for 4 of them counts as dead
DISABLED_RETRY = 30.0  # seconds between attempts while Slack says Socket Mode is off for the app
DOWN_AFTER = 1.0  # a link without hello this long counts as down (a refresh swaps links in milliseconds)
NO_HELLO_LIMIT = 10.0  # an open connection that never says hello is replaced after this long
MAX_BACKOFF = 30.0


class _NoTraceback(logging.Filter):
    """The SDK client logs every failed attempt with its stack trace; while Slack is away that is one
    trace every few seconds, with nothing in it the message does not say."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


class AppTokenRefused(SettingsError):
    """SLACK_APP_TOKEN cannot open Socket Mode: `serve` stops with this sentence."""


def check_app_token(token: str, api_url: str) -> str | None:
    """Ask Slack for a Socket Mode URL with the app-level token: the URL, or None while Slack cannot be
    reached (the link keeps trying). Raises AppTokenRefused when the token is the problem."""
    if not token.startswith("xapp-"):
        raise AppTokenRefused(
            "SLACK_APP_TOKEN is not an app-level token (those start with xapp-): create one with the "
            "connections:write scope under Basic Information → App-Level Tokens in the Slack app's settings."
        )
    try:
        response = WebClient(base_url=api_url, timeout=10).apps_connections_open(app_token=token)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if error in TOKEN_REFUSED:
            raise AppTokenRefused(
                f"SLACK_APP_TOKEN was refused by Slack ({error}): use the app-level token (xapp-…) with the "
                "connections:write scope (Basic Information → App-Level Tokens in the Slack app's settings)."
            ) from None
        log.warning("Slack did not open a Socket Mode link yet (%s); retrying in the background", error)
        return None
    except OSError as exc:
        log.warning("Slack cannot be reached for Socket Mode (%s); retrying in the background", exc)
        return None
    return str(response["url"])


class _Client(SocketModeClient):
    """slack_sdk's aiohttp client, with one rule added: while Slack says Socket Mode is off for the app
    (`link_disabled`), no reconnection (the SDK's own would go round at once, for ever)."""

    hold_until: float = 0.0

    async def connect_to_new_endpoint(self, force: bool = False) -> None:
        if time.monotonic() < self.hold_until:
            return
        await super().connect_to_new_endpoint(force)


class SocketModeLink:
    """The Socket Mode connection of one Bolt app; `up` and `status()` say whether Slack can reach it."""

    def __init__(self, bolt: App, app_token: str, api_url: str, *, threads: int = 32) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.api_url = api_url
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="socket-mode")
        # the event loop and its thread exist from start() on (a refused token leaves nothing to close)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: _Client | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._hello_session: Any = None  # the aiohttp connection Slack last said hello on
        self._first_url: str | None = None
        self._ever_up = False
        self._was_up = False
        self._down_since = self._last_up = time.monotonic()
        self._attempt_at = 0.0
        self._backoff = 1.0
        self._connecting = False
        self._reconnecting: asyncio.Task[None] | None = None

    # lifecycle -----------------------------------------------------------------------------------

    def check_token(self) -> None:
        """Raises AppTokenRefused for a token Slack refuses (before anything else has started)."""
        self._first_url = check_app_token(self.app_token, self.api_url)

    def start(self) -> SocketModeLink:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="socket-mode-loop", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _start(self) -> None:
        sdk_log = logging.getLogger("slack_sdk.socket_mode")
        if not any(isinstance(f, _NoTraceback) for f in sdk_log.filters):
            sdk_log.addFilter(_NoTraceback())
        client = _Client(
            app_token=self.app_token,
            logger=sdk_log,
            web_client=AsyncWebClient(base_url=self.api_url, timeout=10),
            ping_interval=PING_INTERVAL,
            on_message_listeners=[self._on_message],
        )
        client.socket_mode_request_listeners.append(self._handle)  # type: ignore[arg-type]
        client.wss_uri = self._first_url  # the URL the token check got, if any
        self._client = client
        self._supervisor = asyncio.create_task(self._supervise())

    async def _stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
        if self._client is not None:
            await self._client.close()

    # the link --------------------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        client = self._client
        if client is None or client.current_session is None or client.current_session.closed:
            return False
        return self._hello_session is client.current_session and not client.stale

    def status(self) -> dict[str, Any]:
        up = self.up
        body: dict[str, Any] = {"mode": "socket", "link": "up" if up else "down"}
        if not up:
            body["down_for_seconds"] = round(time.monotonic() - self._down_since, 1)
        return body

    async def _on_message(self, message: Any) -> None:
        """Every text frame, before the SDK processes it: hello and disconnect tell the link's state."""
        try:
            data = message.json()
        except ValueError:
            return
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "hello":
            assert self._client is not None
            self._hello_session = self._client.current_session
            self._backoff = 1.0
        elif kind == "disconnect":
            reason = data.get("reason")
            if reason == "link_disabled":
                assert self._client is not None
                self._client.hold_until = time.monotonic() + DISABLED_RETRY
                self._attempt_at = self._client.hold_until
                log.error(
                    "Slack turned Socket Mode off for this app (link_disabled): turn it on under Socket Mode "
                    "in the app's settings at api.slack.com/apps; CraftStage tries again every %.0f s",
                    DISABLED_RETRY,
                )
            else:
                log.info("Slack asked for a new Socket Mode connection (%s)", reason)

    async def _supervise(self) -> None:
        """Connect, notice a lost link within a second and reopen it, backing off while Slack refuses."""
        while True:
            try:
                self._watch()
                if not self._was_up and not self._connecting and time.monotonic() >= self._attempt_at:
                    self._connecting = True  # until _reconnect ends (the loop keeps only a weak reference)
                    self._reconnecting = asyncio.create_task(self._reconnect())
            except Exception:  # noqa: BLE001 - the supervisor must outlive any one surprise
                log.exception("Socket Mode supervisor")
            await asyncio.sleep(0.25)

    def _watch(self) -> None:
        now = time.monotonic()
        if self.up:
            if not self._was_up:
                if self._ever_up:
                    log.info("Slack Socket Mode connected again after %.1f s", now - self._down_since)
                else:
                    log.info("Slack Socket Mode connected")
                self._ever_up = self._was_up = True
            self._last_up = now
            return
        if self._was_up and now - self._last_up >= DOWN_AFTER:
            self._was_up = False
            self._down_since = self._last_up
            self._attempt_at = max(self._attempt_at, now)
            log.warning("Slack Socket Mode link lost; reconnecting")
        if self._connecting and self._client is not None and now - self._down_since > NO_HELLO_LIMIT:
            # the SDK's connect() retries its URL until it works, but a Socket Mode URL is good for
            # one connection: without one, its next try asks Slack for a fresh URL
            self._client.wss_uri = None

    async def _reconnect(self) -> None:
        client = self._client
        if client is None:
            self._connecting = False
            return
        try:
            open_without_hello = (
                client.current_session is not None
                and not client.current_session.closed
                and time.monotonic() - self._down_since > NO_HELLO_LIMIT
            )
            if client.current_session is None:
                await client.connect()  # the first connection (on the token check's URL, if it got one)
            else:
                await client.connect_to_new_endpoint(force=open_without_hello)
        except Exception as exc:  # noqa: BLE001 - Slack unreachable or refusing: try again later
            if self._backoff >= 4:
                log.warning("Slack Socket Mode still not connected (%s: %s)", type(exc).__name__, exc)
            client.wss_uri = None  # a Socket Mode URL is good for one connection
        finally:
            self._connecting = False
            self._attempt_at = max(self._attempt_at, time.monotonic() + self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    # envelopes ---------------------------------------------------------------------------------------

    async def _handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self._executor, run_bolt_app, self.bolt, req)
        await send_async_response(client, req, response, start)
