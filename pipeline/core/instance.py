"""Which running copy of the app this is, and whether another copy on this machine is still alive.

A tag names the host, the process id and the process's start time (so a new process that got a dead
one's pid, as the first process of a restarted container does, is not taken for it). Tasks record the
tag of the copy working on them, and temporary files carry it in their names, so after a crash the
next start knows at once what was left behind by a dead copy on this machine."""

from __future__ import annotations

import os
import re
import socket

_SEP = "~"
TAG_PATTERN = r"[A-Za-z0-9_-]+~\d+~\d+"  # how a tag looks inside a file name


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "0" where that is unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return "0"
    # the command name (field 2) may hold spaces and parentheses; fields after it follow the last ")"
    return stat.rsplit(")", 1)[-1].split()[19]


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:60] or "host"


_tags: dict[int, str] = {}


def tag() -> str:
    """This process's tag (kept per pid, so a forked child has its own)."""
    pid = os.getpid()
    if pid not in _tags:
        _tags[pid] = _tag(pid)
    return _tags[pid]


def _tag(pid: int) -> str:
    return f"{_host()}{_SEP}{pid}{_SEP}{_start_time(pid)}"


def is_dead(owner: str | None) -> bool:
    """True when `owner` is the tag of a process on this machine that is no longer running. A copy on
    another machine (or an unreadable tag) is never declared dead here: its heartbeat decides."""
    if not owner or owner.count(_SEP) != 2:
        return False
    host, pid_text, started = owner.split(_SEP)
    if host != _host() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner != tag()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    return started != "0" and _start_time(pid) != started
