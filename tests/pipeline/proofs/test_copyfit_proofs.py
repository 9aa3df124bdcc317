"""One size for a set, on both databases: a team's trophy plates (the sample's names form a copyfit
group) proofed, preflighted and exported. The proof PDFs and the exported PDF are read back with
pdfplumber, which reports each character's size: every name is at one size, the size preflight
reports. Changing one name re-proofs exactly the items whose size changed."""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
import pytest
from sqlmodel import col, select

from pipeline.background.slow_steps import preflight_now
from pipeline.core.actors import Actor
from pipeline.core.runtime import Runtime
from pipeline.intake.items import edit_item
from pipeline.proofs.job import MEASURE_INLINE_LIMIT, generate_job_proofs, job_copyfit
from pipeline.rendering.copyfit import measure
from pipeline.rendering.layout import layout_field
from pipeline.templates.fonts import default_registry
from pipeline.templates.template import sample_templates
from storage.db import Database
from storage.models import Item, Job, JobStatus, PreflightIssue, ProofStatus, ProofVersion
from tests.pipeline.export.test_export import make_profile, manifest_of, run_export
from tests.pipeline.pipeline_fixtures import approve_by_phone, job_items, job_with_items

pytestmark = pytest.mark.usefixtures("stop_the_proof_pool", "fresh_font_registries")

PLATE = sample_templates()["trophy-plate"]
LONGEST = "Dr. Alexander Pemberton-Hughes Jr."
TEAM = [
    "Ann Lee",
    "Bo Chen",
    "Maria Gonzalez-Smith",
    LONGEST,
    "Zoë Müller",
    "Seán O'Connor",
    "Christopher Montgomery",
    "Li Wei",
    "Priya Natarajan",
    "Björn Svensson",
    "Chidi Okafor",
    "Anna Ivanova",
]
PT_PER_MM = 72 / 25.4


def alone(name: str) -> float:
    """The size the trophy plate gives a name laid out on its own (no group)."""
    return layout_field(PLATE.field("name"), name, default_font=PLATE.default_font).size


def name_line(chars: list[dict]) -> tuple[str, set[float]]:
    """The topmost line of characters (the plate's name): its text without spaces and its sizes."""
    top = min(c["top"] for c in chars)
    line = sorted((c for c in chars if abs(c["top"] - top) < 1.0), key=lambda c: c["x0"])
    return "".join(c["text"] for c in line).replace(" ", ""), {round(c["size"], 3) for c in line}


def proof_name(pdf_path: str) -> tuple[str, set[float]]:
    with pdfplumber.open(pdf_path) as doc:
        return name_line(doc.pages[0].chars)


def versions(db: Database, item_id: int) -> list[ProofVersion]:
    with db.read() as s:
        stmt = select(ProofVersion).where(ProofVersion.item_id == item_id).order_by(col(ProofVersion.version))
        return list(s.exec(stmt))


def edit(db: Database, job_id: int, item_id: int, actor: Actor, name: str) -> None:
    with db.session() as s:
        edit_item(s, s.get_one(Job, job_id), item_id, actor, {"name": name})


def group_note(db: Database, job_id: int) -> PreflightIssue:
    with db.read() as s:
        where = (PreflightIssue.job_id == job_id, PreflightIssue.code == "COPYFIT_GROUP")
        (note,) = s.exec(select(PreflightIssue).where(*where))
        return note


def reported_size(message: str) -> float:
    found = re.search(r"set at ([0-9.]+) pt", message)
    assert found, message
    return float(found.group(1))


def team_job(db: Database, ws_id: int, owner: Actor, runtime: Runtime) -> int:
    values = [{"name": n, "achievement": "Most Valuable Player", "year": "2026"} for n in TEAM]
    return job_with_items(db, ws_id, owner, runtime.settings.files_dir, values, template="trophy-plate")


