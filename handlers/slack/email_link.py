"""The "Email it to …" button under an approval link in the job's thread: emails that link to the
customer (pipeline/customer_mail.py). The button's value is the link; it is checked like a customer's
visit and must belong to a job of the clicker's workspace."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.blocks import esc, section
from bot.messages import EMAIL_LINK
from handlers.slack.context import Who
from pipeline.customer_mail import email_link_of_workspace
from pipeline.errors import CraftError, InvalidInput
from pipeline.runtime import Runtime


def email_link_clicked(runtime: Runtime, who: Who, url: str) -> str:
    """What the clicker is told."""
    try:
        with runtime.db.session() as s:
            job, queued = email_link_of_workspace(s, who.ws_id, url, who.actor, runtime.settings)
            ref = job.ref
    except InvalidInput as exc:
        return ":warning: " + " ".join(exc.errors.values())
    except CraftError as exc:
        return f":warning: {exc.message}"
    if not queued.new:
        return f"The link for {ref} was already emailed to {queued.to}; the thread says when it went."
    return f":envelope: Emailing the link for {ref} to {queued.to}: the thread says when the server took it."


def register(app: App, runtime: Runtime) -> None:
    @app.action(EMAIL_LINK)
    def email_link(ack: Ack, action: dict[str, Any], context: BoltContext, respond: Respond) -> None:
        ack()
        text = email_link_clicked(runtime, context["who"], str(action.get("value") or ""))
        respond(text=text, blocks=[section(esc(text))], response_type="ephemeral", replace_original=False)
