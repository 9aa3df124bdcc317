"""Slash commands: `/job` and `/template` read their subcommand and hand the rest to it; a use case's
refusal is answered ephemerally where the command was typed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks as B
from handlers.slack.commands import catalog, jobs
from handlers.slack.commands.command import Command
from pipeline.core.errors import CraftError


def job_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    _dispatch(Command.read(command, context, ack, client, respond, "help"), jobs.SUBCOMMANDS)


def template_command(
    ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    _dispatch(Command.read(command, context, ack, client, respond, "list"), catalog.SUBCOMMANDS)


def _dispatch(c: Command, subcommands: dict[str, Callable[[Command], None]]) -> None:
    handler = subcommands.get(c.words[0].lower())
    if handler is None:
        c.reply_blocks(*B.help_blocks(f"I don't know `{c.name} {c.words[0]}`."))
        return
    try:
        handler(c)
    except CraftError as exc:
        c.reply_blocks(*B.error_blocks(exc.message))


def register(app: App) -> None:
    app.command("/job")(job_command)
    app.command("/template")(template_command)
