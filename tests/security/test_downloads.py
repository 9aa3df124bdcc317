"""Downloads only from Slack: the bot token never goes to an address a payload names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.modals import metadata
from handlers.slack.downloads import trusted_url
from storage.db import Database
from tests.acceptance.harness import RunningApp
from tests.security import tenant_fixtures
from tests.security.tenant_fixtures import TEAM_B, USER_B, jobs_of, new_job
from tests.standins.slack_api import BOT_TOKEN, DEFAULT_USER_ID, DOWNLOAD, TEAM_ID
from tests.standins.slack_requests import files_value

app = tenant_fixtures.app


class _Trap(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        body = b"name\nAlice Smith\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Trap", (_Trap,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def parse_submission(app: RunningApp, file: dict, *, team_id: str = TEAM_ID, user_id: str = DEFAULT_USER_ID):
    ref = jobs_of(app.runtime.db, team_id)[-1].ref
    return app.slack.view_submission(
        "job_parse",
        values={"order_file": {"file": files_value(file)}},
        private_metadata=metadata(job=ref),
        team_id=team_id,
        user_id=user_id,
    )


def test_a_payload_url_never_gets_the_bot_token(app: RunningApp, db: Database, trap) -> None:
    url, seen = trap
    new_job(app, "Anna", team_id=TEAM_ID, user_id=DEFAULT_USER_ID)
    forged = {"id": "F0FORGED01", "name": "x.csv", "size": 20, "url_private": f"{url}/x.csv"}
    forged["url_private_download"] = f"{url}/x.csv"
    resp = parse_submission(app, forged)
    assert resp.status_code == 200
    assert resp.json()["response_action"] == "errors" and "order_file" in resp.json()["errors"]
    assert seen == []  # the trap server was never asked, so it never saw the token
    assert not any(BOT_TOKEN in str(h) for h in seen)

    # a real file of this person in this workspace: its URL comes from files.info, not the payload
    real = app.fake.add_file("order.csv", b"name\nAlice Smith\nBob Jones\n", user=DEFAULT_USER_ID)
    resp = parse_submission(
        app, {**real, "url_private": f"{url}/x.csv", "url_private_download": f"{url}/x.csv"}
    )
    assert resp.json().get("response_action") == "update", resp.text
    assert seen == []
    assert app.fake.call_count(DOWNLOAD) == 1


def test_files_of_another_workspace_or_person_are_refused(app: RunningApp, db: Database) -> None:
    new_job(app, "Anna", team_id=TEAM_ID, user_id=DEFAULT_USER_ID)
    theirs = app.fake.add_file("roster.csv", b"name\nBianca Secret\n", user=USER_B, team_id=TEAM_B)
    resp = parse_submission(app, theirs)
    assert "this workspace" in resp.json()["errors"]["order_file"]
    colleague = app.fake.add_file("roster.csv", b"name\nColleague\n", user="U0OTHER001")
    resp = parse_submission(app, colleague)
    assert "uploaded by you" in resp.json()["errors"]["order_file"]
    assert app.fake.call_count(DOWNLOAD) == 0
    # shop B itself may use its file
    new_job(app, "Bianca", team_id=TEAM_B, user_id=USER_B)
    resp = parse_submission(app, theirs, team_id=TEAM_B, user_id=USER_B)
    assert resp.json().get("response_action") == "update", resp.text


def test_only_slack_file_hosts_are_trusted() -> None:
    assert trusted_url("https://files.slack.com/files-pri/T1-F1/x.csv")
    for bad in (
        "http://files.slack.com/files-pri/T1-F1/x.csv",
        "https://files.slack.com.evil.example/x.csv",
        "https://evil.example/files.slack.com/x.csv",
        "https://user@files.slack.com/x.csv",
        "https://files.slack.com:8443/x.csv",
        "http://127.0.0.1:9/x.csv",
        "file:///etc/passwd",
        None,
    ):
        assert not trusted_url(bad), bad
    stand_in = "http://127.0.0.1:5555/api/"
    assert trusted_url("http://127.0.0.1:5555/files-pri/T1-F1/x.csv", stand_in)
    assert not trusted_url("http://127.0.0.1:5556/x.csv", stand_in)
    assert not trusted_url("https://slack.com/x.csv")
