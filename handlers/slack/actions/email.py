"""The "Email it to …" button under an approval link in the job's thread: emails that link to the
customer. The button carries the link; it must be a working link of a job of the clicker's workspace."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot.blocks import esc, section
from handlers.slack.context import runtime_of, who_of
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.services import approval


def email_link(ack: Ack, action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
    ack()
    try:
        sent = approval.email_link(runtime_of(context), who_of(context), str(action.get("value") or ""))
    except InvalidInput as exc:
        text = ":warning: " + " ".join(exc.errors.values())
    except CraftError as exc:
        text = f":warning: {exc.message}"
    else:
        text = (
            f":envelope: Emailing the link for {sent.ref} to {sent.to}: "
            "the thread says when the server took it."
            if sent.new
            else f"The link for {sent.ref} was already emailed to {sent.to}; the thread says when it went."
        )
    respond(text=text, blocks=[section(esc(text))], response_type="ephemeral", replace_original=False)
