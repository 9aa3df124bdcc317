"""Shared by the security tests: the running app, raw HTTP on a socket, log checks and table counts."""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from storage.db import Database
from storage.models import ApprovalDecision, Item, Job, ParseBatch
from tests.acceptance.harness import RunningApp, running_app


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Iterator[RunningApp]:
    with running_app(db, tmp_path / "data") as running:
        yield running


def rss_bytes() -> int:
    """This process's resident memory (the app under test runs in a thread of it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def raw_exchange(url: str, head: bytes, first: bytes, rest: Any, timeout: float = 10.0) -> bytes:
    """Send `head` and `first`, read the answer (the server must answer before the body is complete),
    then offer the `rest` of the body, which the server may take or refuse."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + first)
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        sock.settimeout(2.0)
        try:
            for chunk in rest:
                sock.sendall(chunk)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: fine
    return answer


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert "Traceback" not in caplog.text
    for record in caplog.records:
        assert record.exc_info is None, f"{record.name}: {record.getMessage()}"
        assert record.levelno < logging.ERROR, f"{record.name}: {record.getMessage()}"


def row_counts(db: Database) -> dict[str, int]:
    """How many rows the tables that hold an order's work have."""
    counts = {}
    with db.read() as s:
        for model in (Job, Item, ParseBatch, ApprovalDecision):
            counts[model.__name__] = s.exec(select(func.count()).select_from(model)).one()
    return counts


def slack_headers(
    body: bytes, content_type: str, secret: str, timestamp: str | None = None
) -> dict[str, str]:
    """Slack's v0 signing over raw bytes (any bytes, UTF-8 or not)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
