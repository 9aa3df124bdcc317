"""The stand-in speaks Slack's OAuth v2 as Slack does: the authorization page's redirects, the code
exchange's rules, token rotation's refresh grant, revoked and expired tokens, tokens kept to their
workspace. Driven with slack_sdk's own client, as the app drives it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.standins.slack_api import FakeSlack

CLIENT_ID, SECRET = "111.222", "app-secret-0123456789"
REDIRECT = "https://shop.example/slack/oauth_redirect"
TEAM, OTHER = "T0LAKE0001", "T0HILL0002"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as running:
        running.add_team(TEAM, "Lakeside", "lakeside")
        running.add_team(OTHER, "Hillcrest", "hillcrest")
        running.add_channel("C0LAKE0001", team_id=TEAM)
        running.add_channel("C0HILL0002", team_id=OTHER)
        yield running


def authorize(
    fake: FakeSlack, *, team: str = TEAM, redirect_uri: str = REDIRECT, **extra: str
) -> httpx.Response:
    query = {
        "client_id": CLIENT_ID,
        "scope": "commands,chat:write",
        "state": "s1",
        "redirect_uri": redirect_uri,
    }
    session = fake.sign_in(team, "U0OWNER001")
    return httpx.get(
        f"{fake.root_url}/oauth/v2/authorize?{urlencode({**query, **extra})}",
        headers={"Cookie": f"d={session}"},
    )


def code_of(resp: httpx.Response) -> str:
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.startswith(REDIRECT + "?")
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == ["s1"]
    return params["code"][0]


def exchange(fake: FakeSlack, code: str, **kw: str) -> dict:
    client = WebClient(base_url=fake.base_url)
    args = {"client_id": CLIENT_ID, "client_secret": SECRET, "code": code, "redirect_uri": REDIRECT, **kw}
    return client.oauth_v2_access(**args).data  # type: ignore[return-value]


def test_a_code_becomes_a_token_of_its_workspace_once(fake: FakeSlack) -> None:
    fake.register_app(CLIENT_ID, SECRET, redirect_urls=(REDIRECT,))
    code = code_of(authorize(fake))
    answer = exchange(fake, code)
    assert answer["ok"] and answer["token_type"] == "bot" and answer["access_token"].startswith("xoxb-")
    assert answer["team"] == {"id": TEAM, "name": "Lakeside"} and answer["authed_user"]["id"] == "U0OWNER001"
    assert "refresh_token" not in answer and "expires_in" not in answer
    bot = WebClient(token=answer["access_token"], base_url=fake.base_url)
    assert bot.auth_test()["team_id"] == TEAM and bot.auth_test()["user_id"] == answer["bot_user_id"]
    assert bot.team_info()["team"]["id"] == TEAM
    bot.chat_postMessage(channel="C0LAKE0001", text="hi")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        bot.chat_postMessage(channel="C0HILL0002", text="not my workspace")
    with pytest.raises(SlackApiError, match="invalid_code"):
        exchange(fake, code)  # used once


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_secret": "wrong"}, "bad_client_secret"),
        ({"client_id": "999.999"}, "invalid_client_id"),
        ({"redirect_uri": "https://shop.example/elsewhere"}, "bad_redirect_uri"),
        ({"code": "1.2.deadbeef"}, "invalid_code"),
        ({"grant_type": "password"}, "invalid_grant_type"),
    ],
)
def test_the_exchange_refuses_what_slack_refuses(fake: FakeSlack, change: dict, error: str) -> None:
    fake.register_app(CLIENT_ID, SECRET, redirect_urls=(REDIRECT,))
    code = code_of(authorize(fake))
    with pytest.raises(SlackApiError, match=error):
        exchange(fake, change.pop("code", code), **change)


def test_the_authorization_page(fake: FakeSlack) -> None:
    fake.register_app(CLIENT_ID, SECRET, redirect_urls=(REDIRECT,))
    anonymous = httpx.get(f"{fake.root_url}/oauth/v2/authorize?client_id={CLIENT_ID}&state=s1")
    assert anonymous.status_code == 200 and "Sign in" in anonymous.text
    assert authorize(fake, redirect_uri="https://evil.example/steal").status_code == 400
    assert authorize(fake, client_id="0.0").status_code == 400
    # a path below a Redirect URL is allowed, as Slack allows it
    below = authorize(fake, redirect_uri=REDIRECT + "/shop-1")
    assert below.status_code == 302 and below.headers["location"].startswith(REDIRECT + "/shop-1?code=")
    fake.deny_next_install()
    cancelled = authorize(fake)
    assert parse_qs(urlsplit(cancelled.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s1"],
    }


def test_rotating_tokens_refresh_expire_and_are_revoked(fake: FakeSlack) -> None:
    fake.register_app(CLIENT_ID, SECRET, redirect_urls=(REDIRECT,), token_rotation=True)
    first = exchange(fake, code_of(authorize(fake)))
    assert first["access_token"].startswith("xoxe.xoxb-1-") and first["refresh_token"].startswith("xoxe-1-")
    assert 43000 < first["expires_in"] <= 43200
    client = WebClient(base_url=fake.base_url)
    renewed = client.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )
    assert renewed["access_token"] != first["access_token"] and renewed["team"]["id"] == TEAM
    with pytest.raises(SlackApiError, match="invalid_refresh_token"):
        client.oauth_v2_access(
            client_id=CLIENT_ID,
            client_secret=SECRET,
            grant_type="refresh_token",
            refresh_token=first["refresh_token"],
        )
    old = WebClient(token=first["access_token"], base_url=fake.base_url)
    assert old.auth_test()["ok"]  # still good until it expires
    fake.set_expiry(first["access_token"], time.time() - 1)
    with pytest.raises(SlackApiError, match="token_expired"):
        old.auth_test()
    new = WebClient(token=renewed["access_token"], base_url=fake.base_url)
    assert fake.revoke_team(TEAM) == [renewed["bot_user_id"]]
    with pytest.raises(SlackApiError, match="token_revoked"):
        new.auth_test()
    assert fake.tokens_of(TEAM) == []
