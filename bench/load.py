"""Mixed load on the running server while 1,000-item proof runs are in progress: signed Slack
requests and customer approval-page traffic over loopback, for a bounded time.

    .venv/bin/python bench/load.py [--seconds 60] [--clients 20] [--sqlite] [--slack-share 0.5]
        [--big-jobs 16] [--big-items 1000] [--page-items 50] [--client-processes 2] [--think 0]

Starts the real `python app.py serve` (tests/e2e/server.py) on a fresh PostgreSQL schema (or the
embedded SQLite database with `--sqlite`) against the Slack Web API stand-in, and seeds it through the
app: the first signed slash command makes the workspace and its owner, `/job channel` (typed in the
production channel) sets the channel, each job is created with a signed `/job new` window submission.
The items and the template go in through the pipeline use cases on the same database. A 50-item job
gets its proofs through `/job proofs` and an approval link; then a signed `/job proofs` starts the
first 1,000-item run, and the next big job's run is started whenever one finishes, so that a proof run
is in progress for the whole window.

`--clients` clients (spread over `--client-processes` processes, asyncio + httpx, keep-alive) then loop
back to back over a weighted mix: `/job list`, `/job show`, `/job help`, `app_home_opened` events, the
card's *Show* button (block_actions), and the approval page, its proof images and its stylesheet.
Prints per kind and overall: count, req/s, p50/p95/p99/max latency and errors (non-2xx, timeouts,
wrong bodies), Slack acks over 3 s, the proof runs' progress during the window, CPU per process group,
server memory and the server's warnings. Slack acks are also split by what the proof run was doing
when they were sent (layout and proof sheet and preflight run in the server process, rendering on the
proof workers). Targets: no errors, every Slack ack under 3 s, Slack p99 under 300 ms (a PASS/MISS
line each; the exit code is 0 either way: this is a measurement).

`--worker` runs the background work in a separate `python app.py worker` process (PostgreSQL,
CRAFTSTAGE_BACKGROUND=workers): `serve` then only answers and queues. `--no-proofs` is the same load
without a proof run (a baseline), `--think S` paces the clients (S
seconds between requests on average), `--records FILE` writes every request to a CSV. The CPU lines
include "other processes on the machine": when that is not near 0, something else shared the cores
and the latencies are not this app's alone. `CRAFTSTAGE_TEST_POSTGRES` picks the PostgreSQL server.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import csv
import json
import multiprocessing as mp
import os
import random
import re
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from pipeline.approval import links  # noqa: E402
from pipeline.jobs.activity import Event  # noqa: E402
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace  # noqa: E402
from storage.models import ActivityEvent, Item, Job, Task  # noqa: E402
from tests.e2e.server import ServedApp, WorkerApp, served_app  # noqa: E402
from tests.pipeline.pipeline_fixtures import add_items, use_template  # noqa: E402
from tests.standins.slack_api import (  # noqa: E402
    DEFAULT_USER_ID,
    DEFAULT_USER_NAME,
    PRODUCTION_CHANNEL_ID,
    TEAM_ID,
    FakeSlack,
)
from tests.standins.slack_requests import (  # noqa: E402
    SlackClient,
    SlackRequest,
    app_home_opened,
    block_actions,
    date_value,
    slash_command,
    text_value,
)

NAMES = ["Maria Gonzalez", "Seán O'Connor", "Zoë Müller", "Chidi Okafor", "Priya Natarajan", "Björn Svensson"]
TITLES = ["Head Coach", "Most Improved Player", "Team Captain", "Golden Boot", "Coach's Award", "MVP"]
SLACK_ACK_LIMIT_MS = 3000.0
SLACK_P99_TARGET_MS = 300.0

# request kind → (side, weight within its side)
KINDS: dict[str, tuple[str, float]] = {
    "slack /job list": ("slack", 3),
    "slack /job show": ("slack", 2),
    "slack /job help": ("slack", 1),
    "slack app_home_opened": ("slack", 2),
    "slack Show button": ("slack", 2),
    "approval page": ("approval", 6),
    "approval proof png": ("approval", 3),
    "approval stylesheet": ("approval", 1),
}
SMALL_CUSTOMER, SMALL_REFERENCE = "Rebecca Stone", "PO-4471"
PHASES = ("layout (server)", "render (workers)", "proof sheet (server)", "preflight (server)", "no run")
LIST_WORDS = ["", "proofing", "maria", "--sort due", "--sort customer", "pending_approval"]


# -- seeding through the app ------------------------------------------------------------------------


def owner_client(app: ServedApp) -> SlackClient:
    return app.slack_client()


def slack_ok(resp: httpx.Response, what: str) -> httpx.Response:
    if resp.status_code != 200:
        raise SystemExit(f"{what}: HTTP {resp.status_code}: {resp.text[:300]}")
    return resp


def create_job_via_slack(slack: SlackClient, customer: str, reference: str) -> str:
    """The `/job new` window submitted as Slack does; returns the new job's reference."""
    values = {
        "customer_name": {"value": text_value(customer)},
        "customer_email": {"value": text_value(f"{customer.split()[0].lower()}@example.org")},
        "reference": {"value": text_value(reference)},
        "due_date": {"value": date_value("2030-01-15")},
        "notes": {"value": text_value(None)},
    }
    resp = slack_ok(slack.view_submission("job_new", values=values, private_metadata="{}"), "job_new")
    body = resp.json()
    if body.get("response_action") != "update":
        raise SystemExit(f"job_new was not accepted: {body}")
    return json.loads(body["view"]["private_metadata"])["job"]


