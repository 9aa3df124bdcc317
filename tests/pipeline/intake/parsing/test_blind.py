"""The parsing targets on the whole corpus: the hand-written orders (corpus/) and the batches written
without reading the parser (blind/*), each order with its expectation beside it, scored with
`scoring.py`.

One test holds the targets of docs/parsing.md on everything together; the others are ratchets per
folder: the figures reached so far must not get worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .scoring import Score, score_folder

HERE = Path(__file__).parent
BLIND = HERE / "blind"
FOLDERS = [HERE / "corpus", *sorted(p for p in BLIND.iterdir() if p.is_dir())]

TARGETS = {
    "recall": 0.95,
    "precision": 0.95,
    "titles right": 0.90,
    "quantities > 1 right": 0.90,
    "wrong flagged": 0.80,
}
TARGET_CEILINGS = {"correct flagged": 0.10, "characters changed": 0, "lines dropped": 0}

# Figures reached per folder; raise them when the parser improves, never lower them.
# First runs, each batch scored before any change made for it:
# - batch-b (held out while the parser was tuned on batch-a): recall 0.553, precision 0.635, titles
#   0.785, quantities 0.265, wrong flagged 0.434, correct flagged 0.039, 1 line dropped;
# - batch-c: recall 0.772, precision 0.786, titles 0.541, quantities 0.51, wrong flagged 0.261, correct
#   flagged 0.133, one character changed, 17 lines dropped;
# - batch-d: recall 0.878, precision 0.846, titles 0.770, quantities 0.458, wrong flagged 0.271, correct
#   flagged 0.060, one character changed, 6 lines dropped;
# - batch-e (the last one): recall 0.889, precision 0.924, titles 0.861, quantities 0.611, wrong flagged
#   0.286, correct flagged 0.057, one character changed, 7 lines dropped. The scorer then learned to read
#   the second line the way the product maps it (the column a template's `title` field gets: 'Award',
#   'Line 2'); the same parser scored on batch-e that way: titles 0.935, wrong flagged 0.4, correct
#   flagged 0.054, the rest unchanged.
# The figures below are after developing on all of them.
RATCHET = {
    "corpus": {
        "recall": 1.0,
        "precision": 0.991,
        "titles right": 1.0,
        "quantities > 1 right": 1.0,
        "wrong flagged": 1.0,
    },
    "batch-a": {
        "recall": 0.987,
        "precision": 0.981,
        "titles right": 0.997,
        "quantities > 1 right": 0.967,
        "wrong flagged": 1.0,
    },
    "batch-b": {
        "recall": 1.0,
        "precision": 0.985,
        "titles right": 0.995,
        "quantities > 1 right": 1.0,
        "wrong flagged": 1.0,
    },
    "batch-c": {
        "recall": 0.991,
        "precision": 0.983,
        "titles right": 1.0,
        "quantities > 1 right": 0.959,
        "wrong flagged": 1.0,
    },
    "batch-d": {
        "recall": 0.992,
        "precision": 0.968,
        "titles right": 0.973,
        "quantities > 1 right": 0.958,
        "wrong flagged": 0.727,
    },
    "batch-e": {
        "recall": 0.952,
        "precision": 0.962,
        "titles right": 1.0,
        "quantities > 1 right": 0.75,
        "wrong flagged": 0.667,
    },
}
# batch-a's right pieces under 0.85 went from 0.028 to 0.052: pieces it used to lose (teams, sponsors,
# 'Agent 99', names read from prose) are now kept, flagged because they are guesses.
RATCHET_CEILINGS = {
    "corpus": {"correct flagged": 0.085, "characters changed": 0, "lines dropped": 0},
    "batch-a": {"correct flagged": 0.052, "characters changed": 0, "lines dropped": 0},
    "batch-b": {"correct flagged": 0.022, "characters changed": 0, "lines dropped": 0},
    "batch-c": {"correct flagged": 0.095, "characters changed": 0, "lines dropped": 0},
    "batch-d": {"correct flagged": 0.042, "characters changed": 0, "lines dropped": 0},
    "batch-e": {"correct flagged": 0.061, "characters changed": 0, "lines dropped": 0},
}


@pytest.fixture(scope="module")
def figures() -> dict[str, float | int]:
    total = Score()
    for folder in FOLDERS:
        total.add(score_folder(folder))
    assert total.orders >= 265, "the corpus or the blind batches are missing"
    return total.figures()


def _shortfalls(
    figures: dict[str, float | int], floors: dict[str, float], ceilings: dict[str, float]
) -> list[str]:
    low = [f"{k} {figures[k]} < {v}" for k, v in floors.items() if figures[k] < v]
    high = [f"{k} {figures[k]} > {v}" for k, v in ceilings.items() if figures[k] > v]
    return low + high


def test_the_whole_corpus_meets_the_targets(figures: dict[str, float | int]) -> None:
    missed = _shortfalls(figures, TARGETS, TARGET_CEILINGS)
    assert not missed, "; ".join(missed)


@pytest.mark.parametrize("batch", sorted(RATCHET))
def test_no_folder_gets_worse(batch: str) -> None:
    folder = HERE / batch if batch == "corpus" else BLIND / batch
    worse = _shortfalls(score_folder(folder).figures(), RATCHET[batch], RATCHET_CEILINGS[batch])
    assert not worse, "; ".join(worse)
