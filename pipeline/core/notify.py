"""The port through which use cases tell people what happened (Slack implements it in bot/)."""

from __future__ import annotations

from typing import Any, Protocol


class Notifier(Protocol):
    def job_changed(self, job_id: int, event: str, **details: Any) -> None:
        """Something happened to a job: refresh its card and reply in its thread as fits."""


class NullNotifier:
    """Used when Slack is not configured (the CLI, the demo)."""

    def job_changed(self, job_id: int, event: str, **details: Any) -> None:
        return None
