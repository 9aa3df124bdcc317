"""Workspace clocks for the scans: a workspace's time zone, its digest time, and working hours.

Working hours, which "preflight errors unresolved for N hours" counts, are Monday to Friday
09:00–17:00 in the workspace's time zone; public holidays count as working days. Dates are local dates
in the workspace's time zone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.models import (
    Workspace,
)

log = logging.getLogger(__name__)


WORKDAYS = frozenset(range(5))  # Monday … Friday

WORKDAY_START = time(9, 0)

WORKDAY_END = time(17, 0)

DEFAULT_DIGEST_TIME = time(8, 30)


def _work_windows(start: datetime, tz: ZoneInfo) -> Iterator[tuple[datetime, datetime]]:
    """The working periods (aware, UTC) from the local day of `start` on, without end."""
    day = start.astimezone(tz).date()
    while True:
        if day.weekday() in WORKDAYS:
            opens = datetime.combine(day, WORKDAY_START, tz).astimezone(UTC)
            closes = datetime.combine(day, WORKDAY_END, tz).astimezone(UTC)
            yield opens, closes
        day += timedelta(days=1)


def working_deadline(start: datetime, hours: float, tz: ZoneInfo) -> datetime:
    """The moment `hours` working hours have passed since `start` (zero hours: `start` itself)."""
    left = timedelta(hours=hours)
    if left <= timedelta(0):
        return start
    for opens, closes in _work_windows(start, tz):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    raise AssertionError("unreachable: the working week never ends")


def working_hours_between(start: datetime, end: datetime, tz: ZoneInfo) -> float:
    """Working hours from `start` to `end` (0 when `end` is not later)."""
    total = timedelta(0)
    for opens, closes in _work_windows(start, tz):
        if opens >= end:
            break
        begin, finish = max(opens, start), min(closes, end)
        if finish > begin:
            total += finish - begin
    return total.total_seconds() / 3600


_warned_zones: set[str] = set()


def workspace_zone(ws: Workspace) -> ZoneInfo:
    """The workspace's time zone; a name that is not one (stored before it was checked) counts as UTC."""
    try:
        return ZoneInfo(ws.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        if ws.timezone not in _warned_zones:
            _warned_zones.add(ws.timezone)
            log.warning("workspace %s has an unknown time zone %r; using UTC", ws.id, ws.timezone)
        return ZoneInfo("UTC")


def digest_time(ws: Workspace) -> time:
    try:
        hh, mm = (int(part) for part in ws.digest_time.split(":"))
        return time(hh, mm)
    except (ValueError, TypeError):
        return DEFAULT_DIGEST_TIME


def digest_due(ws: Workspace, now: datetime) -> date | None:
    """The local date whose digest is due at `now`, or None.

    Due from the digest time on (compared on the local wall clock) until the end of that local day, so
    a scan that missed the exact minute (a restart, a DST jump over the digest time) still posts it; a
    digest time that a DST change repeats is still one digest, by its dedupe key.
    """
    local = now.astimezone(workspace_zone(ws))
    if local.weekday() >= 5 and not ws.digest_weekends:
        return None
    return local.date() if local.time().replace(tzinfo=None) >= digest_time(ws) else None
