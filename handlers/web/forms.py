"""What the approval page sends back: its form bodies (size-capped) and the proofs it showed."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from pipeline.approval.page import PageView

MAX_BODY = 2 * 1024 * 1024  # room for a 100 KB note even percent-encoded, so it gets a clear answer
MAX_SHOWN = 5000
SHOWN_PAIR = re.compile(r"^(\d{1,12}):(\d{1,9})$")


def parse_shown(raw: str | None) -> dict[int, int]:
    """`12:1,13:2` (item id : proof version, as the page showed them) → {12: 1, 13: 2}."""
    shown: dict[int, int] = {}
    for part in (raw or "").split(",")[:MAX_SHOWN]:
        m = SHOWN_PAIR.match(part.strip())
        if m:
            shown[int(m.group(1))] = int(m.group(2))
    return shown


def shown_value(view: PageView) -> str:
    return ",".join(f"{i.id}:{i.proof_version}" for i in view.remaining)


async def read_form(request: Request, limit: int = MAX_BODY) -> dict[str, str] | None:
    """A url-encoded form body, or None when it is larger than `limit` bytes (first value wins)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=20)
    except ValueError:
        pairs = []
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def small_int(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None
