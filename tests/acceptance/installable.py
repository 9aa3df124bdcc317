"""The installable Slack app under test: the real web app under uvicorn with SLACK_CLIENT_ID set instead
of SLACK_BOT_TOKEN, the Slack stand-in as Slack (its Web API and its authorization page), and a browser
that installs the app into a workspace through the real redirects."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.home import VIEWERS
from bot.installations import Installations
from bot.notifier import SlackNotifier
from bot.slack_app import make_client
from handlers.slack import create_app
from handlers.web import create_web_app
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.core.workers import WorkerPool
from storage.db import Database
from tests.acceptance.harness import RunningApp, free_port, serving
from tests.standins.slack_api import FakeSlack
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, SlackClient

CLIENT_ID = "1000000001.5000000005"
CLIENT_SECRET = "0123456789abcdef0123456789abcdef"
STATE_SECRET = "state-secret-" + "9" * 40
STATE_COOKIE = "slack-app-oauth-state"


@dataclass
class InstallableApp(RunningApp):
    installs: Installations

    def install(self, team_id: str, user_id: str) -> httpx.Response:
        return install_through_browser(self.url, self.fake, team_id, user_id)


def install_through_browser(url: str, fake: FakeSlack, team_id: str, user_id: str) -> httpx.Response:
    """A person of `team_id` installs the app from /slack/install, through Slack's authorization page and
    back to /slack/oauth_redirect, as a browser follows the links and redirects."""
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        page = browser.get(f"{url}/slack/install")
        assert page.status_code == 200, page.text
        link = authorize_link(page.text)
        state_cookie = cookie_value(page, STATE_COOKIE)
        # at Slack: signed in as the installer, who allows the app
        session = fake.sign_in(team_id, user_id)
        slack = browser.get(link, headers={"Cookie": f"d={session}"})
        assert slack.status_code == 302, slack.text
        back = slack.headers["location"]
        assert back.startswith(f"{url}/slack/oauth_redirect?"), back
        # back at the app, in the browser that started (its state cookie)
        return browser.get(back, headers={"Cookie": f"{STATE_COOKIE}={state_cookie}"})


def authorize_link(page: str) -> str:
    found = re.search(r'<a class="add" href="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


def link_params(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def cookie_value(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key.strip() == name:
            return rest.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


@contextmanager
def running_installable_app(
    db: Database, data_dir: Path, *, token_rotation: bool = True, **settings: Any
) -> Iterator[InstallableApp]:
    VIEWERS.clear()
    with FakeSlack() as fake:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        fake.register_app(
            CLIENT_ID,
            CLIENT_SECRET,
            redirect_urls=(f"{url}/slack/oauth_redirect",),
            token_rotation=token_rotation,
        )
        config = Settings(
            data_dir=data_dir,
            slack_client_id=CLIENT_ID,
            slack_client_secret=CLIENT_SECRET,
            slack_state_secret=STATE_SECRET,
            slack_signing_secret=DEFAULT_SIGNING_SECRET,
            slack_api_url=fake.base_url,
            public_base_url=url,
            port=port,
            **settings,
        )
        runtime = Runtime(settings=config, db=db, workers=WorkerPool(2))
        installs = Installations(runtime)
        notifier = SlackNotifier(runtime, installs, poll_s=0.2)
        runtime.notifier = notifier
        bolt = create_app(runtime, make_client(runtime, retries=2), installs=installs)
        web = create_web_app(runtime, bolt, installs)
        try:
            with serving(web, port):
                notifier.start()
                slack = SlackClient(f"{url}/slack/events", fake=fake)
                try:
                    yield InstallableApp(runtime, fake, slack, notifier, url, installs)
                finally:
                    slack.close()
                    notifier.stop()
        finally:
            runtime.workers.shutdown(wait=True)
