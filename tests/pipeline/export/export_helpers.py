"""Helpers for the export tests: jobs ready for export, and readers that check the files as files."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fontTools.misc.bezierTools import calcCubicBounds, calcQuadraticBounds
from sqlmodel import select

from pipeline.core.actors import Actor
from pipeline.jobs import jobs, lifecycle
from pipeline.rendering.layout import layout_item
from pipeline.templates.catalog import current_version, template_of
from storage.db import Database
from storage.models import ApprovalDecision, Item, Job, JobStatus, ProofStatus, Workspace, utcnow

S = JobStatus
SVG_NS = "{http://www.w3.org/2000/svg}"
MM_PER_PT = 25.4 / 72
PT_PER_MM = 72 / 25.4
EPS = 1e-6

NAMES = [
    "Maria Gonzalez",
    "Seán O'Connor",
    "Zoë Müller",
    "Chidi Okafor",
    "Priya Natarajan",
    "Björn Svensson",
    "Ægir Þórsson",
    "Łucja Wąsowska",
    "François Lefèvre",
    "Dr. Alexander Pemberton",
    "Анна Иванова",
    "Li Wei",
]
TITLES = ["Head Coach", "Team Captain", "Most Improved Player", "Golden Boot", "Rookie of the Year", ""]


def people(n: int) -> list[dict[str, str]]:
    return [{"name": f"{NAMES[i % len(NAMES)]} {i + 1}", "title": TITLES[i % len(TITLES)]} for i in range(n)]


def seed_job(
    db: Database,
    ws_id: int,
    actor: Actor,
    files_dir: Path,
    *,
    values: list[dict[str, str]],
    template_key: str = "badge",
    approved_via: dict[int, str] | None = None,
    approve_all: str | None = None,
    store_layouts: bool = True,
    ready: bool = True,
) -> int:
    """A job with items and proofs (version 1). ``ready``: preflight clean and production_ready, by
    customer approval when every item is approved, else with approval skipped on purpose.
    ``approved_via`` maps item indexes (0-based) to link|phone|email; ``approve_all`` approves all."""
    with db.session() as s:
        ws = s.get(Workspace, ws_id)
        job = jobs.create_job(
            s,
            ws,
            actor,
            customer_name="Rebecca Stone",
            customer_email="rebecca@example.org",
            reference="PO-4471",
        )
        lifecycle.move(s, job, S.PARSING, actor)
        tv = current_version(s, ws, template_key, files_dir)
        template = template_of(tv)
        job.template_version_id = tv.id
        via = dict(approved_via or {})
        if approve_all:
            via = dict.fromkeys(range(len(values)), approve_all)
        for pos, vals in enumerate(values):
            layout = layout_item(template, vals).to_dict() if store_layouts else None
            item = Item(
                job_id=job.id,
                position=pos,
                values=dict(vals),
                raw_values=dict(vals),
                layout=layout,
                proof_version=1,
                proof_status=ProofStatus.GENERATED,
            )
            s.add(item)
            s.flush()
            if pos in via:
                item.proof_status = ProofStatus.APPROVED
                s.add(ApprovalDecision(item_id=item.id, proof_version=1, decision="approved", via=via[pos]))
        lifecycle.move(s, job, S.PROOFING, actor)
        if ready:
            job.preflight_ran_at = utcnow()
            job.preflight_errors = 0
            if len(via) == len(values):
                lifecycle.move(s, job, S.PENDING_APPROVAL, actor)
                lifecycle.move(s, job, S.APPROVED, actor)
                lifecycle.move(s, job, S.PRODUCTION_READY, actor)
            else:
                job.approval_skipped = True
                lifecycle.move(s, job, S.PRODUCTION_READY, actor)
        s.add(job)
        return job.id


def job_status(db: Database, job_id: int) -> str:
    with db.read() as s:
        return s.get(Job, job_id).status


def item_layouts(db: Database, job_id: int) -> list[dict[str, Any]]:
    with db.read() as s:
        return [i.layout for i in s.exec(select(Item).where(Item.job_id == job_id).order_by(Item.position))]


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


# -- geometry ----------------------------------------------------------------------------------------
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def inside(inner: Box, outer: Box, tol: float = 1e-3) -> bool:
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol
        and inner[3] <= outer[3] + tol
    )


def overlap(a: Box, b: Box) -> bool:
    """Interiors intersect (touching edges do not count)."""
    return a[0] < b[2] - EPS and b[0] < a[2] - EPS and a[1] < b[3] - EPS and b[1] < a[3] - EPS


def union(boxes: Iterable[Box]) -> Box:
    bs = list(boxes)
    return (min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs))


_TOKEN = re.compile(r"[MLQCZ]|-?\d+(?:\.\d+)?")


def path_bounds(d: str) -> Box:
    """Exact bounds of absolute M/L/Q/C/Z path data (what the export writes)."""
    tokens = _TOKEN.findall(d)
    xs: list[float] = []
    ys: list[float] = []
    cur = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        i += 1
        n = {"M": 1, "L": 1, "Q": 2, "C": 3, "Z": 0}[cmd]
        pts = [(float(tokens[i + 2 * k]), float(tokens[i + 2 * k + 1])) for k in range(n)]
        i += 2 * n
        if cmd in "ML":
            xs.append(pts[0][0])
            ys.append(pts[0][1])
        elif cmd == "Q":
            x0, y0, x1, y1 = calcQuadraticBounds(cur, *pts)
            xs += [x0, x1]
            ys += [y0, y1]
        elif cmd == "C":
            x0, y0, x1, y1 = calcCubicBounds(cur, *pts)
            xs += [x0, x1]
            ys += [y0, y1]
        if pts:
            cur = pts[-1]
    return (min(xs), min(ys), max(xs), max(ys))


def field_box_mm(layout: dict[str, Any], key: str, x: float, y: float) -> Box:
    for f in layout["fields"]:
        if f["key"] == key:
            bx, by, bw, bh = f["box"]
            return (
                x + bx * MM_PER_PT,
                y + by * MM_PER_PT,
                x + (bx + bw) * MM_PER_PT,
                y + (by + bh) * MM_PER_PT,
            )
    raise KeyError(key)


def parse_svg(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def svg_length_mm(value: str) -> float:
    assert value.endswith("mm"), value
    return float(value[:-2])


def close(a: float, b: float, tol: float = 1e-3) -> bool:
    return math.isclose(a, b, abs_tol=tol)
