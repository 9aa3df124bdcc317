"""Bolt's Socket Mode adapters, and CraftStage's link built on the aiohttp one (`craftstage`), against
the Socket Mode stand-in: acks around Slack's routine `refresh_requested` disconnects, and the way back
after the TCP link is cut.

    .venv/bin/python bench/bench_socket_mode.py [--adapters builtin websocket_client …]
                                                [--grace 10] [--refreshes 3] [--outage-cap 75]

Per adapter, with a Bolt app whose `/job` command only acknowledges: the ack time of commands sent
while the link is steady, the worst ack of commands sent every 0.2 s from each refresh until the old
connection is closed (`--grace`, Slack's is about 10 s), and after a cut: seconds until the next `hello`,
the ack of a command sent right after the cut, and the process's CPU use while it was offline (a share
of one core: on average, and in its busiest second). Adapters whose library is not installed are
skipped (`websocket_client` needs websocket-client; `websockets` and `aiohttp` need aiohttp for their
async Web API client).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from slack_bolt import App  # noqa: E402
from slack_sdk import WebClient  # noqa: E402

from tests.standins.slack_api import BOT_TOKEN, FakeSlack  # noqa: E402
from tests.standins.slack_requests import slash_command  # noqa: E402
from tests.standins.socket_mode import APP_TOKEN, FakeSocketMode  # noqa: E402

ADAPTERS = ("builtin", "websocket_client", "websockets", "aiohttp", "craftstage")
NEEDS = {
    "builtin": None,
    "websocket_client": "websocket",
    "websockets": "aiohttp",
    "aiohttp": "aiohttp",
    "craftstage": "aiohttp",
}


def bolt_app(fake: FakeSlack) -> App:
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=fake.base_url),
        signing_secret="unused-in-socket-mode",
        token_verification_enabled=False,
    )

    @app.command("/job")
    def job(ack: Any) -> None:
        ack(text="ok")

    return app


class Running:
    """One adapter connected to the stand-in (sync adapters on their own threads, async ones on a loop
    in a thread of their own)."""

    def __init__(self, name: str, app: App, fake: FakeSlack) -> None:
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        if name == "craftstage":  # what `serve` runs: bot/socket_mode.py
            from bot.socket_mode import SocketModeLink

            self.handler = SocketModeLink(app, APP_TOKEN, fake.base_url)
            self.handler.check_token()
            self.handler.start()
            return
        if name in ("builtin", "websocket_client"):
            module = __import__(f"slack_bolt.adapter.socket_mode.{name}", fromlist=["SocketModeHandler"])
            web = WebClient(base_url=fake.base_url)
            self.handler = module.SocketModeHandler(app, APP_TOKEN, web_client=web)
            self.handler.connect()
            return
        module = __import__(f"slack_bolt.adapter.socket_mode.{name}", fromlist=["SocketModeHandler"])
        from slack_sdk.web.async_client import AsyncWebClient

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

        async def connect() -> Any:
            handler = module.SocketModeHandler(
                app, APP_TOKEN, web_client=AsyncWebClient(base_url=fake.base_url)
            )
            await handler.connect_async()
            return handler

        self.handler = asyncio.run_coroutine_threadsafe(connect(), self.loop).result(30)

    def close(self) -> None:
        if self.name == "craftstage":
            self.handler.stop()
            return
        if self.loop is None:
            self.handler.close()
            return
        asyncio.run_coroutine_threadsafe(self.handler.close_async(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


def ms(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds * 1000:.0f} ms"


def measure(name: str, grace: float, refreshes: int, outage_cap: float) -> dict[str, Any]:
    with FakeSlack() as fake, FakeSocketMode(fake, refresh_grace=grace) as sm:
        running = Running(name, bolt_app(fake), fake)
        try:
            sm.wait_connected(timeout=30)
            steady = []
            for _ in range(20):
                envelope = sm.submit(slash_command("/job", "list", fake=fake))
                sm.wait_ack(envelope, timeout=30)
                steady.append(envelope.ack_seconds)
            refresh_worst = []
            for _ in range(refreshes):
                sm.refresh()
                sent = []
                end = time.monotonic() + grace + 1
                while time.monotonic() < end:
                    sent.append(sm.submit(slash_command("/job", "list", fake=fake)))
                    time.sleep(0.2)
                for envelope in sent:
                    with contextlib.suppress(AssertionError):
                        sm.wait_ack(envelope, timeout=30)
                acks = [e.ack_seconds for e in sent]
                refresh_worst.append(None if None in acks else max(acks))  # type: ignore[type-var]
            before = len([k for k in sm.links() if k.hello is not None])
            cpu0, t0 = time.process_time(), time.monotonic()
            sm.cut()
            after_cut = sm.submit(slash_command("/job", "list", fake=fake))
            back, peak, last = None, 0.0, (cpu0, t0)
            while time.monotonic() - t0 < outage_cap:
                try:
                    sm.wait_connected(count=before + 1, timeout=1.0)
                    back = time.monotonic() - t0
                    break
                except AssertionError:
                    now = (time.process_time(), time.monotonic())
                    peak = max(peak, (now[0] - last[0]) / (now[1] - last[1]))
                    last = now
            cpu = (time.process_time() - cpu0) / (time.monotonic() - t0)
            with contextlib.suppress(AssertionError):
                sm.wait_ack(after_cut, timeout=5)
            return {
                "steady_p50": statistics.median(steady),
                "steady_max": max(steady),
                "refresh_worst": refresh_worst,
                "reconnect": back,
                "cut_ack": after_cut.ack_seconds,
                "cpu": cpu,
                "cpu_peak": peak,
                "connections_opened": sm.connections_opened,
            }
        finally:
            running.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapters", nargs="+", choices=ADAPTERS, default=list(ADAPTERS))
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--outage-cap", type=float, default=75.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    for name in args.adapters:
        need = NEEDS[name]
        if need and importlib.util.find_spec(need) is None:
            print(f"{name:17} skipped ({need} is not installed)")
            continue
        r = measure(name, args.grace, args.refreshes, args.outage_cap)
        back = "never" if r["reconnect"] is None else f"{r['reconnect']:.1f} s"
        print(
            f"{name:17} steady p50 {ms(r['steady_p50'])}, max {ms(r['steady_max'])}; "
            f"worst ack per refresh {', '.join(ms(w) for w in r['refresh_worst'])}; "
            f"after a cut back in {back}, "
            f"ack {ms(r['cut_ack'])}, CPU {r['cpu']:.0%} of a core (busiest second {r['cpu_peak']:.0%}); "
            f"{r['connections_opened']} apps.connections.open",
            flush=True,
        )


if __name__ == "__main__":
    main()
