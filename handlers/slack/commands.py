"""`/job` and `/template`: parse the words, answer at once, hand slow work to the worker pool."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from handlers.slack import jobflow
from handlers.slack.context import Who
from handlers.slack.payloads import page_number
from pipeline import jobs, workspaces
from pipeline.errors import CraftError, InvalidInput
from pipeline.runtime import Runtime
from storage.models import JobStatus, Workspace

log = logging.getLogger(__name__)


@dataclass
class Command:
    runtime: Runtime
    who: Who
    words: list[str]
    ack: Ack
    client: WebClient
    respond: Respond
    trigger_id: str
    channel_id: str

    def reply(self, text: str) -> None:
        """An ephemeral answer in plain words (escaped here)."""
        self.ack(text=B.esc(text), blocks=[B.section(B.esc(text))], response_type="ephemeral")

    def reply_blocks(self, text: str, blocks: list[dict[str, Any]]) -> None:
        """An ephemeral answer built by bot/blocks (already escaped)."""
        self.ack(text=text, blocks=blocks, response_type="ephemeral")

    def job_ref(self) -> str:
        if len(self.words) < 2:
            raise InvalidInput({"job": f"which job? e.g. `/job {self.words[0]} J-1042`"})
        return self.words[1]


def _unescape(text: str) -> str:
    # Slack escapes &, < and > in command text; searches should see what the user typed
    return html.unescape(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")) if text else ""


def job_new(c: Command) -> None:
    c.ack()
    c.client.views_open(trigger_id=c.trigger_id, view=modals.new_job_modal(c.channel_id))


def job_list(c: Command) -> None:
    status, sort, page, deleted, words = None, "created", 1, False, []
    args = iter(c.words[1:])
    for word in args:
        low = word.lower()
        if low in JobStatus.ALL and status is None:
            status = low
        elif low == "--sort":
            sort = next(args, "").lower()
        elif low.startswith("--sort="):
            sort = low.split("=", 1)[1]
        elif low == "--page":
            page = page_number(next(args, ""))
        elif low == "--deleted":
            deleted = True
        else:
            words.append(word)
    with c.runtime.db.read() as s:
        ws = s.get(Workspace, c.who.ws_id)
        result = jobs.list_jobs(
            s, ws, status=status, search=" ".join(words) or None, sort=sort, page=page, deleted=deleted
        )
    heading = "Deleted jobs" if deleted else (f"{status} jobs" if status else "Jobs")
    if words:
        heading += f" matching “{' '.join(words)}”"
    c.reply_blocks(*B.job_list(result, heading=heading))


def job_show(c: Command) -> None:
    c.reply_blocks(*jobflow.show(c.runtime, c.who, c.job_ref()))


def job_help(c: Command) -> None:
    c.reply_blocks(*B.help_blocks())


def job_channel(c: Command) -> None:
    """Make the channel where the command was typed the workspace's production channel."""
    if not c.channel_id or c.channel_id.startswith("D"):
        raise InvalidInput({"channel": "type `/job channel` in the channel where job cards should go"})
    with c.runtime.db.session() as s:
        ws = s.get(Workspace, c.who.ws_id)
        workspaces.update_settings(s, ws, c.who.actor, production_channel=c.channel_id)
    c.runtime.notifier.job_changed(0, "production channel set")  # cards that waited go out now
    c.reply_blocks(
        "Production channel set",
        [
            B.section(
                f":white_check_mark: Job cards, thread replies and alerts now go to <#{c.channel_id}>. "
                "Jobs that already have a card keep their thread where it is."
            )
        ],
    )


def _quick(action: Callable[[Runtime, Who, str], str]) -> Callable[[Command], None]:
    """Subcommands that are a quick database change: do it, then confirm ephemerally."""

    def run(c: Command) -> None:
        c.reply(action(c.runtime, c.who, c.job_ref()))

    return run


def _modal(opener: Callable[[Runtime, Who, str], dict[str, Any]]) -> Callable[[Command], None]:
    def run(c: Command) -> None:
        view = opener(c.runtime, c.who, c.job_ref())  # checks the job first: errors answer ephemerally
        c.ack()
        c.client.views_open(trigger_id=c.trigger_id, view=view)

    return run


def _background(start: Callable[[Runtime, Who, str], str]) -> Callable[[Command], None]:
    def run(c: Command) -> None:
        c.reply(start(c.runtime, c.who, c.job_ref()))

    return run


JOB_SUBCOMMANDS: dict[str, Callable[[Command], None]] = {
    "new": job_new,
    "list": job_list,
    "show": job_show,
    "help": job_help,
    "parse": _modal(jobflow.parse_view),
    "proofs": _background(jobflow.start_proofs),
    "preflight": _background(jobflow.start_preflight),
    "approval": _modal(jobflow.approval_view),
    "export": _modal(jobflow.export_view),
    "complete": _quick(jobflow.complete),
    "delete": _quick(jobflow.delete),
    "restore": _quick(jobflow.restore),
    "channel": job_channel,
}


def register(app: App, runtime: Runtime) -> None:
    @app.command("/job")
    def job_command(
        ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        words = _unescape(command.get("text", "")).split()
        sub = words[0].lower() if words else "help"
        handler = JOB_SUBCOMMANDS.get(sub)
        if handler is None:
            text, blocks = B.help_blocks(f"I don't know `/job {sub}`.")
            ack(text=text, blocks=blocks, response_type="ephemeral")
            return
        c = Command(
            runtime,
            context["who"],
            words or ["help"],
            ack,
            client,
            respond,
            command.get("trigger_id", ""),
            command.get("channel_id", ""),
        )
        _run(c, handler)

    @app.command("/template")
    def template_command(
        ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        from handlers.slack import templates

        words = _unescape(command.get("text", "")).split()
        c = Command(
            runtime,
            context["who"],
            words or ["list"],
            ack,
            client,
            respond,
            command.get("trigger_id", ""),
            command.get("channel_id", ""),
        )
        handler = templates.SUBCOMMANDS.get(c.words[0].lower())
        if handler is None:
            text, blocks = B.help_blocks(f"I don't know `/template {c.words[0]}`.")
            ack(text=text, blocks=blocks, response_type="ephemeral")
            return
        _run(c, handler)


def _run(c: Command, handler: Callable[[Command], None]) -> None:
    try:
        handler(c)
    except CraftError as exc:
        text, blocks = B.error_blocks(exc.message)
        c.ack(text=text, blocks=blocks, response_type="ephemeral")
