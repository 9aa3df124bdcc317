"""Files under the data folder: atomic writes, and the sweep of what a killed writer left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.core import instance
from pipeline.core.files import ABANDONED_AFTER, safe_name, sweep_partial, write_atomic


def _dead_tag() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{instance.tag().split('~')[0]}~{proc.pid}~1"


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "proofs" / "item-1-v1.pdf"
    write_atomic(target, b"old")
    write_atomic(target, b"new contents", durable=False)
    assert target.read_bytes() == b"new contents"
    assert sorted(p.name for p in target.parent.iterdir()) == ["item-1-v1.pdf"]


def test_write_atomic_failure_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "sheet.pdf"
    write_atomic(target, b"whole")

    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.pdf"]


def test_sweep_removes_only_what_a_dead_writer_left(tmp_path: Path) -> None:
    proofs, export = tmp_path / "proofs", tmp_path / "exports" / "J-1001"
    proofs.mkdir(parents=True)
    export.mkdir(parents=True)
    dead, live, remote = _dead_tag(), instance.tag(), "other-host~4242~99"
    finished = proofs / "item-1-v1.pdf"
    finished.write_bytes(b"%PDF whole")
    left = [
        proofs / f".item-2-v1.pdf.{dead}.abc123.part",
        export / f".J-1001-v2.zip.{dead}.1a2b3c4d.part",
    ]
    staging = export / f".v2.staging.{dead}.0123456789ab"
    staging.mkdir()
    (staging / "sheet-1.svg").write_text("<svg")
    kept = [
        proofs / f".item-3-v1.pdf.{live}.def456.part",  # this process is writing it now
        proofs / f".item-4-v1.pdf.{remote}.aaa111.part",  # another machine's copy, recently
        proofs / ".item-5-v1.pdf.untagged.part",
    ]
    old_remote = proofs / f".item-6-v1.pdf.{remote}.bbb222.part"
    for path in [*left, *kept, old_remote]:
        path.write_bytes(b"half")
    long_ago = time.time() - ABANDONED_AFTER - 60
    os.utime(old_remote, (long_ago, long_ago))

    assert sweep_partial(tmp_path) == 4
    assert not any(p.exists() for p in [*left, staging, old_remote])
    assert all(p.exists() for p in [*kept, finished])
    assert sweep_partial(tmp_path) == 0


def test_sweep_of_a_missing_folder_is_a_no_op(tmp_path: Path) -> None:
    assert sweep_partial(tmp_path / "nothing-yet") == 0


def test_safe_name_strips_paths_and_oddities() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("Zoë Müller sheet.pdf") == "Zoe_Muller_sheet.pdf"
