"""Approval-page rate limits that hold: counted in the database per link and per client, so a spoofed
`X-Forwarded-For` gets no fresh allowance, one abuser behind a trusted proxy does not lock out other
customers, and a restart or a second copy of the app counts on from where the first one was."""

from __future__ import annotations

from pathlib import Path

import httpx

from pipeline.core.actors import Actor
from storage.db import Database
from tests.handlers.approval_fixtures import make_runtime, new_link, seed_job, serve

UNKNOWN = "/approve/" + "q" * 43  # the shape of a real token, but no link has it
DAY = 86400  # a long window, so no test straddles the start of a new one


def _guess(c: httpx.Client, n: int, **headers: str) -> int:
    return c.get(f"{UNKNOWN[:-4]}{n:04d}", headers=headers).status_code


def test_spoofed_forwarded_for_from_an_untrusted_address_gets_no_fresh_bucket(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    runtime, notifier = make_runtime(
        db, tmp_path, approval_guess_limit=3, approval_rate_window_s=DAY
    )  # no trusted proxies
    token = new_link(db, seed_job(db, ws_id, owner, runtime.settings.files_dir, items=1), owner).token
    with serve(runtime, notifier) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        codes = [_guess(c, n, **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(6)]
        assert codes == [404, 404, 404, 429, 429, 429]
        # a customer's real link still opens from the same (guessing) address
        assert c.get(f"/approve/{token}").status_code == 200


def test_behind_a_trusted_proxy_each_client_has_its_own_allowance(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    runtime, notifier = make_runtime(
        db, tmp_path, approval_guess_limit=3, trusted_proxies="127.0.0.1", approval_rate_window_s=DAY
    )
    token = new_link(db, seed_job(db, ws_id, owner, runtime.settings.files_dir, items=1), owner).token
    with serve(runtime, notifier) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        abuser = "198.51.100.7"
        # the abuser writes his own X-Forwarded-For; the proxy appends the address it saw
        codes = [_guess(c, n, **{"X-Forwarded-For": f"10.0.{n}.1, {abuser}"}) for n in range(5)]
        assert codes == [404, 404, 404, 429, 429]
        assert c.get(f"/approve/{token}", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 200
        assert _guess(c, 99, **{"X-Forwarded-For": "203.0.113.6"}) == 404  # a typo elsewhere: not limited
        # the same address through two trusted hops is still the same client
        assert _guess(c, 98, **{"X-Forwarded-For": f"{abuser}, 127.0.0.1"}) == 429


def test_guesses_from_many_addresses_meet_the_global_cap(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    runtime, notifier = make_runtime(
        db, tmp_path, approval_guess_limit=1, trusted_proxies="127.0.0.0/8", approval_rate_window_s=DAY
    )
    token = new_link(db, seed_job(db, ws_id, owner, runtime.settings.files_dir, items=1), owner).token
    with serve(runtime, notifier) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        codes = [_guess(c, n, **{"X-Forwarded-For": f"192.0.2.{n}"}) for n in range(22)]
        assert codes == [404] * 20 + [429, 429]  # 20 times the per-client limit, in all
        assert c.get(f"/approve/{token}", headers={"X-Forwarded-For": "192.0.2.200"}).status_code == 200


def test_the_limits_survive_a_restart_and_are_shared_by_a_second_copy(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    settings = {"approval_guess_limit": 3, "approval_rate_limit": 4, "approval_rate_window_s": DAY}
    first, first_notes = make_runtime(db, tmp_path / "a", **settings)
    token = new_link(db, seed_job(db, ws_id, owner, first.settings.files_dir, items=1), owner).token
    with serve(first, first_notes) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        assert [_guess(c, n) for n in range(3)] == [404, 404, 404]
        assert [c.get(f"/approve/{token}").status_code for _ in range(2)] == [200, 200]
    # the first copy is gone; a fresh one on the same database remembers
    second, second_notes = make_runtime(db, tmp_path / "b", **settings)
    third, third_notes = make_runtime(db, tmp_path / "c", **settings)
    with (
        serve(second, second_notes) as two,
        serve(third, third_notes) as three,
        httpx.Client(base_url=two.url, timeout=30) as c2,
        httpx.Client(base_url=three.url, timeout=30) as c3,
    ):
        assert _guess(c2, 3) == 429
        assert _guess(c3, 4) == 429
        # the link's allowance (4) is counted across both running copies
        assert [c2.get(f"/approve/{token}").status_code, c3.get(f"/approve/{token}").status_code] == [
            200,
            200,
        ]
        assert c2.get(f"/approve/{token}").status_code == 429
        assert c3.get(f"/approve/{token}").status_code == 429
