"""One slash command as its subcommands see it: the words typed, who typed them, and how to answer."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks as B
from handlers.slack.context import forget_member, runtime_of, who_of
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput, PermissionDenied
from pipeline.core.runtime import Runtime


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
    name: str = "/job"
    context: BoltContext | None = None

    @classmethod
    def read(
        cls,
        command: dict[str, Any],
        context: BoltContext,
        ack: Ack,
        client: WebClient,
        respond: Respond,
        default: str,
    ) -> Command:
        """The command as typed (`default` when nothing follows it)."""
        words = unescape(command.get("text", "")).split()
        return cls(
            runtime_of(context),
            who_of(context),
            words or [default],
            ack,
            client,
            respond,
            command.get("trigger_id", ""),
            command.get("channel_id", ""),
            command.get("command") or "/job",
            context,
        )

    def reply(self, text: str) -> None:
        """An ephemeral answer in plain words (escaped here)."""
        self.ack(text=B.esc(text), blocks=[B.section(B.esc(text))], response_type="ephemeral")

    def reply_blocks(self, text: str, blocks: list[dict[str, Any]]) -> None:
        """An ephemeral answer built by bot/blocks (already escaped)."""
        self.ack(text=text, blocks=blocks, response_type="ephemeral")

    def open(self, view: dict[str, Any]) -> None:
        self.ack()
        self.client.views_open(trigger_id=self.trigger_id, view=view)

    def job_ref(self) -> str:
        return self.argument("job", "J-1042")

    def argument(self, name: str, example: str) -> str:
        """The word after the subcommand, else a field error showing an example."""
        if len(self.words) < 2:
            raise InvalidInput({name: f"which {name}? e.g. `{self.name} {self.words[0]} {example}`"})
        return self.words[1]

    def forget_member(self, user_id: str) -> None:
        """`user_id`'s role changed: read them afresh on their next request."""
        if self.context is not None:
            forget_member(self.context, user_id)

    def need_admin(self, what: str) -> None:
        if not self.who.actor.is_admin:
            raise PermissionDenied(f"Sorry — {what} is for the workspace's owners and admins.")


def unescape(text: str) -> str:
    # Slack escapes &, < and > in command text; searches should see what the user typed
    return html.unescape(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")) if text else ""
