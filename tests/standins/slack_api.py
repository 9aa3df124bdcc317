"""A local stand-in for Slack's Web API: a real HTTP server that answers like Slack and records every call.

Usage::

    with FakeSlack() as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.base_url)   # or SLACK_API_URL=fake.base_url
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="hi")
        assert fake.messages(PRODUCTION_CHANNEL_ID)[0]["text"] == "hi"

Routes (all on ``fake.root_url``):

* ``/api/<method>`` — the Web API (form, JSON, multipart or query-string arguments; bearer token or
  ``token=`` argument). Unknown methods answer ``unknown_method``.
* ``/upload/v1/<file_id>`` — step 2 of ``files_upload_v2``: the raw bytes are stored, answer ``OK - <len>``.
* ``/webhook/<id>`` — a ``response_url``: JSON posts are recorded, answer ``ok``.
* ``/files-pri/<team>-<file_id>/[download/]<name>`` — ``url_private`` / ``url_private_download``
  (needs a valid bearer token).
* ``/oauth/v2/authorize`` and ``oauth.v2.access`` — installing a distributed app, token rotation and
  revoked tokens (see ``tests/standins/slack_oauth.py``).

Every request is recorded as a ``Call``; API calls under their Slack method name, the other routes
under ``UPLOAD``, ``WEBHOOK`` and ``DOWNLOAD``. Fault injection (``fail_next``, ``respond_next``,
``outage``, ``slow``) works on those same names.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from tests.standins.blockkit_limits import MAX_MESSAGE_TEXT, validate_message, validate_view
from tests.standins.slack_oauth import SlackOAuth

# -- the fake workspace ---------------------------------------------------------------------------

TEAM_ID = "T0CRAFT001"
TEAM_NAME = "CraftStage Test"
TEAM_DOMAIN = "craftstage-test"
TEAM_URL = f"https://{TEAM_DOMAIN}.slack.com/"
API_APP_ID = "A0CRAFT001"
BOT_TOKEN = "xoxb-1000000001-2000000002-CraftStageFakeBotToken"
BOT_USER_ID = "U0BOT00001"
BOT_ID = "B0BOT00001"
BOT_NAME = "craftstage"
BOT_SCOPES = (
    "commands,chat:write,chat:write.public,files:read,files:write,users:read,channels:history,channels:join"
)
PRODUCTION_CHANNEL_ID = "C0PROD0001"
PRODUCTION_CHANNEL_NAME = "production"
DEFAULT_USER_ID = "U0ALICE001"
DEFAULT_USER_NAME = "alice"

# Call.method for the non-API routes
UPLOAD = "upload"
WEBHOOK = "webhook"
DOWNLOAD = "download"
AUTHORIZE = "oauth.authorize"  # the browser's visit to Slack's authorization page

_JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata", "outputs"})
_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _slack_id(prefix: str, n: int) -> str:
    return f"{prefix}0{n:08X}"


# -- records -------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the stand-in received. ``headers`` keys are lower-case."""

    method: str  # "chat.postMessage", or UPLOAD / WEBHOOK / DOWNLOAD
    http_method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]  # query + form/JSON/multipart arguments; JSON-string args (blocks, view…) decoded
    json: Any | None  # the JSON body as sent, if the body was JSON
    raw: bytes
    time: float
    token: str | None
    status: int | None = None  # filled in once answered
    response: Any = None  # the parsed JSON answer (or text for non-JSON answers)

    @property
    def ok(self) -> bool:
        return isinstance(self.response, dict) and bool(self.response.get("ok"))


@dataclass(frozen=True)
class UploadedFile:
    id: str
    name: str
    title: str
    content: bytes
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None
    completed: bool

    @property
    def bytes(self) -> bytes:  # the brief's name for it
        return self.content


@dataclass
class _File:
    id: str
    name: str
    title: str
    length: int | None
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    mimetype: str = "application/octet-stream"
    created: int = field(default_factory=lambda: int(time.time()))
    user: str = BOT_USER_ID
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False
    preloaded: bool = False
    team: str = TEAM_ID


@dataclass
class _Fault:
    methods: frozenset[str] | None  # None: every route
    status: int
    body: Any  # dict → JSON, str → text
    retry_after: int | None
    remaining: int | None  # None: until the deadline / forever
    until: float | None  # time.monotonic() deadline


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _fail(error: str, **extra: Any) -> SlackApiFailure:
    return SlackApiFailure(error, **extra)


def _missing(arg: str) -> SlackApiFailure:
    return SlackApiFailure(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {arg}"]}
    )


