"""Requests signed exactly as Slack signs them, and a small client that sends them to the app.

Every builder returns a ``SlackRequest(body, headers)`` (a NamedTuple, so ``body, headers = ...`` works):
the exact bytes to send and the headers Slack would send with them, including
``X-Slack-Request-Timestamp`` and ``X-Slack-Signature = v0=HMAC-SHA256(secret, "v0:{ts}:{body}")``.

Pass ``fake=`` (a running ``FakeSlack``) and the builders take their ``response_url`` and ``trigger_id``
from it, so ``respond()`` lands on the stand-in and ``views.open`` gets a trigger id it knows (and expires).
Without ``fake`` and without an explicit ``response_url`` the URL points at a closed local port — never at
the real Slack.

    client = SlackClient("http://127.0.0.1:8000/slack/events", fake=fake)
    resp = client.slash_command("/craft", "new order")             # httpx.Response
    resp = client.send(slash_command("/craft", ""), stale_by=600)  # replay-window test → 401
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.standins.slack_api import (
    API_APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
    PRODUCTION_CHANNEL_ID,
    PRODUCTION_CHANNEL_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
)

if TYPE_CHECKING:
    from slack_bolt.request import BoltRequest

    from tests.standins.slack_api import FakeSlack

DEFAULT_SIGNING_SECRET = "craftstage-test-signing-secret-0123456789abcdef"
VERIFICATION_TOKEN = "craftstageVerificationToken"  # the deprecated `token` field Slack still sends
NO_FAKE_RESPONSE_URL = "http://127.0.0.1:9/webhook/no-fake-slack"  # closed port: fails fast, stays local

_counter = itertools.count(1)


class SlackRequest(NamedTuple):
    body: bytes
    headers: dict[str, str]

    @property
    def timestamp(self) -> str:
        return self.headers["X-Slack-Request-Timestamp"]

    def payload(self) -> dict[str, Any]:
        """The request parsed back: the JSON body, the ``payload`` of an interaction, or the form fields."""
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(self.body)
        form = dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        return json.loads(form["payload"]) if set(form) == {"payload"} else form


# -- signing -------------------------------------------------------------------------------------


def signature(body: bytes | str, secret: str, timestamp: int | str) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` — slack_sdk SignatureVerifier's algorithm."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    base = f"v0:{timestamp}:{text}".encode()
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def sign(
    body: bytes | str,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    *,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """The signing headers (plus Slack's retry headers when ``retry_num`` is given) for ``body``."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(body, secret, ts)}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return headers


def _signed(
    body: bytes,
    content_type: str,
    *,
    secret: str,
    timestamp: int | str | None,
    retry_num: int | None,
    retry_reason: str | None,
) -> SlackRequest:
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign(body, secret, timestamp, retry_num=retry_num, retry_reason=retry_reason),
    }
    return SlackRequest(body, headers)


def _form(fields: Mapping[str, Any], **signing: Any) -> SlackRequest:
    body = urlencode({k: v for k, v in fields.items() if v is not None}).encode("utf-8")
    return _signed(body, "application/x-www-form-urlencoded", **signing)


def _interaction(payload: Mapping[str, Any], **signing: Any) -> SlackRequest:
    return _form({"payload": json.dumps(payload, separators=(",", ":"))}, **signing)


def _json(envelope: Mapping[str, Any], **signing: Any) -> SlackRequest:
    return _signed(json.dumps(envelope, separators=(",", ":")).encode("utf-8"), "application/json", **signing)


def _signing(
    secret: str, timestamp: int | str | None, retry_num: int | None, retry_reason: str | None
) -> dict:
    return {"secret": secret, "timestamp": timestamp, "retry_num": retry_num, "retry_reason": retry_reason}


# -- ids -----------------------------------------------------------------------------------------


def new_trigger_id(fake: FakeSlack | None = None, user_id: str | None = DEFAULT_USER_ID) -> str:
    if fake is not None:
        return fake.trigger_id(user_id)
    return f"{int(time.time())}{next(_counter):03d}.1000000001.{secrets.token_hex(16)}"


