"""Proof rendering benchmark (PDF + PNG per item) on this machine.

Run from the repo root: ``.venv/bin/python bench/bench_proofs.py [--quick]``

Prints, for the 3 x 1 in badge sample at 150 dpi:

* a 50-item job and a 1,000-item job through ``generate_proofs`` with 2 workers, each starting its
  own worker pool (the pool start is included), with the peak memory of the whole process tree;
* regenerating one changed item of the 1,000-item job (hash all inputs, re-render what changed);
* single-process rates: a bare reportlab script that draws the same strings with ``drawString`` on
  the same page size (the closest thing to the physical limit), our PDF alone, our PDF + PNG; and
  the ratio of our rates to the bare script's;
* a 50-item job of the 8 x 10 in plaque, whose PNG previews are 1200 x 1500 pixels.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab import rl_config  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from pipeline.proofs.inputs import proof_input_hash, task_input_hash, template_font_hashes
from pipeline.proofs.item import atomic_write, render_item_pdf, render_item_proof
from pipeline.proofs.pool import ProofTask, generate_proofs
from pipeline.rendering.layout import layout_item  # noqa: E402
from pipeline.templates.font_files import BUNDLED_FONTS_DIR  # noqa: E402
from pipeline.templates.fonts import FontRegistry  # noqa: E402
from pipeline.templates.template import Template, sample_templates  # noqa: E402

FIRST = ["Zoë", "Seán", "Анна", "Jonathan", "Mary-Kate", "Li", "Oluwaseun", "François", "Björn",
         "Katarzyna", "Αλέξανδρος", "Siobhán"]  # fmt: skip
LAST = ["Müller", "O'Connor", "Ковальская", "Smithers-Worthington III", "Nguyen", "Papadopoulos",
        "García López", "Øvergård", "Wiśniewska"]  # fmt: skip
TITLES = ["Head of Operations", "Volunteer", "CEO", "Senior Software Engineer, Platform", "Nurse",
          "Director of Marketing & Communications", "Team Lead", "Regional Manager — North"]  # fmt: skip


def badge_values(n: int) -> list[dict[str, str]]:
    return [
        {
            "name": f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
            "title": TITLES[i % len(TITLES)],
        }
        for i in range(n)
    ]


def plaque_values(n: int) -> list[dict[str, str]]:
    return [
        {
            "title": "Employee of the Year 2024 — Outstanding Service Award",
            "recipient": f"{FIRST[i % len(FIRST)]} {LAST[i % len(LAST)]}",
            "citation": "In recognition of twenty-five years of dedicated service, unwavering commitment "
            "to excellence and the countless colleagues mentored along the way.",
            "date": "June 14, 2024",
        }
        for i in range(n)
    ]


def tasks_for(template: Template, values: list[dict[str, str]], out: Path) -> list[ProofTask]:
    return [
        ProofTask(i, template, v, str(out / f"{i}.pdf"), str(out / f"{i}.png")) for i, v in enumerate(values)
    ]


class TreeMemory:
    """Samples the proportional set size (PSS) of this process and all its descendants."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _tree() -> list[int]:
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        tree, frontier = [os.getpid()], [os.getpid()]
        while frontier:
            frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
            tree += frontier
        return tree

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._pss(pid) for pid in self._tree()))
            self._stop.wait(0.1)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bare_reportlab(values: list[dict[str, str]], out: Path, *, ascii85: bool = True) -> float:
    """Items per second for the plain script: same page size, same strings, drawString, no layout."""
    for name, file in (("BenchSansBold", "DejaVuSans-Bold.ttf"), ("BenchSans", "DejaVuSans.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(BUNDLED_FONTS_DIR / "dejavu" / file)))
    previous, rl_config.useA85 = rl_config.useA85, int(ascii85)
    start = time.perf_counter()
    for i, v in enumerate(values):
        c = canvas.Canvas(str(out / f"bare{i}.pdf"), pagesize=(216, 72))
        c.setFont("BenchSansBold", 20)
        c.drawString(12, 36, v["name"])
        c.setFont("BenchSans", 11)
        c.drawString(16, 14, v["title"])
        c.showPage()
        c.save()
    elapsed = time.perf_counter() - start
    rl_config.useA85 = previous
    return len(values) / elapsed


def single_process_rates(template: Template, values: list[dict[str, str]], out: Path) -> tuple[float, float]:
    """(PDF-only, PDF + PNG) items per second in this process, layout included."""
    start = time.perf_counter()
    for i, v in enumerate(values):
        atomic_write(out / f"s{i}.pdf", render_item_pdf(template, layout_item(template, v), v))
    pdf_rate = len(values) / (time.perf_counter() - start)
    start = time.perf_counter()
    for i, v in enumerate(values):
        render_item_proof(template, layout_item(template, v), v, out / f"s{i}.pdf", out / f"s{i}.png")
    return pdf_rate, len(values) / (time.perf_counter() - start)


def job(label: str, tasks: list[ProofTask]) -> float:
    ticks: list[int] = []
    with TreeMemory() as memory:
        start = time.perf_counter()
        results = generate_proofs(tasks, progress=lambda done, total: ticks.append(done), workers=2)
        elapsed = time.perf_counter() - start
    failed = [r for r in results if not r.ok]
    assert not failed, failed[:3]
    print(f"  {label:<34} {elapsed:7.2f} s  {len(tasks) / elapsed:6.0f} items/s  "
          f"peak memory {memory.peak / 2**20:5.0f} MB  ({len(ticks)} progress reports)")  # fmt: skip
    return elapsed


def main() -> None:
    quick = "--quick" in sys.argv
    big = 200 if quick else 1000
    templates = sample_templates()
    badge, plaque = templates["badge"], templates["plaque"]
    out = Path(tempfile.mkdtemp(prefix="craftstage-bench-"))
    try:
        print(f"proofs (PDF + PNG at 150 dpi), 2 workers, on {os.cpu_count()} cores")
        job("badge, 50 items (target < 2 s)", tasks_for(badge, badge_values(50), out / "j50"))
        values = badge_values(big)
        tasks = tasks_for(badge, values, out / "j1000")
        job(f"badge, {big:,} items (target < 30 s)", tasks)

        # One item changes: hash every item's inputs (the template and font hashes once per job, as
        # the storage side does), re-render only what changed.
        registry = FontRegistry()
        options = {"dpi": 150, "show_boxes": False}

        def input_hashes() -> list[str]:
            template_hash, font_hashes = badge.content_hash, template_font_hashes(badge, registry)
            return [proof_input_hash(template_hash, v, font_hashes, options=options) for v in values]

        before = input_hashes()
        assert before[0] == task_input_hash(badge, values[0], registry)
        values[417 % big] = {**values[417 % big], "name": "Zoë Müller-Ковальская"}
        for attempt in ("first in this process", "again"):
            start = time.perf_counter()
            after = input_hashes()
            changed = [ProofTask(i, badge, values[i], tasks[i].pdf_path, tasks[i].png_path, after[i])
                       for i in range(big) if after[i] != before[i]]  # fmt: skip
            generate_proofs(changed, workers=2, registry=registry)
            elapsed = time.perf_counter() - start
            print(f"  regenerate 1 changed item of {big:,} ({attempt}): {elapsed * 1000:6.0f} ms "
                  f"(target < 500 ms; {len(changed)} re-rendered)")  # fmt: skip

        n = 200
        sample = badge_values(n)
        bare = bare_reportlab(sample, out)
        bare_binary = bare_reportlab(sample, out, ascii85=False)
        ours_pdf, ours_full = single_process_rates(badge, sample, out)
        workers = big / job(f"badge, {big:,} items again (for the rate)", tasks)
        print(f"  single process, {n} badges:")
        print(f"    {'bare reportlab drawString, PDF':<36} {bare:6.0f} items/s")
        print(f"    {'  same, without ASCII85 streams':<36} {bare_binary:6.0f} items/s")
        for label, rate in (("ours, PDF (outlines + hidden text)", ours_pdf), ("ours, PDF + PNG", ours_full),
                            ("ours, PDF + PNG with 2 workers", workers)):  # fmt: skip
            print(f"    {label:<36} {rate:6.0f} items/s   ratio to bare {rate / bare:.2f} "
                  f"(to bare without ASCII85 {rate / bare_binary:.2f})")  # fmt: skip
        pdf_size = sum(p.stat().st_size for p in (out / "j1000").glob("*.pdf")) / big
        png_size = sum(p.stat().st_size for p in (out / "j1000").glob("*.png")) / big
        print(f"    average badge proof: PDF {pdf_size / 1024:.1f} KB, PNG {png_size / 1024:.1f} KB")
        job("plaque 8x10 in, 50 items", tasks_for(plaque, plaque_values(50), out / "plaque"))
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
