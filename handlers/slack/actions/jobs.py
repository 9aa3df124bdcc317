"""Job buttons: open the step's window, or do the step and tell the clicker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from bot.ids import NoteView
from handlers.slack import forms
from handlers.slack.answers import tell
from handlers.slack.context import runtime_of, tenant_of_request, who_of
from handlers.slack.payloads import read_metadata, small_int
from handlers.slack.tenancy import own_view_id
from pipeline.core.actors import Who
from pipeline.core.errors import CraftError
from pipeline.core.runtime import Runtime

Opener = Callable[[Runtime, Who, str], dict[str, Any]]
Doer = Callable[[Runtime, Who, str], str]


def open_window(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
    opener: Opener,
) -> None:
    ack()
    try:
        view = opener(runtime_of(context), who_of(context), action.get("value", ""))
    except CraftError as exc:
        tell(body, client, respond, exc.message)
        return
    client.views_open(trigger_id=body["trigger_id"], view=view)


def do(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
    step: Doer,
) -> None:
    """Do `step` on the job in the button's value and tell the clicker what happened."""
    ack()
    try:
        text = step(runtime_of(context), who_of(context), action.get("value", ""))
    except CraftError as exc:
        text = exc.message
    tell(body, client, respond, text)


def show(
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """The Details button: the card with its activity, in the channel or (from Home) in a window."""
    ack()
    try:
        text, blocks = forms.job_card(runtime_of(context), who_of(context), action.get("value", ""))
    except CraftError as exc:
        tell(body, client, respond, exc.message)
        return
    if body.get("response_url"):
        respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        return
    shown = [b for b in blocks if b.get("type") != "actions"]
    client.views_open(
        trigger_id=body["trigger_id"],
        view=modals.modal(NoteView.INFO, "Job", shown, submit=None, close="Close"),
    )


def item_window(runtime: Runtime, who: Who, value: str) -> dict[str, Any]:
    """ "Edit the item" in a thread reply: its value is `J-1042:<item id>`."""
    ref, _, item_id = str(value or "").partition(":")  # a payload may carry anything here
    return forms.edit_item_window(runtime, who, ref, small_int(item_id) or 0)


def template_chosen(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """A template picked in the template window: the window shows its fields to map."""
    ack()
    view = body.get("view") or {}
    chosen = (action.get("selected_option") or {}).get("value")
    try:
        new_view = forms.template_window(
            runtime_of(context), who_of(context), read_metadata(view).get("job", ""), chosen
        )
    except CraftError as exc:
        new_view = modals.info_modal("Template", f":warning: {B.esc(exc.message)}")
    view_id = own_view_id(view, tenant_of_request(context).team_id)
    if view_id is not None:  # a view of this workspace only
        client.views_update(view_id=view_id, hash=view.get("hash"), view=new_view)