def _response_url(
    fake: FakeSlack | None,
    response_url: str | None,
    *,
    channel: str,
    user: str,
    message_ts: str | None = None,
) -> str:
    if response_url is not None:
        return response_url
    if fake is None:
        return NO_FAKE_RESPONSE_URL
    return fake.response_url(channel=channel, user=user, message_ts=message_ts)


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _user(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


# -- slash commands ------------------------------------------------------------------------------


def slash_command(
    command: str,
    text: str = "",
    *,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    channel_id: str = PRODUCTION_CHANNEL_ID,
    channel_name: str = PRODUCTION_CHANNEL_NAME,
    api_app_id: str = API_APP_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    fake: FakeSlack | None = None,
    enterprise_id: str | None = None,
    enterprise_name: str | None = None,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SlackRequest:
    """A slash command as Slack posts it (form-encoded, all the fields Slack sends)."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "enterprise_id": enterprise_id,
        "enterprise_name": enterprise_name,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": _response_url(fake, response_url, channel=channel_id, user=user_id),
        "trigger_id": trigger_id or new_trigger_id(fake, user_id),
    }
    return _form(fields, **_signing(secret, timestamp, retry_num, retry_reason))


# -- interactivity -------------------------------------------------------------------------------


def block_actions(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str | None = None,
    action_type: str = "button",
    action: Mapping[str, Any] | None = None,
    actions: list[Mapping[str, Any]] | None = None,
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    channel_id: str = PRODUCTION_CHANNEL_ID,
    channel_name: str = PRODUCTION_CHANNEL_NAME,
    api_app_id: str = API_APP_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    fake: FakeSlack | None = None,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SlackRequest:
    """A ``block_actions`` interaction: a button click (default) or any element (``action=`` extra fields).

    ``message=`` (e.g. one of ``fake.messages(channel)``) makes it come from that message, with container
    ``{"type": "message", ...}`` and a response_url; ``view=`` (e.g. ``fake.last_view()``) makes it come
    from a modal / Home tab (container ``{"type": "view"}``, no channel, no response_url).
    """
    if actions is None:
        one: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or _find_block_id(message or view, action_id) or "actions",
            "type": action_type,
            "action_ts": _action_ts(),
        }
        if action_type == "button":
            one["text"] = {"type": "plain_text", "text": "Button", "emoji": True}
        if value is not None:
            one["value"] = value
        one.update(action or {})
        actions = [one]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(fake, user_id),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [dict(a) for a in actions],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = dict(view)
        payload["state"] = {"values": dict(view.get("state", {}).get("values", {}))}
    else:
        ts = str(message.get("ts")) if message else f"{int(time.time())}.000100"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        if message and message.get("thread_ts"):
            payload["container"]["thread_ts"] = message["thread_ts"]
        payload["channel"] = {"id": channel_id, "name": channel_name}
        payload["message"] = (
            dict(message)
            if message
            else {
                "type": "message",
                "ts": ts,
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": "",
                "blocks": [],
            }
        )
        payload["state"] = {"values": {}}
        payload["response_url"] = _response_url(
            fake, response_url, channel=channel_id, user=user_id, message_ts=ts
        )
    return _interaction(payload, **_signing(secret, timestamp, retry_num, retry_reason))


def _find_block_id(container: Mapping[str, Any] | None, action_id: str) -> str | None:
    """The block_id of the block holding ``action_id`` in a message or view, if there is one."""
    for block in (container or {}).get("blocks") or []:
        elements = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if block.get(key):
                elements.append(block[key])
        if any(isinstance(e, Mapping) and e.get("action_id") == action_id for e in elements):
            return block.get("block_id")
    return None


def text_value(value: str | None) -> dict[str, Any]:
    """State value of a plain_text_input."""
    return {"type": "plain_text_input", "value": value}


def select_value(value: str, text: str | None = None) -> dict[str, Any]:
    """State value of a static_select."""
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def date_value(iso_date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": iso_date}


def checkboxes_value(*values: str) -> dict[str, Any]:
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
    return {"type": "checkboxes", "selected_options": options}


def files_value(*files: Mapping[str, Any]) -> dict[str, Any]:
    """State value of a file_input: pass Slack file objects (e.g. from ``fake.add_file``)."""
    return {"type": "file_input", "files": [dict(f) for f in files]}


def _state_values(values: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Accept ``{block: {action: "text"}}`` as shorthand for a plain_text_input value."""
    return {
        block_id: {
            action_id: text_value(v) if isinstance(v, str) or v is None else dict(v)
            for action_id, v in actions.items()
        }
        for block_id, actions in values.items()
    }


def _view_object(
    view: Mapping[str, Any] | None,
    *,
    callback_id: str | None,
    private_metadata: str | None,
    values: Mapping[str, Mapping[str, Any]],
    team_id: str,
) -> dict[str, Any]:
    base = dict(view or {})
    vid = base.get("id") or f"V0{next(_counter):08X}"
    obj: dict[str, Any] = {
        "id": vid,
        "team_id": team_id,
        "type": base.get("type", "modal"),
        "blocks": base.get("blocks", []),
        "private_metadata": base.get("private_metadata", "")
        if private_metadata is None
        else private_metadata,
        "callback_id": callback_id if callback_id is not None else base.get("callback_id", ""),
        "state": {"values": _state_values(values)},
        "hash": base.get("hash") or f"{int(time.time())}.{secrets.token_urlsafe(6)}",
        "title": base.get("title", {"type": "plain_text", "text": "CraftStage", "emoji": True}),
        "clear_on_close": base.get("clear_on_close", False),
        "notify_on_close": base.get("notify_on_close", False),
        "close": base.get("close"),
        "submit": base.get("submit"),
        "previous_view_id": base.get("previous_view_id"),
        "root_view_id": base.get("root_view_id") or vid,
        "app_id": API_APP_ID,
        "external_id": base.get("external_id", ""),
        "app_installed_team_id": team_id,
        "bot_id": BOT_ID,
    }
    return obj


def view_submission(
    callback_id: str | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    private_metadata: str | None = None,
    *,
    view: Mapping[str, Any] | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    response_urls: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    fake: FakeSlack | None = None,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SlackRequest:
    """A modal submission. ``values`` is ``view.state.values``: ``{block_id: {action_id: state}}`` where
    state is e.g. ``text_value("12")`` / ``select_value("oak")`` / ``date_value("2025-03-01")`` — a bare
    string is shorthand for a plain_text_input value. Pass ``view=fake.last_view(...)`` to submit the
    modal the app really opened (its id, hash, blocks, callback_id and private_metadata are reused).
    """
    if callback_id is None and view is None:
        raise ValueError("view_submission needs callback_id or view")
    payload = {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(fake, user_id),
        "view": _view_object(
            view,
            callback_id=callback_id,
            private_metadata=private_metadata,
            values=values or {},
            team_id=team_id,
        ),
        "response_urls": response_urls or [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction(payload, **_signing(secret, timestamp, retry_num, retry_reason))


def view_closed(
    callback_id: str | None = None,
    *,
    view: Mapping[str, Any] | None = None,
    is_cleared: bool = False,
    private_metadata: str | None = None,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SlackRequest:
    """Sent when the user closes a modal opened with ``notify_on_close: true``."""
    if callback_id is None and view is None:
        raise ValueError("view_closed needs callback_id or view")
    payload = {
        "type": "view_closed",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": _view_object(
            view, callback_id=callback_id, private_metadata=private_metadata, values={}, team_id=team_id
        ),
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interaction(payload, **_signing(secret, timestamp, retry_num, retry_reason))


# -- Events API ----------------------------------------------------------------------------------


def new_event_id() -> str:
    return f"Ev0{next(_counter):06d}{secrets.token_hex(3).upper()}"


def event_callback(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = API_APP_ID,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> SlackRequest:
    """The Events API envelope around ``event``. Reuse ``event_id`` (and set ``retry_num``) for a retry."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }
    return _json(envelope, **_signing(secret, timestamp, retry_num, retry_reason))


def url_verification(
    challenge: str | None = None,
    *,
    secret: str = DEFAULT_SIGNING_SECRET,
    timestamp: int | str | None = None,
) -> SlackRequest:
    body = {
        "token": VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(36),
        "type": "url_verification",
    }
    return _json(body, **_signing(secret, timestamp, None, None))


def app_home_opened(
    user: str = DEFAULT_USER_ID,
    team: str = TEAM_ID,
    *,
    tab: str = "home",
    view: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> SlackRequest:
    """``app_home_opened`` for ``user``; pass ``view=fake.home_view(user)`` if one was published before."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": tab,
        "event_ts": _action_ts(),
    }
    if view is not None:
        event["view"] = dict(view)
    return event_callback(event, team_id=team, **kwargs)


def message_event(
    text: str,
    *,
    channel: str = PRODUCTION_CHANNEL_ID,
    user: str = DEFAULT_USER_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    files: list[Mapping[str, Any]] | None = None,
    channel_type: str = "channel",
) -> dict[str, Any]:
    """An inner ``message`` event (wrap it with ``event_callback``); ``files`` adds a file_share subtype."""
    ts = ts or _action_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "team": TEAM_ID,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if files:
        event["subtype"] = "file_share"
        event["files"] = [dict(f) for f in files]
        event["upload"] = False
    return event


# -- in-process and over-HTTP delivery -----------------------------------------------------------


def bolt_request(request: SlackRequest) -> BoltRequest:
    """The same signed request for ``app.dispatch(...)`` in-process (bolt's BoltRequest)."""
    from slack_bolt.request import BoltRequest

    headers = {k.lower(): [v] for k, v in request.headers.items()}
    return BoltRequest(body=request.body.decode("utf-8"), headers=headers)


class SlackClient:
    """Posts signed requests to the app's Slack endpoint (e.g. ``http://127.0.0.1:PORT/slack/events``).

    The builder shortcuts (``slash_command``, ``block_actions``, ``view_submission``, ``view_closed``,
    ``event_callback``, ``url_verification``, ``app_home_opened``) sign with this client's secret and take
    response_url / trigger_id from its ``fake``. ``send`` can tamper with the request Slack-style.
    """

    def __init__(
        self,
        app_url: str,
        *,
        secret: str = DEFAULT_SIGNING_SECRET,
        fake: FakeSlack | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_url = app_url
        self.secret = secret
        self.fake = fake
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SlackClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        request: SlackRequest,
        *,
        stale_by: int | None = None,
        bad_signature: bool = False,
        unsigned: bool = False,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        url: str | None = None,
    ) -> httpx.Response:
        """POST ``request``; optionally re-signed ``stale_by`` seconds in the past (validly, so only the
        replay window rejects it), signed with a wrong secret, sent without signature headers, or marked
        as Slack's retry number ``retry_num``."""
        headers = dict(request.headers)
        if stale_by is not None:
            headers.update(sign(request.body, self.secret, int(time.time()) - stale_by))
        if bad_signature:
            headers.update(sign(request.body, self.secret + "-wrong", headers["X-Slack-Request-Timestamp"]))
        if unsigned:
            headers.pop("X-Slack-Signature", None)
            headers.pop("X-Slack-Request-Timestamp", None)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self._http.post(url or self.app_url, content=request.body, headers=headers)

    def _defaults(self, kwargs: dict[str, Any], *, with_fake: bool = True) -> dict[str, Any]:
        kwargs.setdefault("secret", self.secret)
        if with_fake:
            kwargs.setdefault("fake", self.fake)
        return kwargs

    def slash_command(self, command: str, text: str = "", **kwargs: Any) -> httpx.Response:
        return self.send(slash_command(command, text, **self._defaults(kwargs)))

    def block_actions(self, action_id: str, value: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.send(block_actions(action_id, value, **self._defaults(kwargs)))

    def view_submission(
        self,
        callback_id: str | None = None,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        private_metadata: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        return self.send(view_submission(callback_id, values, private_metadata, **self._defaults(kwargs)))

    def view_closed(self, callback_id: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.send(view_closed(callback_id, **self._defaults(kwargs, with_fake=False)))

    def event_callback(self, event: Mapping[str, Any], **kwargs: Any) -> httpx.Response:
        return self.send(event_callback(event, **self._defaults(kwargs, with_fake=False)))

    def url_verification(self, challenge: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.send(url_verification(challenge, **self._defaults(kwargs, with_fake=False)))

    def app_home_opened(self, user: str = DEFAULT_USER_ID, **kwargs: Any) -> httpx.Response:
        return self.send(app_home_opened(user, **self._defaults(kwargs, with_fake=False)))