def item_values(n: int, salt: int) -> list[dict[str, str]]:
    return [
        {"name": f"{NAMES[(i + salt) % 6]} {i + 1}", "title": TITLES[(i * 7 + salt) % 6]} for i in range(n)
    ]


def fill_job(app: ServedApp, ref: str, n_items: int, salt: int) -> int:
    """Items (through submit → parse result → review gate) and the badge template, mapped 1:1."""
    db = app.db()
    with db.session() as s:
        ws = ensure_workspace(s, TEAM_ID)
        actor = actor_for(ensure_member(s, ws, DEFAULT_USER_ID, DEFAULT_USER_NAME))
        ws_id = ws.id
        job = s.exec(select(Job).where(Job.workspace_id == ws_id, Job.number == int(ref[2:]))).one()
        job_id = job.id
    files_dir = app.data_dir / "files"
    add_items(db, job_id, actor, item_values(n_items, salt), files_dir)
    use_template(db, ws_id, job_id, actor, "badge", files_dir)
    return job_id


def proofs_task(app: ServedApp, job_id: int) -> Task | None:
    with app.reading() as s:
        return s.exec(
            select(Task).where(Task.job_id == job_id, Task.kind == "proofs").order_by(col(Task.id).desc())
        ).first()


def wait_task(app: ServedApp, job_id: int, states: tuple[str, ...], timeout: float) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = proofs_task(app, job_id)
        if task is not None and task.state in states:
            return task
        time.sleep(0.2)
    raise SystemExit(f"the proofs task of job {job_id} did not reach {states} in {timeout:.0f} s")


def approval_link(app: ServedApp, job_id: int) -> tuple[str, list[tuple[int, int]]]:
    """An approval link for the (proofed, preflighted) job; returns its token and (item id, version)s."""
    db = app.db()
    with db.session() as s:
        ws = ensure_workspace(s, TEAM_ID)
        actor = actor_for(ensure_member(s, ws, DEFAULT_USER_ID, DEFAULT_USER_NAME))
        token = links.create_link(s, s.get(Job, job_id), actor, base_url=app.url).token
    with db.read() as s:
        items = s.exec(select(Item).where(Item.job_id == job_id).order_by(col(Item.position))).all()
        proofs = [(it.id, it.proof_version) for it in items]
    return token, proofs


@dataclass
class Seeded:
    small_ref: str
    small_items: int
    token: str
    proofs: list[tuple[int, int]]
    stylesheet: str
    big: list[tuple[str, int]]  # (ref, job id) of the 1,000-item jobs, in the order they will run
    users: list[str]


def seed(app: ServedApp, fake: FakeSlack, args: argparse.Namespace) -> Seeded:
    t = time.perf_counter()
    with owner_client(app) as slack:
        help_text = slack_ok(slack.slash_command("/job", "help"), "/job help").text  # workspace + owner
        assert "/job new" in help_text, help_text[:300]
        resp = slack_ok(slack.slash_command("/job", "channel", channel_id=PRODUCTION_CHANNEL_ID), "channel")
        assert "Production channel set" in resp.text, resp.text[:300]
        small_ref = create_job_via_slack(slack, SMALL_CUSTOMER, SMALL_REFERENCE)
        big_refs = [
            create_job_via_slack(slack, f"{NAMES[k % 6]} Club {k + 1}", f"PO-{5000 + k}")
            for k in range(args.big_jobs)
        ]
    small_id = fill_job(app, small_ref, args.page_items, 0)
    big = [(ref, fill_job(app, ref, args.big_items, k + 1)) for k, ref in enumerate(big_refs)]
    print(
        f"seeded {small_ref} ({args.page_items} items) and {len(big)} job(s) of {args.big_items} items "
        f"({', '.join(r for r, _ in big)}) in {time.perf_counter() - t:.1f} s"
    )
    t = time.perf_counter()
    with owner_client(app) as slack:
        resp = slack_ok(slack.slash_command("/job", f"proofs {small_ref}"), "/job proofs")
        assert "Generating proofs" in resp.text, resp.text[:300]
    task = wait_task(app, small_id, ("done", "failed"), 300)
    if task.state != "done":
        raise SystemExit(f"the proofs of {small_ref} failed: {task.error}")
    token, proofs = approval_link(app, small_id)
    page = httpx.get(f"{app.url}/approve/{token}", timeout=30)
    assert page.status_code == 200 and page.text.count('class="card ') == args.page_items, page.status_code
    css = re.search(r'href="([^"]*approval\.css[^"]*)"', page.text)
    print(
        f"proofs of {small_ref} through /job proofs in {time.perf_counter() - t:.1f} s (pool start "
        f"included); approval link made: page {len(page.content) / 1024:.0f} KiB, {len(proofs)} proofs"
    )
    users = [f"U0LOAD{i:04d}" for i in range(args.clients)]
    with owner_client(app) as slack:
        for i, user in enumerate(users):  # first contact of every client's person, outside the window
            fake.add_user(user, f"load{i}", real_name=f"Load Tester {i}")
            slack_ok(slack.slash_command("/job", "help", user_id=user, user_name=f"load{i}"), "help")
    return Seeded(
        small_ref=small_ref,
        small_items=args.page_items,
        token=token,
        proofs=proofs,
        stylesheet=css.group(1) if css else "/approve/static/approval.css",
        big=big,
        users=users,
    )


