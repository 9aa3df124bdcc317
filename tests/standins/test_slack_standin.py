"""The Slack stand-in, the signed-request builders and the Block Kit validator, driven by the real SDKs."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.standins import blockkit_limits as bk
from tests.standins.slack_api import (
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    DEFAULT_USER_ID,
    DOWNLOAD,
    PRODUCTION_CHANNEL_ID,
    TEAM_ID,
    UPLOAD,
    WEBHOOK,
    FakeSlack,
    running_fake_slack,
)
from tests.standins.slack_requests import (
    DEFAULT_SIGNING_SECRET,
    SlackClient,
    app_home_opened,
    block_actions,
    bolt_request,
    date_value,
    event_callback,
    message_event,
    select_value,
    sign,
    slash_command,
    url_verification,
    view_closed,
    view_submission,
)

TS_RE = re.compile(r"^\d{10}\.\d{6}$")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with running_fake_slack() as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=fake.base_url, timeout=5)


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def modal(title: str = "New job", **extra: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "new_job",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Create"},
        "blocks": [
            {
                "type": "input",
                "block_id": "qty",
                "label": {"type": "plain_text", "text": "Quantity"},
                "element": {"type": "plain_text_input", "action_id": "qty_input"},
            }
        ],
        **extra,
    }


# -- the Web API stand-in ------------------------------------------------------------------------


def test_base_url_and_auth_test(fake: FakeSlack, client: WebClient) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/api/")
    resp = client.auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == (TEAM_ID, BOT_USER_ID, BOT_ID)
    assert resp["url"].startswith("https://") and resp["team"] and resp["user"]
    call = fake.last_call("auth.test")
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}" and call.token == BOT_TOKEN


def test_missing_or_unknown_token_is_rejected_like_slack(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.base_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        WebClient(token="xoxb-not-ours", base_url=fake.base_url).chat_postMessage(channel="C1", text="x")
    assert unknown.value.response["error"] == "invalid_auth"
    assert fake.messages("C1") == []


def test_token_may_come_in_the_form_body_and_unknown_methods_answer_unknown_method(fake: FakeSlack) -> None:
    resp = httpx.post(fake.base_url + "auth.test", data={"token": BOT_TOKEN})
    assert resp.json()["ok"] is True
    resp = httpx.post(fake.base_url + "chat.teleport", headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert resp.json() == {"ok": False, "error": "unknown_method", "req_method": "chat.teleport"}


def test_post_message_hands_out_increasing_realistic_ts_and_records_threads() -> None:
    with FakeSlack(ts_epoch=1732800000) as fake:
        client = fake.web_client()
        blocks = [section("*Job 42* created")]
        parent = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="Job 42", blocks=blocks)
        assert parent["ts"] == "1732800000.000100"
        assert parent["channel"] == PRODUCTION_CHANNEL_ID
        assert parent["message"]["text"] == "Job 42" and parent["message"]["blocks"] == blocks
        assert parent["message"]["bot_id"] == BOT_ID

        reply = client.chat_postMessage(
            channel=PRODUCTION_CHANNEL_ID, text="Proof ready", thread_ts=parent["ts"]
        )
        other = client.chat_postMessage(channel="C0OTHER001", text="elsewhere")
        assert reply["ts"] == "1732800000.000200" and reply["message"]["thread_ts"] == parent["ts"]
        assert other["ts"] == "1732800000.000300"

        assert [m["text"] for m in fake.messages(PRODUCTION_CHANNEL_ID)] == ["Job 42", "Proof ready"]
        assert [m["text"] for m in fake.posts_in_thread(PRODUCTION_CHANNEL_ID, parent["ts"])] == [
            "Proof ready"
        ]
        assert len(fake.posts_in_thread(PRODUCTION_CHANNEL_ID, parent["ts"], include_parent=True)) == 2
        assert fake.message(PRODUCTION_CHANNEL_ID, parent["ts"])["reply_count"] == 1

        replies = client.conversations_replies(channel=PRODUCTION_CHANNEL_ID, ts=parent["ts"])["messages"]
        assert [m["ts"] for m in replies] == [parent["ts"], reply["ts"]]


def test_real_clock_ts_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0AAA", text=str(i))["ts"] for i in range(5)]
    assert all(TS_RE.match(ts) for ts in stamps)
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 5


def test_update_delete_ephemeral_and_permalink(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="Status: queued")["ts"]
    updated = client.chat_update(channel=PRODUCTION_CHANNEL_ID, ts=ts, text="Status: done")
    assert updated["ts"] == ts and updated["message"]["text"] == "Status: done"
    assert fake.message(PRODUCTION_CHANNEL_ID, ts)["text"] == "Status: done"
    assert "edited" in fake.message(PRODUCTION_CHANNEL_ID, ts)

    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel=PRODUCTION_CHANNEL_ID, ts="1.000100", text="nope")
    assert err.value.response["error"] == "message_not_found"

    link = client.chat_getPermalink(channel=PRODUCTION_CHANNEL_ID, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{PRODUCTION_CHANNEL_ID}/p{ts.replace('.', '')}")

    eph = client.chat_postEphemeral(channel=PRODUCTION_CHANNEL_ID, user=DEFAULT_USER_ID, text="only you")
    assert TS_RE.match(eph["message_ts"])
    assert fake.ephemerals(user=DEFAULT_USER_ID)[0]["text"] == "only you"
    assert fake.messages(PRODUCTION_CHANNEL_ID)[-1]["ts"] == ts  # ephemerals are not channel messages

    client.chat_delete(channel=PRODUCTION_CHANNEL_ID, ts=ts)
    assert fake.messages(PRODUCTION_CHANNEL_ID) == []
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_delete(channel=PRODUCTION_CHANNEL_ID, ts=ts)


def test_message_errors_no_text_msg_too_long_and_invalid_blocks(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError, match="no_text"), pytest.warns(UserWarning, match="`text` argument"):
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID)
    with pytest.raises(SlackApiError, match="msg_too_long"):
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x" * 40_001)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(
            channel=PRODUCTION_CHANNEL_ID, text="too many", blocks=[section(f"{i}") for i in range(51)]
        )
    assert err.value.response["error"] == "invalid_blocks"
    assert any("51 blocks" in e for e in err.value.response["errors"])
    ts = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="ok")["ts"]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_update(channel=PRODUCTION_CHANNEL_ID, ts=ts, text="x", blocks=[section("y" * 3001)])
    assert fake.messages(PRODUCTION_CHANNEL_ID)[0]["text"] == "ok"


def test_form_encoded_blocks_are_decoded_like_json(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("from a form")]
    client.api_call(
        "chat.postMessage", params={"channel": "C0FORM", "text": "t", "blocks": json.dumps(blocks)}
    )
    client.api_call("chat.postMessage", json={"channel": "C0JSON", "text": "t", "blocks": blocks})
    assert fake.messages("C0FORM")[0]["blocks"] == fake.messages("C0JSON")[0]["blocks"] == blocks
    form_call, json_call = fake.calls("chat.postMessage")
    assert form_call.json is None and form_call.raw.startswith(b"channel=C0FORM")
    assert json_call.json == {"channel": "C0JSON", "text": "t", "blocks": blocks}


def test_strict_channels_channel_not_found_and_not_in_channel() -> None:
    with FakeSlack(strict_channels=True) as fake:
        fake.add_channel("C0ARCHIVE1", "archive", is_member=False)
        client = fake.web_client()
        with pytest.raises(SlackApiError, match="channel_not_found"):
            client.chat_postMessage(channel="C0NOWHERE", text="x")
        with pytest.raises(SlackApiError, match="channel_not_found"):
            client.chat_postMessage(channel="#production", text="names are not ids")
        with pytest.raises(SlackApiError, match="not_in_channel"):
            client.chat_postMessage(channel="C0ARCHIVE1", text="x")
        assert client.conversations_join(channel="C0ARCHIVE1")["channel"]["is_member"] is True
        assert client.chat_postMessage(channel="C0ARCHIVE1", text="x")["ok"]
        assert client.conversations_info(channel="C0ARCHIVE1")["channel"]["name"] == "archive"


def test_users_info_and_posting_to_a_user_opens_a_dm(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user=DEFAULT_USER_ID)["user"]
    assert user["real_name"] == "Alice Maker" and user["profile"]["display_name"] == "alice"
    assert user["tz"] == "Europe/Berlin"
    assert client.users_info(user="U0SOMEONE")["user"]["profile"]["real_name"]
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="not-a-user")
    posted = client.chat_postMessage(channel=DEFAULT_USER_ID, text="hello")
    assert posted["channel"].startswith("D")
    assert fake.messages(posted["channel"])[0]["text"] == "hello"


# -- files ---------------------------------------------------------------------------------------


def test_files_upload_v2_round_trip_is_byte_exact_and_lands_in_the_thread(
    fake: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="Job 7")["ts"]
    content = bytes(range(256)) * 40 + b"%PDF-1.7\r\n\x00end"
    resp = client.files_upload_v2(
        channel=PRODUCTION_CHANNEL_ID,
        thread_ts=parent,
        content=content,
        filename="proof-7.pdf",
        title="Proof for job 7",
        initial_comment="Proof attached",
    )
    assert [c.method for c in fake.calls()][-3:] == [
        "files.getUploadURLExternal",
        UPLOAD,
        "files.completeUploadExternal",
    ]
    upload_call = fake.last_call(UPLOAD)
    assert upload_call.raw == content and upload_call.response == f"OK - {len(content)}"
    get_url = fake.last_call("files.getUploadURLExternal")
    assert get_url.params["filename"] == "proof-7.pdf" and int(get_url.params["length"]) == len(content)

    (uploaded,) = fake.uploaded_files()
    assert uploaded.bytes == content
    assert (uploaded.name, uploaded.title) == ("proof-7.pdf", "Proof for job 7")
    assert (uploaded.channel, uploaded.thread_ts) == (PRODUCTION_CHANNEL_ID, parent)

    file_obj = resp["file"]
    assert file_obj["id"] == uploaded.id and file_obj["size"] == len(content)
    assert file_obj["mimetype"] == "application/pdf"
    assert file_obj["shares"]["public"][PRODUCTION_CHANNEL_ID][0]["thread_ts"] == parent
    (share_msg,) = fake.posts_in_thread(PRODUCTION_CHANNEL_ID, parent)
    assert share_msg["files"][0]["id"] == uploaded.id and share_msg["text"] == "Proof attached"
    assert client.files_info(file=uploaded.id)["file"]["name"] == "proof-7.pdf"

    url = file_obj["url_private_download"]
    assert url.startswith(fake.root_url)
    ok = httpx.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"})
    assert ok.status_code == 200 and ok.content == content
    assert httpx.get(url).status_code == 403
    assert [c.status for c in fake.calls(DOWNLOAD)] == [200, 403]


def test_upload_to_unknown_file_id_and_completing_without_bytes_fail(
    fake: FakeSlack, client: WebClient
) -> None:
    assert httpx.post(f"{fake.root_url}/upload/v1/F0NOPE", content=b"x").status_code == 404
    started = client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError, match="file_upload_not_complete"):
        client.files_completeUploadExternal(files=[{"id": started["file_id"], "title": "a"}])
    with pytest.raises(SlackApiError, match="file_not_found"):
        client.files_completeUploadExternal(files=[{"id": "F0MISSING", "title": "a"}])
    with pytest.raises(SlackApiError, match="method_deprecated"):
        client.api_call("files.upload", params={"channels": PRODUCTION_CHANNEL_ID, "content": "legacy"})


def test_failed_upload_step_raises_in_the_sdk(fake: FakeSlack, client: WebClient) -> None:
    # slack_sdk lets urllib's HTTPError escape from step 2 (it is not wrapped in SlackApiError)
    fake.fail_next(UPLOAD, status=500)
    with pytest.raises(urllib.error.HTTPError, match="500"):
        client.files_upload_v2(channel=PRODUCTION_CHANNEL_ID, content=b"abc", filename="a.svg")
    assert fake.uploaded_files() == []
    assert fake.call_count("files.completeUploadExternal") == 0


def test_preregistered_file_download_needs_the_bot_token() -> None:
    with FakeSlack(realistic_download_auth=True) as fake:
        sheet = fake.add_file("order.csv", b"name,qty\nOak sign,3\n", channel=PRODUCTION_CHANNEL_ID)
        client = fake.web_client()
        assert client.files_info(file=sheet["id"])["file"]["filetype"] == "csv"
        got = httpx.get(sheet["url_private_download"], headers={"Authorization": f"Bearer {BOT_TOKEN}"})
        assert got.content == b"name,qty\nOak sign,3\n" and got.headers["content-type"] == "text/csv"
        login_page = httpx.get(sheet["url_private"])  # Slack answers 200 + HTML without a token
        assert login_page.status_code == 200 and login_page.text.startswith("<!DOCTYPE html>")
        fake.clear()
        assert (
            httpx.get(sheet["url_private"], headers={"Authorization": f"Bearer {BOT_TOKEN}"}).status_code
            == 200
        )


# -- views ---------------------------------------------------------------------------------------


def test_views_open_update_push_and_trigger_validation(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.trigger_id(DEFAULT_USER_ID), view=modal())["view"]
    assert re.match(r"^V0[0-9A-F]{8}$", opened["id"]) and opened["hash"]
    assert opened["blocks"][0]["block_id"] == "qty" and opened["root_view_id"] == opened["id"]
    assert fake.last_view(DEFAULT_USER_ID, callback_id="new_job")["id"] == opened["id"]

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Working…"))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert fake.last_view(DEFAULT_USER_ID)["title"]["text"] == "Working…"
    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    with pytest.raises(SlackApiError, match="not_found"):
        client.views_update(view_id="V0NOPE", view=modal())

    pushed = client.views_push(trigger_id=fake.trigger_id(DEFAULT_USER_ID), view=modal("Step 2"))["view"]
    assert pushed["root_view_id"] == opened["id"] and pushed["previous_view_id"] == opened["id"]

    by_external = client.views_open(trigger_id="123.456.abc", view=modal(external_id="job-9"))["view"]
    client.views_update(external_id="job-9", view=modal("Via external id", external_id="job-9"))
    assert fake.views()[-1]["id"] == by_external["id"]
    assert fake.views()[-1]["title"]["text"] == "Via external id"

    with pytest.raises(SlackApiError) as missing:
        client.api_call("views.open", json={"view": modal()})
    assert missing.value.response["error"] == "invalid_arguments"
    assert "trigger_id" in missing.value.response["response_metadata"]["messages"][0]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call("views.update", json={"view": modal()})


def test_trigger_ids_expire_like_slacks() -> None:
    with FakeSlack(trigger_ttl=0.05) as fake:
        trigger = fake.trigger_id()
        time.sleep(0.1)
        with pytest.raises(SlackApiError, match="expired_trigger_id"):
            fake.web_client().views_open(trigger_id=trigger, view=modal())


def test_invalid_view_is_rejected_with_the_problems(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.views_open(trigger_id="1.2.3", view=modal("A title that is far too long for Slack"))
    assert err.value.response["error"] == "invalid_arguments"
    assert any("view.title" in m for m in err.value.response["response_metadata"]["messages"])


def test_views_publish_home_tab(fake: FakeSlack, client: WebClient) -> None:
    home = {"type": "home", "blocks": [section("*Open jobs:* 3")]}
    first = client.views_publish(user_id=DEFAULT_USER_ID, view=home)["view"]
    again = client.views_publish(
        user_id=DEFAULT_USER_ID, view={**home, "blocks": [section("*Open jobs:* 2")]}
    )
    assert again["view"]["id"] == first["id"] and again["view"]["hash"] != first["hash"]
    assert fake.home_view(DEFAULT_USER_ID)["blocks"][0]["text"]["text"] == "*Open jobs:* 2"
    assert fake.last_view(DEFAULT_USER_ID, type="home")["type"] == "home"
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call("views.publish", json={"view": home})
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id=DEFAULT_USER_ID, view=modal())  # a modal is not a home view


# -- fault injection -----------------------------------------------------------------------------


def test_429_with_retry_after_is_retried_by_the_sdk_handler(fake: FakeSlack) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=fake.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=0)
    resp = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="after a pause")
    assert resp["ok"]
    first, second = fake.calls("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert first.response == {"ok": False, "error": "ratelimited"}
    assert len(fake.messages(PRODUCTION_CHANNEL_ID)) == 1


def test_429_without_a_retry_handler_surfaces_retry_after(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x")
        assert err.value.response.status_code == 429
        assert err.value.response.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x")["ok"]


def test_server_errors_surface_as_slack_api_error(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("views.publish", status=500)
    with pytest.raises(SlackApiError) as err:
        client.views_publish(user_id=DEFAULT_USER_ID, view={"type": "home", "blocks": []})
    assert err.value.response.status_code == 500 and err.value.response["error"] == "internal_error"
    fake.fail_next("chat.postMessage", "channel_not_found")  # ok:false errors answer HTTP 200
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x")
    assert err.value.response.status_code == 200 and err.value.response["error"] == "channel_not_found"


def test_outage_window_then_recovery(fake: FakeSlack, client: WebClient) -> None:
    fake.outage(["chat.postMessage", "chat.update"], status=503, seconds=0.3)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x")
    assert err.value.response.status_code == 503
    assert client.auth_test()["ok"]  # other methods are unaffected
    time.sleep(0.35)
    assert client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="x")["ok"]


def test_slow_answers_and_client_timeouts(fake: FakeSlack) -> None:
    fake.slow(0.3)
    started = time.monotonic()
    assert fake.web_client().auth_test()["ok"]
    assert time.monotonic() - started >= 0.3
    with pytest.raises(TimeoutError):
        WebClient(token=BOT_TOKEN, base_url=fake.base_url, timeout=0.1).auth_test()
    fake.slow(0)
    assert fake.web_client(timeout=1).auth_test()["ok"]


def test_respond_next_overrides_one_answer(fake: FakeSlack, client: WebClient) -> None:
    fake.respond_next("files.completeUploadExternal", {"ok": True, "files": [{"id": "F0X", "title": "t"}]})
    resp = client.files_completeUploadExternal(files=[{"id": "F0X", "title": "t"}])
    assert resp["files"][0]["id"] == "F0X"
    assert fake.uploaded_files() == []  # an override changes no state


# -- webhooks, waiting, clearing -----------------------------------------------------------------


def test_response_url_webhook_records_json_posts(fake: FakeSlack) -> None:
    url = fake.response_url()
    resp = WebhookClient(url).send(text="Job queued", response_type="ephemeral")
    assert resp.status_code == 200 and resp.body == "ok"
    assert fake.webhook_posts(url) == [{"text": "Job queued", "response_type": "ephemeral"}]
    assert fake.last_call(WEBHOOK).params["hook"] == url.split("/webhook/", 1)[1]


def test_response_url_posts_take_effect_like_slacks(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="Approve proof?")
    clicked = block_actions("approve", "42", message=posted["message"], fake=fake).payload()
    hook = WebhookClient(clicked["response_url"])
    assert hook.send(text="Approved by Alice", replace_original=True).body == "ok"
    assert fake.message(PRODUCTION_CHANNEL_ID, posted["ts"])["text"] == "Approved by Alice"

    command = slash_command("/craft", "status", fake=fake).payload()
    answer = WebhookClient(command["response_url"])
    answer.send(text="Only for you")
    answer.send(text="For everyone", response_type="in_channel")
    assert [e["text"] for e in fake.ephemerals(user=DEFAULT_USER_ID)] == ["Only for you"]
    assert fake.messages(PRODUCTION_CHANNEL_ID)[-1]["text"] == "For everyone"
    bad = answer.send(text="x", blocks=[section("y" * 3001)], response_type="in_channel")
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")

    assert hook.send(delete_original=True).status_code == 200
    assert [m["text"] for m in fake.messages(PRODUCTION_CHANNEL_ID)] == ["For everyone"]
    assert len(fake.webhook_posts()) == 5


def test_wait_for_calls_made_from_another_thread(fake: FakeSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.1)
        client.chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text="from a worker")

    threading.Thread(target=later).start()
    (call,) = fake.wait_for("chat.postMessage", timeout=3)
    assert call.params["text"] == "from a worker" and call.ok
    with pytest.raises(AssertionError, match="timed out"):
        fake.wait_for("chat.update", timeout=0.1)


def test_clear_forgets_recordings_but_keeps_configuration(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C0KEEP", "keep")
    client.chat_postMessage(channel="C0KEEP", text="x")
    fake.fail_next("auth.test", times=None)
    fake.clear()
    assert fake.calls() == [] and fake.messages("C0KEEP") == []
    assert "C0KEEP" in fake.channels and client.auth_test()["ok"]


def test_concurrent_clients_get_distinct_ts(fake: FakeSlack) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        ts = fake.web_client().chat_postMessage(channel=PRODUCTION_CHANNEL_ID, text=str(n))["ts"]
        with lock:
            results.append(ts)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 12 and fake.call_count("chat.postMessage") == 12


# -- signed requests -----------------------------------------------------------------------------


def test_sign_matches_slack_sdk_signature_verifier() -> None:
    body = b"token=x&text=caf%C3%A9+%26+more"
    headers = sign(body, "s3cret")
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert headers["X-Slack-Signature"] == verifier.generate_signature(
        timestamp=headers["X-Slack-Request-Timestamp"], body=body
    )
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign(body, "s3cret", timestamp=int(time.time()) - 301)
    assert not verifier.is_valid_request(body, stale)

    class Then(Clock):
        def now(self) -> float:
            return 1_700_000_000.0

    assert SignatureVerifier("s3cret", clock=Then()).is_valid_request(
        body, sign(body, "s3cret", 1_700_000_000)
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: slash_command("/craft", "new order for Tom & Jerry <3"),
        lambda: block_actions("approve_proof", "job-42"),
        lambda: view_submission("new_job", {"qty": {"qty_input": "12"}}, private_metadata='{"job": 42}'),
        lambda: view_closed("new_job"),
        lambda: event_callback(message_event("hello")),
        lambda: url_verification("challenge-abc"),
        lambda: app_home_opened(DEFAULT_USER_ID),
    ],
    ids=["slash", "block_actions", "view_submission", "view_closed", "event", "url_verification", "home"],
)
def test_every_builder_signs_the_exact_bytes(build: Any) -> None:
    body, headers = build()  # signed now: a request built at collection time would be stale by the run
    assert SignatureVerifier(DEFAULT_SIGNING_SECRET).is_valid_request(body, headers)


def test_slash_command_carries_every_field_slack_sends(fake: FakeSlack) -> None:
    req = slash_command("/craft", "new & <b>", fake=fake, channel_id="C0ABC", user_id="U0BOB")
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = req.payload()
    assert set(form) >= {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    }
    assert (form["command"], form["text"], form["channel_id"]) == ("/craft", "new & <b>", "C0ABC")
    assert form["response_url"].startswith(f"{fake.root_url}/webhook/")
    assert b"command=%2Fcraft" in req.body


def test_interaction_payloads_have_slacks_shape(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(
        channel=PRODUCTION_CHANNEL_ID,
        text="Proof ready",
        blocks=[
            {
                "type": "actions",
                "block_id": "proof_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "value": "42",
                        "text": {"type": "plain_text", "text": "OK"},
                    }
                ],
            }
        ],
    )
    payload = block_actions("approve", "42", message=posted["message"], fake=fake).payload()
    assert payload["type"] == "block_actions" and payload["container"]["type"] == "message"
    assert payload["container"]["message_ts"] == posted["ts"] and payload["message"]["ts"] == posted["ts"]
    assert payload["actions"][0]["block_id"] == "proof_actions" and payload["actions"][0]["value"] == "42"
    assert payload["response_url"].startswith(fake.root_url)

    opened = client.views_open(trigger_id=fake.trigger_id(), view=modal(private_metadata="job=42"))["view"]
    in_modal = block_actions("qty_input", action_type="plain_text_input", view=opened).payload()
    assert in_modal["container"] == {"type": "view", "view_id": opened["id"]}
    assert "response_url" not in in_modal and "channel" not in in_modal

    sub = view_submission(
        values={
            "qty": {"qty_input": "12"},
            "due": {"due_date": date_value("2025-03-01")},
            "wood": {"wood_sel": select_value("oak", "Oak")},
        },
        view=opened,
    ).payload()
    assert sub["type"] == "view_submission"
    assert (sub["view"]["id"], sub["view"]["hash"]) == (opened["id"], opened["hash"])
    assert sub["view"]["callback_id"] == "new_job" and sub["view"]["private_metadata"] == "job=42"
    values = sub["view"]["state"]["values"]
    assert values["qty"]["qty_input"] == {"type": "plain_text_input", "value": "12"}
    assert values["due"]["due_date"]["selected_date"] == "2025-03-01"
    assert values["wood"]["wood_sel"]["selected_option"]["value"] == "oak"


def test_event_envelopes() -> None:
    req = event_callback(message_event("hi", thread_ts="1.000100"), event_id="Ev0FIXED", retry_num=2)
    envelope = req.payload()
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev0FIXED"
    assert set(envelope) >= {"token", "team_id", "api_app_id", "event", "event_time", "authorizations"}
    assert envelope["event"]["thread_ts"] == "1.000100"
    assert req.headers["X-Slack-Retry-Num"] == "2" and req.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert req.headers["Content-Type"] == "application/json"
    assert url_verification("c1").payload() == {
        "token": "craftstageVerificationToken",
        "challenge": "c1",
        "type": "url_verification",
    }
    home = app_home_opened("U0BOB", view={"id": "V0HOME"}).payload()["event"]
    assert (home["type"], home["user"], home["tab"], home["view"]["id"]) == (
        "app_home_opened",
        "U0BOB",
        "home",
        "V0HOME",
    )


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None


def test_bolt_app_end_to_end_over_http(fake: FakeSlack) -> None:
    """A real Bolt app behind a real HTTP server: signed requests in, Web API calls out to the stand-in."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    app = App(client=fake.web_client(), signing_secret=DEFAULT_SIGNING_SECRET)  # calls auth.test now
    assert fake.call_count("auth.test") == 1

    @app.command("/craft")
    def craft(ack: Any, respond: Any, body: dict[str, Any], client: WebClient) -> None:
        ack("On it")
        client.views_open(trigger_id=body["trigger_id"], view=modal())
        respond(text=f"Creating job from: {body['text']}")

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Any) -> None:
        say(text="hello", thread_ts=event["ts"])

    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), _ThreadingWSGIServer, _QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        with SlackClient(url, fake=fake) as slack:
            resp = slack.slash_command("/craft", "3 oak signs")
            assert resp.status_code == 200 and resp.text == "On it"
            fake.wait_for(WEBHOOK)
            assert fake.webhook_posts()[0]["text"] == "Creating job from: 3 oak signs"
            assert fake.ephemerals(user=DEFAULT_USER_ID)[0]["text"] == "Creating job from: 3 oak signs"
            assert fake.last_view(DEFAULT_USER_ID)["callback_id"] == "new_job"

            event = {
                "type": "app_mention",
                "user": DEFAULT_USER_ID,
                "text": "<@U0BOT00001> hi",
                "ts": "1732800000.000100",
                "channel": PRODUCTION_CHANNEL_ID,
                "event_ts": "1732800000.000100",
            }
            assert slack.event_callback(event).status_code == 200
            (call,) = fake.wait_for("chat.postMessage")
            assert call.params["thread_ts"] == "1732800000.000100"

            assert slack.send(slash_command("/craft", "x"), stale_by=600).status_code == 401
            assert slack.send(slash_command("/craft", "x"), bad_signature=True).status_code == 401
            assert slack.send(slash_command("/craft", "x"), unsigned=True).status_code == 401
            challenge = slack.url_verification("xyz")
            assert challenge.status_code == 200 and challenge.json() == {"challenge": "xyz"}

        dispatched = app.dispatch(bolt_request(slash_command("/craft", "in-process", fake=fake)))
        assert dispatched.status == 200 and dispatched.body == "On it"
    finally:
        server.shutdown()
        server.server_close()


