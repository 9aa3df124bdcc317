"""Approval page loads against the running server, over loopback, with 100 items on the page.

    .venv/bin/python bench/bench_portal.py [--items 100] [--requests 400] [--clients 50]

Seeds a job with 100 items and real PNG proofs into a fresh SQLite data folder (through the approval
use cases), starts `python app.py serve` on it with a high rate limit, then measures the page
(`GET /approve/<token>`, HTML only, as a browser's first request) for one client, for 50 concurrent
clients loading back to back, and for 50 clients pausing between loads. Prints pages/s, p50/p95/max
latency and the CPU one page costs the server and the httpx clients. Target: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from pipeline.approval import links  # noqa: E402
from pipeline.core.runtime import build_runtime  # noqa: E402
from pipeline.core.settings import Settings  # noqa: E402
from pipeline.jobs import jobs, lifecycle  # noqa: E402
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace  # noqa: E402
from storage.models import Item, JobStatus, ProofStatus, ProofVersion, utcnow  # noqa: E402

NAMES = ["Maria Gonzalez", "Seán O'Connor", "Zoë Müller", "Chidi Okafor", "Priya Natarajan", "Björn Svensson"]
TITLES = ["Head Coach", "Most Improved Player", "Team Captain", "Golden Boot", "Coach's Award", "MVP"]


def seed(data_dir: Path, n_items: int) -> str:
    """A job of `n_items` items with PNG proofs, waiting for approval; returns the link's token."""
    runtime = build_runtime(Settings(data_dir=data_dir))
    files = runtime.settings.files_dir
    with runtime.db.session() as s:
        ws = ensure_workspace(s, "TBENCH", "Lakeside Trophies")
        actor = actor_for(ensure_member(s, ws, "UBENCH", "Bench Owner"))
        job = jobs.create_job(
            s, ws, actor, customer_name="Rebecca Stone", customer_email="r@example.org", reference="PO-4471"
        )
        lifecycle.move(s, job, JobStatus.PARSING, actor)
        for pos in range(n_items):
            values = {"name": f"{NAMES[pos % 6]} {pos + 1}", "title": TITLES[pos % 6], "year": "2026"}
            item = Item(job_id=job.id, position=pos, values=values, raw_values=values)
            s.add(item)
            s.flush()
            rel = Path("proofs") / f"item-{item.id}-v1.png"
            (files / rel).parent.mkdir(parents=True, exist_ok=True)
            img = Image.new("RGB", (750, 225), (214, 178, 96))
            ImageDraw.Draw(img).text((20, 100), values["name"], fill=(30, 20, 10))
            img.save(files / rel)
            s.add(ProofVersion(item_id=item.id, version=1, input_hash="x", pdf_path="-", png_path=str(rel)))
            item.proof_version, item.proof_status = 1, ProofStatus.GENERATED
        lifecycle.move(s, job, JobStatus.PROOFING, actor)
        job.preflight_ran_at, job.preflight_errors = utcnow(), 0
        token = links.create_link(s, job, actor, base_url="http://127.0.0.1").token
    runtime.close()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL"))}
    env.update(
        CRAFTSTAGE_DATA_DIR=str(data_dir),
        PORT=str(port),
        CRAFTSTAGE_APPROVAL_RATE_LIMIT="100000000",
        LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen([sys.executable, "app.py", "serve"], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                raise SystemExit(
                    f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                ) from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def one_client(url: str, requests: int) -> tuple[list[float], float]:
    timings = []
    with httpx.Client(timeout=30) as client:
        start = time.perf_counter()
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get(url)
            timings.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.status_code
        return timings, time.perf_counter() - start


async def _clients(url: str, clients: int, per_client: int, think_s: float) -> list[float]:
    timings: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def customer() -> None:
            rng = random.Random()
            for _ in range(per_client):
                if think_s:
                    await asyncio.sleep(rng.uniform(0, 2 * think_s))
                t = time.perf_counter()
                r = await client.get(url)
                timings.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.status_code

        await asyncio.gather(*(customer() for _ in range(clients)))
    return timings


def _client_process(url: str, clients: int, per_client: int, think_s: float, start: Any, out: Any) -> None:
    start.wait()
    out.put(asyncio.run(_clients(url, clients, per_client, think_s)))


def concurrent(
    url: str, clients: int, per_client: int, processes: int, think_s: float = 0.0
) -> tuple[list[float], float]:
    """`clients` customers loading the page (back to back, or `think_s` apart on average), spread over a
    few client processes so that one Python client process is not all that is measured."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(processes + 1), ctx.Queue()
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    procs = [
        ctx.Process(target=_client_process, args=(url, n, per_client, think_s, start, out))
        for n in shares
        if n
    ]
    for p in procs:
        p.start()
    start.wait()
    t0 = time.perf_counter()
    timings = [ms for _ in procs for ms in out.get()]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    return timings, elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux), to show what one page costs the server."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(label: str, timings: list[float], elapsed: float) -> None:
    q = statistics.quantiles(timings, n=100)
    print(
        f"{label:<22} pages={len(timings):>5}  {len(timings) / elapsed:7.1f} pages/s  "
        f"p50={q[49]:6.1f} ms  p95={q[94]:6.1f} ms  max={max(timings):6.1f} ms"
    )


WRK_SCRIPT = """
wrk.headers["Accept-Encoding"] = "gzip"
done = function(summary, latency, requests)
  io.write(string.format("WRK %d %d %.3f %.3f %.3f %.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


def wrk(url: str, clients: int, seconds: int = 10) -> None:
    """The same 50 clients from wrk (a C load generator, when installed): it needs far less CPU than
    httpx, so on a 2-core machine the server's own latency shows instead of the clients'."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_SCRIPT)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s", fh.name, url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    ).stdout
    os.unlink(fh.name)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK ")), None)
    if line is None:
        print(f"wrk gave no figures: {out[-300:]}")
        return
    n, errors, p50, p95, p99, worst = line.split()[1:]
    print(
        f"{clients} clients (wrk)".ljust(22) + f" pages={int(n):>5} {int(n) / seconds:>9.1f} pages/s  "
        f"p50={float(p50):6.1f} ms  p95={float(p95):6.1f} ms  p99={float(p99):6.1f} ms  "
        f"max={float(worst):6.1f} ms  errors={errors}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--requests", type=int, default=400, help="page loads for the single client")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--per-client", type=int, default=20, help="page loads per concurrent client")
    ap.add_argument("--client-processes", type=int, default=4)
    ap.add_argument("--think", type=float, default=0.5, help="mean seconds between a paced client's loads")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cs-bench-portal-") as tmp:
        data_dir = Path(tmp) / "data"
        t = time.perf_counter()
        token = seed(data_dir, args.items)
        print(
            f"seeded 1 job with {args.items} items and PNG proofs in {time.perf_counter() - t:.1f} s (SQLite)"
        )
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (client and server share them)")
        port = free_port()
        proc = start_server(data_dir, port)
        try:
            url = f"http://127.0.0.1:{port}/approve/{token}"
            page = httpx.get(url, timeout=30)
            assert page.status_code == 200 and page.text.count('class="card ') == args.items
            wire = page.num_bytes_downloaded / 1024
            html = len(page.content) / 1024
            print(f"page: {html:.0f} KiB of HTML ({wire:.0f} KiB gzipped), {args.items} proofs")
            one_client(url, 30)  # warm-up
            cpu = cpu_seconds(proc.pid)
            report("1 client", *one_client(url, args.requests))
            per_page = (cpu_seconds(proc.pid) - cpu) / args.requests * 1000
            print(f"{'':<22} server CPU per page: {per_page:.2f} ms")
            procs = max(1, min(args.client_processes, args.clients))
            cpu, children = cpu_seconds(proc.pid), _children_cpu()
            timings, elapsed = concurrent(url, args.clients, args.per_client, procs)
            report(f"{args.clients} concurrent clients", timings, elapsed)
            per_page = (cpu_seconds(proc.pid) - cpu) / len(timings) * 1000
            client = (_children_cpu() - children) / len(timings) * 1000
            print(
                f"{'':<22} server CPU per page: {per_page:.2f} ms; httpx clients ({procs} processes): "
                f"{client:.2f} ms"
            )
            if shutil.which("wrk"):
                wrk(url, args.clients)
            label = f"{args.clients} paced clients"
            timings, elapsed = concurrent(url, args.clients, args.per_client, procs, args.think)
            report(label, timings, elapsed)
            print(f"{'':<22} (each waits {args.think:g} s on average between loads, like people reading)")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
