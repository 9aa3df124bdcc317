"""Getting items into a job on both databases: submit, parse, the review gate, editing single items."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, TransitionRefused
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.intake import items as item_flow
from pipeline.intake.items import (
    Input,
    accept_batch,
    ai_settings,
    discard_batch,
    edit_item,
    parse_into_batch,
    read_input,
    run_parse,
    submit_input,
)
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event
from storage.db import Database
from storage.models import (
    ApprovalDecision,
    Item,
    Job,
    JobStatus,
    ParseBatch,
    PreflightIssue,
    ProofStatus,
    ProofVersion,
    utcnow,
)
from tests.pipeline.pipeline_fixtures import (
    add_items,
    event_types,
    events,
    get_job,
    job_items,
    last_event,
    make_runtime,
    new_job,
    parse_result,
    status_moves,
)

S = JobStatus
ORDER = """Hi there,

Here is this year's list for the brass plates:

1. Maria Gonzalez - Head Coach
2. Nguyen, Linh - Team Captain
3. Zoë Müller

Cheers,
Rebecca
(555) 201-4433
"""


def submit(db: Database, job_id: int, actor: Actor, order: Input, files_dir: Path) -> Job:
    with db.session() as s:
        return submit_input(s, s.get(Job, job_id), actor, order, files_dir)


def batches(db: Database, job_id: int) -> list[ParseBatch]:
    with db.read() as s:
        return list(
            s.exec(select(ParseBatch).where(ParseBatch.job_id == job_id).order_by(col(ParseBatch.id)))
        )


def stage(db: Database, job_id: int, actor: Actor, *items: tuple[dict[str, str], float]) -> int:
    """A parsed batch waiting at the review gate (the job is in parsing); returns its id."""
    with db.session() as s:
        job = s.get(Job, job_id)
        if job.status != S.PARSING:
            submit_input(s, job, actor, Input(text="(the order)"), Path("/unused"))
        return parse_into_batch(s, job, actor, parse_result(*items)).id


def accept(db: Database, job_id: int, actor: Actor, batch_id: int, **kw: object) -> list[Item]:
    with db.session() as s:
        return accept_batch(s, s.get(Job, job_id), actor, batch_id, **kw)


def values_of(db: Database, job_id: int) -> list[dict[str, str]]:
    return [it.values for it in job_items(db, job_id)]


# -- submit_input -------------------------------------------------------------------------------------


def test_pasted_text_is_kept_and_moves_draft_to_parsing(db: Database, ws_id: int, member: Actor) -> None:
    job_id = new_job(db, ws_id, member)
    submit(db, job_id, member, Input(text=ORDER), Path("/unused"))
    job = get_job(db, job_id)
    assert job.status == S.PARSING
    assert (job.input_text, job.input_filename, job.last_error) == (ORDER, None, None)
    assert read_input(job) == Input(text=ORDER)
    assert event_types(db, job_id) == [Event.JOB_CREATED, Event.STATUS_CHANGED, Event.INPUT_SUBMITTED]
    assert status_moves(db, job_id) == [("draft", "parsing", "user")]
    submitted = last_event(db, job_id, Event.INPUT_SUBMITTED)
    assert submitted.details == {"source": "pasted text", "bytes": len(ORDER.encode())}
    assert submitted.actor_id == "U_MEMBER"


def test_an_uploaded_file_is_saved_under_the_files_folder(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    files_dir = tmp_path / "files"
    data = "Name,Title\nZoë Müller,Captain\nSeán O'Connor,Coach\n".encode()
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(data=data, filename="../../etc/Team List (final).csv"), files_dir)
    job = get_job(db, job_id)
    assert job.status == S.PARSING and job.input_text is None
    saved = Path(job.input_filename)
    assert saved.is_file() and saved.read_bytes() == data
    assert saved.resolve().is_relative_to((files_dir / "uploads" / f"job-{job_id}").resolve())
    assert saved.name.endswith("Team_List_final_.csv")
    again = read_input(job)
    assert (again.data, again.text, again.filename) == (data, None, "Team_List_final_.csv")
    assert last_event(db, job_id, Event.INPUT_SUBMITTED).details == {
        "source": "../../etc/Team List (final).csv",
        "bytes": len(data),
    }
    assert not list(tmp_path.rglob("*.part"))  # written atomically: no temporary file left


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (Input(text=""), "paste the order"),
        (Input(text="  \n\t "), "paste the order"),
        (Input(), "paste the order"),
        (Input(data=b"", filename="empty.csv"), "empty"),
        (Input(text="x" * (5 * 1024 * 1024 + 1)), "the limit is 5 MB"),
        (Input(data=b"a," * (3 * 1024 * 1024), filename="huge.csv"), "the limit is 5 MB"),
    ],
)
def test_unusable_input_is_refused_and_the_job_keeps_what_it_had(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, order: Input, message: str
) -> None:
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(text="Maria Gonzalez"), tmp_path)
    with db.session() as s:
        lifecycle.move(s, s.get(Job, job_id), S.DRAFT, owner, reason="cancelled")
    before = event_types(db, job_id)
    with pytest.raises(InvalidInput) as exc:
        submit(db, job_id, owner, order, tmp_path)
    assert message in exc.value.errors["order_text"]
    job = get_job(db, job_id)
    assert (job.status, job.input_text, job.input_filename) == (S.DRAFT, "Maria Gonzalez", None)
    assert event_types(db, job_id) == before
    assert not (tmp_path / "uploads").exists()


def test_more_input_moves_proofing_back_to_parsing_keeping_the_items(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = new_job(db, ws_id, owner)
    add_items(db, job_id, owner, [{"name": "Maria Gonzalez"}], tmp_path)
    assert get_job(db, job_id).status == S.PROOFING
    submit(db, job_id, owner, Input(text="Tom Whitaker"), tmp_path)
    job = get_job(db, job_id)
    assert (job.status, job.input_text) == (S.PARSING, "Tom Whitaker")
    assert values_of(db, job_id) == [{"name": "Maria Gonzalez"}]
    assert status_moves(db, job_id)[-1] == ("proofing", "parsing", "user")


def test_input_is_refused_while_the_customer_is_looking(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id = new_job(db, ws_id, owner)
    add_items(db, job_id, owner, [{"name": "Maria Gonzalez"}], tmp_path)
    with db.session() as s:
        for item in s.exec(select(Item).where(Item.job_id == job_id)):
            item.proof_status = ProofStatus.GENERATED
        lifecycle.move(s, s.get(Job, job_id), S.PENDING_APPROVAL, owner)
    with pytest.raises(TransitionRefused, match="pending_approval to parsing"):
        submit(db, job_id, owner, Input(text="Tom Whitaker"), tmp_path)
    assert get_job(db, job_id).status == S.PENDING_APPROVAL


# -- run_parse ----------------------------------------------------------------------------------------


def test_run_parse_puts_the_items_at_the_review_gate(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(text=ORDER), runtime.settings.files_dir)
    batch = run_parse(runtime, job_id, owner)
    assert batch is not None
    (stored,) = batches(db, job_id)
    assert (stored.id, stored.state, stored.engine) == (batch.id, "review", "rules")
    assert [it["values"]["name"] for it in stored.items] == ["Maria Gonzalez", "Linh Nguyen", "Zoë Müller"]
    assert stored.items[0]["values"]["title"] == "Head Coach"
    assert stored.items[1]["confidence"] < 0.85 and stored.items[1]["reasons"]  # reordered Last, First
    assert stored.items[1]["source_line"] == 6 and "Nguyen, Linh" in stored.items[1]["raw"]
    assert stored.columns[:2] == ["name", "title"]
    assert "Rebecca" in stored.skipped_lines and "(555) 201-4433" in stored.skipped_lines
    job = get_job(db, job_id)
    assert job.status == S.PARSING and job_items(db, job_id) == []  # nothing joins before the review
    parsed = last_event(db, job_id, Event.ITEMS_PARSED)
    assert parsed.details["batch_id"] == batch.id
    assert parsed.details["items"] == 3
    assert parsed.details["flagged"] == 1 and parsed.details["uncertain"] == 0
    assert parsed.details["skipped"] == len(stored.skipped_lines) >= 4
    assert parsed.details["engine"] == "rules" and "rule-based" in parsed.details["engine_note"]
    assert runtime.notifier.events(job_id) == [Event.ITEMS_PARSED]


def test_run_parse_reads_an_uploaded_spreadsheet(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    data = "\ufeffPlayer Name,Jersey #,Position\nZoë Müller,7,Striker\nАнна Иванова,10,Keeper\n".encode()
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(data=data, filename="roster.csv"), runtime.settings.files_dir)
    batch = run_parse(runtime, job_id, owner)
    assert batch is not None
    assert [it["values"]["player name"] for it in batch.items] == ["Zoë Müller", "Анна Иванова"]
    assert batches(db, job_id)[0].columns == ["player name", "jersey #", "position"]


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_parse_goes_back_keeping_the_input(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, existing: bool
) -> None:
    job_id = new_job(db, ws_id, owner)
    if existing:
        add_items(db, job_id, owner, [{"name": "Maria Gonzalez"}], runtime.settings.files_dir)
    text = "Thanks so much!\n\nCheers,\nRebecca\n"
    submit(db, job_id, owner, Input(text=text), runtime.settings.files_dir)
    assert run_parse(runtime, job_id, owner) is None
    job = get_job(db, job_id)
    assert job.status == (S.PROOFING if existing else S.DRAFT)
    assert job.input_text == text  # kept, so the shop can fix it and try again
    assert "no names or items" in job.last_error
    failed = last_event(db, job_id, Event.PARSE_FAILED)
    assert "no names or items" in failed.details["error"]
    assert status_moves(db, job_id)[-1] == ("parsing", job.status, "user")
    assert events(db, job_id)[-1].details["reason"] == "parsing failed; the input is kept"
    assert values_of(db, job_id) == ([{"name": "Maria Gonzalez"}] if existing else [])
    assert batches(db, job_id) == [] or all(b.state != "review" for b in batches(db, job_id))
    assert runtime.notifier.events(job_id)[-1] == Event.PARSE_FAILED
    # a new submission clears the error
    submit(db, job_id, owner, Input(text="Maria Gonzalez"), runtime.settings.files_dir)
    assert get_job(db, job_id).last_error is None


def test_a_binary_file_fails_cleanly(db: Database, ws_id: int, owner: Actor, runtime: Runtime) -> None:
    job_id = new_job(db, ws_id, owner)
    submit(
        db,
        job_id,
        owner,
        Input(data=bytes(range(256)) * 40, filename="names.csv"),
        runtime.settings.files_dir,
    )
    assert run_parse(runtime, job_id, owner) is None
    job = get_job(db, job_id)
    assert job.status == S.DRAFT and job.last_error
    assert Path(job.input_filename).is_file()  # the upload is kept


def test_an_upload_that_vanished_is_a_parse_failure_not_a_crash(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    submit(
        db, job_id, owner, Input(data=b"Name\nZo\xc3\xab\n", filename="names.csv"), runtime.settings.files_dir
    )
    Path(get_job(db, job_id).input_filename).unlink()
    assert run_parse(runtime, job_id, owner) is None
    job = get_job(db, job_id)
    assert job.status == S.DRAFT
    assert "no longer readable" in job.last_error
    assert "no longer readable" in last_event(db, job_id, Event.PARSE_FAILED).details["error"]


def test_too_many_items_is_a_parse_failure(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(item_flow, "MAX_ITEMS", 2)
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(text=ORDER), runtime.settings.files_dir)
    assert run_parse(runtime, job_id, owner) is None
    job = get_job(db, job_id)
    assert job.status == S.DRAFT
    assert "at most 2" in job.last_error
    assert batches(db, job_id) == []


def test_a_parse_that_finishes_after_a_cancel_is_dropped(
    db: Database, ws_id: int, owner: Actor, runtime: Runtime
) -> None:
    job_id = new_job(db, ws_id, owner)
    submit(db, job_id, owner, Input(text=ORDER), runtime.settings.files_dir)
    with db.session() as s:  # the shop cancels while the parser is still working
        discard_batch(s, s.get(Job, job_id), owner)
    assert run_parse(runtime, job_id, owner) is None
    assert get_job(db, job_id).status == S.DRAFT
    assert [b.state for b in batches(db, job_id)] in ([], ["discarded"])
    assert Event.ITEMS_PARSED not in event_types(db, job_id)


def test_a_new_parse_replaces_the_batch_waiting_for_review(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    first = stage(db, job_id, owner, ({"name": "Maria Gonzalez"}, 0.95))
    second = stage(db, job_id, owner, ({"name": "Tom Whitaker"}, 0.95))
    assert [(b.id, b.state) for b in batches(db, job_id)] == [(first, "discarded"), (second, "review")]
    with pytest.raises(NotFound, match="no parsed items waiting"):
        accept(db, job_id, owner, first)


# -- the review gate ----------------------------------------------------------------------------------

FLAGGED = (
    ({"name": "Maria Gonzalez", "title": "Head Coach"}, 0.95),
    ({"name": "Linh Nguyen"}, 0.7),
    ({"name": "Thanks Rebecca"}, 0.4),
    ({"name": "Zoë Müller"}, 0.85),
)


def test_flagged_items_must_be_acknowledged_or_fixed(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    batch_id = stage(db, job_id, owner, *FLAGGED)
    with pytest.raises(InvalidInput) as exc:
        accept(db, job_id, owner, batch_id)
    assert exc.value.errors["ack"] == "2 flagged item(s) still need a look: #2, #3"
    with pytest.raises(InvalidInput) as exc:
        accept(db, job_id, owner, batch_id, acknowledged=[1])
    assert exc.value.errors["ack"].endswith(": #3")
    # refused: nothing joined, the batch still waits, the job is still parsing
    assert job_items(db, job_id) == [] and batches(db, job_id)[0].state == "review"
    assert get_job(db, job_id).status == S.PARSING

    created = accept(db, job_id, owner, batch_id, acknowledged=[1], fixes={2: {"name": "Rebecca Stone"}})
    assert len(created) == 4
    got = job_items(db, job_id)
    assert [it.position for it in got] == [0, 1, 2, 3]
    assert [it.values["name"] for it in got] == [
        "Maria Gonzalez",
        "Linh Nguyen",
        "Rebecca Stone",
        "Zoë Müller",
    ]
    assert all(it.raw_values == it.values for it in got)
    assert [it.confidence for it in got] == [0.95, 0.7, 1.0, 0.85]
    assert [it.acknowledged for it in got] == [False, True, False, False]
    assert got[2].reasons[-1] == "edited at review by Olive Owner"
    assert all(it.proof_status == ProofStatus.PENDING and it.proof_version == 0 for it in got)
    assert batches(db, job_id)[0].state == "accepted"
    job = get_job(db, job_id)
    assert job.status == S.PROOFING and job.preflight_ran_at is None
    assert event_types(db, job_id)[-2:] == [Event.ITEMS_ACCEPTED, Event.STATUS_CHANGED]
    assert last_event(db, job_id, Event.ITEMS_ACCEPTED).details == {
        "added": 4,
        "total": 4,
        "batch_id": batch_id,
    }
    assert status_moves(db, job_id)[-1] == ("parsing", "proofing", "user")
    with pytest.raises(TransitionRefused):  # accepted once only: the job has moved on
        accept(db, job_id, owner, batch_id, acknowledge_all=True)
    assert len(job_items(db, job_id)) == 4


def test_acknowledge_all_lets_the_whole_batch_in(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    batch_id = stage(db, job_id, owner, *FLAGGED)
    accept(db, job_id, owner, batch_id, acknowledge_all=True)
    assert [it.acknowledged for it in job_items(db, job_id)] == [False, True, True, False]


def test_the_gate_refuses_bad_requests(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    batch_id = stage(db, job_id, owner, ({"name": "Maria Gonzalez"}, 0.95))
    with pytest.raises(InvalidInput) as exc:
        accept(db, job_id, owner, batch_id, mode="merge")
    assert "append or replace" in exc.value.errors["mode"]
    with pytest.raises(NotFound):
        accept(db, job_id, owner, batch_id + 100)
    other = new_job(db, ws_id, owner)
    stage(db, other, owner, ({"name": "B"}, 0.95))
    with pytest.raises(NotFound):  # another job's batch
        accept(db, other, owner, batch_id)
    assert job_items(db, other) == []
    assert job_items(db, job_id) == []


def test_append_adds_after_the_existing_items(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    accept(db, job_id, owner, stage(db, job_id, owner, ({"name": "A"}, 0.95), ({"name": "B"}, 0.95)))
    batch_id = stage(db, job_id, owner, ({"name": "C"}, 0.95))
    accept(db, job_id, owner, batch_id, mode="append")
    got = job_items(db, job_id)
    assert [(it.position, it.values["name"]) for it in got] == [(0, "A"), (1, "B"), (2, "C")]
    assert last_event(db, job_id, Event.ITEMS_ACCEPTED).details == {
        "added": 1,
        "total": 3,
        "batch_id": batch_id,
    }
    assert status_moves(db, job_id)[-2:] == [("proofing", "parsing", "user"), ("parsing", "proofing", "user")]


def test_replace_removes_old_items_with_their_proofs_decisions_and_issues(
    db: Database, ws_id: int, owner: Actor
) -> None:
    job_id = new_job(db, ws_id, owner)
    bystander = new_job(db, ws_id, owner)
    for jid in (job_id, bystander):
        accept(db, jid, owner, stage(db, jid, owner, ({"name": "A"}, 0.95), ({"name": "B"}, 0.95)))
    with db.session() as s:  # what old items collect: proof versions, decisions, preflight issues
        for item in s.exec(select(Item)):
            s.add(
                ProofVersion(item_id=item.id, version=1, input_hash="h", pdf_path="p.pdf", png_path="p.png")
            )
            s.add(ApprovalDecision(item_id=item.id, proof_version=1, decision="approved", via="phone"))
            s.add(
                PreflightIssue(
                    job_id=item.job_id, item_id=item.id, code="SPECIAL_CHAR", severity="info", message="m"
                )
            )
    old_ids = {it.id for it in job_items(db, job_id)}
    batch_id = stage(db, job_id, owner, ({"name": "C"}, 0.95))
    accept(db, job_id, owner, batch_id, mode="replace")
    got = job_items(db, job_id)
    assert [(it.position, it.values) for it in got] == [(0, {"name": "C"})]
    assert not old_ids & {it.id for it in got}
    with db.read() as s:
        for table in (ProofVersion, ApprovalDecision, PreflightIssue):
            left = s.exec(select(table).where(col(table.item_id).in_(old_ids))).all()
            assert left == [], table
        bystander_ids = [it.id for it in job_items(db, bystander)]
        assert (
            len(s.exec(select(ProofVersion).where(col(ProofVersion.item_id).in_(bystander_ids))).all()) == 2
        )
    replaced = last_event(db, job_id, Event.ITEMS_REPLACED)
    assert replaced.details == {"removed": 2, "added": 1, "batch_id": batch_id}
    assert replaced.actor_id == "U_OWNER"
    assert Event.ITEMS_ACCEPTED in event_types(db, job_id)  # the first batch was appended
    assert get_job(db, job_id).status == S.PROOFING
    assert len(job_items(db, bystander)) == 2


def test_discard_goes_back_to_draft_or_proofing(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    batch_id = stage(db, job_id, owner, ({"name": "A"}, 0.95))
    with db.session() as s:
        discard_batch(s, s.get(Job, job_id), owner)
    assert get_job(db, job_id).status == S.DRAFT
    assert [b.state for b in batches(db, job_id)] == ["discarded"]
    assert events(db, job_id)[-1].details["reason"] == "parsing was cancelled"
    with pytest.raises(TransitionRefused):
        accept(db, job_id, owner, batch_id)
    with db.session() as s:  # parsing again: the discarded batch is gone for good
        submit_input(s, s.get(Job, job_id), owner, Input(text="A"), Path("/unused"))
    with pytest.raises(NotFound):
        accept(db, job_id, owner, batch_id)

    accept(db, job_id, owner, stage(db, job_id, owner, ({"name": "A"}, 0.95)))
    stage(db, job_id, owner, ({"name": "B"}, 0.95))
    with db.session() as s:
        discard_batch(s, s.get(Job, job_id), owner)
    assert get_job(db, job_id).status == S.PROOFING
    assert values_of(db, job_id) == [{"name": "A"}]


def test_a_batch_cannot_join_a_job_that_left_parsing(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    batch_id = stage(db, job_id, owner, ({"name": "A"}, 0.95))
    with db.session() as s:  # e.g. a cancel that raced the parser
        lifecycle.move(s, s.get(Job, job_id), S.DRAFT, owner, reason="cancelled")
    with pytest.raises(TransitionRefused, match="draft"):
        accept(db, job_id, owner, batch_id)
    assert job_items(db, job_id) == [] and get_job(db, job_id).status == S.DRAFT


# -- editing an item ----------------------------------------------------------------------------------


def proofed_job(db: Database, ws_id: int, actor: Actor, tmp_path: Path, status: str) -> tuple[int, list[int]]:
    """A job whose two items have approved proofs, moved on to `status`."""
    job_id = new_job(db, ws_id, actor)
    add_items(db, job_id, actor, [{"name": "Maria Gonzalez"}, {"name": "Tom Whitaker"}], tmp_path)
    with db.session() as s:
        job = s.get(Job, job_id)
        for item in s.exec(select(Item).where(Item.job_id == job_id)):
            item.proof_status, item.proof_version = ProofStatus.APPROVED, 1
        job.preflight_ran_at, job.preflight_errors = utcnow(), 0
        path = {
            S.PROOFING: [],
            S.APPROVED: [S.PENDING_APPROVAL, S.APPROVED],
            S.PRODUCTION_READY: [S.PENDING_APPROVAL, S.APPROVED, S.PRODUCTION_READY],
            S.EXPORTED: [S.PENDING_APPROVAL, S.APPROVED, S.PRODUCTION_READY, S.EXPORTED],
        }[status]
        for to in path:
            lifecycle.move(s, job, to, actor)
    return job_id, [it.id for it in job_items(db, job_id)]


@pytest.mark.parametrize("status", [S.APPROVED, S.PRODUCTION_READY, S.EXPORTED])
def test_editing_an_item_lapses_its_approval_and_reopens_proofing(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path, status: str
) -> None:
    job_id, (first, second) = proofed_job(db, ws_id, owner, tmp_path, status)
    with db.session() as s:
        item = edit_item(s, s.get(Job, job_id), first, owner, {"name": "  Maria González ", "title": None})
    assert item.values == {"name": "Maria González", "title": ""}
    got = {it.id: it for it in job_items(db, job_id)}
    assert got[first].values == {"name": "Maria González", "title": ""}
    assert got[first].raw_values == {"name": "Maria Gonzalez"}  # the parsed value stays
    assert got[first].proof_status == ProofStatus.PENDING
    assert got[second].proof_status == ProofStatus.APPROVED  # only the changed item lapses
    job = get_job(db, job_id)
    assert job.status == S.PROOFING and job.preflight_ran_at is None
    edited = last_event(db, job_id, Event.ITEM_EDITED)
    assert edited.details == {
        "item_id": first,
        "position": 1,
        "values": {"name": "Maria González", "title": ""},
    }
    assert status_moves(db, job_id)[-1] == (status, "proofing", "user")
    assert events(db, job_id)[-1].details["reason"] == "item 1 was edited"


def test_an_edit_that_changes_nothing_is_not_logged(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id, (first, _) = proofed_job(db, ws_id, owner, tmp_path, S.APPROVED)
    before = event_types(db, job_id)
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), first, owner, {"name": "Maria Gonzalez "})
    assert event_types(db, job_id) == before
    assert get_job(db, job_id).status == S.APPROVED
    assert job_items(db, job_id)[0].proof_status == ProofStatus.APPROVED


def test_a_completed_job_is_not_changed_until_it_is_reopened(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    job_id, (first, _) = proofed_job(db, ws_id, owner, tmp_path, S.EXPORTED)
    with db.session() as s:
        lifecycle.move(s, s.get(Job, job_id), S.COMPLETED, owner)
    before = event_types(db, job_id)
    with pytest.raises(InvalidInput) as exc, db.session() as s:
        edit_item(s, s.get(Job, job_id), first, owner, {"name": "Maria González"})
    assert exc.value.errors["job"] == "J-1001 is completed: an owner or admin reopens it before it changes"
    assert job_items(db, job_id)[0].values == {"name": "Maria Gonzalez"}
    assert event_types(db, job_id) == before and get_job(db, job_id).status == S.COMPLETED
    with db.session() as s:
        lifecycle.move(s, s.get(Job, job_id), S.PROOFING, owner, reason="reopened")
        edit_item(s, s.get(Job, job_id), first, owner, {"name": "Maria González"})
    assert job_items(db, job_id)[0].proof_status == ProofStatus.PENDING


def test_edit_refusals(db: Database, ws_id: int, owner: Actor, tmp_path: Path) -> None:
    job_id, (first, _) = proofed_job(db, ws_id, owner, tmp_path, S.PROOFING)
    other, (foreign, _) = proofed_job(db, ws_id, owner, tmp_path, S.PROOFING)
    with pytest.raises(InvalidInput) as exc, db.session() as s:
        edit_item(s, s.get(Job, job_id), first, owner, {"name": "x" * 1001})
    assert "1,001 characters" in exc.value.errors["name"]
    with pytest.raises(NotFound, match="has no item"), db.session() as s:
        edit_item(s, s.get(Job, job_id), foreign, owner, {"name": "Someone"})
    assert job_items(db, job_id)[0].values == {"name": "Maria Gonzalez"}
    assert job_items(db, other)[0].values == {"name": "Maria Gonzalez"}


def test_editing_a_low_confidence_item_settles_its_confidence(db: Database, ws_id: int, owner: Actor) -> None:
    job_id = new_job(db, ws_id, owner)
    accept(db, job_id, owner, stage(db, job_id, owner, ({"name": "Nguyen Linh"}, 0.6)), acknowledge_all=True)
    (item,) = job_items(db, job_id)
    with db.session() as s:
        edit_item(s, s.get(Job, job_id), item.id, owner, {"name": "Linh Nguyen"})
    assert job_items(db, job_id)[0].confidence == 0.85


# -- AI settings --------------------------------------------------------------------------------------


def test_ai_settings_follow_the_configuration(tmp_path: Path) -> None:
    assert ai_settings(Settings(data_dir=tmp_path)) is None
    ai = ai_settings(
        Settings(
            data_dir=tmp_path,
            openai_api_key="sk-test-123456789",
            openai_base_url="http://127.0.0.1:9/v1",
            openai_model="gpt-test",
            openai_timeout=4.5,
        )
    )
    assert ai is not None
    assert (ai.api_key, ai.base_url, ai.model, ai.timeout) == (
        "sk-test-123456789",
        "http://127.0.0.1:9/v1",
        "gpt-test",
        4.5,
    )


def test_run_parse_uses_the_configured_ai_and_says_when_it_fell_back(
    db: Database, ws_id: int, owner: Actor, tmp_path: Path
) -> None:
    # an endpoint nobody listens on: the AI parser fails fast and the rules take over, saying so
    rt = make_runtime(
        db, tmp_path / "data", openai_api_key="sk-test-123456789", openai_base_url="http://127.0.0.1:9/v1",
        openai_timeout=2.0,
    )  # fmt: skip
    try:
        job_id = new_job(db, ws_id, owner)
        submit(db, job_id, owner, Input(text=ORDER), rt.settings.files_dir)
        batch = run_parse(rt, job_id, owner)
        assert batch is not None and batch.engine == "rules"
        assert "AI parser failed (could not connect" in batch.engine_note  # says why the rules ran
        assert len(batch.items) == 3
        parsed = last_event(db, job_id, Event.ITEMS_PARSED)
        assert parsed.details["engine"] == "rules" and parsed.details["engine_note"] == batch.engine_note
    finally:
        rt.workers.shutdown(wait=True)
