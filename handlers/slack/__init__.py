"""Slack listeners, one package or module per kind: commands, views (window submissions), actions
(buttons), home (the Home tab's event and controls). Each listener is a module-level function that
turns a payload into plain values, calls one use case in `pipeline.services` and answers; the runtime
and the member behind the request reach it through Bolt's context (see `context`)."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.installations import Installations, OneToken, WorkspaceAuthorize
from bot.slack_app import create_bolt_app
from handlers.slack import actions, commands, context, forms, home, installations, payloads, views
from pipeline.core.runtime import Runtime


def register(app: App, runtime: Runtime, installs: Installations | None = None) -> None:
    installations.register(app, installs)
    context.register(app, runtime)
    payloads.register(app)  # after the workspace is known: a request naming none is answered
    commands.register(app)
    actions.register(app)
    views.register(app)
    home.register(app)


def create_app(
    runtime: Runtime, client: WebClient | None = None, *, installs: Installations | None = None
) -> App:
    """The Bolt app with every listener; with the installable app, each request uses the token of its
    workspace's installation (`installs`, made here when not given)."""
    if runtime.settings.slack_oauth and installs is None:
        installs = Installations(runtime)
    authorize = WorkspaceAuthorize(installs) if installs is not None else None
    app = create_bolt_app(runtime, client, authorize)
    register(app, runtime, installs)
    # a parse started from a window turns it into the review step, in whichever process parsed
    runtime.after_parse = forms.review_shower(runtime, installs or OneToken(app.client))
    return app
