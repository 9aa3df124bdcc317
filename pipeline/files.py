"""Files under the data folder, written so that no half-written file ever exists."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
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
