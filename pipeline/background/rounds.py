"""Senders that work in rounds on a background thread: the Slack thread sender and the mail sender.

A round runs every `poll_s` seconds, or at once when kicked (something new to send). A failed round is
logged and the next one tries again: a database restart or a network hiccup must not end the loop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

log = logging.getLogger(__name__)


class Rounds:
    name = "sender"  # for the thread and the log

    def __init__(self, *, poll_s: float, stop_timeout_s: float = 10.0) -> None:
        self.poll_s = poll_s
        self.stop_timeout_s = stop_timeout_s
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()

    def flush(self) -> Any:
        """One round; subclasses send what is due."""
        raise NotImplementedError

    def kick(self) -> None:
        self._kick.set()

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.name.replace(" ", "-"), daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(self.poll_s)
            self._kick.clear()
            try:
                self.flush()
            except Exception:  # the loop must survive a bad moment (a database restart …)
                log.exception("%s round failed; retrying", self.name)