# -- the clients (separate processes) ---------------------------------------------------------------


@dataclass
class ClientSpec:
    base_url: str
    hook_url: str
    small_ref: str
    small_items: int
    token: str
    proofs: list[tuple[int, int]]
    stylesheet: str
    show_refs: list[str]
    users: list[str]
    weights: dict[str, float]
    seconds: float
    think: float
    timeout: float


Record = tuple[str, float, float, str]  # kind, start (monotonic s), latency ms, error ("" when fine)


def _slack_request(kind: str, spec: ClientSpec, user: str, rng: random.Random) -> SlackRequest:
    hook = f"{spec.hook_url}/{user}/{rng.getrandbits(32):08x}"
    who = {"user_id": user, "user_name": user.lower(), "team_id": TEAM_ID}
    if kind == "slack /job list":
        text = f"list {rng.choice(LIST_WORDS)}".strip()
        return slash_command("/job", text, response_url=hook, **who)
    if kind == "slack /job show":
        return slash_command("/job", f"show {rng.choice(spec.show_refs)}", response_url=hook, **who)
    if kind == "slack /job help":
        return slash_command("/job", "help", response_url=hook, **who)
    if kind == "slack app_home_opened":
        return app_home_opened(user, TEAM_ID)
    if kind == "slack Show button":
        return block_actions("job_show", rng.choice(spec.show_refs), response_url=hook, **who)
    raise ValueError(kind)


def _check(kind: str, spec: ClientSpec, resp: httpx.Response, show_ref: str | None) -> str:
    """'' when the answer is what that request should get, else what is wrong with it."""
    if resp.status_code != 200:
        return f"HTTP {resp.status_code}"
    if kind in ("slack /job list", "slack /job show", "slack /job help"):
        try:
            body = resp.json()
        except ValueError:
            return "ack is not JSON"
        if body.get("response_type") != "ephemeral" or not body.get("blocks"):
            return "ack without ephemeral blocks"
        if kind == "slack /job show" and show_ref and show_ref not in body.get("text", ""):
            return "ack does not name the job"
        if kind == "slack /job help" and "/job new" not in resp.text:
            return "help ack without /job new"
        return ""
    if kind == "approval page":
        text = resp.text
        if f"<h1>Order {SMALL_REFERENCE}</h1>" not in text:  # the customer's own order reference
            return "page without the order's reference"
        cards = text.count('class="card ')
        return "" if cards == spec.small_items else f"page with {cards} item(s), not {spec.small_items}"
    if kind == "approval proof png":
        return "" if resp.content.startswith(b"\x89PNG") else "not a PNG"
    if kind == "approval stylesheet":
        return "" if resp.content else "empty stylesheet"
    return ""  # events and button clicks: an empty 200 is the ack


async def _run_clients(spec: ClientSpec, n: int, seed: int, start_at: float) -> list[Record]:
    kinds = list(spec.weights)
    weights = [spec.weights[k] for k in kinds]
    records: list[Record] = []
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    timeout = httpx.Timeout(spec.timeout)

    async def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        user = spec.users[index % len(spec.users)]
        slack_url = f"{spec.base_url}/slack/events"
        page_url = f"{spec.base_url}/approve/{spec.token}"
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
            end = start_at + spec.seconds
            while time.monotonic() < end:
                if spec.think:
                    await asyncio.sleep(rng.uniform(0, 2 * spec.think))
                kind = rng.choices(kinds, weights)[0]
                show_ref = None
                if kind.startswith("slack"):
                    req = _slack_request(kind, spec, user, rng)
                    if kind == "slack /job show":
                        show_ref = req.payload()["text"].split()[-1]
                    method, url, content, headers = "POST", slack_url, req.body, req.headers
                elif kind == "approval page":
                    method, url, content, headers = "GET", page_url, None, {"Accept-Encoding": "gzip"}
                elif kind == "approval proof png":
                    item_id, version = rng.choice(spec.proofs)
                    url = f"{page_url}/proof/{item_id}/{version}.png"
                    method, content, headers = "GET", None, {}
                else:
                    method, url, content, headers = "GET", spec.base_url + spec.stylesheet, None, {}
                t = time.monotonic()
                try:
                    resp = await http.request(method, url, content=content, headers=headers)
                    ms = (time.monotonic() - t) * 1000
                    error = _check(kind, spec, resp, show_ref)
                except httpx.TimeoutException:
                    ms, error = (time.monotonic() - t) * 1000, "timeout"
                except httpx.HTTPError as exc:
                    ms, error = (time.monotonic() - t) * 1000, f"transport: {type(exc).__name__}"
                records.append((kind, t, ms, error))

    await asyncio.gather(*(client(i) for i in range(n)))
    return records


