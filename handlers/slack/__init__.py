"""Slack listeners: each module wires Slack ids to thin functions that call one use case."""

from __future__ import annotations

from slack_bolt import App

from pipeline.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    from handlers.slack import actions, commands, context, email_link, events, payloads, templates, views

    context.register(app, runtime)
    payloads.register(app)  # after the workspace is known: a request naming none is answered
    commands.register(app, runtime)
    actions.register(app, runtime)
    views.register(app, runtime)
    events.register(app, runtime)
    templates.register(app, runtime)
    email_link.register(app, runtime)
