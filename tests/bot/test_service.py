"""The Slack side of a running process: `serve` takes Slack's requests over Socket Mode, a worker
process (which only posts) never opens a link of its own."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from bot.service import SlackService
from handlers.slack import create_app
from storage.db import Database
from tests.pipeline.pipeline_fixtures import make_runtime
from tests.standins.slack_api import BOT_TOKEN, FakeSlack
from tests.standins.socket_mode import APP_TOKEN, FakeSocketMode


def test_only_the_process_that_listens_opens_a_socket_mode_link(db: Database, tmp_path: Path) -> None:
    with FakeSlack() as fake, FakeSocketMode(fake) as sm:
        runtime = make_runtime(
            db,
            tmp_path / "data",
            slack_bot_token=SecretStr(BOT_TOKEN),
            slack_app_token=SecretStr(APP_TOKEN),
            slack_api_url=fake.base_url,
        )
        worker = SlackService(runtime, create_app).start(sender=False, listen=False)
        try:
            assert worker.link is None and sm.connections_opened == 0
            assert worker.bolt is not None and runtime.after_parse is not None  # it still posts
        finally:
            worker.stop()
        serve = SlackService(runtime, create_app).start(sender=False)
        try:
            sm.wait_connected()
            assert serve.link is not None and sm.connections_opened == 1
        finally:
            serve.stop()