# -- Block Kit limits ----------------------------------------------------------------------------


def pt(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def button(**extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "b", "text": pt("Go"), **extra}


def option(text: str = "Oak", value: str = "oak") -> dict[str, Any]:
    return {"text": pt(text), "value": value}


def select(options: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "s", "options": options, **extra}


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def input_block(element: dict[str, Any] | None, label: str = "Qty", **extra: Any) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": "in", "label": pt(label), **extra}
    if element is not None:
        block["element"] = element
    return block


GOOD_MESSAGE = [
    {"type": "header", "text": pt("Job 42 — Oak signs")},
    section("*Customer:* Tom", block_id="summary", accessory=button(value="42", url="https://example.com")),
    {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*F{i}*"} for i in range(10)]},
    {"type": "divider"},
    {"type": "image", "image_url": "https://example.com/p.png", "alt_text": "proof"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "queued"}]},
    actions(button(action_id="a1"), select([option()], action_id="a2", initial_option=option())),
    {"type": "rich_text", "elements": []},
    {"type": "markdown", "text": "**bold**"},
]


def test_good_payloads_have_no_problems() -> None:
    assert bk.validate_message(GOOD_MESSAGE, "Job 42") == []
    assert bk.validate_view(modal()) == []
    assert bk.validate_view({"type": "home", "blocks": GOOD_MESSAGE}) == []
    bk.assert_valid_message(GOOD_MESSAGE, "Job 42")
    bk.assert_valid_view(modal())
    assert bk.validate_with_slack_sdk(GOOD_MESSAGE) == []


