"""Buttons on the job card, in the thread and on the Home tab. Each acts on the job in its value; a
second click on something already done answers so instead of doing it twice."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from bot.blocks import A
from bot.messages import EDIT_ITEM
from handlers.slack import jobflow
from handlers.slack.context import Who
from handlers.slack.payloads import read_metadata, small_int
from handlers.slack.tenancy import own_view_id
from handlers.slack.views import review_view
from pipeline.errors import CraftError
from pipeline.runtime import Runtime

log = logging.getLogger(__name__)


def _tell(body: dict[str, Any], client: WebClient, respond: Respond, text: str) -> None:
    """An answer only the clicker sees: in the channel when the click came from a message, else a window."""
    if body.get("response_url"):
        respond(text=text, blocks=[B.section(B.esc(text))], response_type="ephemeral", replace_original=False)
    elif body.get("trigger_id"):
        client.views_open(trigger_id=body["trigger_id"], view=modals.info_modal("CraftStage", B.esc(text)))


def register(app: App, runtime: Runtime) -> None:
    def opener(build: Callable[[Runtime, Who, str], dict[str, Any]]) -> Callable[..., None]:
        def handler(
            ack: Ack,
            body: dict[str, Any],
            action: dict[str, Any],
            context: BoltContext,
            client: WebClient,
            respond: Respond,
        ) -> None:
            ack()
            try:
                view = build(runtime, context["who"], action.get("value", ""))
            except CraftError as exc:
                _tell(body, client, respond, exc.message)
                return
            client.views_open(trigger_id=body["trigger_id"], view=view)

        return handler

    def doer(do: Callable[[Runtime, Who, str], str]) -> Callable[..., None]:
        def handler(
            ack: Ack,
            body: dict[str, Any],
            action: dict[str, Any],
            context: BoltContext,
            client: WebClient,
            respond: Respond,
        ) -> None:
            ack()
            try:
                text = do(runtime, context["who"], action.get("value", ""))
            except CraftError as exc:
                text = exc.message
            _tell(body, client, respond, text)

        return handler

    def review(runtime: Runtime, who: Who, ref: str) -> dict[str, Any]:
        return review_view(
            runtime, who, jobflow.job_id_of(runtime, who, ref), jobflow.pending_batch_id(runtime, who, ref)
        )

    app.action(A.PARSE)(opener(jobflow.parse_view))
    app.action(A.REVIEW)(opener(review))
    app.action(A.TEMPLATE)(opener(jobflow.template_view))
    app.action(A.APPROVAL)(opener(jobflow.approval_view))
    app.action(A.RECORD_APPROVAL)(opener(jobflow.record_approval_view))
    app.action(A.SKIP_APPROVAL)(opener(jobflow.record_approval_view))
    app.action(A.EXPORT)(opener(jobflow.export_view))
    app.action(A.PROOFS)(doer(jobflow.start_proofs))
    app.action(A.PREFLIGHT)(doer(jobflow.start_preflight))
    app.action(A.COMPLETE)(doer(jobflow.complete))
    app.action(A.RESTORE)(doer(jobflow.restore))

    @app.action(A.SHOW)
    def show(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        try:
            text, blocks = jobflow.show(runtime, context["who"], action.get("value", ""))
        except CraftError as exc:
            _tell(body, client, respond, exc.message)
            return
        if body.get("response_url"):
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        else:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=modals.modal(
                    "info",
                    "Job",
                    [b for b in blocks if b.get("type") != "actions"],
                    submit=None,
                    close="Close",
                ),
            )

    @app.action(EDIT_ITEM)
    def edit_item(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        ref, _, item_id = str(action.get("value") or "").partition(":")
        try:
            view = jobflow.edit_item_view(runtime, context["who"], ref, small_int(item_id) or 0)
        except CraftError as exc:
            _tell(body, client, respond, exc.message)
            return
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action({"block_id": "template", "action_id": "value"})
    def template_chosen(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        ack()
        view = body.get("view") or {}
        meta = read_metadata(view)
        chosen = (action.get("selected_option") or {}).get("value")
        try:
            new_view = jobflow.template_view(runtime, context["who"], meta.get("job", ""), chosen)
        except CraftError as exc:
            new_view = modals.info_modal("Template", f":warning: {B.esc(exc.message)}")
        view_id = own_view_id(view, context["tenant"].team_id)
        if view_id is not None:  # a view of this workspace only
            client.views_update(view_id=view_id, hash=view.get("hash"), view=new_view)
