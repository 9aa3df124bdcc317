"""Lighthouse's mobile run of the customer's approval page, for 12 and for 100 trophy plates.

    .venv/bin/python bench/lighthouse_approval.py [--items 12 100] [--runs 3]

Seeds a job of real trophy-plate proofs (drawn by the proof renderer, watermark and all) into a fresh
SQLite data folder, serves the real web app on a loopback port and runs Lighthouse (npm `lighthouse`,
mobile form factor with its simulated slow-4G and 4x CPU throttling) against the page with Debian's
Chromium. Prints Performance, Accessibility and Best practices, LCP, TBT and the bytes transferred
(median of the runs), and the audits that did not pass. `--previews` prints instead what the page's
sharp previews cost next to the proofs themselves, for every sample template.

Lighthouse is not a project dependency: set LIGHTHOUSE to its command (for example
`/tmp/lh/node_modules/.bin/lighthouse`); by default `npx --yes lighthouse@12.8.2` fetches it into npm's
cache. CHROME_PATH defaults to /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from handlers.web import create_web_app  # noqa: E402
from pipeline.approval import links  # noqa: E402
from pipeline.core.runtime import build_runtime  # noqa: E402
from pipeline.core.settings import Settings  # noqa: E402
from pipeline.jobs import jobs, lifecycle  # noqa: E402
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace  # noqa: E402
from pipeline.proofs.item import render_item_proof  # noqa: E402
from pipeline.rendering.layout import layout_item  # noqa: E402
from pipeline.templates.template import sample_templates  # noqa: E402
from storage.models import Item, JobStatus, ProofStatus, ProofVersion, utcnow  # noqa: E402

LIGHTHOUSE = os.environ.get("LIGHTHOUSE", "npx --yes lighthouse@12.8.2")
NAMES = ["Chloé Dubois", "Seán O'Connor", "Zoë Müller", "Chidi Okafor", "Priya Natarajan", "Björn Svensson"]
ACHIEVEMENTS = ["Head Coach", "Most Improved Player", "Team Captain", "Golden Boot", "Coach's Award", "MVP"]


def seed(data_dir: Path, n_items: int) -> tuple[object, str]:
    """A trophy-plate job of `n_items` items with real proofs, waiting for approval: (runtime, token)."""
    runtime = build_runtime(Settings(data_dir=data_dir, approval_rate_limit=100_000_000))
    files = runtime.settings.files_dir
    template = sample_templates()["trophy-plate"]
    with runtime.db.session() as s:
        ws = ensure_workspace(s, "TBENCH", "Lakeside Trophies")
        actor = actor_for(ensure_member(s, ws, "UBENCH", "Bench Owner"))
        job = jobs.create_job(
            s, ws, actor, customer_name="Rebecca Stone", customer_email="r@example.org", reference="PO-4471"
        )
        lifecycle.move(s, job, JobStatus.PARSING, actor)
        for pos in range(n_items):
            values = {"name": NAMES[pos % 6], "achievement": ACHIEVEMENTS[pos % 6], "year": "2026"}
            item = Item(job_id=job.id, position=pos, values=values, raw_values=values)
            s.add(item)
            s.flush()
            stem = files / "proofs" / f"job-{job.id}" / f"item-{item.id}-v1"
            stem.parent.mkdir(parents=True, exist_ok=True)
            pdf, png = stem.with_suffix(".pdf"), stem.with_suffix(".png")
            render_item_proof(template, layout_item(template, values), values, pdf, png)
            s.add(
                ProofVersion(
                    item_id=item.id,
                    version=1,
                    input_hash="x",
                    pdf_path=str(pdf),
                    png_path=str(png),
                    values=values,
                )
            )
            item.proof_version, item.proof_status = 1, ProofStatus.GENERATED
        lifecycle.move(s, job, JobStatus.PROOFING, actor)
        job.preflight_ran_at, job.preflight_errors = utcnow(), 0
        token = links.create_link(s, job, actor, base_url="http://127.0.0.1").token
    return runtime, token


class Server:
    """The real web app on uvicorn, in a thread, on a free loopback port."""

    def __init__(self, runtime: object) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_web_app(runtime), log_level="warning", lifespan="off", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def lighthouse(url: str, out: Path) -> dict:
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    cmd = [
        *shlex.split(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        "--only-categories=performance,accessibility,best-practices",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, timeout=300)
    return json.loads(out.read_text())


def figures(report: dict) -> dict[str, float]:
    cats, audits = report["categories"], report["audits"]
    return {
        "performance": round(cats["performance"]["score"] * 100),
        "accessibility": round(cats["accessibility"]["score"] * 100),
        "best_practices": round(cats["best-practices"]["score"] * 100),
        "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "kib": audits["total-byte-weight"]["numericValue"] / 1024,
    }


def failing(report: dict) -> list[str]:
    out = []
    for key in ("performance", "accessibility", "best-practices"):
        for ref in report["categories"][key]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref.get("weight", 0) and audit.get("score") is not None and audit["score"] < 0.9:
                out.append(f"{ref['id']} ({audit['score']:.2f})")
    return out


def previews(repeat: int = 20) -> None:
    """What the sharp previews cost: per sample template, the proof (PDF + 150 dpi PNG) and then each
    of its sharp previews, drawn `repeat` times; milliseconds per drawing and the files' sizes."""
    from handlers.web.previews import sharp_preview, sharp_sizes
    from pipeline.approval.page import png_dimensions

    values = {
        "name": "Chloé Dubois",
        "achievement": "Most Improved Player",
        "year": "2026",
        "title": "Head Coach",
    }
    with tempfile.TemporaryDirectory(prefix="previews-") as tmp:
        for key, template in sorted(sample_templates().items()):
            vals = {f.key: values.get(f.key, "Employee of the Year") for f in template.fields}
            layout = layout_item(template, vals)
            proof_ms: list[float] = []
            sharp_ms: dict[int, list[float]] = {}
            sharp_files: dict[int, Path] = {}
            for i in range(repeat):
                pdf, png = Path(tmp) / f"{key}-{i}.pdf", Path(tmp) / f"{key}-{i}.png"
                t = time.perf_counter()
                render_item_proof(template, layout, vals, pdf, png)
                proof_ms.append((time.perf_counter() - t) * 1000)
                for width, _ in sharp_sizes(png, png_dimensions(str(png))):
                    t = time.perf_counter()
                    sharp_files[width] = sharp_preview(png, width) or png
                    sharp_ms.setdefault(width, []).append((time.perf_counter() - t) * 1000)
            size = png_dimensions(str(png)) or (0, 0)
            line = (
                f"{key:>13}: proof {statistics.median(proof_ms):.0f} ms, PNG {size[0]}x{size[1]} "
                f"{png.stat().st_size / 1024:.0f} KiB"
            )
            for width, path in sharp_files.items():
                big = png_dimensions(str(path)) or (0, 0)
                line += (
                    f"; {width} px preview {statistics.median(sharp_ms[width]):.0f} ms (once), "
                    f"{big[0]}x{big[1]} {path.stat().st_size / 1024:.0f} KiB"
                )
            if not sharp_files:
                line += "; wide enough already, no sharp preview"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[12, 100])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--previews", action="store_true", help="only what the sharp previews cost")
    args = parser.parse_args()
    if args.previews:
        previews()
        return
    for n in args.items:
        with tempfile.TemporaryDirectory(prefix="lh-") as tmp:
            runtime, token = seed(Path(tmp) / "data", n)
            with Server(runtime) as server:
                url = f"{server.url}/approve/{token}"
                reports = [lighthouse(url, Path(tmp) / f"run{i}.json") for i in range(args.runs)]
            runtime.close()  # type: ignore[attr-defined]
        runs = [figures(r) for r in reports]
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        m = median
        print(
            f"{n:>3} items: Performance {m['performance']:.0f}, Accessibility {m['accessibility']:.0f}, "
            f"Best practices {m['best_practices']:.0f}; LCP {m['lcp_s']:.1f} s, "
            f"TBT {m['tbt_ms']:.0f} ms, {m['kib']:.0f} KiB  (median of {len(runs)}; TBT runs: "
            + ", ".join(f"{r['tbt_ms']:.0f}" for r in runs)
            + ")"
        )
        below = failing(reports[len(reports) // 2])
        print("     audits under 0.9: " + (", ".join(below) if below else "none"))


if __name__ == "__main__":
    main()
