"""`python app.py serve` as a process with SLACK_CLIENT_ID instead of SLACK_BOT_TOKEN: a workspace
installs it over HTTP, its requests are answered and the sender inside the process posts its card with
the workspace's own token; the process's log says it was installed and shows no secret."""

from __future__ import annotations

import time
from pathlib import Path

from tests.acceptance.installable import CLIENT_ID, CLIENT_SECRET, STATE_SECRET, install_through_browser
from tests.acceptance.test_cli_and_serve import _env, _free_port, start_serve
from tests.standins.slack_api import FakeSlack
from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, SlackClient, text_value

TEAM, CHANNEL, OWNER = "T0LAKE0001", "C0LAKE0001", "U0LAKEOWN1"


def test_serve_as_an_installable_app(tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeSlack() as fake:
        fake.register_app(
            CLIENT_ID, CLIENT_SECRET, redirect_urls=(f"{url}/slack/oauth_redirect",), token_rotation=True
        )
        fake.add_team(TEAM, "Lakeside Trophies", "lakeside")
        fake.add_channel(CHANNEL, "production", team_id=TEAM)
        env = _env(
            tmp_path,
            PORT=str(port),
            PUBLIC_BASE_URL=url,
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET,
            SLACK_STATE_SECRET=STATE_SECRET,
            SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            LOG_LEVEL="DEBUG",
        )
        proc = start_serve(env, port)
        try:
            done = install_through_browser(url, fake, TEAM, OWNER)
            assert done.status_code == 200 and "CraftStage is installed" in done.text
            token = fake.tokens_of(TEAM)[-1].token
            with SlackClient(f"{url}/slack/events", fake=fake) as slack:
                answered = slack.slash_command(
                    "/job", "channel", team_id=TEAM, channel_id=CHANNEL, user_id=OWNER
                )
                assert "production channel" in answered.text.lower()
                values = {
                    "customer_name": {"value": text_value("Process Customer")},
                    "customer_email": {"value": text_value("p@example.com")},
                }
                resp = slack.view_submission(
                    "job_new", values=values, private_metadata="{}", team_id=TEAM, user_id=OWNER
                )
                assert resp.json()["response_action"] == "update"
            deadline = time.monotonic() + 15
            while not any("J-1001" in (m.get("text") or "") for m in fake.messages(CHANNEL)):
                assert time.monotonic() < deadline, "the sender in the serving process posted no card"
                time.sleep(0.2)
            posts = [c for c in fake.calls() if c.params.get("channel") == CHANNEL]
            assert posts and {c.token for c in posts} == {token}
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=15)
    assert "installable: /slack/install" in err and "installed CraftStage" in err
    codes = [c.params["code"] for c in fake.calls("oauth.v2.access")]
    for secret in [CLIENT_SECRET, STATE_SECRET, token, *codes]:
        assert secret not in err
