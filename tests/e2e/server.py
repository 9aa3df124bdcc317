"""The real server for end-to-end tests: `python app.py serve` as its own OS process, on a fresh
PostgreSQL schema, with the Slack and OpenAI stand-ins as the services it talks to (and `WorkerApp`,
a `python app.py worker` beside it).

    with served_app(tmp_path, fake=fake, openai=api) as app:
        app.slack.slash_command("/job", "new", team_id=...)
        app.kill()      # SIGKILL, as a crash
        app.start()     # the same data folder and database: a restart
        app.settle()    # background work done and every Slack message sent
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, col, select

from storage.db import Database
from storage.models import ActivityEvent, Job, Outbox, Task
from tests.acceptance.harness import free_port
from tests.conftest import PG_DEFAULT
from tests.standins.openai_api import OpenAIStandIn
from tests.standins.slack_api import BOT_TOKEN, FakeSlack
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, SlackClient

ROOT = Path(__file__).resolve().parents[2]


def postgres_base() -> str:
    """The PostgreSQL server the end-to-end tests run on (always PostgreSQL, as in production)."""
    url = os.environ.get("CRAFTSTAGE_TEST_POSTGRES", PG_DEFAULT)
    if url.lower() in ("", "off", "0", "no"):
        url = PG_DEFAULT
    return url


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL whose search path is a new, empty schema (the app migrates it at start)."""
    base = postgres_base()
    schema = f"cs_e2e_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, pool_pre_ping=True)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        for _ in range(30):  # PostgreSQL may be restarting in a fault test
            try:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                break
            except Exception:  # the server may be down for a moment: try again
                time.sleep(1)
        admin.dispose()


@dataclass
class ServedApp:
    """One `python app.py serve` process (started again by `start()` after `kill()` or `stop()`)."""

    data_dir: Path
    database_url: str
    fake: FakeSlack
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _log: IO[bytes] | None = None
    _db: Database | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "serve.log"

    def command(self) -> list[str]:
        return [sys.executable, "app.py", "serve"]

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def start(self, timeout: float = 60.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self._log.write(f"--- start {self.starts} ---\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env={**self.env, "PORT": str(self.port)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.command()[2]} exited with {self.proc.returncode}:\n{self.log()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.command()[2]} did not become ready:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as a crash or a pulled plug: nothing gets to clean up."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def db(self) -> Database:
        """One database handle for the test's own reads (kept across restarts of the server)."""
        if self._db is None:
            self._db = Database(self.database_url)
        return self._db

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.db().read() as s:
            yield s

    def close(self) -> None:
        self.stop()
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def slack_client(self) -> SlackClient:
        return SlackClient(f"{self.url}/slack/events", fake=self.fake, timeout=30)

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until no task is queued or running, no outbox row is waiting, every job's thread has
        been told about its last event, and Slack has heard nothing new for a moment."""
        deadline = time.monotonic() + timeout
        quiet_since, calls = time.monotonic(), -1
        while time.monotonic() < deadline:
            busy = _busy(self.db())
            now_calls = len(self.fake.calls())
            if now_calls != calls:
                calls, quiet_since = now_calls, time.monotonic()
            if not busy and time.monotonic() - quiet_since > 1.0:
                return
            time.sleep(0.2)
        raise AssertionError(f"the app did not settle ({_busy(self.db())}):\n{self.log()[-3000:]}")


@dataclass
class WorkerApp(ServedApp):
    """One `python app.py worker` process beside a served app (same database, same data folder)."""

    name: str = "worker"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def command(self) -> list[str]:
        return [sys.executable, "app.py", "worker", "--concurrency", "2"]

    def ready(self) -> bool:
        return (
            f"--- start {self.starts} ---" in self.log()
            and "worker running" in self.log().rsplit(f"--- start {self.starts} ---", 1)[-1]
        )


def _busy(db: Database) -> str:
    with db.read() as s:
        tasks = s.exec(
            select(func.count()).select_from(Task).where(col(Task.state).in_(("queued", "running")))
        )
        if n := tasks.one():
            return f"{n} task(s) active"
        waiting = s.exec(
            select(func.count()).select_from(Outbox).where(col(Outbox.state).in_(("pending", "sending")))
        )
        if n := waiting.one():
            return f"{n} outbox row(s) waiting"
        latest = select(func.max(ActivityEvent.id)).where(ActivityEvent.job_id == Job.id).scalar_subquery()
        behind = s.exec(select(Job).where(Job.slack_posted_event_id < latest)).all()
        if behind:
            return f"threads behind: {', '.join(j.ref for j in behind)}"
    return ""


@contextmanager
def served_app(
    tmp_path: Path,
    *,
    fake: FakeSlack,
    openai: OpenAIStandIn | None = None,
    database_url: str | None = None,
    **extra_env: str,
) -> Iterator[ServedApp]:
    """Start `python app.py serve` (a fresh PostgreSQL schema unless `database_url` is given)."""
    with fresh_schema() if database_url is None else _given(database_url) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "CRAFTSTAGE_"))}
        env.update(
            PYTHONUNBUFFERED="1",
            DATABASE_URL=url,
            CRAFTSTAGE_DATA_DIR=str(tmp_path / "data"),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            LOG_LEVEL="INFO",
        )
        if openai is not None:
            env.update(OPENAI_API_KEY="sk-test-e2e-key", OPENAI_BASE_URL=openai.base_url)
        env.update(extra_env)
        app = ServedApp(data_dir=tmp_path / "data", database_url=url, fake=fake, env=env)
        app.env["PUBLIC_BASE_URL"] = app.url
        app.start()
        try:
            yield app
        finally:
            app.close()


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def wait_for(predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