_MIMETYPES = {
    "pdf": "application/pdf",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "dxf": "image/vnd.dxf",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _filetype(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else "binary"


# -- the server ----------------------------------------------------------------------------------


class FakeSlack(SlackOAuth):
    """Slack Web API stand-in. A context manager; ``start()``/``stop()`` also work.

    ``strict_channels``: channels not added with ``add_channel`` (or the production channel) answer
    ``channel_not_found``, and unjoined ones ``not_in_channel``. Otherwise any channel id is accepted and
    a user id as ``channel`` opens a DM ("U123" → "D123").
    ``validate_blocks``: chat.* with blocks over Slack's limits answer ``invalid_blocks``; views.* with an
    invalid view answer ``invalid_arguments`` (with the problems in ``response_metadata.messages``).
    ``ts_epoch``: fixes the seconds part of handed-out message timestamps (default: the clock).
    ``trigger_ttl``: trigger ids handed out by ``trigger_id()`` expire after this many seconds, like Slack's.
    ``realistic_download_auth``: unauthenticated file downloads get Slack's HTML login page with status 200
    (the classic pitfall) instead of a 403.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (BOT_TOKEN,),
        strict_channels: bool = False,
        validate_blocks: bool = True,
        ts_epoch: int | None = None,
        trigger_ttl: float | None = 3.0,
        realistic_download_auth: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.tokens: set[str] = set(tokens)
        self.strict_channels = strict_channels
        self.validate_blocks = validate_blocks
        self.trigger_ttl = trigger_ttl
        self.realistic_download_auth = realistic_download_auth
        self._host = host
        self._ts_epoch = ts_epoch
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._delay = 0.0
        self._method_delay: dict[str, float] = {}
        self._faults: list[_Fault] = []
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.teams: dict[str, dict[str, Any]] = {}
        self._init_oauth()
        self._reset_state()
        self.add_team(TEAM_ID, TEAM_NAME, TEAM_DOMAIN)
        self.add_channel(PRODUCTION_CHANNEL_ID, PRODUCTION_CHANNEL_NAME)
        self.add_user(BOT_USER_ID, BOT_NAME, real_name="CraftStage", is_bot=True)
        self.add_user(DEFAULT_USER_ID, DEFAULT_USER_NAME, real_name="Alice Maker", tz="Europe/Berlin")
        self._method_tokens: dict[str, set[str]] = {}  # methods that take other tokens (app-level ones)
        self._handlers: dict[str, Callable[[dict[str, Any], Call], dict[str, Any]]] = {
            "api.test": lambda p, c: {"args": {k: v for k, v in p.items() if k != "token"}},
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "team.info": self._team_info,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "files.info": self._files_info,
            "files.upload": self._files_upload_legacy,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "oauth.v2.access": self._oauth_v2_access,
        }

    def _reset_state(self) -> None:
        self._calls: list[Call] = []
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}
        self._view_order: list[str] = []
        self._view_stacks: dict[str, list[str]] = {}  # root view id → stack
        self._home: dict[str, str] = {}  # user id → view id
        self._webhooks: list[tuple[str, Any]] = []
        self._hooks: dict[str, dict[str, str | None]] = {}
        self._triggers: dict[str, tuple[float, str | None]] = {}
        self._reactions: list[dict[str, str]] = []
        files = getattr(self, "_files", {})
        self._files: dict[str, _File] = {k: f for k, f in files.items() if f.preloaded}
        self._ts_secs = 0
        self._ts_micro = 0

    # lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer((self._host, 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False  # keep-alive client connections must not block stop()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL (ends with ``/api/``): WebClient(base_url=...) / SLACK_API_URL."""
        return f"{self.root_url}/api/"

    def env(self) -> dict[str, str]:
        """Environment for an app under test (SLACK_API_URL, SLACK_BOT_TOKEN)."""
        return {"SLACK_API_URL": self.base_url, "SLACK_BOT_TOKEN": next(iter(sorted(self.tokens)))}

    def web_client(self, token: str = BOT_TOKEN, **kwargs: Any) -> Any:
        """A real slack_sdk WebClient pointed at this stand-in."""
        from slack_sdk import WebClient

        return WebClient(token=token, base_url=self.base_url, **kwargs)

    # configuration -------------------------------------------------------------------------------

    def add_method(
        self,
        method: str,
        handler: Callable[[dict[str, Any], Call], dict[str, Any]],
        *,
        tokens: Iterable[str] | None = None,
    ) -> None:
        """Answer one more Web API method. ``tokens``: the tokens it accepts instead of the bot tokens
        (an app-level method such as ``apps.connections.open``); the others get ``not_allowed_token_type``.
        """
        with self._lock:
            self._handlers[method] = handler
            if tokens is not None:
                self._method_tokens[method] = set(tokens)

    def add_team(
        self, team_id: str, name: str, domain: str, *, enterprise_id: str | None = None
    ) -> dict[str, Any]:
        """A workspace ``team.info`` knows (an org-wide install of the app reaches several); with
        ``enterprise_id`` it belongs to that Enterprise Grid organization, as team.info says."""
        team = {
            "id": team_id,
            "name": name,
            "url": f"https://{domain}.slack.com/",
            "domain": domain,
            "email_domain": "",
            "icon": {"image_default": True},
            "avatar_base_url": "https://ca.slack-edge.com/",
            "is_verified": False,
        }
        if enterprise_id:
            team["enterprise_id"] = enterprise_id
            team["enterprise_name"] = f"Org {enterprise_id}"
        with self._lock:
            self.teams[team_id] = team
        return team

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        is_member: bool = True,
        is_private: bool = False,
        team_id: str = TEAM_ID,
        shared_team_ids: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A channel of workspace ``team_id`` (``context_team_id`` in conversations.info, as Slack names
        the workspace a channel belongs to); ``shared_team_ids`` for one shared across an organization."""
        channel = {
            "id": channel_id,
            "name": name or channel_id.lower(),
            "is_channel": not is_private,
            "is_group": False,
            "is_im": channel_id.startswith("D"),
            "is_private": is_private,
            "is_archived": False,
            "is_general": False,
            "is_member": is_member,
            "created": 1700000000,
            "creator": DEFAULT_USER_ID,
            "context_team_id": team_id,
            "shared_team_ids": list(shared_team_ids) if shared_team_ids is not None else [team_id],
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "Europe/Berlin",
        tz_offset: int = 3600,
        email: str | None = None,
        is_bot: bool = False,
        team_id: str = TEAM_ID,
    ) -> dict[str, Any]:
        real = real_name or name.title()
        display = display_name if display_name is not None else name
        user = {
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real,
            "tz": tz,
            "tz_label": "Central European Time" if tz == "Europe/Berlin" else tz,
            "tz_offset": tz_offset,
            "profile": {
                "real_name": real,
                "real_name_normalized": real,
                "display_name": display,
                "display_name_normalized": display,
                "email": email or f"{name}@{TEAM_DOMAIN}.example",
                "image_48": f"https://avatars.slack-edge.com/{user_id}_48.png",
                "team": team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }
        if is_bot:
            user["profile"]["bot_id"] = BOT_ID
        with self._lock:
            self.users[user_id] = user
        return user

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str | None = None,
        channel: str | None = None,
        user: str = DEFAULT_USER_ID,
        title: str | None = None,
        team_id: str = TEAM_ID,
    ) -> dict[str, Any]:
        """Pre-register a file (e.g. a customer's order sheet) and return its Slack file object.

        Its ``url_private_download`` points at this server and needs the bot token to download.
        Pre-registered files survive ``clear()``.
        """
        with self._lock:
            file_id = _slack_id("F", next(self._ids))
            record = _File(
                id=file_id,
                name=name,
                title=title or name,
                length=len(content),
                content=bytes(content),
                mimetype=mimetype or _MIMETYPES.get(_filetype(name), "application/octet-stream"),
                user=user,
                channels=[channel] if channel else [],
                completed=True,
                preloaded=True,
                team=team_id,
            )
            self._files[file_id] = record
            return self._file_object(record)

    def trigger_id(self, user_id: str | None = DEFAULT_USER_ID) -> str:
        """A fresh trigger id (for signed requests); it expires after ``trigger_ttl`` seconds."""
        with self._lock:
            n = next(self._ids)
            tid = f"{int(time.time())}{n:03d}.1000000001.{secrets.token_hex(16)}"
            self._triggers[tid] = (time.monotonic(), user_id)
            return tid

    def response_url(
        self,
        hook_id: str | None = None,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url that posts back to this server's ``/webhook/<id>``.

        Every JSON post to it is recorded (``webhook_posts``). When it knows its ``channel`` (the signed
        request builders pass it) a post also takes effect like Slack's: ``response_type: in_channel`` adds a
        channel message, otherwise an ephemeral for ``user``; ``replace_original`` / ``delete_original``
        edit / remove the message at ``message_ts``.
        """
        hook_id = hook_id or f"{TEAM_ID}/{next(self._ids)}/{secrets.token_hex(12)}"
        with self._lock:
            self._hooks[hook_id] = {"channel": channel, "user": user, "message_ts": message_ts}
        return f"{self.root_url}/webhook/{hook_id}"

    # fault injection -----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str | Iterable[str] | None,
        error: str | None = None,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        body: Any = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``None``: any route) fail.

        Defaults: ``fail_next(m)`` → 429 ratelimited with ``Retry-After: 1``;
        ``fail_next(m, "channel_not_found")`` → HTTP 200 ``{"ok": false, "error": "channel_not_found"}``;
        ``fail_next(m, status=500)`` → 500 ``internal_error``. ``body`` replaces the JSON answer
        (a str is sent as text; as text/html if it starts with "<").
        ``times=None`` fails until ``clear_faults()``.
        """
        self._add_fault(method, error, status, retry_after, body, remaining=times, seconds=None)

    def respond_next(
        self, method: str, body: Mapping[str, Any] | str, *, status: int = 200, times: int | None = 1
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with exactly ``body`` (no state change)."""
        with self._lock:
            self._faults.append(
                _Fault(
                    frozenset({method}),
                    status,
                    dict(body) if isinstance(body, Mapping) else body,
                    None,
                    times,
                    None,
                )
            )

    def outage(
        self,
        methods: str | Iterable[str] | None = None,
        *,
        status: int = 500,
        seconds: float = 5.0,
        error: str | None = None,
        retry_after: int | None = None,
        body: Any = None,
    ) -> None:
        """Fail every call of ``methods`` (``None``: all routes) for the next ``seconds``."""
        self._add_fault(methods, error, status, retry_after, body, remaining=None, seconds=seconds)

    def slow(self, seconds: float, methods: str | Iterable[str] | None = None) -> None:
        """Delay answers by ``seconds`` (all routes, or only ``methods``); ``slow(0)`` undoes it."""
        with self._lock:
            if methods is None:
                self._delay = seconds
                if seconds == 0:
                    self._method_delay.clear()
            else:
                for m in [methods] if isinstance(methods, str) else methods:
                    self._method_delay[m] = seconds

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._delay = 0.0
            self._method_delay.clear()

    def _add_fault(
        self,
        methods: str | Iterable[str] | None,
        error: str | None,
        status: int | None,
        retry_after: int | None,
        body: Any,
        *,
        remaining: int | None,
        seconds: float | None,
    ) -> None:
        if status is None:
            status = 429 if error in (None, "ratelimited") else 200
        if error is None:
            if status == 429:
                error = "ratelimited"
            elif status in (502, 503, 504):
                error = "service_unavailable"
            elif 400 <= status < 500:
                error = "invalid_request"
            else:
                error = "internal_error"
        if status == 429 and retry_after is None:
            retry_after = 1
        if body is None:
            body = {"ok": False, "error": error}
        names = None if methods is None else frozenset([methods] if isinstance(methods, str) else methods)
        until = time.monotonic() + seconds if seconds is not None else None
        with self._lock:
            self._faults.append(_Fault(names, status, body, retry_after, remaining, until))

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            now = time.monotonic()
            self._faults = [
                f
                for f in self._faults
                if (f.until is None or f.until > now) and (f.remaining is None or f.remaining > 0)
            ]
            for fault in self._faults:
                if fault.methods is None or method in fault.methods:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
            return None

    def _delay_for(self, method: str) -> float:
        with self._lock:
            return self._method_delay.get(method, self._delay)

    # inspection ----------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every recorded call, in arrival order (optionally only one method / route)."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def call_count(self, method: str | None = None) -> int:
        return len(self.calls(method))

    def last_call(self, method: str | None = None) -> Call:
        found = self.calls(method)
        if not found:
            raise AssertionError(f"no {method or 'call'} recorded; calls so far: {self._summary()}")
        return found[-1]

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        """Poll (woken by every recorded call) until ``predicate()`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()  # evaluated without the lock: it may itself call the stand-in
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; calls: {self._summary()}"
                )
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` have been answered; return them."""

        def answered() -> list[Call] | None:
            found = [c for c in self.calls(method) if c.status is not None]
            return found if len(found) >= count else None

        return self.wait_until(answered, timeout, what=f"{count} x {method}")

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in ``channel`` (top level and thread replies), oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def posts_in_thread(
        self, channel: str, thread_ts: str, *, include_parent: bool = False
    ) -> list[dict[str, Any]]:
        """Replies in a thread (including file-share messages from ``files_upload_v2``), oldest first."""
        return [
            m
            for m in self.messages(channel)
            if m.get("thread_ts") == thread_ts and (include_parent or m["ts"] != thread_ts)
        ]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._find_message(channel, ts))

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
            ]

    def uploaded_files(self, *, include_incomplete: bool = False) -> list[UploadedFile]:
        """Files uploaded through the three-step upload, in upload order (completed ones by default)."""
        with self._lock:
            return [
                UploadedFile(
                    id=f.id,
                    name=f.name,
                    title=f.title,
                    content=f.content or b"",
                    channel=f.channels[0] if f.channels else None,
                    thread_ts=f.thread_ts,
                    initial_comment=f.initial_comment,
                    completed=f.completed,
                )
                for f in self._files.values()
                if not f.preloaded and (f.completed or include_incomplete)
            ]

    def file_object(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            return self._file_object(self._files[file_id])

    def _matching_views(
        self, user: str | None, callback_id: str | None, type: str | None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                v
                for v in (self._views[vid] for vid in self._view_order)
                if (user is None or v.get("_user") == user)
                and (callback_id is None or v.get("callback_id") == callback_id)
                and (type is None or v.get("type") == type)
            ]

    def views(
        self, *, user: str | None = None, callback_id: str | None = None, type: str | None = None
    ) -> list[dict[str, Any]]:
        """Current state of every opened/pushed/published view (as Slack returns it), oldest first.

        ``user`` is known for Home tabs and for modals opened with a trigger id from ``trigger_id()``.
        """
        with self._lock:
            return [self._public_view(v) for v in self._matching_views(user, callback_id, type)]

    def last_view(
        self, user: str | None = None, *, callback_id: str | None = None, type: str | None = None
    ) -> dict[str, Any]:
        """The most recently opened/updated/published view matching the filters."""
        with self._lock:
            found = self._matching_views(user, callback_id, type)
            if not found:
                raise AssertionError(
                    f"no view for user={user} callback_id={callback_id} type={type}; calls: {self._summary()}"
                )
            return self._public_view(max(found, key=lambda v: v["_touched"]))

    def home_view(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._home.get(user)
            return self._public_view(self._views[vid]) if vid else None

    def webhook_posts(self, hook: str | None = None) -> list[Any]:
        """JSON bodies posted to response_urls (all, or one url / id), in order."""
        with self._lock:
            if hook is not None and "/webhook/" in hook:
                hook = hook.split("/webhook/", 1)[1]
            return [body for hid, body in self._webhooks if hook is None or hid == hook]

    def reactions(self, channel: str | None = None, ts: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [
                dict(r)
                for r in self._reactions
                if (channel is None or r["channel"] == channel) and (ts is None or r["ts"] == ts)
            ]

    def clear(self) -> None:
        """Forget recorded calls, messages, uploads, views, webhooks and faults.

        Configuration (tokens, channels, users, pre-registered files) is kept.
        """
        with self._lock:
            self._reset_state()
            self._faults.clear()
            self._delay = 0.0
            self._method_delay.clear()

    def _summary(self) -> str:
        with self._lock:
            return ", ".join(f"{c.method}→{c.status}" for c in self._calls[-30:]) or "(none)"

    # plumbing used by the handler ----------------------------------------------------------------

    def _record(self, call: Call) -> None:
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()

    def _answered(self, call: Call, status: int, response: Any) -> None:
        with self._changed:
            call.status = status
            call.response = response
            self._changed.notify_all()

    def _next_ts(self) -> str:
        with self._lock:
            now = self._ts_epoch if self._ts_epoch is not None else int(time.time())
            if now > self._ts_secs:
                self._ts_secs, self._ts_micro = now, 100
            else:
                self._ts_micro += 100
                if self._ts_micro >= 1_000_000:
                    self._ts_secs, self._ts_micro = self._ts_secs + 1, 100
            return f"{self._ts_secs}.{self._ts_micro:06d}"

    def _dispatch_api(self, method: str, params: dict[str, Any], call: Call) -> dict[str, Any]:
        handler = self._handlers.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        if method not in ("api.test", "oauth.v2.access"):  # the OAuth exchange is the app's own credentials
            if not call.token:
                return {"ok": False, "error": "not_authed"}
            problem = self._token_problem(call.token)
            if problem is not None:
                return {"ok": False, "error": problem}
            accepted = self._method_tokens.get(method, self.tokens)
            if call.token not in accepted:
                known = call.token in self.tokens or any(
                    call.token in t for t in self._method_tokens.values()
                )
                return {"ok": False, "error": "not_allowed_token_type" if known else "invalid_auth"}
        try:
            with self._lock:
                self._check_team(params, call)
                result = handler(params, call)
        except SlackApiFailure as failure:
            return {"ok": False, "error": failure.error, **failure.extra}
        return {"ok": True, **result}

    # Web API methods -----------------------------------------------------------------------------

    def _check_team(self, p: dict[str, Any], call: Call) -> None:
        """A token issued to one workspace never reaches another workspace's channel."""
        issued = self._team_of_token(call.token)
        channel = self.channels.get(p.get("channel")) if isinstance(p.get("channel"), str) else None
        if issued is None or channel is None or channel["is_im"]:
            return
        if issued.team_id not in (channel["context_team_id"], *channel["shared_team_ids"]):
            raise _fail("channel_not_found")

    def _auth_test(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        issued = self._team_of_token(call.token)
        if issued is not None:
            team = self.teams.get(issued.team_id) or {}
            return {
                "url": team.get("url", TEAM_URL),
                "team": issued.team_name,
                "user": BOT_NAME,
                "team_id": issued.team_id,
                "user_id": issued.bot_user_id,
                "bot_id": issued.bot_id,
                "enterprise_id": issued.enterprise_id,
                "is_enterprise_install": False,
            }
        return {
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel(self, p: dict[str, Any], key: str = "channel", *, posting: bool = False) -> str:
        channel = p.get(key)
        if not channel or not isinstance(channel, str):
            raise _fail("channel_not_found")
        if _ID_RE.match(channel) and posting:
            channel = "D" + channel[1:]  # posting to a user id lands in the DM with them
            if channel not in self.channels:
                self.add_channel(channel, channel.lower())
        if self.strict_channels:
            known = self.channels.get(channel)
            if known is None:
                raise _fail("channel_not_found")
            if posting and not known["is_member"] and not known["is_im"]:
                raise _fail("not_in_channel")
        return channel

    def _check_message_payload(self, p: dict[str, Any], *, need_content: bool = True) -> None:
        text, blocks, attachments = p.get("text"), p.get("blocks"), p.get("attachments")
        if need_content and not text and not blocks and not attachments:
            raise _fail("no_text")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            raise _fail("msg_too_long")
        if blocks is not None and self.validate_blocks:
            problems = validate_message(blocks)
            if problems:
                raise _fail("invalid_blocks", errors=problems, response_metadata={"messages": problems})

    def _message_object(self, p: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": p.get("text") or "",
            "team": TEAM_ID,
            "bot_profile": {"id": BOT_ID, "app_id": API_APP_ID, "name": BOT_NAME, "team_id": TEAM_ID},
        }
        for key in ("blocks", "attachments", "metadata"):
            if p.get(key) is not None:
                message[key] = p[key]
        return message

    def _find_message(self, channel: str, ts: Any) -> dict[str, Any]:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise _fail("message_not_found")

    def _append_message(self, channel: str, message: dict[str, Any]) -> None:
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            for parent in self._messages.get(channel, []):
                if parent["ts"] == thread_ts:
                    parent["thread_ts"] = thread_ts
                    parent["reply_count"] = parent.get("reply_count", 0) + 1
                    parent["reply_users"] = sorted({*parent.get("reply_users", []), message["user"]})
                    parent["reply_users_count"] = len(parent["reply_users"])
                    parent["latest_reply"] = message["ts"]
                    message["parent_user_id"] = parent.get("user")
        self._messages.setdefault(channel, []).append(message)

    def _chat_post_message(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p, posting=True)
        self._check_message_payload(p)
        ts = self._next_ts()
        message = self._message_object(p, ts)
        thread_ts = p.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            if _truthy(p.get("reply_broadcast")):
                message["subtype"] = "thread_broadcast"
        self._append_message(channel, message)
        return {"channel": channel, "ts": ts, "message": dict(message)}

    def _chat_update(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        if not p.get("ts"):
            raise _fail("message_not_found")
        message = self._find_message(channel, p["ts"])
        self._check_message_payload(p, need_content=False)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in p and p[key] is not None:
                message[key] = p[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p, posting=True)
        if not p.get("user"):
            raise _fail("user_not_found")
        self._check_message_payload(p)
        ts = self._next_ts()
        entry = {**self._message_object(p, ts), "channel": channel, "user": p["user"]}
        if p.get("thread_ts"):
            entry["thread_ts"] = p["thread_ts"]
        self._ephemerals.append(entry)
        return {"message_ts": ts}

    def _chat_delete(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        message = self._find_message(channel, p.get("ts"))
        self._messages[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

    def _chat_get_permalink(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        message = self._find_message(channel, p.get("message_ts"))
        link = f"{TEAM_URL}archives/{channel}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return {"channel": channel, "permalink": link}

    # views

    def _check_trigger(self, p: dict[str, Any]) -> str | None:
        trigger = p.get("trigger_id") or p.get("interactivity_pointer")
        if not trigger:
            raise _missing("trigger_id")
        issued = self._triggers.get(trigger)
        if issued is None:
            return None
        issued_at, user = issued
        if self.trigger_ttl is not None and time.monotonic() - issued_at > self.trigger_ttl:
            raise _fail("expired_trigger_id")
        return user

    def _view_payload(self, p: dict[str, Any], *, kind: str) -> dict[str, Any]:
        view = p.get("view")
        if not isinstance(view, dict):
            raise _missing("view")
        if view.get("type") != kind:
            raise _fail(
                "invalid_arguments",
                response_metadata={
                    "messages": [f"[ERROR] view.type must be '{kind}' [json-pointer:/view/type]"]
                },
            )
        if self.validate_blocks:
            problems = validate_view(view)
            if problems:
                raise _fail(
                    "invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in problems]}
                )
        return view

    def _new_view(
        self, view: dict[str, Any], user: str | None, *, root: str | None = None, previous: str | None = None
    ) -> dict[str, Any]:
        vid = f"V0{next(self._ids):08X}"
        record = {
            "id": vid,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._view_hash(),
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": previous,
            "root_view_id": root or vid,
            "app_id": API_APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            "_user": user,
            "_touched": time.monotonic(),
        }
        if record["external_id"] and any(
            v.get("external_id") == record["external_id"] for v in self._views.values()
        ):
            raise _fail("duplicate_external_id")
        self._views[vid] = record
        self._view_order.append(vid)
        return record

    def _view_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(6)}"

    @staticmethod
    def _public_view(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in json.loads(json.dumps(record)).items() if not k.startswith("_")}

    def _views_open(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        user = self._check_trigger(p)
        view = self._view_payload(p, kind="modal")
        record = self._new_view(view, user)
        self._view_stacks[record["id"]] = [record["id"]]
        return {"view": self._public_view(record)}

    def _views_push(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        user = self._check_trigger(p)
        view = self._view_payload(p, kind="modal")
        stacks = [
            s
            for s in self._view_stacks.values()
            if s and (user is None or self._views[s[0]]["_user"] == user)
        ]
        stack = stacks[-1] if stacks else None
        if stack is not None and len(stack) >= 3:
            raise _fail("push_limit_reached")
        record = self._new_view(
            view, user, root=stack[0] if stack else None, previous=stack[-1] if stack else None
        )
        if stack is not None:
            stack.append(record["id"])
        else:
            self._view_stacks[record["id"]] = [record["id"]]
        return {"view": self._public_view(record)}

    def _views_update(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        view_id, external_id = p.get("view_id"), p.get("external_id")
        if not view_id and not external_id:
            raise _missing("view_id or external_id")
        if view_id:
            record = self._views.get(view_id)
        else:
            record = next((v for v in self._views.values() if v.get("external_id") == external_id), None)
        if record is None:
            raise _fail("not_found")
        view = self._view_payload(p, kind=record["type"])
        if p.get("hash") and p["hash"] != record["hash"]:
            raise _fail("hash_conflict")
        for key in ("blocks", "private_metadata", "callback_id", "title", "close", "submit", "external_id"):
            if key in view:
                record[key] = view[key]
        record["hash"] = self._view_hash()
        record["_touched"] = time.monotonic()
        return {"view": self._public_view(record)}

    def _views_publish(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        user = p.get("user_id")
        if not user:
            raise _missing("user_id")
        if self.strict_channels and user not in self.users:
            raise _fail("user_not_found")
        view = self._view_payload(p, kind="home")
        existing = self._home.get(user)
        if existing is not None:
            record = self._views[existing]
            if p.get("hash") and p["hash"] != record["hash"]:
                raise _fail("hash_conflict")
            record.update(
                blocks=view.get("blocks", []),
                private_metadata=view.get("private_metadata", ""),
                callback_id=view.get("callback_id", ""),
                external_id=view.get("external_id", ""),
                hash=self._view_hash(),
                _touched=time.monotonic(),
            )
        else:
            record = self._new_view(view, user)
            self._home[user] = record["id"]
        return {"view": self._public_view(record)}

    # users, conversations, reactions

    def _user(self, user_id: Any) -> dict[str, Any]:
        if not user_id or not isinstance(user_id, str):
            raise _fail("user_not_found")
        if user_id not in self.users:
            if self.strict_channels or not _ID_RE.match(user_id):
                raise _fail("user_not_found")
            self.add_user(user_id, f"user{user_id[-4:].lower()}", real_name=f"Test User {user_id[-4:]}")
        return self.users[user_id]

    def _users_info(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        return {"user": json.loads(json.dumps(self._user(p.get("user"))))}

    def _team_info(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        issued = self._team_of_token(call.token)
        team = self.teams.get(p.get("team") or (issued.team_id if issued else TEAM_ID))
        if team is None:
            raise _fail("team_not_found")
        return {"team": dict(team)}

    def _conversations_info(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        if channel not in self.channels:
            self.add_channel(channel)
        return {"channel": dict(self.channels[channel])}

    def _conversations_join(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel_id = p.get("channel")
        if not channel_id or (self.strict_channels and channel_id not in self.channels):
            raise _fail("channel_not_found")
        channel = self.channels.get(channel_id) or self.add_channel(channel_id)
        already = channel["is_member"]
        channel["is_member"] = True
        result: dict[str, Any] = {"channel": dict(channel)}
        if already:
            result["warning"] = "already_in_channel"
            result["response_metadata"] = {"warnings": ["already_in_channel"]}
        return result

    def _conversations_open(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        users = str(p.get("users") or "").split(",")
        if not users[0]:
            raise _fail("users_list_not_supplied")
        dm = "D" + users[0][1:]
        if dm not in self.channels:
            self.add_channel(dm, dm.lower())
        return {"channel": {"id": dm}}

    def _conversations_replies(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        ts = p.get("ts")
        if not any(m["ts"] == ts for m in self._messages.get(channel, [])):
            raise _fail("thread_not_found")
        thread = [
            dict(m) for m in self._messages.get(channel, []) if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        return {"messages": thread, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        top = [
            dict(m)
            for m in self._messages.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        limit = int(p.get("limit") or 100)
        return {
            "messages": list(reversed(top))[:limit],
            "has_more": False,
            "pin_count": 0,
            "response_metadata": {"next_cursor": ""},
        }

    def _reactions_add(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        self._find_message(channel, p.get("timestamp"))
        reaction = {"channel": channel, "ts": str(p.get("timestamp")), "name": str(p.get("name") or "")}
        if not reaction["name"]:
            raise _fail("invalid_name")
        if reaction in self._reactions:
            raise _fail("already_reacted")
        self._reactions.append(reaction)
        return {}

    def _reactions_remove(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        channel = self._channel(p)
        reaction = {"channel": channel, "ts": str(p.get("timestamp")), "name": str(p.get("name") or "")}
        if reaction not in self._reactions:
            raise _fail("no_reaction")
        self._reactions.remove(reaction)
        return {}

    # files

    def _file_object(self, f: _File) -> dict[str, Any]:
        name_q = quote(f.name)
        base = f"{self.root_url}/files-pri/{f.team}-{f.id}"
        shares: dict[str, Any] = {}
        if f.completed and f.channels:
            kind = (
                "private" if any(self.channels.get(c, {}).get("is_private") for c in f.channels) else "public"
            )
            shares[kind] = {
                c: [
                    {
                        "ts": f"{f.created}.000000",
                        "channel_name": self.channels.get(c, {}).get("name", c),
                        "team_id": f.team,
                        "share_user_id": f.user,
                        **({"thread_ts": f.thread_ts} if f.thread_ts else {}),
                    }
                ]
                for c in f.channels
            }
        return {
            "id": f.id,
            "created": f.created,
            "timestamp": f.created,
            "name": f.name,
            "title": f.title,
            "mimetype": f.mimetype,
            "filetype": _filetype(f.name),
            "pretty_type": _filetype(f.name).upper(),
            "user": f.user,
            "user_team": f.team,
            "editable": False,
            "size": len(f.content) if f.content is not None else (f.length or 0),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(shares.get("public")),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/{name_q}",
            "url_private_download": f"{base}/download/{name_q}",
            "permalink": f"{TEAM_URL}files/{f.user}/{f.id}/{name_q}",
            "permalink_public": f"https://slack-files.com/{TEAM_ID}-{f.id}-{secrets.token_hex(5)}",
            "alt_txt": f.alt_txt,
            "channels": [c for c in f.channels if not self.channels.get(c, {}).get("is_private")],
            "groups": [c for c in f.channels if self.channels.get(c, {}).get("is_private")],
            "ims": [],
            "shares": shares,
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _files_upload_legacy(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        raise _fail("method_deprecated")  # files.upload is retired; use files_upload_v2

    def _files_info(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        f = self._files.get(str(p.get("file") or ""))
        if f is None or not f.completed:
            raise _fail("file_not_found")
        return {"file": self._file_object(f), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_get_upload_url(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        name = p.get("filename")
        if not name:
            raise _missing("filename")
        try:
            length = int(p.get("length"))
        except (TypeError, ValueError):
            raise _missing("length") from None
        if length < 1:
            raise _fail("invalid_arguments", response_metadata={"messages": ["[ERROR] length must be > 0"]})
        file_id = _slack_id("F", next(self._ids))
        self._files[file_id] = _File(
            id=file_id,
            name=str(name),
            title=str(name),
            length=length,
            alt_txt=p.get("alt_txt"),
            snippet_type=p.get("snippet_type"),
            mimetype=_MIMETYPES.get(_filetype(str(name)), "application/octet-stream"),
        )
        return {"upload_url": f"{self.root_url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, p: dict[str, Any], call: Call) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            raise _missing("files")
        targets: list[str] = []
        if p.get("channel_id"):
            targets = [self._channel(p, "channel_id", posting=True)]
        elif p.get("channels"):
            targets = [
                self._channel({"channel": c.strip()}, posting=True) for c in str(p["channels"]).split(",")
            ]
        thread_ts = p.get("thread_ts") or None
        if thread_ts and len(targets) != 1:
            raise _fail(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] thread_ts needs one channel"]}
            )
        records: list[_File] = []
        for item in files:
            f = self._files.get(str(item.get("id") if isinstance(item, dict) else ""))
            if f is None or f.content is None or f.completed:
                raise _fail("file_not_found" if f is None or f.completed else "file_upload_not_complete")
            records.append(f)
        for item, f in zip(files, records, strict=True):
            f.title = item.get("title") or f.name
            f.channels = list(targets)
            f.thread_ts = str(thread_ts) if thread_ts else None
            f.initial_comment = p.get("initial_comment")
            f.completed = True
        objects = [self._file_object(f) for f in records]
        for channel in targets:
            ts = self._next_ts()
            message = self._message_object({"text": p.get("initial_comment") or ""}, ts)
            message.update(files=objects, upload=True, display_as_bot=False)
            if thread_ts:
                message["thread_ts"] = str(thread_ts)
            self._append_message(channel, message)
        return {"files": objects}

    # non-API routes ------------------------------------------------------------------------------

    def _upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            f = self._files.get(file_id)
            if f is None or f.completed:
                return 404, "Not Found"
            f.content = bytes(body)
            return 200, f"OK - {len(body)}"

    def _webhook(self, hook: str, body: Any) -> tuple[int, str]:
        """A response_url post: recorded always; applied to the channel when the hook knows it."""
        with self._lock:
            self._webhooks.append((hook, body))
            target = self._hooks.get(hook)
            if target is None or not target["channel"] or not isinstance(body, dict):
                return 200, "ok"
            channel = target["channel"]
            if _truthy(body.get("delete_original")):
                found = [m for m in self._messages.get(channel, []) if m["ts"] == target["message_ts"]]
                for message in found:
                    self._messages[channel].remove(message)
                return (200, "ok") if found else (404, "message_not_found")
            try:
                self._check_message_payload(body)
            except SlackApiFailure as failure:  # webhooks answer errors as HTTP 400 + plain text
                return 400, failure.error
            if _truthy(body.get("replace_original")):
                try:
                    message = self._find_message(channel, target["message_ts"])
                except SlackApiFailure:
                    return 404, "message_not_found"
                for key in ("text", "blocks", "attachments"):
                    if key in body:
                        message[key] = body[key]
                message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
                return 200, "ok"
            ts = self._next_ts()
            message = self._message_object(body, ts)
            if body.get("thread_ts"):
                message["thread_ts"] = str(body["thread_ts"])
            if body.get("response_type") == "in_channel":
                self._append_message(channel, message)
            else:
                self._ephemerals.append({**message, "channel": channel, "user": target["user"]})
            return 200, "ok"

    def _download(self, file_id: str, token: str | None) -> tuple[int, bytes, str]:
        with self._lock:
            if token not in self.tokens:
                if self.realistic_download_auth:
                    page = (
                        b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
                    )
                    return 200, page, "text/html; charset=utf-8"
                return 403, b"not_authed", "text/plain; charset=utf-8"
            f = self._files.get(file_id)
            if f is None or f.content is None or not f.completed:
                return 404, b"file_not_found", "text/plain; charset=utf-8"
            return 200, f.content, f.mimetype


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


# -- HTTP plumbing -------------------------------------------------------------------------------


def _parse_body(content_type: str, raw: bytes) -> tuple[dict[str, Any], Any | None]:
    """Arguments from a request body and the parsed JSON body (if JSON)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if not raw:
        return {}, None
    if ctype == "application/json" or (not ctype and raw[:1] in (b"{", b"[")):
        try:
            body = json.loads(raw)
        except ValueError:
            return {}, None
        return (dict(body) if isinstance(body, dict) else {}), body
    if ctype == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[str(name)] = {"filename": part.get_filename(), "content": payload}
            else:
                params[str(name)] = payload.decode("utf-8", "replace")
        return params, None
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)), None


def _decode_json_args(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for key in _JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with suppress(ValueError):
                out[key] = json.loads(value)
    return out


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections give up eventually
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None

    def do_GET(self) -> None:  # noqa: N802
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        fake = self.fake
        raw = self._read_body()
        url = urlsplit(self.path)
        path = unquote(url.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        auth = headers.get("authorization", "")
        token: str | None = auth[7:].strip() if auth.lower().startswith("bearer ") else None

        if path.startswith("/api/"):
            method = path[len("/api/") :].strip("/")
            body_params, body_json = _parse_body(headers.get("content-type", ""), raw)
            params = _decode_json_args({**dict(parse_qsl(url.query, keep_blank_values=True)), **body_params})
            token = token or (params.get("token") if isinstance(params.get("token"), str) else None)
        elif path.startswith("/upload/v1/"):
            method, params, body_json = UPLOAD, {"file_id": path.rsplit("/", 1)[-1]}, None
        elif path.startswith("/webhook/"):
            method = WEBHOOK
            params, body_json = _parse_body(headers.get("content-type", ""), raw)
            params = {"hook": path[len("/webhook/") :], **params}
        elif path == "/oauth/v2/authorize":
            method, params, body_json = AUTHORIZE, dict(parse_qsl(url.query, keep_blank_values=True)), None
        elif path.startswith("/files-pri/"):
            ident = path[len("/files-pri/") :].split("/", 1)[0]
            method, params, body_json = DOWNLOAD, {"file_id": ident.split("-", 1)[-1]}, None
        else:
            method, params, body_json = f"unknown:{path}", {}, None

        call = Call(method, self.command, self.path, headers, params, body_json, raw, time.time(), token)
        fake._record(call)

        delay = fake._delay_for(method)
        if delay > 0:
            time.sleep(delay)

        fault = fake._take_fault(method)
        if fault is not None:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            self._answer(call, fault.status, fault.body, extra)
            return

        if path.startswith("/api/"):
            self._answer(call, 200, fake._dispatch_api(method, params, call), {"x-oauth-scopes": BOT_SCOPES})
        elif method == UPLOAD:
            if self.command != "POST":
                self._answer(call, 405, "Method Not Allowed")
                return
            status, text = fake._upload(params["file_id"], raw)
            self._answer(call, status, text)
        elif method == WEBHOOK:
            if self.command != "POST":
                self._answer(call, 405, "Method Not Allowed")
                return
            status, text = fake._webhook(params["hook"], body_json if body_json is not None else params)
            self._answer(call, status, text)
        elif method == AUTHORIZE:
            cookies = dict(
                part.strip().split("=", 1) for part in headers.get("cookie", "").split(";") if "=" in part
            )
            with fake._lock:
                status, page, extra = fake._authorize_page(params, cookies)
            self._answer(call, status, page, extra)
        elif method == DOWNLOAD:
            status, content, ctype = fake._download(params["file_id"], token)
            self._send(call, status, content, ctype, {}, response=f"<{len(content)} bytes>")
        else:
            self._answer(call, 404, "Not Found")

    def _answer(self, call: Call, status: int, body: Any, extra: Mapping[str, str] | None = None) -> None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode("utf-8")
            ctype = "application/json; charset=utf-8"
        else:
            data = str(body).encode("utf-8")
            ctype = (
                "text/html; charset=utf-8"
                if str(body).lstrip().startswith("<")
                else "text/plain; charset=utf-8"
            )
        self._send(call, status, data, ctype, extra or {}, response=body)

    def _send(
        self, call: Call, status: int, data: bytes, ctype: str, extra: Mapping[str, str], *, response: Any
    ) -> None:
        # recorded before the bytes go out, so a caller that has its answer always sees it recorded
        self.fake._answered(call, status, response)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


# -- fixture-friendly helper ---------------------------------------------------------------------


@contextmanager
def running_fake_slack(**kwargs: Any) -> Iterator[FakeSlack]:
    """``with running_fake_slack() as fake:`` — what a pytest fixture wraps (``yield from``-style)."""
    fake = FakeSlack(**kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