def _client_process(spec: ClientSpec, n: int, seed: int, ready: Any, go: Any, out: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    ready.set()
    go.wait()
    start_at = time.monotonic()
    cpu = _self_cpu()
    records = asyncio.run(_run_clients(spec, n, seed, start_at))
    out.put((records, _self_cpu() - cpu))


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- watching the server: proof runs, CPU, memory ---------------------------------------------------


@dataclass
class Sample:
    at: float  # monotonic seconds
    job_ref: str | None  # the big job whose proofs task is running, if any
    state: str
    done: int
    total: int


@dataclass
class ProofRuns:
    """Keeps a 1,000-item proof run in progress: polls the Task table and starts the next big job's
    run (a signed `/job proofs`) when the current one finishes, until the window ends."""

    app: ServedApp
    big: list[tuple[str, int]]
    items: int
    samples: list[Sample] = field(default_factory=list)
    started: list[tuple[str, int, float, float]] = field(default_factory=list)  # ref, id, at, ack ms
    stop_starting_at: float = float("inf")
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _next: int = 0
    _times: list[float] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)

    def start_next(self) -> bool:
        if self._next >= len(self.big):
            return False
        ref, job_id = self.big[self._next]
        self._next += 1
        with owner_client(self.app) as slack:
            t = time.monotonic()
            resp = slack.slash_command("/job", f"proofs {ref}")
            ack_ms = (time.monotonic() - t) * 1000
        if resp.status_code != 200 or "Generating proofs" not in resp.text:
            print(f"  could not start the proofs of {ref}: HTTP {resp.status_code} {resp.text[:200]}")
            return False
        self.started.append((ref, job_id, t, ack_ms))
        return True

    def current(self) -> tuple[str, int] | None:
        return (self.started[-1][0], self.started[-1][1]) if self.started else None

    def poll(self) -> Sample:
        cur = self.current()
        task = proofs_task(self.app, cur[1]) if cur else None
        sample = Sample(
            time.monotonic(),
            cur[0] if cur else None,
            task.state if task else "none",
            task.done if task else 0,
            task.total if task else 0,
        )
        self.samples.append(sample)
        self._times.append(sample.at)
        return sample

    def watch(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="proof-runs", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                sample = self.poll()
                if sample.state in ("done", "failed") and time.monotonic() < self.stop_starting_at:
                    self.start_next()
            except Exception as exc:  # a benchmark's watcher keeps watching
                print(f"  watcher: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def load_marks(self) -> None:
        """When each run's proof sheet was done (its "Proofs generated" event), on the monotonic clock."""
        offset = time.monotonic() - time.time()
        with self.app.reading() as s:
            for ref, job_id, _, _ in self.started:
                ev = s.exec(
                    select(ActivityEvent)
                    .where(ActivityEvent.job_id == job_id, ActivityEvent.event_type == Event.PROOFS_GENERATED)
                    .order_by(col(ActivityEvent.id).desc())
                ).first()
                if ev is not None:
                    at = ev.created_at if ev.created_at.tzinfo else ev.created_at.replace(tzinfo=UTC)
                    self.marks[ref] = at.timestamp() + offset

    def phase_at(self, at: float) -> str:
        """What the proof run was doing at `at`: laying items out in the server process (before the first
        chunk is back), rendering on the proof workers, drawing the proof sheet or running preflight (all
        rendered; both in the server process), or none."""
        i = bisect.bisect_right(self._times, at) - 1
        if i < 0 or i + 1 >= len(self.samples):
            return "no run"
        s = self.samples[i]
        if s.state not in ("queued", "running"):
            return "no run"
        if s.total == 0:
            return "layout (server)"
        if s.done < s.total:
            return "render (workers)"
        sheet_done = self.marks.get(s.job_ref or "")
        return "proof sheet (server)" if sheet_done is None or at < sheet_done else "preflight (server)"

    def running_intervals(self) -> list[tuple[float, float]]:
        """(from, to) monotonic spans in which a big job's proofs task was queued or running."""
        spans: list[tuple[float, float]] = []
        prev: Sample | None = None
        for s in self.samples:
            if prev is not None and prev.state in ("queued", "running"):
                if spans and abs(spans[-1][1] - prev.at) < 1e-9:
                    spans[-1] = (spans[-1][0], s.at)
                else:
                    spans.append((prev.at, s.at))
            prev = s
        return spans


def proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := proc_stat(int(entry))) is not None:
            parents[st[0]].append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy() -> tuple[float, float, float, float]:
    """(process time, interrupt time, stolen time, total) jiffies of all CPUs, from /proc/stat."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, irq, softirq, steal = v[0], v[1], v[2], v[5], v[6], v[7]
    return float(user + nice + system), float(irq + softirq), float(steal), float(sum(v[:8]))


def postmaster_started(app: ServedApp) -> str:
    """When the PostgreSQL server the app uses was started (to notice a restart during the window)."""
    db = app.db()
    if db.is_sqlite:
        return "sqlite"
    try:
        with db.engine.connect() as conn:
            return str(conn.execute(text("SELECT pg_postmaster_start_time()")).scalar())
    except Exception as exc:  # unreachable counts as "changed"
        return f"unreachable ({type(exc).__name__})"


@dataclass
class CpuSnapshot:
    server: float
    worker: float  # the `worker` process (0 when the server runs the work itself)
    workers: dict[int, float]
    postgres: dict[int, float]
    main: float
    machine: tuple[float, float, float, float]


def cpu_snapshot(server_pid: int, worker_pid: int = 0) -> CpuSnapshot:
    pool = descendants(server_pid) + (descendants(worker_pid) if worker_pid else [])
    workers = {p: st[1] for p in pool if (st := proc_stat(p)) is not None}
    postgres = {
        int(e): st[1]
        for e in os.listdir("/proc")
        if e.isdigit() and proc_name(int(e)) == "postgres" and (st := proc_stat(int(e))) is not None
    }
    server = proc_stat(server_pid)
    worker = proc_stat(worker_pid) if worker_pid else None
    return CpuSnapshot(
        server[1] if server else 0.0,
        worker[1] if worker else 0.0,
        workers,
        postgres,
        _self_cpu(),
        machine_busy(),
    )


def _delta(after: dict[int, float], before: dict[int, float]) -> float:
    return sum(v - before.get(p, 0.0) for p, v in after.items())


# -- report --------------------------------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def line(label: str, recs: list[Record], elapsed: float) -> str:
    ms = [r[2] for r in recs]
    errors = sum(1 for r in recs if r[3])
    if not ms:
        return f"{label:<34} {0:>6}"
    return (
        f"{label:<34} {len(ms):>6} {len(ms) / elapsed:>8.1f} {pct(ms, 50):>8.1f} {pct(ms, 95):>8.1f} "
        f"{pct(ms, 99):>8.1f} {max(ms):>8.1f} {errors:>6}"
    )


def report(
    records: list[Record],
    t0: float,
    t1: float,
    runs: ProofRuns,
    cpu0: CpuSnapshot,
    cpu1: CpuSnapshot,
    client_cpu: list[float],
    app: ServedApp,
    log_from: int,
    rss0: int,
    pg_started: tuple[str, str],
) -> None:
    elapsed = t1 - t0
    runs.load_marks()
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_kind[r[0]].append(r)
    slack = [r for r in records if r[0].startswith("slack")]
    approval = [r for r in records if r[0].startswith("approval")]
    print()
    print(f"window {elapsed:.1f} s; latency in ms, measured by the clients (send → full answer read)")
    print(f"{'kind':<34} {'count':>6} {'req/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'errors':>6}")
    for kind in KINDS:
        if by_kind.get(kind):
            print(line(kind, by_kind[kind], elapsed))
    print(line("all Slack acks", slack, elapsed))
    print(line("all approval traffic", approval, elapsed))
    print(line("everything", records, elapsed))
    spans = runs.running_intervals()

    def in_run(at: float) -> bool:
        return any(a <= at <= b for a, b in spans)

    during = [r for r in slack if in_run(r[1])]
    print(line("Slack acks during a run", during, elapsed))
    phase_time: Counter[str] = Counter()
    inside = [x for x in runs.samples if t0 <= x.at <= t1]
    for a, b in zip(inside, inside[1:], strict=False):
        phase_time[runs.phase_at(a.at)] += b.at - a.at
    by_phase: dict[str, list[Record]] = defaultdict(list)
    for r in slack:
        by_phase[runs.phase_at(r[1])].append(r)
    for phase in PHASES:
        if by_phase.get(phase) and phase_time[phase] > 0:
            print(
                line(f"  Slack, {phase}", by_phase[phase], phase_time[phase])
                + f"  ({phase_time[phase]:.1f} s)"
            )
    kinds = [k for k in KINDS if k.startswith("slack") and by_kind.get(k)]
    if runs.started and kinds:
        print("Slack ack p99 (ms) by kind and proof-run phase:")
        print(f"  {'':<26}" + "".join(f"{k.removeprefix('slack '):>18}" for k in kinds))
        for phase in PHASES:
            cells = []
            for k in kinds:
                ms = [r[2] for r in by_phase.get(phase, []) if r[0] == k]
                cells.append(f"{pct(ms, 99):>11.0f} ({len(ms):>4})" if ms else f"{'-':>18}")
            print(f"  {phase:<26}" + "".join(cells))
    slowest = sorted(slack, key=lambda r: -r[2])[:8]
    if slowest:
        print("slowest Slack acks (kind, ms, seconds into the window, phase):")
        for r in slowest:
            kind, at = r[0].removeprefix("slack "), r[1] - t0
            print(f"  {kind:<18} {r[2]:>7.0f} ms at {at:5.1f} s  {runs.phase_at(r[1])}")
    errors = Counter(f"{r[0]}: {r[3]}" for r in records if r[3])
    for what, n in errors.most_common(12):
        print(f"  error  {n:>6} × {what}")
    over = [r for r in slack if r[2] >= SLACK_ACK_LIMIT_MS or r[3] == "timeout"]
    print(f"Slack acks over 3 s: {len(over)} of {len(slack)}")

    # proof runs
    covered = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)
    print()
    if runs.started:
        print(
            f"proof runs: a {runs.items:,}-item run was in progress for {covered / elapsed:.0%} of the window"
        )
    else:
        print("proof runs: none (--no-proofs)")
    for ref, job_id, at, ack_ms in runs.started:
        in_window = [s for s in runs.samples if s.job_ref == ref and t0 <= s.at <= t1]
        first = in_window[0] if in_window else None
        last = in_window[-1] if in_window else None
        task = proofs_task(app, job_id)
        took = ""
        if task is not None and task.finished_at and task.started_at:
            took = f", took {(task.finished_at - task.started_at).total_seconds():.1f} s ({task.state})"
        elif task is not None:
            took = f", {task.state} at the end ({task.done}/{task.total or '?'})"
        span = (
            f"rendered in the window: {first.done} → {last.done} of {runs.items}"
            if first and last
            else "not running in the window"
        )
        print(f"  {ref}: started at {at - t0:+.1f} s (ack {ack_ms:.0f} ms); {span}{took}")

    # CPU and memory
    cores = os.cpu_count() or 1
    tick = os.sysconf("SC_CLK_TCK")
    proc_s, irq_s, steal_s, total_s = (
        (b - a) / tick for a, b in zip(cpu0.machine, cpu1.machine, strict=True)
    )
    busy = (proc_s + irq_s + steal_s) / max(1e-9, total_s)
    print()
    print(f"CPU over the window (seconds of CPU per second; {cores} cores, machine {busy:.0%} busy):")
    parts = [
        ("server process", cpu1.server - cpu0.server),
        *([("worker process", cpu1.worker - cpu0.worker)] if cpu1.worker else []),
        ("proof pool processes", _delta(cpu1.workers, cpu0.workers)),
        ("postgres processes (all on the machine)", _delta(cpu1.postgres, cpu0.postgres)),
        (f"load clients ({len(client_cpu)} processes)", sum(client_cpu)),
        ("bench main (Slack stand-in, watcher)", cpu1.main - cpu0.main),
    ]
    parts.append(("other processes on the machine", proc_s - sum(x[1] for x in parts)))
    parts.append(("interrupts (loopback network …)", irq_s))
    if steal_s > 0.01 * elapsed:
        parts.append(("stolen by the hypervisor", steal_s))
    for label, seconds in parts:
        print(f"  {label:<38} {seconds / elapsed:5.2f}")
    if records:
        print(
            f"  per request: server process {(cpu1.server - cpu0.server) / len(records) * 1000:.2f} ms, "
            f"clients {sum(client_cpu) / len(records) * 1000:.2f} ms"
        )
    pid = app.proc.pid if app.proc else 0
    workers = descendants(pid)
    print(
        f"server memory: RSS {rss0 / 1024:.0f} → {rss_kib(pid) / 1024:.0f} MiB (peak "
        f"{rss_kib(pid, 'VmHWM') / 1024:.0f} MiB); {len(workers)} child process(es) "
        f"{sum(rss_kib(p) for p in workers) / 1024:.0f} MiB"
    )
    log = app.log()[log_from:]
    problems: Counter[str] = Counter()
    for raw in log.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            if raw.strip() and not raw.startswith("--- start"):
                problems[f"(not JSON) {raw.strip()[:110]}"] += 1
            continue
        if str(entry.get("level", "")).upper() in ("WARNING", "ERROR", "CRITICAL"):
            problems[f"{entry.get('level')}: {str(entry.get('message', entry.get('msg', '')))[:110]}"] += 1
    print(f"server log during the window: {sum(problems.values())} warning/error line(s)")
    for what, n in problems.most_common(8):
        print(f"  {n:>6} × {what}")

    if pg_started[0] != pg_started[1]:
        print(
            f"WARNING: the PostgreSQL server was restarted during the window (started {pg_started[0]} → "
            f"{pg_started[1]}), by something other than this benchmark: these figures are not valid"
        )

    # targets
    slack_ms = [r[2] for r in slack]
    p99 = pct(slack_ms, 99) if slack_ms else float("nan")
    worst = max(slack_ms) if slack_ms else float("nan")
    n_errors = sum(1 for r in records if r[3])
    print()
    print(f"{'PASS' if n_errors == 0 else 'MISS'}  no errors ({n_errors} of {len(records)} requests)")
    print(
        f"{'PASS' if not over and slack else 'MISS'}  every Slack ack under 3 s "
        f"(max {worst:.0f} ms, {len(over)} over)"
    )
    print(f"{'PASS' if p99 < SLACK_P99_TARGET_MS else 'MISS'}  Slack ack p99 under 300 ms (p99 {p99:.0f} ms)")
    if runs.started:
        print(f"note  a proof run was in progress for {covered / elapsed:.0%} of the window")


# -- main ----------------------------------------------------------------------------------------


def reap(pids: list[int], tag: str) -> int:
    """Stop what the server's proof pool left running after the server exited (see the report: `serve`
    ends on SIGTERM without shutting its pool down). Only our own processes: those ids, and only while
    they still carry this run's data folder in their environment. Workers first; the forkserver and the
    resource tracker then exit by themselves."""

    def ours(pid: int) -> bool:
        try:
            return tag.encode() in Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False

    left = [p for p in pids if ours(p)]
    for group in ([p for p in left if "forkserver" in _cmdline(p) and _ppid(p) in left], left):
        for p in group:
            if ours(p):
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGTERM)
        time.sleep(0.5)
    return len(left)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    st = proc_stat(pid)
    return st[0] if st else 0


def mix_weights(share: float) -> dict[str, float]:
    side_total = {side: sum(w for s, w in KINDS.values() if s == side) for side in ("slack", "approval")}
    weights = {
        kind: w / side_total[side] * (share if side == "slack" else 1 - share)
        for kind, (side, w) in KINDS.items()
    }
    return {k: w for k, w in weights.items() if w > 0}


def measure(
    app: ServedApp, fake: FakeSlack, args: argparse.Namespace, worker: ServedApp | None = None
) -> list[int]:
    """Seed, start the clients and the proof runs, measure, report; returns the server's (and the
    worker's) children."""
    seeded = seed(app, fake, args)
    share = min(1.0, max(0.0, args.slack_share))
    spec = ClientSpec(
        base_url=app.url,
        hook_url=f"{fake.root_url}/webhook/load",
        small_ref=seeded.small_ref,
        small_items=seeded.small_items,
        token=seeded.token,
        proofs=seeded.proofs,
        stylesheet=seeded.stylesheet,
        show_refs=[seeded.small_ref] + [r for r, _ in seeded.big],
        users=seeded.users,
        weights=mix_weights(share),
        seconds=args.seconds,
        think=args.think,
        timeout=args.timeout,
    )
    ctx = mp.get_context("spawn")
    procs_n = max(1, min(args.client_processes, args.clients))
    shares = [args.clients // procs_n + (1 if i < args.clients % procs_n else 0) for i in range(procs_n)]
    go, out = ctx.Event(), ctx.Queue()
    readies = [ctx.Event() for _ in shares]
    procs = [
        ctx.Process(target=_client_process, args=(spec, n, i + 1, readies[i], go, out), name=f"load-{i}")
        for i, n in enumerate(shares)
    ]
    pid = app.proc.pid if app.proc else 0
    if args.nice_proof_workers:
        pool = [p for p in descendants(pid) if "forkserver" in _cmdline(p)]
        for p in pool:
            os.setpriority(os.PRIO_PROCESS, p, args.nice_proof_workers)
        print(f"experiment: {len(pool)} proof pool process(es) reniced to {args.nice_proof_workers}")
    runs = ProofRuns(app, [] if args.no_proofs else seeded.big, args.big_items)
    try:
        for p in procs:
            p.start()
        for ready in readies:
            ready.wait(60)
        what = "no proof run (--no-proofs)"
        if not args.no_proofs:
            if not runs.start_next():
                raise SystemExit("could not start the first proof run")
            first_ref, first_id = runs.current()
            wait_task(app, first_id, ("running",), 60)
            what = f"{first_ref}'s proofs running"
        runs.poll()
        runs.watch()
        log_from = len(app.log())
        rss0 = rss_kib(pid)
        worker_pid = worker.proc.pid if worker is not None and worker.proc else 0
        cpu0 = cpu_snapshot(pid, worker_pid)
        pg0 = postmaster_started(app)
        t0 = time.monotonic()
        runs.stop_starting_at = t0 + args.seconds
        print(
            f"window: {args.clients} clients in {procs_n} processes for {args.seconds:g} s, Slack share "
            f"{share:.0%}, think {args.think:g} s; {what}"
        )
        go.set()
        records: list[Record] = []
        client_cpu: list[float] = []
        for _ in procs:
            recs, cpu = out.get(timeout=args.seconds + args.timeout + 120)
            records.extend(recs)
            client_cpu.append(cpu)
        t1 = max([t0 + args.seconds] + [r[1] + r[2] / 1000 for r in records])
        cpu1 = cpu_snapshot(pid, worker_pid)
        runs.poll()
        runs.stop()
    finally:
        runs.stop()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
    report(records, t0, t1, runs, cpu0, cpu1, client_cpu, app, log_from, rss0, (pg0, postmaster_started(app)))
    if args.records:
        with open(args.records, "w", newline="") as fh:
            out_csv = csv.writer(fh)
            out_csv.writerow(["kind", "start_s", "ms", "error", "phase"])
            for kind, at, ms, error in sorted(records, key=lambda r: r[1]):
                out_csv.writerow([kind, f"{at - t0:.4f}", f"{ms:.2f}", error, runs.phase_at(at)])
        print(f"every request written to {args.records}")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    children = descendants(pid) + (descendants(worker.proc.pid) if worker is not None and worker.proc else [])
    if args.wait_run > 0 and runs.current() is not None:
        ref, job_id = runs.current()
        task = proofs_task(app, job_id)
        if task is not None and task.state in ("queued", "running"):
            t = time.monotonic()
            task = wait_task(app, job_id, ("done", "failed"), args.wait_run)
            took = (task.finished_at - task.started_at).total_seconds()
            print(
                f"after the window: {ref}'s run finished {time.monotonic() - t:.1f} s later "
                f"({task.state}); it took {took:.1f} s in all, {task.total} items"
            )
    return children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the measured window")
    ap.add_argument("--clients", type=int, default=20, help="concurrent clients, back to back")
    ap.add_argument("--client-processes", type=int, default=2)
    ap.add_argument("--slack-share", type=float, default=0.5, help="share of Slack requests in the mix")
    ap.add_argument("--think", type=float, default=0.0, help="mean seconds a client waits between requests")
    ap.add_argument("--sqlite", action="store_true", help="the embedded SQLite database, not PostgreSQL")
    ap.add_argument("--big-jobs", type=int, default=16, help="1,000-item jobs to proof one after another")
    ap.add_argument("--big-items", type=int, default=1000)
    ap.add_argument("--page-items", type=int, default=50, help="items on the approval page")
    ap.add_argument("--no-proofs", action="store_true", help="the same load without a proof run (baseline)")
    ap.add_argument(
        "--nice-proof-workers",
        type=int,
        default=0,
        help="an experiment: renice the server's proof pool processes by this much once they run",
    )
    ap.add_argument("--workers", help="CRAFTSTAGE_WORKERS for the server (default: the app's)")
    ap.add_argument(
        "--worker", action="store_true", help="background work in a separate `worker` process (PostgreSQL)"
    )
    ap.add_argument("--records", help="write every request (kind, start s, ms, error, phase) to this CSV")
    ap.add_argument("--timeout", type=float, default=10.0, help="client timeout per request, seconds")
    ap.add_argument(
        "--wait-run",
        type=float,
        default=300.0,
        help="seconds to wait after the window for the run in progress to finish (0: do not wait)",
    )
    args = ap.parse_args()
    if args.worker and args.sqlite:
        ap.error("--worker needs PostgreSQL: with SQLite, `serve` runs the background work itself")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} (clients, server and proofs share them)")
    with tempfile.TemporaryDirectory(prefix="cs-bench-load-") as tmp, FakeSlack() as fake:
        env = {"CRAFTSTAGE_APPROVAL_RATE_LIMIT": "100000000", "CRAFTSTAGE_SCHEDULER": "off"}
        env["LOG_LEVEL"] = "WARNING"
        if args.workers:
            env["CRAFTSTAGE_WORKERS"] = args.workers
        if args.worker:
            env["CRAFTSTAGE_BACKGROUND"] = "workers"
        database_url = f"sqlite:///{Path(tmp) / 'data' / 'craftstage.db'}" if args.sqlite else None
        children: list[int] = []
        try:
            with served_app(Path(tmp), fake=fake, database_url=database_url, **env) as app:
                print(
                    f"server: python app.py serve on {app.url}, {'SQLite' if args.sqlite else 'PostgreSQL'}"
                    + (", background work in one `python app.py worker`" if args.worker else "")
                )
                worker = None
                if args.worker:
                    # INFO: the worker says in its log when it is ready
                    env = {**app.env, "LOG_LEVEL": "INFO"}
                    worker = WorkerApp(
                        data_dir=app.data_dir, database_url=app.database_url, fake=fake, env=env
                    )
                    worker.start()
                try:
                    children = measure(app, fake, args, worker)
                finally:
                    children = children or descendants(app.proc.pid if app.proc else 0)
                    if worker is not None:
                        children += descendants(worker.proc.pid if worker.proc else 0)
                        worker.stop()
        finally:
            if n := reap(children, tmp):
                print(f"stopped {n} proof-pool process(es) the server left behind when it exited")


if __name__ == "__main__":
    main()
