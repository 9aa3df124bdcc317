"""Hostile spreadsheets and text files: refused with one sentence, in a limited process, job unharmed."""

from __future__ import annotations

import io
import json
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlmodel import select

from pipeline.intake.parsing import ParseError, parse_order
from pipeline.intake.parsing.sandbox import TOO_BIG, parse_upload
from storage.db import Database
from storage.models import Item, Job, ParseBatch
from tests.acceptance.harness import RunningApp, running_app
from tests.acceptance.test_slack_flow import card_and_thread, create_job, response_view, submit
from tests.security.bombs import dimension_bomb, whitespace_bomb
from tests.standins.slack_requests import files_value

ROOT = Path(__file__).resolve().parents[2]
GUARD_BYTES = 1536 * 1024 * 1024
"""Address space given to `app.py parse` here, so that a parser without limits fails instead of
taking the machine's memory; the limited parser needs far less."""

DECLARES = "declares 50,000 × 16,384 cells; export the used range"
UNPACKS = "unpacks to 1,024 MB"


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("bombs")
    return {
        "dimension": dimension_bomb(out / "dimension-bomb.xlsx"),
        "whitespace": whitespace_bomb(out / "whitespace-bomb.xlsx"),
    }


def _guard() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GUARD_BYTES, GUARD_BYTES))


def cli_parse(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py", "parse", str(path), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_guard,
    )


def test_the_bombs_are_what_they_claim(bombs: dict[str, Path]) -> None:
    assert bombs["dimension"].stat().st_size < 2048
    with zipfile.ZipFile(bombs["dimension"]) as zf:
        assert b'<dimension ref="A1:XFD50000"/>' in zf.read("xl/worksheets/sheet1.xml")
    assert bombs["whitespace"].stat().st_size < 2 * 1024 * 1024
    with zipfile.ZipFile(bombs["whitespace"]) as zf:
        assert zf.getinfo("xl/worksheets/sheet1.xml").file_size > 1024**3


@pytest.mark.parametrize(("kind", "sentence"), [("dimension", DECLARES), ("whitespace", UNPACKS)])
def test_cli_refuses_a_bomb_with_a_sentence(bombs: dict[str, Path], kind: str, sentence: str) -> None:
    done = cli_parse(bombs[kind])
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert sentence in done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1  # one sentence, nothing else


def test_a_cell_far_to_the_right_is_refused_whatever_the_sheet_declares() -> None:
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["A2"] = "Name", "Jane Doe"
    ws.cell(row=3, column=16_000, value="x")
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(ParseError, match="cells beyond column IV"):
        parse_order(data=buf.getvalue(), filename="roster.xlsx")


def test_a_long_text_file_is_refused_before_it_is_decoded() -> None:
    data = ("Jane Doe\n" * 200_000).encode()
    with pytest.raises(ParseError, match="the limit for text is 1 MB"):
        parse_order(data=data, filename="names.txt")


def test_running_out_of_memory_in_the_parser_is_a_sentence() -> None:
    wb = Workbook()
    wb.active.append(["Name"])
    wb.active.append(["Jane Doe"])
    buf = io.BytesIO()
    wb.save(buf)
    started = time.monotonic()
    with pytest.raises(ParseError) as refused:
        parse_upload(buf.getvalue(), "roster.xlsx", memory_limit=48 * 1024 * 1024)
    assert str(refused.value) == TOO_BIG
    assert time.monotonic() - started < 30
    # the same file with the normal limits parses, and the whole result comes back from the process
    upload = parse_upload(buf.getvalue(), "roster.xlsx")
    assert upload.result is not None
    assert [it.values for it in upload.result.items] == [{"name": "Jane Doe"}]
    assert upload.result.notes and upload.result.engine == "rules"


def test_a_parser_that_runs_too_long_is_stopped_with_a_sentence() -> None:
    with pytest.raises(ParseError, match="takes too long to read"):
        parse_upload(b"Name\nJane Doe\n", "roster.csv", cpu_limit=0)


def test_the_parsing_process_cannot_write_files(tmp_path: Path) -> None:
    """The worker runs with a zero file-size limit: the bytes it parses cannot become files."""
    probe = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from pipeline.intake.parsing import sandbox; "
            "sandbox._limit(512 * 1024 * 1024, 5); f = open(sys.argv[2], 'wb'); f.write(b'x'); f.close()",
            str(ROOT),
            str(tmp_path / "written"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.returncode != 0 and "File too large" in probe.stderr
    assert not (tmp_path / "written").exists() or (tmp_path / "written").stat().st_size == 0


# -- through Slack -------------------------------------------------------------------------------------


@pytest.fixture
def app(db: Database, tmp_path: Path) -> Any:
    with running_app(db, tmp_path / "data") as running:
        yield running


def test_a_bomb_uploaded_in_slack_is_refused_and_the_job_stays(
    app: RunningApp, db: Database, bombs: dict[str, Path]
) -> None:
    resp, view_id = create_job(app)
    meta = response_view(resp)["private_metadata"]
    ref = json.loads(meta)["job"]
    upload = app.fake.add_file("roster.xlsx", bombs["dimension"].read_bytes())
    resp = submit(app, "job_parse", {"order_file": {"value": files_value(upload)}}, meta, view_id=view_id)
    assert response_view(resp)["callback_id"] == "working"
    app.settle(timeout=60)
    _, thread = card_and_thread(app, ref)
    said = "\n".join(m.get("text") or "" for m in thread)
    assert DECLARES in said and "Traceback" not in said
    with db.read() as s:
        job = s.exec(select(Job).where(Job.number == int(ref.split("-")[1]))).one()
        assert job.status == "draft"
        assert DECLARES in (job.last_error or "")
        assert s.exec(select(Item).where(Item.job_id == job.id)).all() == []
        assert s.exec(select(ParseBatch).where(ParseBatch.job_id == job.id)).all() == []
