"""The OpenAI stand-in itself answers like the real API, as the `openai` client sees it."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from tests.standins.openai_api import OpenAIStandIn, Reply


def client(api: OpenAIStandIn, **kwargs: object) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=api.base_url, max_retries=0, timeout=2.0, **kwargs)


def test_chat_completion_body(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json({"hello": "wörld"}))
    response = client(openai_api).chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "1| Jane"}]
    )
    assert response.object == "chat.completion"
    assert response.id.startswith("chatcmpl-")
    assert response.model == "gpt-test"
    assert response.choices[0].finish_reason == "stop"
    assert json.loads(response.choices[0].message.content) == {"hello": "wörld"}
    assert response.usage.total_tokens > 0
    (request,) = openai_api.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["messages"][0]["content"] == "1| Jane"
    assert request.user_text == "1| Jane"


def test_default_echo_parser(openai_api: OpenAIStandIn) -> None:
    response = client(openai_api).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "1| Jane Doe\n2| \n3| John Roe"}]
    )
    answer = json.loads(response.choices[0].message.content)
    assert [(i["line"], i["values"]["name"]) for i in answer["items"]] == [(1, "Jane Doe"), (3, "John Roe")]


def test_errors_are_openai_errors(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.error(429, "slow down", retry_after=1), Reply.error(500, "boom"))
    with pytest.raises(openai.RateLimitError) as rate:
        client(openai_api).chat.completions.create(model="m", messages=[])
    assert rate.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.InternalServerError):
        client(openai_api).chat.completions.create(model="m", messages=[])


def test_hang_outlasts_the_client_timeout(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.hang(5))
    impatient = openai.OpenAI(api_key="k", base_url=openai_api.base_url, max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="m", messages=[])


def test_unknown_paths_are_404_and_recorded(openai_api: OpenAIStandIn) -> None:
    response = httpx.post(f"{openai_api.base_url}/responses", json={"x": 1})
    assert response.status_code == 404
    assert openai_api.requests[0].path == "/v1/responses"
    assert openai_api.completion_requests == []
