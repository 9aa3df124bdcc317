"""Rule-based parser speed: a 10,000-row CSV and a 2,000-line pasted email (target: under 1 s each).

.venv/bin/python bench/bench_parse.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.intake.parsing import parse_file, parse_text  # noqa: E402
from pipeline.intake.parsing.lexicon import clear_caches  # noqa: E402

FIRST = [
    "Maria",
    "Tom",
    "Linh",
    "Zoë",
    "Seán",
    "Priya",
    "Chidi",
    "Björn",
    "Анна",
    "Γιώργος",
    "Ana Lúcia",
    "Kwame",
]
LAST = [
    "Gonzalez",
    "Whitaker",
    "Nguyen",
    "Müller",
    "O'Connor",
    "Natarajan",
    "Okafor",
    "de la Cruz",
    "Mensah-Boateng",
]
TITLES = [
    "Head Coach",
    "Assistant Coach",
    "Team Captain",
    "Most Improved Player",
    "Volunteer of the Year",
    "",
]
SYLLABLES = [
    "ka",
    "ri",
    "mo",
    "len",
    "sa",
    "to",
    "vi",
    "an",
    "ber",
    "ez",
    "ow",
    "ski",
    "ta",
    "lu",
    "ne",
    "ho",
]
CHATTER = [
    "Thanks again for doing our plates last season!",
    "We need them by the 14th if at all possible.",
    "oh and one more thing, same size as before please",
]


def surname(rng: random.Random) -> str:
    """Mostly unique surnames, so per-word caches do not flatter the figures."""
    if rng.random() < 0.3:
        return rng.choice(LAST)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def make_csv(rows: int, rng: random.Random) -> bytes:
    lines = ["Player Name,Jersey #,Position,Qty"]
    for i in range(rows):
        name = f"{rng.choice(FIRST)} {surname(rng)}"
        if i % 10 == 0:
            name = f'"{surname(rng)}, {rng.choice(FIRST)}"'
        lines.append(f"{name},{rng.randint(1, 99)},{rng.choice(TITLES) or 'Forward'},1")
    return ("\n".join(lines) + "\n").encode("utf-8")


def make_email(lines: int, rng: random.Random) -> str:
    out = ["Hi there,", "", "Here is this year's list for the brass plates:", ""]
    n = 0
    while len(out) < lines - 6:
        n += 1
        kind = n % 9
        name = f"{rng.choice(FIRST)} {surname(rng)}"
        if kind == 0:
            out.append(rng.choice(CHATTER))
        elif kind == 1:
            out.append(f"{surname(rng)}, {rng.choice(FIRST)} - {rng.choice(TITLES) or 'Coach'}")
        elif kind == 2:
            out.append(f"- {name}, {rng.choice(FIRST)} {surname(rng)} and {rng.choice(FIRST)} {surname(rng)}")
        elif kind == 3:
            out.append(f'{rng.randint(2, 4)}x "Volunteer"')
        else:
            title = rng.choice(TITLES)
            out.append(f"{n}. {name}" + (f" - {title}" if title else ""))
    out += ["", "Cheers,", "Rebecca", "Lakeside Youth Soccer", "(555) 201-4433"]
    return "\n".join(out[:lines])


def timed(label: str, fn, repeat: int = 5) -> None:
    best = float("inf")
    for _ in range(repeat):
        clear_caches()  # cold: no name seen before
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    verdict = "ok" if best < 1.0 else "SLOW (target < 1 s)"
    counts = f"{len(result.items):6d} items  {len(result.skipped):5d} skipped"
    print(f"{label:<34} {best * 1000:8.1f} ms   {counts}  {verdict}")


def main() -> None:
    rng = random.Random(42)
    csv_bytes = make_csv(10_000, rng)
    email = make_email(2_000, rng)
    print(f"python {sys.version.split()[0]}; best of 5 cold runs (word-check caches cleared before each)")
    timed(f"CSV, 10,000 rows ({len(csv_bytes) // 1024} KiB)", lambda: parse_file(csv_bytes, "roster.csv"))
    timed(f"pasted email, 2,000 lines ({len(email) // 1024} KiB)", lambda: parse_text(email))


if __name__ == "__main__":
    main()
