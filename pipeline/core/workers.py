"""The app's own bounded worker pool: slow work never runs on a request or Slack listener thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pipeline.core.errors import CraftError

log = logging.getLogger(__name__)


class Busy(CraftError):
    """The queue is full; the caller tells the user to try again in a moment."""


class WorkerPool:
    def __init__(self, workers: int = 4, max_queued: int = 200, name: str = "craftstage-worker") -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(workers + max_queued)
        self._closed = False
        self._pending = 0
        self._count_lock = threading.Lock()

    def idle(self) -> bool:
        """True when nothing is queued or running (tests and shutdown wait on this)."""
        with self._count_lock:
            return self._pending == 0

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        if self._closed:
            raise Busy("CraftStage is shutting down; try again in a moment.")
        if not self._slots.acquire(blocking=False):
            raise Busy("CraftStage is busy with other work; try again in a moment.")

        def run() -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception:
                log.exception("background work %s failed", getattr(fn, "__name__", fn))
                raise
            finally:
                with self._count_lock:
                    self._pending -= 1
                self._slots.release()

        with self._count_lock:
            self._pending += 1
        try:
            return self._executor.submit(run)
        except RuntimeError:
            with self._count_lock:
                self._pending -= 1
            self._slots.release()
            raise Busy("CraftStage is shutting down; try again in a moment.") from None

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
