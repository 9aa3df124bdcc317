"""The running app for acceptance tests: the real web app under uvicorn on a free loopback port, with
the Slack stand-in as its Web API and requests signed exactly as Slack signs them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.home import VIEWERS
from bot.notifier import SlackNotifier
from bot.slack_app import make_client
from handlers.slack import create_app
from handlers.web import create_web_app
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.core.workers import WorkerPool
from storage.db import Database
from tests.standins.slack_api import BOT_TOKEN, PRODUCTION_CHANNEL_ID, FakeSlack
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, SlackClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    runtime: Runtime
    fake: FakeSlack
    slack: SlackClient
    notifier: SlackNotifier
    url: str

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until background work is done and every Slack message has gone out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.runtime.workers.idle():
                self.notifier.flush()
                if self.runtime.workers.idle():
                    return
            time.sleep(0.05)
        raise AssertionError("background work did not settle")

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)


@contextmanager
def serving(web: Any, port: int) -> Iterator[None]:
    """The web app under uvicorn on 127.0.0.1:`port` in a thread, from started to stopped."""
    server = uvicorn.Server(
        uvicorn.Config(
            web,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            proxy_headers=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def running_app(db: Database, data_dir: Path, **settings: Any) -> Iterator[RunningApp]:
    VIEWERS.clear()  # Home tabs seen by an earlier test's app are not this one's
    with FakeSlack() as fake:
        port = free_port()
        config = Settings(
            data_dir=data_dir,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=DEFAULT_SIGNING_SECRET,
            slack_api_url=fake.base_url,
            channel=PRODUCTION_CHANNEL_ID,
            public_base_url=f"http://127.0.0.1:{port}",
            port=port,
            **settings,
        )
        runtime = Runtime(settings=config, db=db, workers=WorkerPool(2))
        client = make_client(runtime, retries=2)
        notifier = SlackNotifier(runtime, client, poll_s=0.2)
        runtime.notifier = notifier
        bolt = create_app(runtime, client)
        web = create_web_app(runtime, bolt)
        url = f"http://127.0.0.1:{port}"
        try:
            with serving(web, port):
                notifier.start()
                slack = SlackClient(f"{url}/slack/events", fake=fake)
                try:
                    yield RunningApp(runtime, fake, slack, notifier, url)
                finally:
                    slack.close()
                    notifier.stop()
        finally:
            runtime.workers.shutdown(wait=True)
