"""Scores the rule-based parser on a folder of orders with `<order>.expected.json` beside them.

.venv/bin/python bench/score_parse.py FOLDER [--detail]

Prints the parsing figures (recall, precision, titles, quantities, review flags, characters changed,
lines dropped); `--detail` also lists every wrong, missing or unflagged piece.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipeline.intake.parsing.scoring import score_folder  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--detail", action="store_true")
    args = parser.parse_args()
    score = score_folder(args.folder)
    for name, value in score.figures().items():
        print(f"{name:>22}: {value}")
    if args.detail:
        print()
        print("\n".join(score.failures))


if __name__ == "__main__":
    main()
