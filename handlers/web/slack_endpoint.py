"""The `/slack/events` door: verify first, parse later.

Before Bolt sees anything, the body is capped (413 without reading past 2 MB), the timestamp and the
signature are checked on the raw bytes (401), and a signed body that Bolt could not parse (not UTF-8,
broken JSON, a `payload` that is not an object) is refused with 400. Each refusal logs one line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

if TYPE_CHECKING:
    from slack_bolt import App, BoltRequest

log = logging.getLogger(__name__)
MAX_BODY = 2 * 1024 * 1024  # Slack's own payloads stay far below this
MAX_SKEW_S = 5 * 60  # Slack's replay window


class Refused(Exception):
    """A request answered before Bolt: `status` and a short reason for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refusing (413) a declared or streamed size over `limit` without reading further."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isascii() or not length.isdigit():
            raise Refused(400, "unreadable Content-Length")
        if int(length) > limit:
            raise Refused(413, f"body of {int(length)} bytes declared")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, "body over the size cap")
    return bytes(body)


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Slack's v0 signature over the raw bytes, and a numeric timestamp inside the replay window."""
    get = headers.get
    stamp = get("x-slack-request-timestamp") or ""
    given = get("x-slack-signature") or ""
    if not stamp or not given:
        raise Refused(401, "no signature or timestamp")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise Refused(401, "timestamp is not a number")
    if abs((time.time() if now is None else now) - int(stamp)) > MAX_SKEW_S:
        raise Refused(401, "timestamp outside the replay window")
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        raise Refused(401, "signature does not match")


def check_parseable(body: bytes, content_type: str) -> str:
    """The body as text, if Bolt can read it (its own rules: JSON when declared so or starting with `{`,
    else a form whose `payload`, when present, is JSON) and what it reads is an object."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if not text:
        return text
    if content_type == "application/json" or text.startswith("{"):
        check_shape(_json(text))
        return text
    try:
        form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))
    except ValueError:
        raise Refused(400, "form body is unreadable") from None
    if "payload" in text and "payload" in form:
        check_shape(_json(form["payload"]))
    return text


# the fields Bolt and the middleware read before any listener runs, with the types Slack sends
_OBJECTS = ("team", "enterprise", "user", "event", "view", "container", "channel", "message", "state")
# present only as objects when Slack sends them (team, enterprise, user and channel may be null)
_NEVER_NULL = ("event", "view", "container", "message", "state")
_STRINGS = ("type", "team_id", "user_id", "enterprise_id", "api_app_id", "command", "text", "event_id")


def check_shape(payload: object) -> None:
    """Refuse (400) a payload whose top-level fields do not have the types Slack sends."""
    if not isinstance(payload, dict):
        raise Refused(400, "payload is not a JSON object")
    for name in _OBJECTS:
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            raise Refused(400, f"{name} is not an object")
    for name in _NEVER_NULL:  # Bolt reads these with `.get(name, {})`, so a null would reach `.get`
        if name in payload and payload[name] is None:
            raise Refused(400, f"{name} is null")
    for name in _STRINGS:
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise Refused(400, f"{name} is not a string")
    for name in ("actions", "authorizations"):
        value = payload.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise Refused(400, f"{name} is not a list of objects")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        raise Refused(400, "body is not valid JSON") from None


def slack_endpoint(bolt_app: App, signing_secret: str | None) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for `/slack/events`, answering before Bolt whatever Bolt must not see."""
    from slack_bolt import BoltRequest
    from slack_bolt.adapter.starlette.handler import to_starlette_response

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_capped(request)
            if signing_secret is not None:
                verify(signing_secret, request.headers, body)
            text = check_parseable(body, request.headers.get("content-type", ""))
            bolt_request = _bolt_request(BoltRequest, request, text)
        except Refused as refused:
            log.warning("slack request refused (%s): %s", refused.status, refused.reason)
            return PlainTextResponse(_WORDS.get(refused.status, "Bad request"), status_code=refused.status)
        # Bolt's dispatch is synchronous (it returns once the listener acked): keep it off the event loop
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return slack_events


def _bolt_request(factory: type[BoltRequest], request: Request, text: str) -> BoltRequest:
    try:
        return factory(body=text, query=request.url.query, headers=dict(request.headers))
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise Refused(400, f"payload Bolt cannot read ({type(exc).__name__})") from None


_WORDS = {400: "Bad request", 401: "Invalid request signature", 413: "Request body too large"}
