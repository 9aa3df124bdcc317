"""Rate limits kept in the database, so every copy of the app counts together and a restart forgets nothing.

Fixed windows: a request adds one to the row (kind, key, window start) with a single atomic upsert
(`INSERT … ON CONFLICT DO UPDATE … RETURNING`, the same statement on SQLite and PostgreSQL). Keys are
hashes (of a link token or a client address), so the table holds no secret and no address.
Windows that ended long ago are deleted now and then.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from storage.db import Database

PRUNE_EVERY = 500  # on average, one request in this many deletes old windows

_HIT = text(
    "INSERT INTO rate_limit (kind, key, window_start, hits) VALUES (:kind, :key, :start, 1) "
    "ON CONFLICT (kind, key, window_start) DO UPDATE SET hits = rate_limit.hits + 1 "
    "RETURNING hits"
)
_PEEK = text("SELECT hits FROM rate_limit WHERE kind = :kind AND key = :key AND window_start = :start")
_PRUNE = text("DELETE FROM rate_limit WHERE window_start < :before")


@dataclass(frozen=True)
class Limit:
    """At most `limit` requests of `kind` per key in each window of `window_s` seconds."""

    kind: str
    limit: int
    window_s: int


def key_of(value: str) -> str:
    """What is stored for a token or an address: a hash (never the value itself)."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:40]


class RateLimits:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    def _window(self, limit: Limit) -> tuple[int, float]:
        """(start of the current window, seconds until it ends)."""
        now = self.clock()
        size = max(1, limit.window_s)
        start = int(now // size) * size
        return start, max(1.0, start + size - now)

    def hit(self, *counted: tuple[Limit, str]) -> float | None:
        """Count one request against each (limit, key), in one transaction. None when every count is
        within its limit, else the seconds until the longest-blocked window ends."""
        wait: float | None = None
        # each count is one atomic statement: on PostgreSQL one round trip, no transaction around it
        with self.db.single() as conn:
            for limit, key in counted:
                start, left = self._window(limit)
                params = {"kind": limit.kind, "key": key_of(key), "start": start}
                hits = conn.execute(_HIT, params).scalar_one()
                if hits > max(1, limit.limit):
                    wait = max(wait or 0.0, left)
            if random.randrange(PRUNE_EVERY) == 0:
                longest = max(limit.window_s for limit, _ in counted)
                conn.execute(_PRUNE, {"before": int(self.clock()) - 2 * longest})
        return wait

    def over(self, limit: Limit, key: str) -> float | None:
        """Without counting: None when a request would be within the limit, else seconds to wait."""
        start, left = self._window(limit)
        with self.db.read() as s:
            hits = s.execute(_PEEK, {"kind": limit.kind, "key": key_of(key), "start": start}).scalar()
        return left if (hits or 0) >= max(1, limit.limit) else None
