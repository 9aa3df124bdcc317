"""The `/template` windows' submissions: a font uploaded, a machine profile saved, a template imported."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import blocks as B
from handlers.slack.answers import error_on, replace_window
from handlers.slack.context import runtime_of, who_of
from handlers.slack.downloads import download
from handlers.slack.payloads import read_metadata, values_of
from pipeline.core.errors import CraftError, InvalidInput
from pipeline.export.machines import FIELDS as PROFILE_FIELDS
from pipeline.services import templates

MAX_TEMPLATE_BYTES = 200_000
MAX_ARTWORK_BYTES = 5_000_000
MAX_FONT_BYTES = 30_000_000


def font_uploaded(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    files = values_of(view).get("font") or []
    try:
        if not files:
            raise InvalidInput({"font": "Upload a .ttf or .otf file."})
        data, name = download(client, files[0], "font", (".ttf", ".otf"), MAX_FONT_BYTES, context)
        family, weight = templates.upload_font(runtime_of(context), who_of(context), data, name)
    except InvalidInput as exc:
        error_on(ack, "font", next(iter(exc.errors.values()))[:300])
        return
    except CraftError as exc:
        error_on(ack, "font", exc.message)
        return
    replace_window(
        ack, "Font uploaded", f":white_check_mark: *{B.esc(family)}* ({weight}) is ready for templates."
    )


def _profile_values(v: dict[str, Any]) -> dict[str, Any]:
    """The profile window's values; a size that is not a number is a field error."""
    values: dict[str, Any] = {k: v.get(k) for k in PROFILE_FIELDS if k in v}
    for flag in ("cut_outline", "include_artwork"):
        values[flag] = v.get(flag) != "no"
    for key in ("bed_width", "bed_height", "margin", "gap"):
        try:
            values[key] = float(str(v.get(key) or "").replace(",", "."))
        except ValueError:
            raise InvalidInput({key: "Give a number, e.g. 600 or 24.5"}) from None
    return values


def profile_saved(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
    existing = read_metadata(view).get("existing")
    try:
        values = _profile_values(values_of(view))
        name, text = templates.save_profile(runtime_of(context), who_of(context), existing, values)
    except InvalidInput as exc:
        errors = {(k if k in PROFILE_FIELDS else "name"): m[:300] for k, m in exc.errors.items()}
        ack(response_action="errors", errors=errors)
        return
    except CraftError as exc:
        error_on(ack, "name", exc.message)
        return
    replace_window(ack, "Machine profile", f":white_check_mark: *{B.esc(name)}*: {B.esc(text)}")


def _template_files(
    client: WebClient, v: dict[str, Any], context: BoltContext
) -> tuple[str, tuple[str, bytes] | None]:
    """(the template's TOML text, (artwork name, bytes) or None) from the import window."""
    files = v.get("file") or []
    if not files:
        raise InvalidInput({"file": "Upload the template file."})
    data, _ = download(client, files[0], "file", (".toml", ".txt"), MAX_TEMPLATE_BYTES, context)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput({"file": "The template file must be UTF-8 text (TOML)."}) from None
    if not v.get("artwork"):
        return text, None
    image, name = download(
        client, v["artwork"][0], "artwork", (".svg", ".png", ".jpg", ".jpeg"), MAX_ARTWORK_BYTES, context
    )
    return text, (name, image)


def imported(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    try:
        text, artwork = _template_files(client, values_of(view), context)
        key, version = templates.import_template(runtime_of(context), who_of(context), text, artwork)
    except InvalidInput as exc:
        errors = {("artwork" if k == "artwork" else "file"): m[:300] for k, m in exc.errors.items()}
        ack(response_action="errors", errors=errors)
        return
    except CraftError as exc:
        error_on(ack, "file", exc.message)
        return
    replace_window(ack, "Template imported", f":white_check_mark: `{B.esc(key)}` is at version {version}.")
