"""The real entry point, run as a process: --help, db upgrade, demo, serve with /healthz."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "DATABASE_URL"))}
    env.update(CRAFTSTAGE_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_help_lists_commands(tmp_path: Path) -> None:
    out = _run(["--help"], _env(tmp_path))
    assert out.returncode == 0
    for command in ("serve", "worker", "scheduler", "demo", "db"):
        assert command in out.stdout


def test_db_upgrade_then_demo_on_embedded_sqlite(tmp_path: Path) -> None:
    env = _env(tmp_path)
    up = _run(["db", "upgrade"], env)
    assert up.returncode == 0, up.stderr
    assert re.search(r"schema revision: \d{4}", up.stdout)
    assert (tmp_path / "data" / "craftstage.db").exists()
    demo = _run(["demo"], env)
    assert demo.returncode == 0, demo.stderr
    assert "J-1001" in demo.stdout


def test_bad_configuration_is_a_clear_message(tmp_path: Path) -> None:
    out = _run(["db", "current"], _env(tmp_path, CRAFTSTAGE_TIMEZONE="Nowhere/Land"))
    assert out.returncode == 2
    assert "CRAFTSTAGE_TIMEZONE" in out.stderr and "Traceback" not in out.stderr


def test_workers_apart_need_postgres_and_say_so(tmp_path: Path) -> None:
    # the embedded SQLite database is one process: `serve` runs the background work itself
    out = _run(["serve"], _env(tmp_path, CRAFTSTAGE_BACKGROUND="workers"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "CRAFTSTAGE_BACKGROUND=workers needs PostgreSQL" in out.stderr
    # a worker with nothing to take work from
    out = _run(["worker"], _env(tmp_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "set CRAFTSTAGE_BACKGROUND=workers" in out.stderr
    out = _run(["worker", "--concurrency", "0"], _env(tmp_path))
    assert out.returncode == 2 and "not a number from 1 to 64" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    """`python app.py serve` in a process of its own, once it answers /healthz (the caller stops it)."""
    proc = subprocess.Popen(
        [sys.executable, "app.py", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def test_serve_answers_healthz(tmp_path: Path) -> None:
    port = _free_port()
    proc = start_serve(_env(tmp_path, PORT=str(port)), port)
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        assert r.status_code == 200
        assert r.json() == {
            "status": "ok",
            "database": "reachable",
            "slack": {"mode": "off"},
            "roles": ["web", "worker", "scheduler"],
            "queue": {"engine": "in this process", "reachable": True},
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_wires_slack_sender_and_scheduler(tmp_path: Path) -> None:
    """The real process with Slack configured: signed requests are answered, forged ones refused, and
    the sender running inside it posts the new job's card."""
    from tests.standins.slack_api import BOT_TOKEN, PRODUCTION_CHANNEL_ID, FakeSlack
    from tests.standins.slack_requests import DEFAULT_SIGNING_SECRET, SlackClient, slash_command, text_value

    port = _free_port()
    with FakeSlack() as fake:
        env = _env(
            tmp_path,
            PORT=str(port),
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=DEFAULT_SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            CRAFTSTAGE_CHANNEL=PRODUCTION_CHANNEL_ID,
        )
        proc = start_serve(env, port)
        try:
            with SlackClient(f"http://127.0.0.1:{port}/slack/events", fake=fake) as slack:
                assert "/job new" in slack.slash_command("/job", "help").text
                assert (
                    slack.send(slash_command("/job", "help", fake=fake), bad_signature=True).status_code
                    == 401
                )
                values = {
                    "customer_name": {"value": text_value("Process Customer")},
                    "customer_email": {"value": text_value("p@example.com")},
                }
                resp = slack.view_submission("job_new", values=values, private_metadata="{}")
                assert resp.json()["response_action"] == "update"
            deadline = time.monotonic() + 15
            while not any("J-1001" in (m.get("text") or "") for m in fake.messages(PRODUCTION_CHANNEL_ID)):
                assert time.monotonic() < deadline, "the sender in the serving process posted no card"
                time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
