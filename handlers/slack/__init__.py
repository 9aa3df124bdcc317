"""Slack listeners, one package or module per kind: commands, views (window submissions), actions
(buttons), home (the Home tab's event and controls). Each listener is a module-level function that
turns a payload into plain values, calls one use case in `pipeline.services` and answers; the runtime
and the member behind the request reach it through Bolt's context (see `context`)."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack_app import create_bolt_app
from handlers.slack import actions, commands, context, home, payloads, views
from pipeline.core.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    context.register(app, runtime)
    payloads.register(app)  # after the workspace is known: a request naming none is answered
    commands.register(app)
    actions.register(app)
    views.register(app)
    home.register(app)


def create_app(runtime: Runtime, client: WebClient | None = None) -> App:
    """The Bolt app with every listener."""
    app = create_bolt_app(runtime, client)
    register(app, runtime)
    return app