def test_every_plate_carries_the_name_at_the_size_of_the_longest(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = team_job(db, ws_id, owner, runtime)
    run = generate_job_proofs(runtime, job_id, owner)
    assert (run.generated, run.failed) == (12, [])
    preflight_now(runtime, job_id, owner)
    note = group_note(db, job_id)
    size = reported_size(note.message)
    own = {n: alone(n) for n in TEAM}
    assert size == own[LONGEST] == min(own.values()) < 17.0
    larger = sorted(s for s in own.values() if s > size)
    assert note.severity == "info" and note.item_id is None and note.field_key == "name"
    assert note.message == (
        f"All 12 names set at {size:g} pt to match the longest, '{LONGEST}'; without the group "
        f"{len(larger)} would be {larger[0]:g} to {larger[-1]:g} pt"
    )
    for item in job_items(db, job_id):
        (pv,) = versions(db, item.id)
        text, sizes = proof_name(pv.pdf_path)
        assert text == item.values["name"].replace(" ", "")
        assert sizes == {size}  # the independent reader sees one size on every plate: the reported one
        assert item.layout["fields"][0]["size"] == size
    # the sheet says so under its title, on every page
    with pdfplumber.open(run.sheet_path) as doc:
        page_text = [" ".join((p.extract_text() or "").split()) for p in doc.pages]
    assert all(f"All 12 names set at {size:g} pt to match the longest" in t for t in page_text)
    assert all(LONGEST in t for t in page_text)
    # shrunk far below its base size: only the longest name is warned about, not the names it set
    with db.read() as s:
        warned = s.exec(
            select(PreflightIssue.message).where(
                PreflightIssue.job_id == job_id, PreflightIssue.code == "SHRINK_WARNING"
            )
        ).all()
    assert size < 0.7 * 17 and len(warned) == 1 and LONGEST in warned[0]


def test_a_changed_name_reproofs_exactly_the_plates_whose_size_changed(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = team_job(db, ws_id, owner, runtime)
    generate_job_proofs(runtime, job_id, owner)
    items = job_items(db, job_id)
    first_size = alone(LONGEST)

    # a middle name that stays shorter than the longest: the group keeps its size, one plate changes
    bo = items[1]
    edit(db, job_id, bo.id, owner, "Bo Chen-Li")
    assert alone("Bo Chen-Li") > first_size
    before = {it.id: (it.proof_input_hash, Path(versions(db, it.id)[-1].pdf_path).stat().st_mtime_ns)
              for it in items if it.id != bo.id}  # fmt: skip
    run = generate_job_proofs(runtime, job_id, owner, item_ids={bo.id})  # as an edited item is re-proofed
    assert (run.generated, run.skipped) == (1, 11)
    after = {it.id: it for it in job_items(db, job_id)}
    assert after[bo.id].proof_version == 2
    assert proof_name(versions(db, bo.id)[-1].pdf_path) == ("BoChen-Li", {first_size})
    for item_id, (digest, mtime) in before.items():
        assert after[item_id].proof_version == 1 and after[item_id].proof_input_hash == digest
        assert Path(versions(db, item_id)[-1].pdf_path).stat().st_mtime_ns == mtime

    # the longest name becomes a short one: every other plate grows to the new longest and is re-proofed
    longest = items[3]
    edit(db, job_id, longest.id, owner, "Al")
    own = {n: alone(n) for n in [*TEAM[:1], "Bo Chen-Li", *TEAM[2:3], "Al", *TEAM[4:]]}
    grown = min(own.values())
    assert first_size < grown < 17.0
    run = generate_job_proofs(runtime, job_id, owner, item_ids={longest.id})
    assert (run.generated, run.skipped, run.failed) == (12, 0, [])
    for item in job_items(db, job_id):
        old, new = versions(db, item.id)[-2:]
        assert (item.proof_status, new.version) == (ProofStatus.GENERATED, item.proof_version)
        assert proof_name(new.pdf_path) == (item.values["name"].replace(" ", ""), {grown})
        assert proof_name(old.pdf_path)[1] == {first_size}  # the old version is kept, at the old size
    # nothing is left to draw: a whole-job run skips every plate
    again = generate_job_proofs(runtime, job_id, owner)
    assert (again.generated, again.skipped) == (0, 12)
    preflight_now(runtime, job_id, owner)
    assert reported_size(group_note(db, job_id).message) == grown


def test_the_exported_sheet_carries_the_names_at_the_proofs_size(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    files_dir = runtime.settings.files_dir
    job_id = team_job(db, ws_id, owner, runtime)
    generate_job_proofs(runtime, job_id, owner)
    assert approve_by_phone(db, job_id, owner) == JobStatus.APPROVED
    preflight_now(runtime, job_id, owner)
    size = reported_size(group_note(db, job_id).message)
    make_profile(db, ws_id, owner, output_format="pdf", text_mode="text")
    result = run_export(db, ws_id, job_id, owner, files_dir)
    m = manifest_of(result)
    names = {it.id: it.values["name"] for it in job_items(db, job_id)}
    seen = []
    for entry in m["items"]:
        with pdfplumber.open(result.files[entry["sheet"] - 1]) as doc:
            page = doc.pages[0]
            left, top = entry["x_mm"] * PT_PER_MM, entry["y_mm"] * PT_PER_MM
            plate = page.crop((left, top, left + 2.5 * 72, top + 0.75 * 72), strict=False)
            text, sizes = name_line(plate.chars)
        assert text == names[entry["item_id"]].replace(" ", "") and sizes == {size}
        seen.append(entry["item_id"])
    assert sorted(seen) == sorted(names)


def test_a_big_job_is_measured_in_a_proof_worker_to_the_same_sizes() -> None:
    others = [n for n in TEAM if n != LONGEST]
    names = [f"{others[i % len(others)]} {i}" for i in range(MEASURE_INLINE_LIMIT + 10)]
    names[37] = LONGEST
    items = [Item(job_id=1, position=i, values={"name": n, "year": "2026"}) for i, n in enumerate(names)]
    rows = [{"name": n, "achievement": "", "year": "2026"} for n in names]
    inline = measure(PLATE, rows, default_registry())
    in_worker = job_copyfit(items, PLATE, default_registry())  # over the limit: a proof worker measures
    assert in_worker == inline
    assert in_worker.groups[0].longest == (37, "name", names[37])
    assert in_worker.sizes == {"names": alone(names[37])}
