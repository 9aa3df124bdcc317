"""Layout engine benchmark: 10,000 fields on this machine.

Run from the repo root: ``.venv/bin/python bench/bench_layout.py``

Two workloads over the sample templates' fields (badge name/title, trophy plate name/achievement):

* job: a realistic job: every name unique (accents, Cyrillic, Greek, long double-barrelled
  names), titles and achievements drawn from a few dozen values, as in a real roster;
* unique: every value different, so nothing repeats: the worst case.

Each figure is the best of 5 runs (the machine is shared), as wall time and as CPU time of this
process; the results are kept, as a caller keeps them.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.rendering.layout import clear_caches, layout_field  # noqa: E402
from pipeline.templates.fonts import FontRegistry  # noqa: E402
from pipeline.templates.template import Field, sample_templates  # noqa: E402

N = 10_000
FIRST = ["Zoë", "Seán", "Анна", "Jonathan", "Mary-Kate", "Li", "Oluwaseun", "François", "Björn",
         "Katarzyna", "Muhammad", "Ana", "Αλέξανδρος", "Dmitri", "Siobhán", "José", "Ingrid",
         "Nguyễn"]  # fmt: skip
LAST = ["Müller", "O'Connor", "Ковальская", "Smithers-Worthington III", "Nguyen", "Papadopoulos",
        "García López", "Øvergård", "Wiśniewska", "Van der Berg", "Adébáyọ̀", "Schmidt",
        "Ivanova"]  # fmt: skip
TITLES = ["Head of Operations", "Volunteer", "CEO", "Senior Software Engineer, Platform",
          "Director of Marketing & Communications", "Nurse", "Team Lead", "Intern", "Chief of Staff",
          "VP Sales EMEA", "Guest Speaker", "Board Member", "Regional Manager — North",
          "Teacher"]  # fmt: skip
ACHIEVEMENTS = ["Employee of the Year 2024 — Outstanding Service Award", "Most Valuable Player",
                "Regional Champion — Under 14 Girls Singles", "25 Years of Service", "Best in Show",
                "Coach of the Year", "1st Place", "Runner-up", "Spirit Award",
                "Top Scorer 2024"]  # fmt: skip


def workload(unique: bool, seed: int = 7) -> list[tuple[Field, str, str]]:
    t = sample_templates()
    badge, plate = t["badge"], t["trophy-plate"]
    kinds = [
        (badge.field("name"), badge.default_font, "name"),
        (badge.field("title"), badge.default_font, "title"),
        (plate.field("name"), plate.default_font, "name"),
        (plate.field("achievement"), plate.default_font, "achievement"),
    ]
    rnd = random.Random(seed)
    jobs = []
    for i in range(N):
        f, default_font, kind = kinds[i % len(kinds)]
        if kind == "name":
            value = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
            value = f"{value} {i}" if unique else f"{value} {rnd.randrange(1000)}"
        else:
            value = rnd.choice(TITLES if kind == "title" else ACHIEVEMENTS)
            value = f"{value} #{i}" if unique else value
        jobs.append((f, value, default_font))
    return jobs


def run(jobs: list[tuple[Field, str, str]], registry: FontRegistry) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to lay out every job."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = [layout_field(f, v, default_font=d, registry=registry) for f, v, d in jobs]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert len(out) == len(jobs)
    return wall, cpu


def main() -> None:
    registry = FontRegistry(include_system=False)
    run(workload(unique=True, seed=1)[:300], registry)  # fonts and glyph bounds loaded, as in a running app
    print(f"layout of {N:,} fields, best of 5 (Python {sys.version.split()[0]})")
    for name, unique in (("job", False), ("unique", True)):
        jobs = workload(unique)
        walls, cpus = [], []
        for _ in range(5):
            clear_caches()
            gc.collect()
            wall, cpu = run(jobs, registry)
            walls.append(wall)
            cpus.append(cpu)
        wall, cpu = min(walls), min(cpus)
        print(f"  {name:<7} wall {wall:6.3f} s  cpu {cpu:6.3f} s  {cpu / N * 1e6:5.1f} µs/field  "
              f"{N / cpu:8,.0f} fields/s")  # fmt: skip
    jobs = workload(unique=False)
    overflowed = sum(layout_field(f, v, default_font=d, registry=registry).overflowed for f, v, d in jobs)
    print(f"  ({overflowed} of {N:,} job fields overflow at their minimum size; target: < 0.5 s)")


if __name__ == "__main__":
    main()
