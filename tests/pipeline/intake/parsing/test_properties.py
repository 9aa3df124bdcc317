"""Properties over arbitrary input: no tracebacks, nothing silently dropped."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.intake.parsing import ParseError, parse_file, parse_text
from pipeline.intake.parsing.lexicon import normalize_text

LINE_PARTS = st.sampled_from(
    [
        "Jane Doe",
        "Nguyen, Linh",
        "- ",
        "1. ",
        "#2 ",
        "2x ",
        " x3",
        "(she/her)",
        ' "Volunteer"',
        " - Head Coach",
        ", CEO",
        ", Acme Corp",
        "Hi there,",
        "Cheers,",
        "Thanks!",
        "(555) 201-4433",
        "a@b.co",
        "> ",
        "\t",
        "   ",
        "On Tue, Mar 5, 2024 Dana wrote:",
        "-----Original Message-----",
        "From: x",
        "Subject: FW: y",
        "Zoë",
        "Müller",
        "and",
        "Dr.",
        "Jr.",
        ":",
        ";",
        ",",
        "|",
        "qty 2",
        "O'Brien",
        "de la Cruz",
        "Name, Title, Company",
    ]
)
LINES = st.lists(st.lists(LINE_PARTS, max_size=6).map("".join) | st.text(max_size=40), max_size=25)


def check_contract(text: str) -> None:
    try:
        result = parse_text(text)
    except ParseError:
        assert not text.strip()
        return
    lines = normalize_text(text).split("\n")  # the parser's own line numbering (\r, \u2028 … are newlines)
    non_blank = {n for n, line in enumerate(lines, 1) if line.strip()}
    used = {i.source_line for i in result.items} | {s.line for s in result.skipped}
    assert used == non_blank
    for item in result.items:
        assert 0 <= item.confidence <= 1
        for value in item.values.values():
            assert unicodedata.is_normalized("NFC", value)
    assert set(result.to_json()) == {"items", "skipped_lines", "engine"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_any_order_text_is_parsed_or_refused_with_a_sentence(lines: list[str]) -> None:
    check_contract("\n".join(lines))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["x.csv", "x.tsv", "x.txt", "x.xlsx", "x"]))
def test_any_bytes_give_a_result_or_a_parse_error(data: bytes, filename: str) -> None:
    try:
        parse_file(data, filename)
    except ParseError as exc:
        assert str(exc).endswith((".", ")")) and len(str(exc)) > 10
