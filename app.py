"""CraftStage entry point: `python app.py --help` lists the commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from pipeline import logs
from pipeline.errors import CraftError
from pipeline.settings import Settings, SettingsError

log = logging.getLogger("craftstage")


def _settings() -> Settings:
    settings = Settings.from_env()
    secrets = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.openai_api_key,
        )
        if s is not None
    ]
    logs.configure(settings.log_level, secrets)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from handlers.web import create_web_app
    from pipeline.runtime import build_runtime

    settings = _settings()
    runtime = build_runtime(settings)
    web = create_web_app(runtime)
    log.info(
        "serving on http://%s:%s (database %s)",
        settings.host,
        settings.port,
        "sqlite" if runtime.db.is_sqlite else "postgresql",
    )
    uvicorn.run(web, host=settings.host, port=settings.port, log_config=None, access_log=False)
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
    from pipeline.demo import run_demo
    from pipeline.runtime import build_runtime

    runtime = build_runtime(_settings())
    try:
        run_demo(runtime, out=print)
    finally:
        runtime.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="CraftStage: from a customer's messy order to a laser-ready file, driven from Slack.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("serve", help="run the web app (Slack endpoint, approval pages, /healthz)")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("demo", help="run the whole pipeline offline on a sample order (SQLite, no accounts)")
    p.set_defaults(func=cmd_demo)
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
