"""CraftStage entry point: `python app.py --help` lists the commands."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipeline.core import logs
from pipeline.core.errors import CraftError
from pipeline.core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from sqlmodel.sql.expression import SelectOfScalar

    from pipeline.core.runtime import Runtime
    from storage.models import Workspace

log = logging.getLogger("craftstage")


class Stoppable(Protocol):
    def stop(self) -> None: ...


def _settings() -> Settings:
    settings = Settings.from_env()
    secrets = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.slack_client_secret,
            settings.slack_state_secret,
            settings.openai_api_key,
        )
        if s is not None
    ]
    if settings.smtp_url is not None:
        from pipeline.core.addresses import parse_smtp_url

        password = parse_smtp_url(settings.smtp_url.get_secret_value()).password
        secrets += [settings.smtp_url.get_secret_value(), *([password] if password else [])]
    logs.configure(settings.log_level, secrets)
    return settings


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def _runtime(settings: Settings, *, queue_connections: int = 4) -> Runtime:
    """The runtime of `serve` and `worker`: with CRAFTSTAGE_BACKGROUND=workers, tasks go on the queue."""
    from pipeline.core.runtime import build_runtime

    runtime = build_runtime(settings)
    if settings.background == "workers":
        from pipeline.background.queue import TaskQueue

        runtime.queue = TaskQueue(settings.effective_database_url, pool_size=queue_connections)
    return runtime


def _shut_down(runtime: Runtime, *services: Stoppable | None) -> None:
    """Stop what `serve` or `worker` started (in this order), then the runtime and the proof pool."""
    from pipeline.proofs.job import shutdown_pool

    for service in services:
        if service is not None:
            service.stop()
    runtime.close()
    shutdown_pool()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.scheduler import SchedulerService
    from bot.service import SlackService
    from handlers.slack import create_app
    from handlers.web import create_web_app
    from pipeline.background import slow_steps
    from pipeline.background.mailer import MailSender
    from pipeline.background.queue import TaskQueue

    settings = _settings()
    separate = settings.background == "workers"  # `python app.py worker` processes do the work
    # longer work (a proof run, or the approval page and the Home tab) shares this interpreter with the
    # acknowledgements: a shorter switch interval than the default 5 ms lets one through sooner
    sys.setswitchinterval(0.001)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    runtime = _runtime(settings)
    try:
        if isinstance(runtime.queue, TaskQueue):
            runtime.queue.open()
        # with separate workers, they send the thread replies and the customer emails
        slack = SlackService(runtime, create_app).start(sender=not separate)
    except SettingsError:  # a refused SLACK_APP_TOKEN: said in one sentence by main()
        runtime.close()
        raise
    recovery = None if separate else slow_steps.Recovery(runtime).start()
    scheduler = SchedulerService(runtime).start() if settings.scheduler else None
    mail = MailSender(runtime).start() if settings.mail_enabled and not separate else None
    roles = ["web", *([] if separate else ["worker"]), *(["scheduler"] if scheduler else [])]
    web = create_web_app(runtime, slack.http_app, slack.installs, roles=roles, slack_status=slack.status)
    log.info(
        "serving on http://%s:%s (database %s, slack %s, scheduler %s, email %s, background work %s)",
        host,
        port,
        "sqlite" if runtime.db.is_sqlite else "postgresql",
        ("socket mode" if settings.slack_app_token else ("http" if slack.http_app else "off"))
        + (", installable: /slack/install" if slack.installs else ""),
        "on" if scheduler else "off",
        mail.server.label if mail else ("by the workers" if separate and settings.mail_enabled else "off"),
        "queued for the workers" if separate else "in this process",
    )
    # uvicorn stops gracefully on SIGTERM, then raises the signal again to end the process; as an
    # exception (a clean exit: the stop was asked for) it lets the cleanup below run, which the
    # default action skipped, leaving the proof workers behind
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        # proxy_headers off: handlers/web/clients.py decides whose X-Forwarded-For to believe
        uvicorn.run(
            web,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
    finally:
        _shut_down(runtime, scheduler, mail, recovery, slack)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from bot.service import SlackService
    from handlers.slack import create_app
    from pipeline.background.mailer import MailSender
    from pipeline.background.queue import TaskQueue
    from pipeline.core.files import sweep_partial

    settings = _settings()
    if settings.background != "workers":
        raise SettingsError(
            "`worker` takes its work from the queue: set CRAFTSTAGE_BACKGROUND=workers (with DATABASE_URL "
            "on PostgreSQL) for it and for `serve`"
        )
    # the queue's connections: one listens for new jobs, one beats, one per task finishing or deferring
    runtime = _runtime(settings, queue_connections=args.concurrency + 3)
    assert isinstance(runtime.queue, TaskQueue)  # CRAFTSTAGE_BACKGROUND=workers
    sweep_partial(settings.files_dir)  # what a killed worker on this machine left half-written
    # the thread sender (one sends at a time across workers); Slack's requests go to `serve`
    slack = SlackService(runtime, create_app).start(listen=False)
    mail = MailSender(runtime).start() if settings.mail_enabled else None
    log.info("worker running %d task(s) at a time (stop with SIGTERM: it finishes what it has first)",
             args.concurrency)  # fmt: skip
    try:
        runtime.queue.work(runtime, concurrency=args.concurrency)
    finally:
        _shut_down(runtime, mail, slack)
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    import threading

    from bot.scheduler import SchedulerService
    from pipeline.background.mailer import MailSender
    from pipeline.core.runtime import build_runtime

    runtime = build_runtime(_settings())
    service = SchedulerService(runtime)
    mail = MailSender(runtime) if runtime.settings.mail_enabled else None
    try:
        if args.once:
            result, sent = service.run_once_and_send()
            emailed = sum(o.state == "sent" for o in mail.flush()) if mail else 0
            print(f"recorded {result.total} alert(s), sent {sent} Slack message(s) and {emailed} email(s)")
            return 0
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        service.start(sender=True)
        if mail is not None:
            mail.start()
        stop.wait()
        service.stop()
        if mail is not None:
            mail.stop()
    finally:
        runtime.close()
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import Database
    from storage.migrate import current, upgrade

    settings = _settings()
    db = Database(settings.effective_database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.action == "upgrade":
        upgrade(db)
    print(f"schema revision: {current(db)}")
    db.dispose()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.core.runtime import build_runtime
    from pipeline.services.demo import run_demo

    runtime = build_runtime(_settings())
    try:
        run_demo(
            runtime,
            out=print,
            template_key=args.template,
            order=Path(args.order) if args.order else None,
            output_format=args.format,
            text_mode=args.mode,
        )
    finally:
        runtime.close()
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    import json

    from pipeline.intake.items import ai_settings
    from pipeline.intake.parsing import ParseError, parse_order
    from pipeline.intake.parsing.files import MAX_FILE_BYTES

    settings = _settings()
    try:
        # one byte over the limit is enough for the size check to refuse it
        if args.file == "-":
            data, name = sys.stdin.buffer.read(MAX_FILE_BYTES + 1), "stdin.txt"
        else:
            with open(args.file, "rb") as fh:
                data, name = fh.read(MAX_FILE_BYTES + 1), os.path.basename(args.file)
        result = parse_order(data=data, filename=name, ai=ai_settings(settings))
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except ParseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    print(f"{len(result.items)} item(s), {result.engine} parser. {result.engine_note}")
    keys = list(dict.fromkeys(k for item in result.items for k in item.values))
    widths = {
        k: min(30, max([len(k)] + [len(item.values.get(k, "")) for item in result.items])) for k in keys
    }
    print("  #  conf  " + "  ".join(k.ljust(widths[k]) for k in keys) + "  reasons")
    for n, item in enumerate(result.items, 1):
        cells = "  ".join(item.values.get(k, "")[:30].ljust(widths[k]) for k in keys)
        flag = "*" if item.confidence < 0.85 else " "
        print(f"{n:3d}{flag} {item.confidence:.2f}  {cells}  {'; '.join(item.reasons)}")
    if result.skipped_lines:
        print(f"skipped {len(result.skipped_lines)} line(s):")
        for line in result.skipped_lines:
            print(f"   - {line}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.core.actors import SYSTEM
    from pipeline.core.runtime import build_runtime
    from pipeline.export.job import export_job
    from pipeline.jobs import jobs

    runtime = build_runtime(_settings())
    try:
        with runtime.db.session() as s:
            ws = s.exec(select_workspace(args.workspace)).first()
            if ws is None:
                print(f"error: no workspace {args.workspace or ''}".strip(), file=sys.stderr)
                return 1
            job = jobs.get_job(s, ws, args.job)
            result = export_job(
                s,
                ws,
                job,
                SYSTEM,
                profile_name=args.profile,
                output_format=args.format,
                text_mode=args.mode,
                files_dir=runtime.settings.files_dir,
            )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        target = out / Path(result.zip_path).name
        shutil.copyfile(result.zip_path, target)
        print(f"{job.ref}: {result.sheets} sheet(s) → {target}")
    finally:
        runtime.close()
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 64")
    return int(text)


def select_workspace(team_id: str | None) -> SelectOfScalar[Workspace]:
    from sqlmodel import col, select

    from storage.models import Workspace

    stmt = select(Workspace)
    return stmt.where(Workspace.slack_team_id == team_id) if team_id else stmt.order_by(col(Workspace.id))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="CraftStage: from a customer's messy order to a laser-ready file, driven from Slack.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("serve", help="run the web app (Slack endpoint, approval pages, /healthz)")
    p.add_argument("--host", help="address to listen on (default: $HOST, else 127.0.0.1)")
    p.add_argument("--port", type=_port, help="port to listen on (default: $PORT, else 8000)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("worker", help="run background work from the queue (CRAFTSTAGE_BACKGROUND=workers)")
    p.add_argument(
        "--concurrency", type=_count, default=2, metavar="N", help="tasks run at a time (default: 2)"
    )
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser(
        "scheduler", help="run the scheduler and the Slack sender without the web app (`serve` runs both too)"
    )
    p.add_argument("--once", action="store_true", help="scan once, send what is due, and exit")
    p.set_defaults(func=cmd_scheduler)
    p = sub.add_parser("demo", help="run the whole pipeline offline on a sample order (SQLite, no accounts)")
    p.add_argument(
        "--template", default="trophy-plate", metavar="KEY", help="sample template (default: trophy-plate)"
    )
    p.add_argument(
        "--order", metavar="FILE", help="order file: text, CSV, spreadsheet… (default: the sample email)"
    )
    p.add_argument(
        "--format",
        choices=["svg", "pdf", "dxf", "lbrn2"],
        help="export format (default: the profile's, SVG; lbrn2: a LightBurn project)",
    )
    p.add_argument("--mode", choices=["curves", "text"], help="text as curves or live text (default: curves)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("parse", help="parse an order file (or - for standard input) and print the items")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_parse)
    p = sub.add_parser("export", help="export a job's laser files (the job must be production ready)")
    p.add_argument("job", help="job number, e.g. J-1001")
    p.add_argument("--profile", required=True, help="machine profile name")
    p.add_argument("--format", choices=["svg", "pdf", "dxf", "lbrn2"])
    p.add_argument("--mode", choices=["text", "curves"])
    p.add_argument("--out", required=True, help="folder to copy the zip into")
    p.add_argument("--workspace", help="Slack team id (default: the first workspace)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser(
        "db", help="database schema: `db upgrade` applies migrations, `db current` shows the revision"
    )
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(func=cmd_db)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except CraftError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
