"""reportlab's stream encoding, shared by proofs and PDF exports.

reportlab wraps compressed streams in ASCII85 unless told otherwise through a process-wide setting.
Without that layer a PDF is a quarter smaller and much faster to write (the pure-Python encoder is the
slowest step of a proof); both forms are valid PDF. The setting is global, so it is changed under one
lock: proofs and exports drawn at the same time in threads must not restore each other's value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from threading import Lock

from reportlab import rl_config

_LOCK = Lock()


@contextmanager
def binary_streams() -> Iterator[None]:
    with _LOCK:
        previous = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = previous