MESSAGE_CASES: list[tuple[str, list[dict[str, Any]], str]] = [
    ("51 blocks", [{"type": "divider"}] * 51, "51 blocks; the limit is 50"),
    ("section text", [section("x" * 3001)], "text.text is 3001 characters; the limit is 3000"),
    ("empty text", [section("")], "must not be empty"),
    ("no text", [{"type": "section"}], "needs text or fields"),
    ("11 fields", [{"type": "section", "fields": [pt("f")] * 11}], "fields has 11 items; the limit is 10"),
    ("long field", [{"type": "section", "fields": [pt("f" * 2001)]}], "2001 characters; the limit is 2000"),
    ("header length", [{"type": "header", "text": pt("h" * 151)}], "the limit is 150"),
    ("header mrkdwn", [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "must be plain_text"),
    ("context 11", [{"type": "context", "elements": [pt("c")] * 11}], "has 11 items; the limit is 10"),
    (
        "actions 26",
        [actions(*[button(action_id=f"b{i}") for i in range(26)])],
        "has 26 items; the limit is 25",
    ),
    ("block_id length", [section("x", block_id="b" * 256)], "block_id is 256 characters"),
    (
        "duplicate block_id",
        [section("x", block_id="a"), section("y", block_id="a")],
        "already used by blocks[0]",
    ),
    ("action_id length", [actions(button(action_id="a" * 256))], "action_id is 256 characters"),
    ("duplicate action_id", [actions(button(), button())], "not unique within its block"),
    ("button text", [actions(button(text=pt("b" * 76)))], "the limit is 75"),
    ("button value", [actions(button(value="v" * 2001))], "value is 2001 characters; the limit is 2000"),
    ("button url", [actions(button(url="https://e.com/" + "u" * 3000))], "the limit is 3000"),
    ("button style", [actions(button(style="green"))], "style must be"),
    (
        "101 options",
        [actions(select([option(value=str(i)) for i in range(101)]))],
        "101 items; the limit is 100",
    ),
    ("option text", [actions(select([option(text="o" * 76)]))], "the limit is 75"),
    ("option value", [actions(select([option(value="v" * 151)]))], "the limit is 150"),
    ("initial option", [actions(select([option()], initial_option=option("Ash", "ash")))], "not one of"),
    ("text type", [{"type": "section", "text": {"type": "markdown", "text": "x"}}], "plain_text or mrkdwn"),
    ("unknown block", [{"type": "carousel"}], "unknown block type 'carousel'"),
    ("image source", [{"type": "image", "alt_text": "a"}], "needs image_url or slack_file"),
    (
        "image alt",
        [{"type": "image", "image_url": "https://e.com/a.png", "alt_text": "a" * 2001}],
        "the limit is 2000",
    ),
    ("image alt missing", [{"type": "image", "image_url": "https://e.com/a.png"}], "alt_text is required"),
    ("input label", [input_block({"type": "plain_text_input"}, label="l" * 2001)], "the limit is 2000"),
    ("input element", [input_block(None)], "element is required"),
    ("max_length", [input_block({"type": "plain_text_input", "max_length": 3001})], "max_length is 3001"),
    ("input in actions", [actions({"type": "plain_text_input", "action_id": "p"})], "not allowed here"),
    ("markdown total", [{"type": "markdown", "text": "m" * 12_001}], "the limit is 12000"),
    (
        "date format",
        [actions({"type": "datepicker", "action_id": "d", "initial_date": "1/3/2025"})],
        "YYYY-MM-DD",
    ),
]


@pytest.mark.parametrize(
    ("blocks", "expected"), [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES]
)
def test_message_limits(blocks: list[dict[str, Any]], expected: str) -> None:
    problems = bk.validate_message(blocks, "fallback")
    assert any(expected in p for p in problems), problems


def test_message_text_limit() -> None:
    assert bk.validate_message(None, "x" * 40_000) == []
    assert "msg_too_long" in bk.validate_message(None, "x" * 40_001)[0]


VIEW_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("101 blocks", {"type": "home", "blocks": [{"type": "divider"}] * 101}, "101 blocks; the limit is 100"),
    ("title", modal("t" * 25), "view.title.text is 25 characters; the limit is 24"),
    ("submit", modal(submit=pt("s" * 25)), "view.submit.text is 25 characters"),
    ("close", modal(close=pt("c" * 25)), "view.close.text is 25 characters"),
    ("title mrkdwn", {**modal(), "title": {"type": "mrkdwn", "text": "T"}}, "must be plain_text"),
    ("no title", {"type": "modal", "blocks": []}, "view.title: missing"),
    ("no submit with input", {**modal(), "submit": None}, "submit is required"),
    ("private_metadata", modal(private_metadata="m" * 3001), "private_metadata is 3001 characters"),
    ("callback_id", modal(callback_id="c" * 256), "callback_id is 256 characters"),
    ("size", {"type": "home", "blocks": [section("x" * 2900)] * 90}, "bytes; the limit is 250000"),
    ("type", {"type": "workflow_step", "blocks": []}, "must be 'modal' or 'home'"),
    ("dup block ids", modal(blocks=[input_block({"type": "plain_text_input"})] * 2), "already used"),
]


