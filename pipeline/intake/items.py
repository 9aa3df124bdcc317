"""Getting items into a job: submit input, parse it, the review gate, and editing single items."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from pipeline.core import cleantext
from pipeline.core.actors import Actor
from pipeline.core.errors import InvalidInput, NotFound, TransitionRefused
from pipeline.core.files import safe_name, write_atomic
from pipeline.core.runtime import Runtime
from pipeline.core.settings import Settings
from pipeline.intake.parsing import AiSettings, parse_order
from pipeline.intake.parsing.model import ACCEPTED, ParseError, ParseResult
from pipeline.jobs import lifecycle
from pipeline.jobs.activity import Event, record
from pipeline.jobs.jobs import lock_job
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

log = logging.getLogger(__name__)
MAX_PASTE = 5 * 1024 * 1024
MAX_ITEMS = 10_000
S = JobStatus


@dataclass(frozen=True)
class Input:
    text: str | None = None
    data: bytes | None = None
    filename: str | None = None


def submit_input(session: Session, job: Job, actor: Actor, order: Input, files_dir: Path) -> Job:
    """Keep the order with the job and move it to parsing (draft → parsing, proofing → parsing)."""
    if order.data is None and not (order.text or "").strip():
        raise InvalidInput({"order_text": "paste the order or upload a file"})
    if order.data is not None and not order.data:
        raise InvalidInput({"order_text": "the uploaded file is empty: upload the order again"})
    if order.data is None:
        cleantext.check("order_text", order.text, allow="\r\n\t", label="The order")
    size = len(order.data) if order.data is not None else len((order.text or "").encode("utf-8", "replace"))
    if size > MAX_PASTE:
        raise InvalidInput({"order_text": f"the order is {size / 1e6:.1f} MB; the limit is 5 MB"})
    job = lock_job(session, job)
    if job.status != S.PARSING:
        lifecycle.move(session, job, S.PARSING, actor)
    if order.data is None:
        job.input_text, job.input_filename = order.text, None
    else:
        name = safe_name(order.filename or "order.txt")
        path = files_dir / "uploads" / f"job-{job.id}" / f"{utcnow():%Y%m%dT%H%M%S}-{name}"
        write_atomic(path, order.data)
        job.input_text, job.input_filename = None, str(path)
    job.last_error = None
    record(
        session,
        job.workspace_id,
        job.id,
        Event.INPUT_SUBMITTED,
        actor,
        source=order.filename or "pasted text",
        bytes=size,
    )
    return job


def read_input(job: Job) -> Input:
    """The order kept with the job (pasted text or the uploaded file's bytes)."""
    if job.input_filename:
        path = Path(job.input_filename)
        try:
            return Input(data=path.read_bytes(), filename=path.name.split("-", 1)[-1])
        except OSError as exc:
            raise ParseError(f"the uploaded file is no longer readable ({exc.strerror})") from exc
    return Input(text=job.input_text or "")


def run_parse(runtime: Runtime, job_id: int, actor: Actor) -> ParseBatch | None:
    """Parse the job's kept input (on a worker) and put the result at the review gate."""
    with runtime.db.read() as s:
        job = s.get_one(Job, job_id)
    try:
        order = read_input(job) if job.input_filename or job.input_text else Input(text="")
        result = parse_order(
            text=order.text, data=order.data, filename=order.filename, ai=ai_settings(runtime.settings)
        )
        if not result.items:
            raise ParseError("no names or items were found in the order")
        _check_size(result)
    except ParseError as exc:
        with runtime.db.session() as s:
            parse_failed(s, s.get_one(Job, job_id), actor, str(exc))
        runtime.notifier.job_changed(job_id, Event.PARSE_FAILED)
        return None
    with runtime.db.session() as s:
        job = lock_job(s, s.get_one(Job, job_id))
        if job.status != S.PARSING:  # cancelled (or failed) while the parser worked: drop the result
            log.info("%s left parsing while its order was parsed; the result is dropped", job.ref)
            return None
        batch = parse_into_batch(s, job, actor, result)
    runtime.notifier.job_changed(job_id, Event.ITEMS_PARSED)
    return batch


def _check_size(result: ParseResult) -> None:
    if len(result.items) > MAX_ITEMS:
        raise ParseError(f"the order has {len(result.items):,} items; one job takes at most {MAX_ITEMS:,}")


def parse_into_batch(session: Session, job: Job, actor: Actor, result: ParseResult) -> ParseBatch:
    """Store a parse result at the review gate and log "Items parsed"."""
    _check_size(result)
    items = [
        _flag_unclean({**it.to_json(), "source_line": it.source_line, "raw": it.raw[:500]})
        for it in result.items
    ]
    for old in session.exec(
        select(ParseBatch).where(ParseBatch.job_id == job.id, ParseBatch.state == "review")
    ):
        old.state = "discarded"
    batch = ParseBatch(
        job_id=job.pk,
        engine=result.engine,
        engine_note=result.engine_note,
        items=items,
        skipped_lines=[cleantext.flagged(line, allow="\t")[0] for line in result.skipped_lines[:2000]],
        columns=[cleantext.flagged(c)[0] if isinstance(c, str) else c for c in result.columns],
        created_by=actor.display,
    )
    session.add(batch)
    session.flush()
    counts = result.counts()
    record(
        session,
        job.workspace_id,
        job.id,
        Event.ITEMS_PARSED,
        actor,
        batch_id=batch.id,
        items=len(items),
        flagged=counts["review"] + counts["uncertain"],
        uncertain=counts["uncertain"],
        skipped=len(result.skipped),
        engine=result.engine,
        engine_note=result.engine_note,
    )
    return batch


def _flag_unclean(item: dict[str, Any]) -> dict[str, Any]:
    """A parsed item whose text holds control characters or lone surrogates goes to review, flagged
    with the reason (U+FFFD marks each such character: never stored as is, never dropped silently)."""
    values, reasons = {}, []
    for key, value in (item.get("values") or {}).items():
        if isinstance(value, str):
            value, what = cleantext.flagged(value)
            if what:
                reasons.append(f"{key} had {what} (shown as \ufffd); check it against the order")
        values[key] = value
    raw, _ = cleantext.flagged(str(item.get("raw") or ""), allow=cleantext.MULTILINE)
    if not reasons:
        return {**item, "raw": raw}
    return {
        **item,
        "values": values,
        "raw": raw,
        "reasons": [*item.get("reasons", []), *reasons],
        "confidence": min(float(item.get("confidence", 0)), ACCEPTED - 0.01),
    }


def parse_failed(session: Session, job: Job, actor: Actor, error: str) -> Job:
    """Parsing failed: keep the input, say why, and go back to a state the shop can act on."""
    job = lock_job(session, job)
    job.last_error = error[:2000]
    record(session, job.workspace_id, job.id, Event.PARSE_FAILED, actor, error=error[:500])
    if job.status == S.PARSING:
        back = S.PROOFING if lifecycle.item_count(session, job) else S.DRAFT
        lifecycle.move(session, job, back, actor, reason="parsing failed; the input is kept")
    return job


def pending_batch(session: Session, job: Job, batch_id: int | None = None) -> ParseBatch:
    stmt = select(ParseBatch).where(ParseBatch.job_id == job.id, ParseBatch.state == "review")
    if batch_id is not None:
        stmt = stmt.where(ParseBatch.id == batch_id)
    batch = session.exec(stmt.order_by(col(ParseBatch.id).desc())).first()
    if batch is None:
        raise NotFound(f"{job.ref} has no parsed items waiting for review (they may already be in the job).")
    return batch


def accept_batch(
    session: Session,
    job: Job,
    actor: Actor,
    batch_id: int,
    *,
    mode: str = "append",
    acknowledged: Iterable[int] = (),
    acknowledge_all: bool = False,
    fixes: dict[int, dict[str, str]] | None = None,
) -> list[Item]:
    """The review gate: every item under 0.85 must be acknowledged or fixed before the batch joins."""
    if mode not in ("append", "replace"):
        raise InvalidInput({"mode": "choose append or replace"})
    job = lock_job(session, job)
    if job.status != S.PARSING:
        raise TransitionRefused(
            f"{job.ref} is {job.status}: parsed items join a job only while it is parsing "
            "(submit the order again)."
        )
    batch = pending_batch(session, job, batch_id)
    fixes = _reviewed(batch, fixes, set(acknowledged), acknowledge_all)
    removed = 0
    if mode == "replace":
        removed = _remove_items(session, job)
    created = _add_items(session, job, batch, fixes, actor)
    batch.state = "accepted"
    session.flush()
    total = lifecycle.item_count(session, job)
    if mode == "replace":
        record(
            session,
            job.workspace_id,
            job.id,
            Event.ITEMS_REPLACED,
            actor,
            removed=removed,
            added=len(created),
            batch_id=batch.id,
        )
    else:
        record(
            session,
            job.workspace_id,
            job.id,
            Event.ITEMS_ACCEPTED,
            actor,
            added=len(created),
            total=total,
            batch_id=batch.id,
        )
    mark_items_changed(
        session, job, actor, reason="items were added" if mode == "append" else "items replaced"
    )
    if job.status == S.PARSING:
        lifecycle.move(session, job, S.PROOFING, actor)
    return created


def _reviewed(
    batch: ParseBatch, fixes: dict[int, dict[str, str]] | None, acked: set[int], acknowledge_all: bool
) -> dict[int, dict[str, str]]:
    """The review's fixes by item index, once every flagged item is acknowledged or fixed and every
    fix is clean text; refused otherwise."""
    fixes = {int(k): v for k, v in (fixes or {}).items()}
    for i, fix in fixes.items():
        for value in fix.values():
            if isinstance(value, str) and (what := cleantext.problem(value)) is not None:
                raise InvalidInput({f"fix:{i}": cleantext.message(f"The fix for item {i + 1}", what)})
    unresolved = [
        i + 1
        for i, it in enumerate(batch.items)
        if it["confidence"] < ACCEPTED and not acknowledge_all and i not in acked and i not in fixes
    ]
    if unresolved:
        shown = ", ".join(f"#{n}" for n in unresolved[:10]) + ("…" if len(unresolved) > 10 else "")
        raise InvalidInput({"ack": f"{len(unresolved)} flagged item(s) still need a look: {shown}"})
    if not batch.items:
        raise InvalidInput({"ack": "this batch has no items"})
    return fixes


def _add_items(
    session: Session, job: Job, batch: ParseBatch, fixes: dict[int, dict[str, str]], actor: Actor
) -> list[Item]:
    """The batch's items after the job's last one, with the review's fixes applied."""
    start = (
        session.exec(select(func.coalesce(func.max(Item.position), -1)).where(Item.job_id == job.id)).one()
        + 1
    )
    created = []
    for i, it in enumerate(batch.items):
        raw = dict(it["values"])
        reasons = list(it.get("reasons", []))
        confidence = it["confidence"]
        if i in fixes:
            raw.update({k: v for k, v in fixes[i].items() if v is not None})
            reasons.append(f"edited at review by {actor.display}")
            confidence = 1.0
        item = Item(
            job_id=job.pk,
            position=start + i,
            raw_values=raw,
            values=dict(raw),
            confidence=confidence,
            reasons=reasons,
            acknowledged=confidence < ACCEPTED,
        )
        session.add(item)
        created.append(item)
    return created


def discard_batch(session: Session, job: Job, actor: Actor) -> Job:
    job = lock_job(session, job)
    for batch in session.exec(
        select(ParseBatch).where(ParseBatch.job_id == job.id, ParseBatch.state == "review")
    ):
        batch.state = "discarded"
    if job.status == S.PARSING:
        back = S.PROOFING if lifecycle.item_count(session, job) else S.DRAFT
        lifecycle.move(session, job, back, actor, reason="parsing was cancelled")
    return job


def _remove_items(session: Session, job: Job) -> int:
    ids = list(session.exec(select(Item.id).where(Item.job_id == job.id)))
    if not ids:
        return 0
    session.execute(delete(ApprovalDecision).where(col(ApprovalDecision.item_id).in_(ids)))
    session.execute(delete(ProofVersion).where(col(ProofVersion.item_id).in_(ids)))
    session.execute(delete(PreflightIssue).where(col(PreflightIssue.item_id).in_(ids)))
    session.execute(delete(Item).where(col(Item.id).in_(ids)))
    return len(ids)


def mark_items_changed(session: Session, job: Job, actor: Actor, *, reason: str) -> None:
    """Items, mapping or template changed: preflight is stale and approvals lapse
    (docs/jobs.md, "What a change does")."""
    if job.status == S.COMPLETED:  # only an admin's reopen (completed → proofing) may change a done order
        raise InvalidInput({"job": f"{job.ref} is completed: an owner or admin reopens it before it changes"})
    job.preflight_ran_at = None
    job.updated_at = utcnow()
    if job.status in (S.APPROVED, S.PRODUCTION_READY, S.EXPORTED):
        lifecycle.move(session, job, S.PROOFING, actor, reason=reason)


def list_items(session: Session, job: Job) -> list[Item]:
    return list(session.exec(select(Item).where(Item.job_id == job.id).order_by(col(Item.position))))


def get_item(session: Session, job: Job, item_id: int) -> Item:
    item = session.get(Item, item_id)
    if item is None or item.job_id != job.id:
        raise NotFound(f"{job.ref} has no item {item_id}.")
    return item


def edit_item(session: Session, job: Job, item_id: int, actor: Actor, values: dict[str, Any]) -> Item:
    """Change an item's field values; its proof must be regenerated and its approval lapses."""
    job = lock_job(session, job)
    item = get_item(session, job, item_id)
    clean: dict[str, str] = {}
    for key, value in values.items():
        value = "" if value is None else str(value)
        if len(value) > 1000:
            raise InvalidInput({key: f"is {len(value):,} characters long; the limit is 1,000"})
        clean[key] = value.strip()
    cleantext.check_all(clean)
    if clean == {k: item.values.get(k, "") for k in clean}:
        return item
    item.values = {**item.values, **clean}
    item.proof_status = ProofStatus.PENDING
    item.confidence = max(item.confidence, ACCEPTED)
    item.updated_at = utcnow()
    record(
        session,
        job.workspace_id,
        job.id,
        Event.ITEM_EDITED,
        actor,
        item_id=item.id,
        position=item.position + 1,
        values=clean,
    )
    mark_items_changed(session, job, actor, reason=f"item {item.position + 1} was edited")
    return item


def ai_settings(settings: Settings) -> AiSettings | None:
    """The AI parser's settings, or None when no OpenAI key is configured (rule-based parser)."""
    if settings.openai_api_key is None:
        return None
    return AiSettings(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        model=settings.openai_model,
        timeout=settings.openai_timeout,
    )
