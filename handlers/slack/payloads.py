"""Safe readers for what a Slack payload carries, and the answer to a payload that names no workspace.

A request is signed, but its fields are still only what the sender put there: state values that are
not objects, metadata that is a list, a button value that is not a number. These readers return a
usable value (or nothing) instead of raising, so a listener answers with a sentence, never a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.home import MAX_PAGE
from bot.modals import info_modal
from pipeline.core.errors import InvalidInput

log = logging.getLogger(__name__)
NO_WORKSPACE = (
    "This request did not say which Slack workspace it came from, so CraftStage did nothing. "
    "Please try again from Slack."
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def values_of(view: Any) -> dict[str, Any]:
    """{block_id: value} from a submitted view's state (text, date, select, radio, checkboxes, files);
    elements that are not shaped as Slack sends them are left out."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        return out
    for block_id, actions in values.items():
        if not isinstance(actions, dict):
            continue
        for element in actions.values():
            if not isinstance(element, dict):
                continue
            kind = element.get("type")
            if kind == "plain_text_input":
                out[block_id] = _text(element.get("value"))
            elif kind == "datepicker":
                out[block_id] = _text(element.get("selected_date"))
            elif kind in ("static_select", "radio_buttons"):
                option = element.get("selected_option")
                out[block_id] = _text(option.get("value")) if isinstance(option, dict) else None
            elif kind == "checkboxes":
                options = element.get("selected_options")
                chosen = options if isinstance(options, list) else []
                out[block_id] = [o["value"] for o in chosen if isinstance(o, dict) and _text(o.get("value"))]
            elif kind == "file_input":
                files = element.get("files")
                out[block_id] = [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    return out


def read_metadata(view: Any) -> dict[str, str]:
    """A view's private_metadata as {key: text}: only string and whole-number values are kept."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = str(value)
    return out


def small_int(value: Any, digits: int = 9) -> int | None:
    """A non-negative whole number written in at most `digits` digits, else None."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def meta_int(meta: dict[str, str], key: str) -> int:
    """A number kept in metadata (an item or batch id); 0 when absent or not a number (found nowhere)."""
    return small_int(meta.get(key, "")) or 0


def page_number(text: str) -> int:
    """`--page N`: 1 to MAX_PAGE, else a field error."""
    page = small_int(text, digits=6)
    if page is None or not 1 <= page <= MAX_PAGE:
        raise InvalidInput({"page": f"--page takes a page number from 1 to {MAX_PAGE:,}, not {text[:20]!r}"})
    return page


# events about the app in a workspace rather than about a person (see handlers/slack/installations.py)
WORKSPACE_EVENTS = ("app_uninstalled", "tokens_revoked")


def need_workspace(
    body: dict[str, Any],
    context: BoltContext,
    respond: Any,
    next: Callable[[], BoltResponse],  # noqa: A002
) -> BoltResponse | None:
    """After the workspace middleware: a request from a person that names no workspace is answered."""
    if context.get("who") is not None:
        return next()
    kind = "command" if body.get("command") else body.get("type")
    if kind == "command":
        return _json({"response_type": "ephemeral", "text": NO_WORKSPACE})
    if kind == "view_submission":
        return _json({"response_action": "update", "view": info_modal("Not done", NO_WORKSPACE)})
    if kind in ("block_actions", "view_closed", "shortcut", "message_action", "block_suggestion"):
        if body.get("response_url") and respond is not None:
            try:
                respond(text=NO_WORKSPACE, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # the answer is a courtesy; Slack may be away
                log.warning("could not answer a request without a workspace: %s", exc)
        return BoltResponse(status=200, body="")
    if kind == "event_callback":
        if (body.get("event") or {}).get("type") in WORKSPACE_EVENTS:
            return next()
        return BoltResponse(status=200, body="")  # nobody to act for: acknowledged, not retried
    return next()  # url_verification and the like need no workspace


def register(app: App) -> None:
    app.middleware(need_workspace)


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(payload), headers={"content-type": "application/json;charset=utf-8"}
    )
