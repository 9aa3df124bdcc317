"""A local stand-in for OpenAI's chat-completions API, so tests exercise the real `openai` client.

A real HTTP server (ThreadingHTTPServer on 127.0.0.1, a free port, a background thread) that answers
`POST /v1/chat/completions` with proper chat.completion bodies, records every request, and plays a
script of replies, one per request:

    with OpenAIStandIn() as api:
        api.script(Reply.error(429, retry_after_ms=50), Reply.json({"items": [], "unused_lines": []}))
        client = openai.OpenAI(api_key="test", base_url=api.base_url)
        ...
        assert len(api.requests) == 2

When the script is empty, `default` answers (the naive echo parser unless told otherwise).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ContentFn = Callable[[dict[str, Any]], Any]
VALUE_KEYS = ("name", "title", "company", "date", "qty", "phone", "email", "pronouns", "note")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float

    @property
    def user_text(self) -> str:
        """The user message's text (the numbered order chunk)."""
        for message in (self.body or {}).get("messages", []):
            if message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else json.dumps(content)
        return ""


@dataclass
class Reply:
    """One scripted answer. Build with the class methods."""

    status: int = 200
    content: Any = None
    compute: ContentFn | None = None
    raw_body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"

    @classmethod
    def json(cls, content: Any, finish_reason: str = "stop") -> Reply:
        """choices[0].message.content = the JSON text of `content` (or `content` itself if a str)."""
        return cls(content=content, finish_reason=finish_reason)

    @classmethod
    def computed(cls, fn: ContentFn) -> Reply:
        """Content computed from the request body, e.g. `echo_parser`."""
        return cls(compute=fn)

    @classmethod
    def invalid_json(cls) -> Reply:
        return cls(content="Sure! Here are the names I found: Maria Gonzalez, Tom Whitaker")

    @classmethod
    def schema_violation(cls) -> Reply:
        return cls(content={"items": [{"line": 1, "values": {"name": "Maria"}, "confidence": "high"}]})

    @classmethod
    def hang(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Sleep longer than the client's timeout, then answer (the client is gone by then)."""
        reply = then or cls(content={"items": [], "unused_lines": []})
        return cls(
            status=reply.status,
            content=reply.content,
            compute=reply.compute,
            headers=reply.headers,
            delay=seconds,
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "stand-in error",
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> Reply:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        body = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        return cls(status=status, raw_body=json.dumps(body).encode(), headers=headers)


_NUMBERED = re.compile(r"^(\d+)\| ?(.*)$")


def echo_parser(body: dict[str, Any]) -> dict[str, Any]:
    """A naive model: every non-blank numbered line is an item whose name is the line's text."""
    text = next((m.get("content", "") for m in body.get("messages", []) if m.get("role") == "user"), "")
    items = []
    for line in str(text).split("\n"):
        m = _NUMBERED.match(line)
        if m and m.group(2).strip():
            values = dict.fromkeys(VALUE_KEYS)
            values["name"] = m.group(2).strip()
            items.append({"line": int(m.group(1)), "values": values, "confidence": 0.9, "reasons": []})
    return {"items": items, "unused_lines": []}


def completion_body(model: str, content: str, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": f"chatcmpl-standin-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": max(1, len(content) // 4), "total_tokens": 100},
    }


class OpenAIStandIn:
    """The server. Use as a context manager, or start()/stop()."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply.computed(echo_parser)
        self.requests: list[RecordedRequest] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> OpenAIStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="openai-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # releases hanging replies
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAIStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the stand-in first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting
    def script(self, *replies: Reply) -> None:
        """Queue replies, one per request, in order."""
        with self._lock:
            self._script.extend(replies)

    def _next(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def completion_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]


def _handler_for(standin: OpenAIStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = None
            standin._record(
                RecordedRequest(
                    "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                )
            )
            if not self.path.rstrip("/").endswith("/chat/completions"):
                return self._send(
                    404, json.dumps({"error": {"message": "not found", "type": "invalid"}}).encode()
                )
            reply = standin._next()
            if reply.delay and standin._closing.wait(reply.delay):
                return
            if reply.raw_body is not None:
                return self._send(reply.status, reply.raw_body, reply.headers)
            content = reply.compute(body or {}) if reply.compute else reply.content
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            model = (body or {}).get("model", "stand-in")
            payload = completion_body(model, text, reply.finish_reason)
            self._send(reply.status, json.dumps(payload, ensure_ascii=False).encode(), reply.headers)

        def do_GET(self) -> None:
            standin._record(RecordedRequest("GET", self.path, dict(self.headers.items()), None, time.time()))
            self._send(404, b'{"error": {"message": "not found"}}')

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-request-id", f"req-standin-{time.monotonic_ns()}")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) before we answered

    return Handler


@contextmanager
def running_openai_standin(default: Reply | None = None) -> Iterator[OpenAIStandIn]:
    """For pytest fixtures: `with running_openai_standin() as api: yield api`."""
    with OpenAIStandIn(default) as api:
        yield api
