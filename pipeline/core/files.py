"""Files under the data folder, written so that no half-written file ever exists."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from pipeline.core import instance

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, limit: int = 100) -> str:
    """A file name safe on every file system (no paths, no control characters)."""
    base = unicodedata.normalize("NFKD", Path(name).name).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip("._") or "file"
    return base[-limit:]


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write to a temporary name in the same folder, then rename over the target: readers see the old
    file or the whole new one, never a part. `durable` also fsyncs first (skipped for proofs, which are
    re-rendered from their inputs if a power cut ever lost one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=partial_prefix(path.name), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def partial_prefix(name: str) -> str:
    """The start of a temporary name for `name`: hidden, and tagged with the writing process."""
    return f".{name}.{instance.tag()}."


# a hidden temporary file (".name.<tag>.xxxx.part") or export staging folder (".v3.staging.<tag>.xxxx")
_PARTIAL = re.compile(r"^\.(?:.*\.part|v\d+\.staging\..*)$")
_TAG = re.compile(rf"\.({instance.TAG_PATTERN})\.")
ABANDONED_AFTER = 600.0  # seconds: a partial file of a copy on another machine this old is abandoned


def sweep_partial(root: Path) -> int:
    """Remove what a crashed writer left half-written under `root`: temporary files and staging folders
    whose process on this machine is gone, or that nobody touched for ABANDONED_AFTER. Returns the
    number removed. Finished files are never touched: they only ever appear by a rename."""
    removed = 0
    if not root.exists():
        return 0
    now = time.time()
    for folder, dirs, files in os.walk(root):
        for name in [*files, *dirs]:
            if not _PARTIAL.match(name):
                continue
            tag = _TAG.search(name)
            path = Path(folder) / name
            try:
                old = now - path.stat().st_mtime > ABANDONED_AFTER
            except FileNotFoundError:
                continue
            if not (old or (tag is not None and instance.is_dead(tag.group(1)))):
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                dirs.remove(name)
            else:
                path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d half-written file(s) left by a stopped process", removed)
    return removed
