"""The AI parser against a local OpenAI stand-in, through the real `openai` client."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from pipeline.intake.parsing import AiSettings, parse_order, parse_with_ai
from pipeline.intake.parsing.ai import RESPONSE_FORMAT, VALUE_KEYS, chunk_lines
from tests.standins.openai_api import OpenAIStandIn, Reply, echo_parser

EMAIL = """Hi there,

1. Maria Gonzalez - Head Coach
2. Nguyen, Linh - Team Captain
3. Zoë Müller

Cheers,
Rebecca"""


def item(
    line: int, confidence: float = 0.95, reasons: list[str] | None = None, **values: str
) -> dict[str, Any]:
    full = dict.fromkeys(VALUE_KEYS)
    full.update(values)
    return {"line": line, "values": full, "confidence": confidence, "reasons": reasons or []}


GOOD_ANSWER = {
    "items": [
        item(3, name="Maria Gonzalez", title="Head Coach"),
        item(4, 0.8, ["reordered Last, First"], name="Linh Nguyen", title="Team Captain"),
        item(5, name="Zoë Müller"),
    ],
    "unused_lines": [{"line": 1, "why": "greeting"}, {"line": 7, "why": "sign-off"}],
}


def run(api: OpenAIStandIn, text: str = EMAIL, **kwargs: Any):
    options = {"api_key": "sk-test", "base_url": api.base_url, "timeout": 1.0, "max_retries": 0, **kwargs}
    return parse_with_ai(text, **options)


def test_normal_answer(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json(GOOD_ANSWER))
    result = run(openai_api, model="gpt-test")
    assert result.engine == "ai"
    assert result.engine_note == "AI parser (gpt-test, 1 chunk)"
    assert [i.values for i in result.items] == [
        {"name": "Maria Gonzalez", "title": "Head Coach"},
        {"name": "Linh Nguyen", "title": "Team Captain"},
        {"name": "Zoë Müller"},
    ]
    assert result.items[1].confidence == 0.8
    assert [i.source_line for i in result.items] == [3, 4, 5]
    # the model's unused lines plus the line it did not mention ("Rebecca")
    assert [(s.line, s.why) for s in result.skipped] == [
        (1, "greeting"),
        (7, "sign-off"),
        (8, "not used by the AI parser"),
    ]
    assert result.to_json()["engine"] == "ai"

    (request,) = openai_api.completion_requests
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["model"] == "gpt-test"
    assert request.body["response_format"] == RESPONSE_FORMAT
    assert request.body["response_format"]["json_schema"]["strict"] is True
    assert "3| 1. Maria Gonzalez - Head Coach" in request.user_text


def test_quantities_from_the_model_expand(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json({"items": [item(1, name="Volunteer", qty="3")], "unused_lines": []}))
    result = run(openai_api, text='3x "Volunteer"')
    assert [i.values for i in result.items] == [{"name": "Volunteer"}] * 3


def test_chunked_input_keeps_items_in_order(openai_api: OpenAIStandIn) -> None:
    names = [f"Person Number{chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(60)]
    text = "\n".join(names)

    def slow_first_chunks(body: dict[str, Any]) -> dict[str, Any]:
        first_line = int(re.search(r"^(\d+)\|", body["messages"][1]["content"]).group(1))
        time.sleep(max(0.0, 0.3 - first_line / 200))  # earlier chunks answer last
        return echo_parser(body)

    openai_api.default = Reply.computed(slow_first_chunks)
    result = run(openai_api, text=text, chunk_chars=200, concurrency=4)
    requests = openai_api.completion_requests
    assert len(requests) == len(chunk_lines(text.split("\n"), 200)) > 3
    assert result.engine == "ai"
    assert [i.values["name"] for i in result.items] == names
    assert [i.source_line for i in result.items] == list(range(1, 61))
    # every chunk was cut between lines, and every line was sent exactly once
    sent = [ln for r in requests for ln in r.user_text.split("\n")]
    assert sorted(int(ln.split("|")[0]) for ln in sent) == list(range(1, 61))


def test_chunks_are_cut_on_line_boundaries() -> None:
    lines = ["a" * 50] * 10
    chunks = chunk_lines(lines, 120)
    assert [len(c) for c in chunks] == [2, 2, 2, 2, 2]
    assert chunk_lines(["x" * 500, "y"], 100) == [range(0, 1), range(1, 2)]


def test_invalid_json_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.invalid_json())
    result = run(openai_api)
    assert result.engine == "rules"
    assert (
        result.engine_note == "AI parser failed (the answer was not valid JSON); used the rule-based parser"
    )
    assert [i.values["name"] for i in result.items] == ["Maria Gonzalez", "Linh Nguyen", "Zoë Müller"]


def test_schema_violation_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.schema_violation())
    result = run(openai_api)
    assert result.engine == "rules"
    assert "broke the schema" in result.engine_note


@pytest.mark.parametrize(
    "answer",
    [
        {"items": [], "unused_lines": [], "extra": 1},
        {"items": [{**item(1, name="X"), "confidence": "0.9"}], "unused_lines": []},
        {"items": [item(1, name="X")]},
        [1, 2, 3],
    ],
)
def test_other_schema_violations_fall_back(openai_api: OpenAIStandIn, answer: Any) -> None:
    openai_api.script(Reply.json(answer))
    assert run(openai_api).engine == "rules"


def test_invented_values_are_flagged(openai_api: OpenAIStandIn) -> None:
    answer = {
        "items": [
            item(3, name="Maria Gonzales", title="Head Coach"),  # misspelt by the model
            item(4, name="Linh Nguyen", title="Team Captain"),  # Last, First reordered: fine
            item(5, name="zoë müller"),  # case differences are not inventions
            item(5, name="Zoë Müller", company="FC Lakeside"),  # company made up
        ],
        "unused_lines": [],
    }
    openai_api.script(Reply.json(answer))
    result = run(openai_api)
    assert result.engine == "ai"
    maria, linh, zoe, zoe_fc = result.items
    assert maria.confidence < 0.6 and "value not found in the order: 'Maria Gonzales'" in maria.reasons
    assert linh.confidence == 0.95
    assert zoe.confidence == 0.95
    assert zoe_fc.confidence < 0.6 and "value not found in the order: 'FC Lakeside'" in zoe_fc.reasons


def test_timeout_falls_back_quickly(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.hang(10))
    started = time.monotonic()
    result = run(openai_api, timeout=1.0, max_retries=0)
    assert time.monotonic() - started < 5
    assert result.engine == "rules"
    assert result.engine_note == "AI parser failed (timeout after 1 s); used the rule-based parser"
    assert result.items


def test_429_then_success(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.error(429, "slow down", retry_after_ms=50), Reply.json(GOOD_ANSWER))
    result = run(openai_api, max_retries=2)
    assert result.engine == "ai"
    assert len(openai_api.completion_requests) == 2
    assert len(result.items) == 3


def test_429_every_time_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(*[Reply.error(429, retry_after_ms=10)] * 3)
    result = run(openai_api, max_retries=1)
    assert result.engine == "rules"
    assert (
        result.engine_note
        == "AI parser failed (rate limited (429) after 1 retry); used the rule-based parser"
    )
    assert len(openai_api.completion_requests) == 2


def test_500_is_retried_then_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.error(500), Reply.error(500))
    result = run(openai_api, max_retries=1)
    assert result.engine == "rules"
    assert "the API answered 500" in result.engine_note
    assert len(openai_api.completion_requests) == 2


def test_500_then_success(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.error(503), Reply.json(GOOD_ANSWER))
    assert run(openai_api, max_retries=1).engine == "ai"


def test_cut_off_answer_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json('{"items": [', finish_reason="length"))
    result = run(openai_api)
    assert result.engine == "rules" and "cut off" in result.engine_note


def test_bad_key_falls_back(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.error(401, "Incorrect API key"))
    assert "API key was refused" in run(openai_api).engine_note


def test_unreachable_server_falls_back() -> None:
    with OpenAIStandIn() as api:
        url = api.base_url
    result = parse_with_ai(EMAIL, api_key="k", base_url=url, timeout=1.0, max_retries=0)
    assert result.engine == "rules" and "could not connect" in result.engine_note


def test_one_bad_chunk_fails_the_whole_answer_without_waiting_for_the_rest(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.invalid_json())
    text = "\n".join(f"Jane Doe{chr(97 + i)}" for i in range(30))
    chunks = len(chunk_lines(text.split("\n"), 100))
    result = run(openai_api, text=text, chunk_chars=100, concurrency=1)
    assert result.engine == "rules"
    assert len(openai_api.completion_requests) < chunks


# ---------------------------------------------------------------------- choosing the engine


def test_parse_order_uses_ai_when_a_key_is_configured(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json(GOOD_ANSWER))
    settings = AiSettings(api_key="sk", base_url=openai_api.base_url, timeout=1, max_retries=0)
    result = parse_order(text=EMAIL, ai=settings)
    assert result.engine == "ai"


def test_items_the_two_parsers_read_differently_are_flagged_with_both_readings(
    openai_api: OpenAIStandIn,
) -> None:
    answer = {
        "items": [
            item(3, name="Maria Gonzalez", title="Head Coach"),
            item(4, 0.95, ["reordered Last, First"], name="Linh Nguyen", title="Team Captain"),
            item(5, name="Zoe Muller"),  # the model dropped the accents
        ],
        "unused_lines": [{"line": 1, "why": "greeting"}, {"line": 7, "why": "sign-off"}],
    }
    openai_api.script(Reply.json(answer))
    settings = AiSettings(api_key="sk", base_url=openai_api.base_url, timeout=1, max_retries=0)
    result = parse_order(text=EMAIL, ai=settings)
    assert result.engine == "ai"
    agreed, _reordered, differs = result.items
    assert agreed.confidence == 0.95 and not any("disagree" in r for r in agreed.reasons)
    assert differs.confidence < 0.85
    (reason,) = [r for r in differs.reasons if "disagree" in r]
    assert "'Zoe Muller'" in reason and "'Zoë Müller'" in reason
    assert any("read 1 item(s) differently" in n for n in result.notes)


def test_a_line_only_the_rule_based_parser_read_is_named_in_the_notes(openai_api: OpenAIStandIn) -> None:
    answer = {
        "items": [item(3, name="Maria Gonzalez", title="Head Coach")],
        "unused_lines": [{"line": 1, "why": "greeting"}, {"line": 7, "why": "sign-off"}],
    }
    openai_api.script(Reply.json(answer))
    settings = AiSettings(api_key="sk", base_url=openai_api.base_url, timeout=1, max_retries=0)
    result = parse_order(text=EMAIL, ai=settings)
    assert result.engine == "ai"
    rules = parse_order(text=EMAIL)
    left_out = [it for it in rules.items if it.source_line != 3]
    assert left_out
    for it in left_out:
        line = f"Line {it.source_line}: the rule-based parser read {it.values['name']!r}"
        assert any(n.startswith(line) and "the AI made no item of it" in n for n in result.notes)


def test_parse_order_without_key_uses_rules() -> None:
    result = parse_order(text=EMAIL)
    assert result.engine == "rules"
    assert result.engine_note == "rule-based parser (no OpenAI API key configured)"


def test_tables_skip_the_ai(openai_api: OpenAIStandIn) -> None:
    settings = AiSettings(api_key="sk", base_url=openai_api.base_url, timeout=1, max_retries=0)
    csv_result = parse_order(data=b"Name,Title\nJane Doe,CEO\n", filename="x.csv", ai=settings)
    pasted = parse_order(text="Name\tTitle\nJane Doe\tCEO\nJohn Roe\tCFO", ai=settings)
    assert csv_result.engine == pasted.engine == "rules"
    assert "AI not needed" in csv_result.engine_note and "AI is not needed" in pasted.engine_note
    assert openai_api.completion_requests == []


def test_txt_upload_goes_to_the_ai(openai_api: OpenAIStandIn) -> None:
    openai_api.script(Reply.json(GOOD_ANSWER))
    settings = AiSettings(api_key="sk", base_url=openai_api.base_url, timeout=1, max_retries=0)
    result = parse_order(data=EMAIL.encode("utf-16"), filename="order.txt", ai=settings)
    assert result.engine == "ai"
    assert result.notes[0].startswith("Read as UTF-16")


def test_settings_from_environment() -> None:
    assert AiSettings.from_env({}) is None
    assert AiSettings.from_env({"OPENAI_API_KEY": "  "}) is None
    s = AiSettings.from_env({"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://x/v1", "OPENAI_MODEL": "m"})
    assert (s.api_key, s.base_url, s.model) == ("sk", "http://x/v1", "m")
    assert AiSettings.from_env({"OPENAI_API_KEY": "sk"}).model == "gpt-4o-mini"


@pytest.mark.parametrize(
    "example",
    [
        "Name to engrave",  # legal vs engrave columns
        "Two header rows",
        "Name (Last, First)",
        "Title: Name",
        "Name (Role)",
        "square brackets",
        "nested outlines",
        "Mr. & Mrs. Smith",
        "Chloé, Kai, Priya and Tom.",
        "two of each please",
        "– 2 szt.",
        "make it three",
        "A total row is not an item",
        "oops, Jon",
        "oh and Alfie too",
        "forwarded or quoted thread",
        "Mit freundlichen Grüßen",
        "GOLD",
        "markdown table",
        "please keep",
        "The Harrington Family Foundation",
    ],
)
def test_the_prompt_covers_every_class_of_order(example: str) -> None:
    from pipeline.intake.parsing.ai import SYSTEM_PROMPT

    assert example.casefold() in " ".join(SYSTEM_PROMPT.split()).casefold()
