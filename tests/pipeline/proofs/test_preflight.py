"""Preflight on both databases: every code of docs/preflight.md from real layouts of a small custom
template, what run_preflight stores and logs, and how it moves a job on (or never does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from pipeline.approval import offline
from pipeline.core.actors import SYSTEM, Actor
from pipeline.core.runtime import Runtime
from pipeline.intake.items import edit_item
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event
from pipeline.proofs.job import generate_job_proofs
from pipeline.proofs.preflight import Report, check_job, run_preflight, stored_issues
from pipeline.templates.workspace_fonts import fonts_dir
from storage.db import Database
from storage.models import Item, Job, JobStatus, PreflightIssue
from tests.pipeline.conftest_layout import renamed_font
from tests.pipeline.pipeline_fixtures import (
    TINY_TOML,
    approve_by_phone,
    forget_font_registries,
    get_job,
    import_tiny,
    job_items,
    job_with_items,
    last_event,
    new_job,
    status_moves,
    use_template,
)

pytestmark = pytest.mark.usefixtures("fresh_font_registries")
S = JobStatus
PEMBERTON = "Dr. Alexander Pemberton-Hughes Jr."


@pytest.fixture
def files(runtime: Runtime) -> Path:
    return runtime.settings.files_dir


def tiny_job(
    db: Database, ws_id: int, actor: Actor, files: Path, values: list[dict[str, str]], toml: str = TINY_TOML
) -> int:
    import_tiny(db, ws_id, actor, files, toml)
    return job_with_items(db, ws_id, actor, files, values, template="tiny")


def preflight(db: Database, job_id: int, actor: Actor, files: Path) -> Report:
    with db.session() as s:
        return run_preflight(s, s.get(Job, job_id), actor, files)


def only(report: Report, code: str) -> list:
    return [i for i in report.issues if i.code == code]


# -- every code -------------------------------------------------------------------------------------

CASES = [
    # (values of the items, code, severity, item number, field, words the message must hold)
    ([{"name": PEMBERTON}], "OVERFLOW", "error", 1, "name",
     [f"'{PEMBERTON}' does not fit 'name' even at 10 pt", "shorten it, or lower the minimum size"]),
    ([{"name": "Li Wei", "code": "ABCDEFGHIJKLMNOP"}], "OVERFLOW", "error", 1, "code",
     ["'ABCDEFGHIJKLMNOP' does not fit 'code' at 8 pt", "or use the shrink policy"]),
    ([{"name": "Li Wei", "note": "one two three four five six seven"}], "OVERFLOW", "error", 1, "note",
     ["does not fit 'note' in 2 lines at 8 pt", "or allow more lines"]),
    ([{"name": "Li Wei"}, {"name": "   ", "code": "A1"}], "MISSING_REQUIRED", "error", 2, "name",
     ["Item 2, Name:", "'name' is required but empty: fill it in, or make it optional"]),
    ([{"name": "Li Wei", "brand": "Acme 🏆"}], "MISSING_GLYPH", "error", 1, "brand",
     ["cannot draw '🏆' (U+1F3C6)", "use a font that has it, or change the text"]),
    ([{"name": "東京 Li"}], "MISSING_GLYPH", "error", 1, "name", ["'東' (U+6771)", "'京' (U+4EAC)"]),
    ([{"name": "Li Wei", "brand": "Acme Corporation"}], "SHRINK_WARNING", "warning", 1, "brand",
     ["'Acme Corporation' was shrunk to 6 pt from 10 pt (40% smaller)",
      "check it is still readable, or shorten it"]),
    ([{"name": "Li Wei", "note": "Thank you all so much"}], "LONG_TEXT", "warning", 1, "note",
     ["has 21 characters; the field allows 20"]),
    ([{"name": "Li Wei", "brand": b} for b in ("Acme", "Bolt", "Core")]
     + [{"name": "Mo Chen", "brand": "Acme Corporation International"}],
     "LONG_TEXT", "warning", 4, "brand",
     ["30 characters, much longer than the others (typically 4)", "check it is meant"]),
    ([{"name": "Li Wei", "motto": "Per aspera ad astra forever and ever"}],
     "TRUNCATED", "warning", 1, "motto",
     ["was cut to fit; 'ad astra forever and ever' is missing", "shorten the text, or use shrink or wrap"]),
    ([{"name": "Li Wei", "code": "A1"}, {"name": "Mo Chen"}, {"name": " li  WEI", "code": "a1"}],
     "DUPLICATE_ITEM", "warning", 3, None,
     ["Item 3 has the same values as item 1", "remove it if it is not meant twice"]),
    ([{"name": "Zoë Müller"}], "SPECIAL_CHAR", "info", 1, "name", ["'Zoë Müller' has non-ASCII characters"]),
]  # fmt: skip


@pytest.mark.parametrize(("values", "code", "severity", "number", "field", "words"), CASES)
def test_each_code_names_item_field_and_the_fix(
    db: Database, ws_id: int, owner: Actor, files: Path,
    values: list[dict[str, str]], code: str, severity: str, number: int, field: str | None, words: list[str],
) -> None:  # fmt: skip
    job_id = tiny_job(db, ws_id, owner, files, values)
    report = preflight(db, job_id, owner, files)
    (issue,) = only(report, code)
    items = job_items(db, job_id)
    assert (issue.severity, issue.position, issue.field) == (severity, number, field)
    assert issue.item_id == items[number - 1].id
    for w in words:
        assert w in issue.message
    assert issue.message.startswith(f"Item {number}")
    with db.read() as s:
        (row,) = s.exec(select(PreflightIssue).where(PreflightIssue.code == code)).all()
    assert (row.job_id, row.item_id, row.field_key, row.severity, row.message) == (
        job_id, issue.item_id, field, severity, issue.message,
    )  # fmt: skip


def test_an_empty_job_and_a_job_without_template(db: Database, ws_id: int, owner: Actor, files: Path) -> None:
    import_tiny(db, ws_id, owner, files)
    empty = job_with_items(db, ws_id, owner, files, [], template="tiny")
    report = preflight(db, empty, owner, files)
    assert [(i.code, i.severity, i.item_id, i.field) for i in report.issues] == [
        ("EMPTY_JOB", "error", None, None)
    ]
    assert report.issues[0].message == "J-1001 has no items: add the order's items"
    bare = new_job(db, ws_id, owner)
    report = preflight(db, bare, owner, files)
    assert [i.code for i in report.issues] == ["EMPTY_JOB", "NO_TEMPLATE"]
    assert report.issues[1].message == "J-1002 has no template: choose one"
    no_template = job_with_items(db, ws_id, owner, files, [{"name": "Li Wei"}], template=None)
    assert [i.code for i in preflight(db, no_template, owner, files).issues] == ["NO_TEMPLATE"]


def test_a_font_shops_name_gets_its_metric_twin_and_a_warning(
    db: Database, ws_id: int, owner: Actor, files: Path
) -> None:
    toml = TINY_TOML.replace('label = "Brand"', 'label = "Brand"\nfont = "Arial"')
    job_id = tiny_job(
        db, ws_id, owner, files, [{"name": "Li Wei", "brand": "Acme"}, {"name": "Mo Chen"}], toml
    )
    (issue,) = only(preflight(db, job_id, owner, files), "MISSING_FONT")  # only where there is text
    assert (issue.severity, issue.position, issue.field) == ("warning", 1, "brand")
    assert "Arial is not installed; using metric-compatible Liberation Sans" in issue.message
    assert "upload the font (TTF/OTF)" in issue.message  # the fix


def test_a_removed_workspace_font_falls_back_with_a_warning(
    db: Database, ws_id: int, owner: Actor, files: Path
) -> None:
    font = renamed_font(fonts_dir(files, ws_id) / "ShopScript.ttf", "Shop Script")
    forget_font_registries()
    toml = TINY_TOML.replace('label = "Brand"', 'label = "Brand"\nfont = "Shop Script"')
    job_id = tiny_job(db, ws_id, owner, files, [{"name": "Li Wei", "brand": "Acme"}], toml)
    assert only(preflight(db, job_id, owner, files), "MISSING_FONT") == []
    font.unlink()  # the shop removed the font it uploaded
    forget_font_registries()
    (issue,) = only(preflight(db, job_id, owner, files), "MISSING_FONT")
    assert "Shop Script is not installed; using the workspace default DejaVu Sans" in issue.message


def test_one_item_can_carry_several_issues_sorted_by_severity(
    db: Database, ws_id: int, owner: Actor, files: Path
) -> None:
    values = [{"name": PEMBERTON, "note": "one two three four five six seven", "brand": "Zoë 🏆"}]
    job_id = tiny_job(db, ws_id, owner, files, values)
    report = preflight(db, job_id, owner, files)
    assert [(i.severity, i.code, i.field) for i in report.issues] == [
        ("error", "MISSING_GLYPH", "brand"),
        ("error", "OVERFLOW", "name"),
        ("error", "OVERFLOW", "note"),
        ("warning", "LONG_TEXT", "note"),
        ("info", "SPECIAL_CHAR", "brand"),
    ]
    assert (report.errors, report.warnings, report.infos) == (3, 1, 1)


# -- what run_preflight stores and logs -----------------------------------------------------------------


def test_results_are_stored_counted_and_logged(db: Database, ws_id: int, owner: Actor, files: Path) -> None:
    job_id = tiny_job(
        db, ws_id, owner, files, [{"name": PEMBERTON}, {"name": "Zoë Müller", "brand": "Acme Corporation"}]
    )
    report = preflight(db, job_id, owner, files)
    job = get_job(db, job_id)
    assert (job.preflight_errors, job.preflight_warnings, job.preflight_infos) == (1, 1, 1)
    assert job.preflight_ran_at is not None and job.preflight_errors_since == job.preflight_ran_at
    with db.read() as s:
        rows = stored_issues(s, job)
    assert [(r.code, r.severity, r.item_id, r.field_key, r.message) for r in rows] == [
        (i.code, i.severity, i.item_id, i.field, i.message) for i in report.issues
    ]
    assert [r.code for r in rows] == ["OVERFLOW", "SHRINK_WARNING", "SPECIAL_CHAR"]
    done = last_event(db, job_id, Event.PREFLIGHT_COMPLETED)
    assert (done.details["errors"], done.details["warnings"], done.details["infos"]) == (1, 1, 1)
    assert done.details["top"][0] == {
        "severity": "error",
        "code": "OVERFLOW",
        "item": 1,
        "field": "name",
        "message": report.issues[0].message,
    }
    assert done.actor_id == "U_OWNER"

    since = job.preflight_errors_since
    preflight(db, job_id, owner, files)  # still failing: the errors are as old as they were
    job = get_job(db, job_id)
    assert job.preflight_errors_since == since and job.preflight_ran_at > since
    with db.read() as s:
        assert len(stored_issues(s, job)) == 3  # replaced, not added to

    first = job_items(db, job_id)[0]
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), first.id, owner, {"name": "Alex Hughes"})
    assert get_job(db, job_id).preflight_ran_at is None  # stale until it runs again
    report = preflight(db, job_id, owner, files)
    job = get_job(db, job_id)
    assert (report.errors, job.preflight_errors, job.preflight_errors_since) == (0, 0, None)
    with db.read() as s:
        assert [r.code for r in stored_issues(s, job)] == ["SHRINK_WARNING", "SPECIAL_CHAR"]
        assert s.exec(select(PreflightIssue).where(col(PreflightIssue.item_id) == first.id)).all() == []


def test_check_job_stores_nothing(db: Database, ws_id: int, owner: Actor, files: Path) -> None:
    job_id = tiny_job(db, ws_id, owner, files, [{"name": PEMBERTON}])
    with db.read() as s:
        report = check_job(s, s.get(Job, job_id), files)
    assert report.errors == 1
    job = get_job(db, job_id)
    assert (job.preflight_ran_at, job.preflight_errors) == (None, 0)
    with db.read() as s:
        assert stored_issues(s, job) == []


# -- moving the job on --------------------------------------------------------------------------------


def proofed(db: Database, ws_id: int, owner: Actor, runtime: Runtime, values: list[dict[str, str]]) -> int:
    job_id = tiny_job(db, ws_id, owner, runtime.settings.files_dir, values)
    generate_job_proofs(runtime, job_id, owner)
    return job_id


def test_a_clean_preflight_moves_an_approved_job_on_as_the_system(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, files: Path
) -> None:
    job_id = proofed(db, ws_id, owner, runtime, [{"name": "Li Wei"}, {"name": "Mo Chen"}])
    assert approve_by_phone(db, job_id, owner) == S.APPROVED  # preflight has not run yet
    preflight(db, job_id, owner, files)
    assert get_job(db, job_id).status == S.PRODUCTION_READY
    assert status_moves(db, job_id)[-1] == ("approved", "production_ready", "system")


def test_errors_never_let_a_job_reach_production_ready(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, files: Path
) -> None:
    job_id = proofed(db, ws_id, owner, runtime, [{"name": PEMBERTON}])
    assert approve_by_phone(db, job_id, owner) == S.APPROVED
    report = preflight(db, job_id, owner, files)
    assert report.errors == 1
    assert get_job(db, job_id).status == S.APPROVED
    assert status_moves(db, job_id)[-1][1] == "approved"
    with db.read() as s:
        why = lifecycle.check(s, s.get(Job, job_id), S.PRODUCTION_READY, SYSTEM)
    assert why == "preflight has 1 error: fix it first"


def test_skipped_approval_goes_on_once_preflight_is_clean(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, files: Path
) -> None:
    job_id = proofed(db, ws_id, owner, runtime, [{"name": PEMBERTON}])
    preflight(db, job_id, owner, files)
    with db.session() as s:
        offline.skip_approval(s, s.get(Job, job_id), owner, "rush order, agreed by phone")
    assert get_job(db, job_id).status == S.PROOFING  # one error: it waits
    first = job_items(db, job_id)[0]
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), first.id, owner, {"name": "Alex Hughes"})
    generate_job_proofs(runtime, job_id, owner)
    preflight(db, job_id, owner, files)
    assert get_job(db, job_id).status == S.PRODUCTION_READY
    assert status_moves(db, job_id)[-1] == ("proofing", "production_ready", "system")


def test_a_clean_proofing_job_without_approval_stays_in_proofing(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, files: Path
) -> None:
    job_id = proofed(db, ws_id, owner, runtime, [{"name": "Li Wei"}])
    assert preflight(db, job_id, owner, files).issues == []
    assert get_job(db, job_id).status == S.PROOFING


def test_preflight_judges_the_layout_the_proof_drew(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, files: Path
) -> None:
    job_id = proofed(db, ws_id, owner, runtime, [{"name": "Li Wei", "brand": "Acme Corporation"}])
    (item,) = job_items(db, job_id)
    brand = item.layout["fields"][4]
    assert brand["key"] == "brand"
    (issue,) = only(preflight(db, job_id, owner, files), "SHRINK_WARNING")
    assert f"shrunk to {brand['size']:g} pt" in issue.message
    # the numbers come from the stored layout itself, not from measuring again
    with db.session() as s:
        stored = s.get(Item, item.id)
        layout = dict(stored.layout)
        layout["fields"] = [dict(f) for f in layout["fields"]]
        layout["fields"][4].update(size=5.5, shrink_ratio=0.55)
        stored.layout = layout
    (issue,) = only(preflight(db, job_id, owner, files), "SHRINK_WARNING")
    assert "shrunk to 5.5 pt from 10 pt (45% smaller)" in issue.message
    # once the values change, that stored layout is no longer theirs: preflight lays the item out afresh
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), item.id, owner, {"brand": "Acme Corporation Intl"})
    (issue,) = only(preflight(db, job_id, owner, files), "SHRINK_WARNING")
    assert "shrunk to 5 pt from 10 pt (50% smaller)" in issue.message


def test_a_new_template_version_is_judged_by_its_own_fields(
    db: Database, ws_id: int, owner: Actor, files: Path
) -> None:
    job_id = tiny_job(db, ws_id, owner, files, [{"name": "Alexander Pemberton"}])
    assert only(preflight(db, job_id, owner, files), "OVERFLOW")
    import_tiny(db, ws_id, owner, files, TINY_TOML.replace("min_size = 10.0", "min_size = 6.0"))
    use_template(db, ws_id, job_id, owner, "tiny", files)
    report = preflight(db, job_id, owner, files)
    assert only(report, "OVERFLOW") == [] and only(report, "SHRINK_WARNING")


def test_a_report_checked_beforehand_is_used_only_when_nothing_changed_since(
    db: Database, ws_id: int, owner: Actor, files: Path
) -> None:
    """The check runs outside the write transaction (work.preflight_now); an item edited in between
    makes the stored result come from a fresh check, never from the stale one."""
    from pipeline.proofs.preflight import checked_as

    job_id = tiny_job(db, ws_id, owner, files, [{"name": "Li Wei"}, {"name": "Mo Chen"}])
    with db.read() as s:
        job = s.get(Job, job_id)
        clean = (check_job(s, job, files), checked_as(s, job))
    assert clean[0].errors == 0
    with db.session() as s:
        assert run_preflight(s, s.get(Job, job_id), owner, files, clean) is clean[0]  # nothing changed

    with db.read() as s:
        job = s.get(Job, job_id)
        before = (check_job(s, job, files), checked_as(s, job))
    item_id = job_items(db, job_id)[0].id
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), item_id, owner, {"name": PEMBERTON})
    with db.session() as s:
        report = run_preflight(s, s.get(Job, job_id), owner, files, before)
    assert report is not before[0] and [i.code for i in report.issues if i.severity == "error"] == [
        "OVERFLOW"
    ]
    assert get_job(db, job_id).preflight_errors == 1
