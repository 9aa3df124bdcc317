"""Messages recorded before they are sent: for the shop in Slack (the Slack sender in bot/ delivers
them) and emails to the customer (`via="email"`, delivered by pipeline/background/mailer.py).

A dedupe key makes a message exactly-once: recording the same alert twice is a no-op.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import Outbox


def enqueue(
    session: Session,
    workspace_id: int,
    job_id: int | None,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    via: str = "slack",
) -> Outbox | None:
    """Record a message; returns None when one with the same dedupe key already exists."""
    if dedupe_key is not None:
        existing = session.exec(select(Outbox).where(Outbox.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return None
    row = Outbox(
        workspace_id=workspace_id, job_id=job_id, kind=kind, payload=payload, dedupe_key=dedupe_key, via=via
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # recorded at the same moment by another scheduler copy
        return None
    return row
