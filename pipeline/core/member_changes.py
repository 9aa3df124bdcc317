"""A member's role changed: every copy of the app hears it at once, so none acts on a role it cached.

On PostgreSQL the change is announced with a NOTIFY in the change's own transaction (delivered only if
it commits) and heard by a LISTEN connection in each process; when that connection was down, whatever
was cached is forgotten once it is back. SQLite serves one process, which is told directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage.db import Database

log = logging.getLogger(__name__)
CHANNEL = "craftstage_member_changed"

Changed = Callable[[int, str], None]  # (workspace id, Slack user id)
Forget = Callable[[], None]  # everything cached may be stale


class MemberChanges:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._changed: list[Changed] = []
        self._forget: list[Forget] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listening = threading.Event()

    def subscribe(self, changed: Changed, forget: Forget) -> None:
        self._changed.append(changed)
        self._forget.append(forget)

    @property
    def heard_at_once(self) -> bool:
        """Whether every change reaches this process as it happens (SQLite, or a working LISTEN)."""
        return self.db.is_sqlite or self._listening.is_set()

    def announce(self, session: Session, ws_id: int, user_id: str) -> None:
        """Tell every process once `session` commits (SQLite: this process, now)."""
        if self.db.is_sqlite:
            self._tell(f"{ws_id}:{user_id}")
        else:
            session.execute(select(func.pg_notify(CHANNEL, f"{ws_id}:{user_id}")))

    def start(self) -> MemberChanges:
        """Listen for changes made by other processes (PostgreSQL only)."""
        if not self.db.is_sqlite and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="member-changes", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def wait_listening(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    def _run(self) -> None:
        conninfo = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    self._gap()  # changes made while nobody here listened are unknown
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._tell(note.payload)
            except Exception as exc:  # the database is away for a moment: listen again shortly
                log.warning("not hearing member changes (%s); retrying", type(exc).__name__)
            self._listening.clear()
            self._stop.wait(2.0)

    def _tell(self, payload: str) -> None:
        ws, _, user = payload.partition(":")
        if not ws.isdigit() or not user:
            return
        for changed in self._changed:
            changed(int(ws), user)

    def _gap(self) -> None:
        for forget in self._forget:
            forget()
