"""Proofs for a job on both databases: only what changed is rendered, every version is kept, the files
are opened and checked (PDF page size and text, PNG size), and the stored layout is the one drawn."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image
from sqlmodel import col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.intake.items import edit_item
from pipeline.jobs.activity import Event
from pipeline.proofs import job as job_proofs
from pipeline.proofs.inputs import task_input_hash
from pipeline.proofs.job import generate_job_proofs, item_layout
from pipeline.rendering.layout import layout_item
from pipeline.rendering.model import ItemLayout
from pipeline.templates import catalog
from pipeline.templates.workspace_fonts import fonts_dir, registry_for
from storage.db import Database
from storage.models import Job, ProofStatus, ProofVersion, Workspace
from tests.pipeline.conftest_layout import DEJAVU_DIR, renamed_font
from tests.pipeline.pipeline_fixtures import (
    TINY_TOML,
    event_types,
    forget_font_registries,
    get_job,
    import_tiny,
    job_items,
    job_with_items,
    last_event,
    new_job,
    use_template,
)

pytestmark = pytest.mark.usefixtures("stop_the_proof_pool", "fresh_font_registries")
PEOPLE = [
    {"name": "Zoë Müller", "title": "Team Captain"},
    {"name": "Анна Иванова", "title": "Head Coach"},
    {"name": "Seán O'Connor", "title": "Golden Boot"},
    {"name": "Chidi Okafor", "title": "Rookie of the Year"},
]


def files(rt: Runtime) -> Path:
    return rt.settings.files_dir


def proof_versions(db: Database, item_id: int) -> list[ProofVersion]:
    with db.read() as s:
        stmt = select(ProofVersion).where(ProofVersion.item_id == item_id).order_by(col(ProofVersion.version))
        return list(s.exec(stmt))


def template_and_registry(db: Database, rt: Runtime, job_id: int):
    with db.read() as s:
        job = s.get(Job, job_id)
        _, template = catalog.job_template(s, job)
        return template, registry_for(s.get(Workspace, job.workspace_id), files(rt))


def pdf_text(path: str | Path) -> tuple[list[tuple[float, float]], str]:
    with pdfplumber.open(path) as doc:
        return [(p.width, p.height) for p in doc.pages], "\n".join(p.extract_text() or "" for p in doc.pages)


def edit(db: Database, job_id: int, item_id: int, actor: Actor, **values: str) -> None:
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), item_id, actor, values)


def test_a_job_gets_true_size_proofs_and_a_proof_sheet(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:2])
    progress: list[tuple[int, int]] = []
    run = generate_job_proofs(runtime, job_id, owner, progress=lambda d, t: progress.append((d, t)))
    assert (run.generated, run.skipped, run.failed, run.total) == (2, 0, [], 2)
    assert progress[-1] == (2, 2)
    template, registry = template_and_registry(db, runtime, job_id)
    job = get_job(db, job_id)
    for item, person in zip(job_items(db, job_id), PEOPLE, strict=False):
        assert (item.proof_status, item.proof_version) == (ProofStatus.GENERATED, 1)
        assert item.proof_input_hash == task_input_hash(template, item.values, registry)
        # the layout the proof drew is stored with the item
        assert ItemLayout.from_dict(item.layout) == layout_item(template, item.values, registry=registry)
        (pv,) = proof_versions(db, item.id)
        assert (pv.version, pv.input_hash, pv.template_version_id) == (
            1,
            item.proof_input_hash,
            job.template_version_id,
        )
        sizes, text = pdf_text(pv.pdf_path)
        assert sizes == [(216, 72)]  # 3 x 1 in, true size
        assert person["name"] in text and person["title"] in text
        with Image.open(pv.png_path) as im:
            assert im.size == (450, 150)  # inches x 150 dpi
        assert Path(pv.pdf_path).parent == files(runtime) / "proofs" / f"job-{job_id}"
    event = last_event(db, job_id, Event.PROOFS_GENERATED)
    assert event.details == {
        "generated": 2,
        "skipped": 0,
        "failed": 0,
        "total": 2,
        "sheet_path": run.sheet_path,
        "preview_path": run.preview_path,
    }
    sizes, text = pdf_text(run.sheet_path)
    assert sizes == [(612, 792)]
    for needle in ("J-1001", "Rebecca Stone", "#1", "#2", "Zoë Müller", "Анна Иванова", "Head Coach"):
        assert needle in text
    with Image.open(run.preview_path) as im:
        assert im.format == "PNG" and im.size == (935, 1210)  # the first page at 110 dpi
        assert im.convert("L").getextrema()[0] < 100  # something dark is drawn
    assert runtime.notifier.events(job_id) == [Event.PROOFS_GENERATED]


def test_unchanged_items_are_not_rendered_again(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:2])
    first = generate_job_proofs(runtime, job_id, owner)
    before = {it.id: (it.proof_version, proof_versions(db, it.id)) for it in job_items(db, job_id)}
    again = generate_job_proofs(runtime, job_id, owner)
    assert (again.generated, again.skipped, again.total) == (0, 2, 2)
    assert {it.id: (it.proof_version, proof_versions(db, it.id)) for it in job_items(db, job_id)} == before
    assert again.sheet_path != first.sheet_path and Path(again.sheet_path).is_file()  # a fresh sheet to post
    details = last_event(db, job_id, Event.PROOFS_GENERATED).details
    assert (details["generated"], details["skipped"]) == (0, 2)


def test_one_changed_item_of_many_is_the_only_one_rendered(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE)
    generate_job_proofs(runtime, job_id, owner)  # four items: the proof pool's workers draw them
    items = job_items(db, job_id)
    untouched = {
        it.id: (
            it.layout,
            it.proof_input_hash,
            Path(proof_versions(db, it.id)[0].pdf_path).stat().st_mtime_ns,
        )
        for it in items
        if it.position != 2
    }
    changed = items[2]
    edit(db, job_id, changed.id, owner, name="Seán Ó Conchúir")
    run = generate_job_proofs(runtime, job_id, owner)
    assert (run.generated, run.skipped) == (1, 3)
    after = {it.id: it for it in job_items(db, job_id)}
    assert after[changed.id].proof_version == 2 and after[changed.id].proof_status == ProofStatus.GENERATED
    assert after[changed.id].layout["fields"][0]["text"] == "Seán Ó Conchúir"
    old, new = proof_versions(db, changed.id)
    assert (old.version, new.version) == (1, 2) and old.input_hash != new.input_hash
    assert Path(old.pdf_path).is_file() and Path(old.png_path).is_file()  # old versions are kept
    assert "Seán O'Connor" in pdf_text(old.pdf_path)[1]
    assert "Seán Ó Conchúir" in pdf_text(new.pdf_path)[1]
    for item_id, (layout, digest, mtime) in untouched.items():
        assert (after[item_id].proof_version, after[item_id].layout, after[item_id].proof_input_hash) == (
            1,
            layout,
            digest,
        )
        (pv,) = proof_versions(db, item_id)
        assert Path(pv.pdf_path).stat().st_mtime_ns == mtime
    assert "Seán Ó Conchúir" in pdf_text(run.sheet_path)[1]  # the sheet shows the whole job as it is now


def test_a_new_template_version_renders_every_item_again(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    import_tiny(db, ws_id, owner, files(runtime))
    job_id = job_with_items(
        db, ws_id, owner, files(runtime), [{"name": "Li Wei"}, {"name": "Zoë Müller"}], template="tiny"
    )
    generate_job_proofs(runtime, job_id, owner)
    import_tiny(db, ws_id, owner, files(runtime), TINY_TOML.replace("x = 0.1\ny = 0.05", "x = 0.2\ny = 0.05"))
    use_template(db, ws_id, job_id, owner, "tiny", files(runtime))
    run = generate_job_proofs(runtime, job_id, owner)
    assert (run.generated, run.skipped) == (2, 0)
    job = get_job(db, job_id)
    for item in job_items(db, job_id):
        assert item.proof_version == 2
        assert [pv.template_version_id for pv in proof_versions(db, item.id)][-1] == job.template_version_id
        assert item.layout["fields"][0]["box"][0] == pytest.approx(0.2 * 72)


def test_a_changed_font_file_renders_again(db: Database, ws_id: int, owner: Actor, runtime: Runtime) -> None:
    font = fonts_dir(files(runtime), ws_id) / "ShopScript.ttf"
    renamed_font(font, "Shop Script")
    forget_font_registries()
    import_tiny(
        db,
        ws_id,
        owner,
        files(runtime),
        TINY_TOML.replace('label = "Brand"', 'label = "Brand"\nfont = "Shop Script"'),
    )
    job_id = job_with_items(
        db, ws_id, owner, files(runtime), [{"name": "Li Wei", "brand": "Acme"}], template="tiny"
    )
    generate_job_proofs(runtime, job_id, owner)
    (item,) = job_items(db, job_id)
    brand = item.layout["fields"][4]["font"]
    assert (brand["used_family"], brand["substituted"]) == ("Shop Script", False)
    # the shop uploads a new cut of the same family: same values, same template, new proof
    renamed_font(font, "Shop Script", source=DEJAVU_DIR / "DejaVuSerif.ttf")
    forget_font_registries()
    run = generate_job_proofs(runtime, job_id, owner)
    assert run.generated == 1
    (item,) = job_items(db, job_id)
    assert item.proof_version == 2
    assert item.layout["fields"][4]["font"]["sha256"] != brand["sha256"]


def test_selected_items_render_alone_without_a_sheet(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:2])
    generate_job_proofs(runtime, job_id, owner)
    first, second = job_items(db, job_id)
    edit(db, job_id, first.id, owner, title="Captain")
    edit(db, job_id, second.id, owner, title="Coach")
    run = generate_job_proofs(runtime, job_id, owner, item_ids={first.id})
    assert (run.generated, run.skipped, run.sheet_path) == (1, 1, None)
    (_, new) = proof_versions(db, first.id)
    assert run.preview_path == new.png_path
    after = {it.id: it for it in job_items(db, job_id)}
    assert after[first.id].proof_status == ProofStatus.GENERATED
    assert (after[second.id].proof_status, after[second.id].proof_version) == (ProofStatus.PENDING, 1)
    details = last_event(db, job_id, Event.PROOFS_GENERATED).details
    assert (details["sheet_path"], details["preview_path"]) == (None, new.png_path)


def test_proofs_need_a_template_and_items(db: Database, ws_id: int, owner: Actor, runtime: Runtime) -> None:
    no_template = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:1], template=None)
    with pytest.raises(InvalidInput, match="has no template yet"):
        generate_job_proofs(runtime, no_template, owner)
    no_items = new_job(db, ws_id, owner)
    use_template(db, ws_id, no_items, owner, "badge", files(runtime))
    with pytest.raises(InvalidInput, match="has no items yet"):
        generate_job_proofs(runtime, no_items, owner)


def test_item_layout_reuses_the_stored_layout_only_when_it_matches(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:1])
    generate_job_proofs(runtime, job_id, owner)
    template, registry = template_and_registry(db, runtime, job_id)
    (item,) = job_items(db, job_id)
    item.layout["fields"][0]["size"] = 11.5  # a marker: only the stored layout has it
    assert item_layout(item, template, registry).field("name").size == 11.5
    item.values = {**item.values, "name": "Zoë Müller-Lüdenscheidt"}  # other values: a fresh layout
    fresh = item_layout(item, template, registry)
    assert fresh == layout_item(template, item.values, registry=registry)
    assert fresh.field("name").text == "Zoë Müller-Lüdenscheidt"
    item.values = dict(PEOPLE[0])  # the same values, another template: a fresh layout
    other = dataclasses.replace(template, name="Badge, edited")
    assert item_layout(item, other, registry).template_hash == other.content_hash != template.content_hash
    # a stored layout that cannot be read (another format, damaged) is laid out again, never a crash
    damaged = [{"key": "name", "text": "Zoë Müller"}, {"key": "title", "text": "Team Captain"}]
    item.layout = {"template_hash": template.content_hash, "fields": damaged}
    assert item_layout(item, template, registry) == layout_item(template, item.values, registry=registry)


def test_an_item_edited_while_its_proof_renders_stays_pending(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:2])
    first, second = job_items(db, job_id)
    real = job_proofs.generate_proofs

    def slow_render(*args, **kwargs):
        results = real(*args, **kwargs)
        edit(db, job_id, first.id, owner, name="Zoë Schmidt")  # the shop fixes a typo meanwhile
        return results

    monkeypatch.setattr(job_proofs, "generate_proofs", slow_render)
    run = generate_job_proofs(runtime, job_id, owner)
    after = {it.id: it for it in job_items(db, job_id)}
    # the proof that was drawn shows the old name: it must not pass as the proof of the new one
    assert after[first.id].proof_status == ProofStatus.PENDING
    assert after[first.id].proof_version == 0 and proof_versions(db, first.id) == []
    assert after[second.id].proof_status == ProofStatus.GENERATED
    assert run.generated == 1
    monkeypatch.setattr(job_proofs, "generate_proofs", real)
    again = generate_job_proofs(runtime, job_id, owner)
    assert again.generated == 1
    assert "Zoë Schmidt" in pdf_text(proof_versions(db, first.id)[-1].pdf_path)[1]


def test_missing_artwork_fails_the_items_clearly(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = job_with_items(db, ws_id, owner, files(runtime), PEOPLE[:2])
    template, _ = template_and_registry(db, runtime, job_id)
    template.artwork_path().unlink()  # somebody cleaned up the data folder
    run = generate_job_proofs(runtime, job_id, owner)
    assert run.generated == 0 and len(run.failed) == 2
    assert all("artwork" in f and "missing" in f for f in run.failed)
    assert all(
        it.proof_status == ProofStatus.PENDING and it.proof_version == 0 for it in job_items(db, job_id)
    )
    details = last_event(db, job_id, Event.PROOFS_GENERATED).details
    assert (details["generated"], details["failed"]) == (0, 2)
    assert run.sheet_path is None and "artwork" in details["sheet_error"]


def test_a_run_cut_off_keeps_its_finished_batches_and_the_next_run_picks_up(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proofs are stored batch by batch: a run that dies part way (a crash; here an error from its
    progress report) keeps the batches it finished, and the next run draws only the rest."""
    monkeypatch.setattr(job_proofs, "STORE_EVERY", 3)
    people = [{"name": f"{p['name']} {i}", "title": p["title"]} for i, p in enumerate(PEOPLE * 2)]
    job_id = job_with_items(db, ws_id, owner, files(runtime), people[:7])

    class Crash(Exception):
        pass

    def progress(done: int, total: int) -> None:
        if done > 3:
            raise Crash

    with pytest.raises(Crash):
        generate_job_proofs(runtime, job_id, owner, progress=progress)
    stored = [it.proof_status for it in job_items(db, job_id)]
    assert stored.count(ProofStatus.GENERATED) == 3  # the first batch, committed before the crash
    assert Event.PROOFS_GENERATED not in event_types(db, job_id)  # the run did not finish

    again = generate_job_proofs(runtime, job_id, owner)
    assert (again.generated, again.skipped, again.total) == (4, 3, 7)
    assert {it.proof_version for it in job_items(db, job_id)} == {1}
