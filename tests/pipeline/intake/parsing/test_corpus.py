"""Accuracy of the rule-based parser on the corpus: precision and recall on names."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.intake.parsing import ACCEPTED, ParseResult, parse_file
from pipeline.intake.parsing.files import decode_bytes
from pipeline.intake.parsing.lexicon import normalize_text

from .xlsx_builders import XLSX_CORPUS

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p.name[: -len(".expected.json")] for p in CORPUS.glob("*.expected.json"))


def _load(name: str) -> tuple[ParseResult, dict]:
    expected = json.loads((CORPUS / f"{name}.expected.json").read_text(encoding="utf-8"))
    path = CORPUS / name
    data = path.read_bytes() if path.exists() else XLSX_CORPUS[name]()
    return parse_file(data, name), expected


def _names(result: ParseResult) -> list[str]:
    key = result.name_column or "name"
    return [item.values.get(key, "") for item in result.items]


@dataclass
class Score:
    expected: int = 0
    predicted: int = 0
    correct: int = 0


def test_corpus_is_big_enough() -> None:
    own = [c for c in CASES if not c.startswith("sample-")]
    samples = [c for c in CASES if c.startswith("sample-")]
    assert len(own) >= 35
    assert len(samples) == 4
    for name in CASES:
        assert (CORPUS / name).exists() or name in XLSX_CORPUS, name


def test_names_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    total = Score()
    unflagged_wrong: list[str] = []
    for name in CASES:
        result, expected = _load(name)
        predicted = _names(result)
        matcher = difflib.SequenceMatcher(a=expected["names"], b=predicted, autojunk=False)
        right = {i for block in matcher.get_matching_blocks() for i in range(block.b, block.b + block.size)}
        total.expected += len(expected["names"])
        total.predicted += len(predicted)
        total.correct += len(right)
        for i, item in enumerate(result.items):
            if i not in right and item.confidence >= ACCEPTED:
                unflagged_wrong.append(f"{name}: {predicted[i]!r} at {item.confidence}")
    precision = total.correct / max(total.predicted, 1)
    recall = total.correct / max(total.expected, 1)
    with capsys.disabled():
        print(
            f"\ncorpus: {len(CASES)} inputs, {total.expected} expected names, {total.predicted} parsed; "
            f"precision {precision:.1%}, recall {recall:.1%}"
        )
    assert recall >= 0.95, f"only {recall:.1%} of the expected names are exactly right"
    assert not unflagged_wrong, "wrong or extra items not flagged under 0.85: " + "; ".join(unflagged_wrong)


@pytest.mark.parametrize("name", CASES)
def test_case_values(name: str) -> None:
    """Per input: the name column, and the other values the expectation spells out."""
    result, expected = _load(name)
    if "name_key" in expected:
        assert result.name_column == expected["name_key"]
    for i, values in enumerate(expected.get("values", [])):
        for key, value in values.items():
            assert result.items[i].values.get(key) == value, (i, key, result.items[i].values)


@pytest.mark.parametrize("name", [c for c in CASES if (CORPUS / c).exists()])
def test_every_line_accounted_for(name: str) -> None:
    """Nothing the customer wrote is silently dropped: each non-blank line made an item or is reported."""
    result, _ = _load(name)
    text = normalize_text(decode_bytes((CORPUS / name).read_bytes()).text)
    non_blank = {n for n, line in enumerate(text.split("\n"), 1) if line.strip()}
    accounted = {s.line for s in result.skipped} | {i.source_line for i in result.items}
    assert non_blank == accounted
