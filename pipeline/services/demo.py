"""`python app.py demo`: the product's main job, offline, on the embedded database.

A customer's messy email becomes items, the items are laid out on a sample template, proofed and
preflighted, an approval given by phone is recorded (with SMTP_URL set, the approval link is emailed to
the demo customer first), and the laser files are written. Any sample
template, any order file (pasted text, CSV, spreadsheet, Word… as the Slack upload takes them), and
any export format and text mode can be chosen, so every sample runs through the whole pipeline
without Slack; the output names every file it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline.approval import links, offline
from pipeline.approval.customer_mail import email_link
from pipeline.background.mailer import MailSender
from pipeline.core.actors import Actor
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.export.job import export_job
from pipeline.intake.items import Input, accept_batch, run_parse, submit_input
from pipeline.jobs import jobs
from pipeline.jobs.workspaces import actor_for, ensure_member, ensure_workspace
from pipeline.proofs.job import generate_job_proofs
from pipeline.proofs.preflight import run_preflight, stored_issues
from pipeline.templates import catalog
from pipeline.templates.template import sample_templates
from storage.models import Job, Workspace

DEMO_TEAM = "TDEMO"
ORDER = Path(__file__).resolve().parent.parent / "assets" / "samples" / "demo-order.txt"
TEMPLATE = "trophy-plate"
PROFILE = "CO2 600×400"


def run_demo(
    runtime: Runtime,
    out: Callable[[str], None] = print,
    *,
    template_key: str = TEMPLATE,
    order: Path | None = None,
    output_format: str | None = None,
    text_mode: str | None = None,
) -> str:
    """Walk one order through the whole pipeline; returns the job reference.

    ``order`` is an order file (default: the sample email); ``output_format`` and ``text_mode``
    default to the machine profile's (SVG, curves). Bad choices are refused before anything is made.
    """
    samples = sorted(sample_templates())
    if template_key not in samples:
        raise InvalidInput({"template": f"{template_key!r} is not a sample template: {', '.join(samples)}"})
    source = order or ORDER
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InvalidInput({"order": f"can't read {source}: {exc.strerror or exc}"}) from None
    order_input = (
        Input(text=data.decode("utf-8")) if order is None else Input(data=data, filename=source.name)
    )
    ref, job_id, ws_id, actor = _new_job(runtime)
    out(f"1. Created {ref} in 'Demo Trophy Shop' (status: draft)")
    _items(runtime, job_id, actor, order_input, source, out)
    _proofs(runtime, job_id, ws_id, actor, template_key, ref, out)
    if runtime.settings.mail_enabled:
        _email_link(runtime, job_id, actor, out)
    with runtime.db.session() as s:
        offline.record_offline_approval(
            s, s.get_one(Job, job_id), actor, "phone", "Rebecca approved all plates on the phone"
        )
        status = s.get_one(Job, job_id).status
    out(f"7. Recorded the customer's approval by phone (status: {status})")
    _export(runtime, job_id, ws_id, actor, output_format, text_mode, out)
    out(f"database: {runtime.settings.effective_database_url}")
    return ref


def _new_job(runtime: Runtime) -> tuple[str, int, int, Actor]:
    """Step 1: the demo shop, its owner and the customer's job."""
    with runtime.db.session() as s:
        ws = ensure_workspace(s, DEMO_TEAM, "Demo Trophy Shop")
        actor: Actor = actor_for(ensure_member(s, ws, "UDEMO", "Demo Owner"))
        job = jobs.create_job(
            s,
            ws,
            actor,
            customer_name="Rebecca (Lakeside Youth Soccer)",
            customer_email="rebecca@lakeside-soccer.example",
            reference="LYS-PLATES",
            notes="Brass plates, same size as last season.",
        )
        return job.ref, job.pk, ws.pk, actor


def _items(
    runtime: Runtime, job_id: int, actor: Actor, order_input: Input, source: Path, out: Callable[[str], None]
) -> None:
    """Steps 2 and 3: the order parsed, the flagged items acknowledged, the batch accepted."""
    with runtime.db.session() as s:
        submit_input(s, s.get_one(Job, job_id), actor, order_input, runtime.settings.files_dir)
    batch = run_parse(runtime, job_id, actor)
    if batch is None or not batch.items:
        raise InvalidInput({"order": f"no items could be read from {source.name}"})
    flagged = [i for i, it in enumerate(batch.items) if it["confidence"] < 0.85]
    out(
        f"2. Parsed {source.name} ({batch.engine} parser): {len(batch.items)} item(s), "
        f"{len(flagged)} flagged for review, {len(batch.skipped_lines)} line(s) skipped "
        "(greeting, signature …)"
    )
    for i in flagged:
        it = batch.items[i]
        out(f"   review #{i + 1}: {it['values'].get('name', '')!r} — {'; '.join(it['reasons'])}")
    with runtime.db.session() as s:
        accept_batch(s, s.get_one(Job, job_id), actor, batch.pk, acknowledge_all=True)
    out("3. Acknowledged the flagged items; the batch joined the job (status: proofing)")


