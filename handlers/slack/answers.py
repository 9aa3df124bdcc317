"""Answers that only the person sees: errors beside a window's fields, a note for whoever clicked."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from pipeline.core.errors import InvalidInput


def field_errors(ack: Ack, exc: InvalidInput, fields: set[str], fallback: str) -> None:
    """The use case's errors beside the window's fields (`fallback` for a field the window lacks)."""
    ack(response_action="errors", errors={(k if k in fields else fallback): v for k, v in exc.errors.items()})


def error_on(ack: Ack, field: str, message: str) -> None:
    ack(response_action="errors", errors={field: message})


def replace_window(ack: Ack, title: str, text: str) -> None:
    """The submitted window turns into a note (the work was done, or can't be)."""
    ack(response_action="update", view=modals.info_modal(title, text))


def tell(body: dict[str, Any], client: WebClient, respond: Respond, text: str) -> None:
    """An answer only the clicker sees: in the channel when the click came from a message, else a window."""
    if body.get("response_url"):
        respond(text=text, blocks=[B.section(B.esc(text))], response_type="ephemeral", replace_original=False)
    elif body.get("trigger_id"):
        client.views_open(trigger_id=body["trigger_id"], view=modals.info_modal("CraftStage", B.esc(text)))
