"""What /healthz says about where background work goes."""

from __future__ import annotations

import logging
from typing import Any

from pipeline.core.runtime import Runtime

log = logging.getLogger(__name__)


def queue_status(runtime: Runtime) -> dict[str, Any]:
    """Where this process's background work goes and, for the queue, whether it can be reached, with
    its tasks waiting and running and the workers heard from lately."""
    if runtime.queue is None:
        return {"engine": "in this process", "reachable": True}
    try:
        with runtime.db.read() as s:
            return {**runtime.queue.status(s), "reachable": True}
    except Exception as exc:  # the health check says so instead of failing
        log.warning("the task queue is unreachable: %s", exc)
        return {"engine": "procrastinate", "reachable": False}
