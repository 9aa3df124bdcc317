"""The parsing targets on orders written without reading the parser (tests/pipeline/parsing/blind/*).

Each folder is a batch of orders with `<order>.expected.json` beside them, scored with `scoring.py`.
One test holds the targets of docs/parsing.md (expected to fail until they are met); the other is a
ratchet: the figures reached so far must not get worse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .scoring import Score, score_folder

BLIND = Path(__file__).parent / "blind"
FOLDERS = sorted(p for p in BLIND.iterdir() if p.is_dir())

TARGETS = {
    "recall": 0.95,
    "precision": 0.95,
    "titles right": 0.90,
    "quantities > 1 right": 0.90,
    "wrong flagged": 0.80,
}
TARGET_CEILINGS = {"correct flagged": 0.10, "characters changed": 0, "lines dropped": 0}

# Figures reached per batch; raise them when the parser improves. batch-b was held out while the
# parser was tuned on batch-a: its figures are its first-run score.
RATCHET = {
    "batch-a": {
        "recall": 0.926,
        "precision": 0.96,
        "titles right": 0.993,
        "quantities > 1 right": 0.867,
        "wrong flagged": 0.929,
    },
    "batch-b": {
        "recall": 0.553,
        "precision": 0.635,
        "titles right": 0.785,
        "quantities > 1 right": 0.265,
        "wrong flagged": 0.434,
    },
}
RATCHET_CEILINGS = {
    "batch-a": {"correct flagged": 0.028, "characters changed": 0, "lines dropped": 0},
    "batch-b": {"correct flagged": 0.039, "characters changed": 0, "lines dropped": 1},
}


@pytest.fixture(scope="module")
def figures() -> dict[str, float | int]:
    total = Score()
    for folder in FOLDERS:
        total.add(score_folder(folder))
    assert total.orders >= 90, "the blind batches are missing"
    return total.figures()


def _shortfalls(
    figures: dict[str, float | int], floors: dict[str, float], ceilings: dict[str, float]
) -> list[str]:
    low = [f"{k} {figures[k]} < {v}" for k, v in floors.items() if figures[k] < v]
    high = [f"{k} {figures[k]} > {v}" for k, v in ceilings.items() if figures[k] > v]
    return low + high


@pytest.mark.xfail(strict=True, reason="the rule-based parser does not reach the targets yet")
def test_blind_orders_meet_the_targets(figures: dict[str, float | int]) -> None:
    missed = _shortfalls(figures, TARGETS, TARGET_CEILINGS)
    assert not missed, "; ".join(missed)


@pytest.mark.parametrize("batch", sorted(RATCHET))
def test_blind_orders_do_not_get_worse(batch: str) -> None:
    worse = _shortfalls(score_folder(BLIND / batch).figures(), RATCHET[batch], RATCHET_CEILINGS[batch])
    assert not worse, "; ".join(worse)