def _proofs(
    runtime: Runtime,
    job_id: int,
    ws_id: int,
    actor: Actor,
    template_key: str,
    ref: str,
    out: Callable[[str], None],
) -> None:
    """Steps 4 to 6: template and mapping, proofs, preflight (errors stop the demo)."""
    files = runtime.settings.files_dir
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, ws_id)
        job = s.get_one(Job, job_id)
        tv = catalog.choose_template(s, ws, job, actor, template_key, files)
        template = catalog.template_of(tv)
        pairs = catalog.suggested_pairs(s, job, template)
        catalog.apply_mapping(s, job, actor, pairs)
    mapped = ", ".join(f"{p.column} → {p.field_key}" for p in pairs if p.field_key)
    out(f"4. Template '{template.name}' ({template.width:g}×{template.height:g} in); mapping: {mapped}")

    run = generate_job_proofs(runtime, job_id, actor, progress=_progress(out))
    out(f"5. Proofs: {run.generated} rendered (PDF + PNG each, under {files / 'proofs' / f'job-{job_id}'})")
    if run.sheet_path:
        out(f"   proof sheet: {run.sheet_path}")

    with runtime.db.session() as s:
        report = run_preflight(s, s.get_one(Job, job_id), actor, files)
        issues = stored_issues(s, s.get_one(Job, job_id))
    out(f"6. Preflight: {report.errors} error(s), {report.warnings} warning(s), {report.infos} info")
    for issue in issues:
        if issue.severity != "info" or issue.code == "COPYFIT_GROUP":  # the group: what sized the names
            out(f"   {issue.severity.upper()} {issue.code}: {issue.message}")
    if report.errors:
        raise InvalidInput(
            {
                "preflight": f"{ref} stops here: this order does not fit template {template_key!r} "
                f"({report.errors} preflight error(s) above); fix the order or choose another template"
            }
        )


def _export(
    runtime: Runtime,
    job_id: int,
    ws_id: int,
    actor: Actor,
    output_format: str | None,
    text_mode: str | None,
    out: Callable[[str], None],
) -> None:
    """Step 8: the job exported with the demo's machine profile."""
    with runtime.db.session() as s:
        ws = s.get_one(Workspace, ws_id)
        result = export_job(
            s,
            ws,
            s.get_one(Job, job_id),
            actor,
            profile_name=PROFILE,
            output_format=output_format,
            text_mode=text_mode,
            files_dir=runtime.settings.files_dir,
        )
        status = s.get_one(Job, job_id).status
    out(
        f"8. Exported for the laser (status: {status}): {result.output_format.upper()} "
        f"{result.text_mode}, {result.sheets} sheet(s) on profile {PROFILE!r}"
    )
    for note in result.warnings:
        out(f"   note: {note}")
    out(f"   zip: {result.zip_path}")
    for path in result.files:
        out(f"   - {path}")


def _email_link(runtime: Runtime, job_id: int, actor: Actor, out: Callable[[str], None]) -> None:
    """With SMTP_URL set: make the approval link and email it to the demo customer, now."""
    try:
        with runtime.db.session() as s:
            link = links.create_link(
                s, s.get_one(Job, job_id), actor, base_url=runtime.settings.public_base_url
            )
            queued = email_link(s, s.get_one(Job, job_id), link.url, actor, runtime.settings)
    except CraftError as exc:
        out(f"   (not emailed: {exc.message})")
        return
    sender = MailSender(runtime)
    outcomes = [o for o in sender.flush() if o.to == queued.to]
    if any(o.state == "sent" for o in outcomes):
        out(f"   Emailed the approval link to {queued.to} (accepted by {sender.server.label})")
    else:
        why = "; ".join(o.detail for o in outcomes) or "nothing was due"
        out(f"   The approval link was not emailed to {queued.to}: {why}")


def _progress(out: Callable[[str], None]) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if done == total:
            out(f"   proof {done} of {total}")

    return report