@pytest.mark.parametrize(("view", "expected"), [c[1:] for c in VIEW_CASES], ids=[c[0] for c in VIEW_CASES])
def test_view_limits(view: dict[str, Any], expected: str) -> None:
    problems = bk.validate_view(view)
    assert any(expected in p for p in problems), problems


def test_assert_helpers_list_every_problem() -> None:
    with pytest.raises(bk.BlockKitError) as err:
        bk.assert_valid_message([section(""), {"type": "header", "text": pt("h" * 200)}])
    assert len(err.value.problems) == 2
    assert "2 problem(s)" in str(err.value) and "blocks[1] (header)" in str(err.value)
    with pytest.raises(AssertionError, match="modal view"):
        bk.assert_valid_view(modal("t" * 30))


@pytest.mark.parametrize(
    "block",
    [
        section("x" * 3001),
        {"type": "section", "fields": [pt("f")] * 11},
        {"type": "header", "text": pt("h" * 151)},
        {"type": "context", "elements": [pt("c")] * 11},
        actions(*[button(action_id=f"b{i}") for i in range(26)]),
        section("x", block_id="b" * 256),
    ],
    ids=["section", "fields", "header", "context", "actions", "block_id"],
)
def test_limits_agree_with_slack_sdk_models(block: dict[str, Any]) -> None:
    assert bk.validate_message([block]) and bk.validate_with_slack_sdk([block])
