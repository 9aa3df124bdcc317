"""`/template list | show KEY | import | export KEY` (importing is for owners and admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from bot.modals import V
from handlers.slack.context import Who
from pipeline import catalog
from pipeline.errors import CraftError, InvalidInput, PermissionDenied
from pipeline.runtime import Runtime
from storage.models import Workspace

if TYPE_CHECKING:
    from handlers.slack.commands import Command

MAX_TEMPLATE_BYTES = 200_000
MAX_ARTWORK_BYTES = 5_000_000


def template_list(c: Command) -> None:
    with c.runtime.db.session() as s:
        infos = catalog.list_templates(s, s.get(Workspace, c.who.ws_id), c.runtime.settings.files_dir)
    lines = [
        f"• `{B.esc(t.key)}` {B.esc(t.name)} — {t.width:g}×{t.height:g} in, fields: "
        f"{B.esc(', '.join(t.fields))} (v{t.version})"
        for t in infos
    ]
    chunks = [B.section(chunk) for chunk in B.chunks(lines, 2900)][:45]
    c.reply_blocks(f"{len(infos)} template(s)", [B.section("*Templates*"), *chunks])


def template_show(c: Command) -> None:
    key = _key(c)
    with c.runtime.db.session() as s:
        tv = catalog.current_version(s, s.get(Workspace, c.who.ws_id), key, c.runtime.settings.files_dir)
        t = catalog.template_of(tv)
    lines = [
        f"*{B.esc(t.name)}* (`{B.esc(t.key)}`, version {tv.version}) — {t.width:g}×{t.height:g} in, "
        f"{B.esc(t.category or 'no category')}"
    ]
    if t.description:
        lines.append(B.esc(t.description))
    for f in t.fields:
        lines.append(
            f"• `{B.esc(f.key)}` {B.esc(f.label)}: {f.width:g}×{f.height:g} in at ({f.x:g}, {f.y:g}), "
            f"{B.esc(f.font or t.default_font)} {f.weight} {f.size:g} pt (min {f.min_size:g}), "
            f"{f.overflow}, {f.max_lines} line(s), {f.align}/{f.valign}"
            + (", required" if f.required else "")
        )
    c.reply_blocks(f"Template {B.esc(t.key)}", [B.section(chunk) for chunk in B.chunks(lines, 2900)][:45])


def template_export(c: Command) -> None:
    key = _key(c)
    with c.runtime.db.session() as s:
        source, artwork = catalog.export_template(
            s, s.get(Workspace, c.who.ws_id), key, c.runtime.settings.files_dir
        )
    c.reply(f"Exporting {key}: the file comes to you as a direct message.")
    target = c.client.conversations_open(users=c.who.actor.id)["channel"]["id"]
    c.client.files_upload_v2(
        channel=target,
        content=source,
        filename=f"{key}.toml",
        title=f"Template {key}",
        initial_comment=f"Template `{key}` — edit it and `/template import` it back.",
    )
    if artwork is not None and artwork.exists():
        c.client.files_upload_v2(
            channel=target, file=str(artwork), filename=artwork.name, title=f"{key} artwork"
        )


def template_import(c: Command) -> None:
    if not c.who.actor.is_admin:
        raise PermissionDenied("Sorry — importing templates is for the workspace's owners and admins.")
    c.ack()
    c.client.views_open(trigger_id=c.trigger_id, view=import_modal())


def _key(c: Command) -> str:
    if len(c.words) < 2:
        raise InvalidInput({"template": f"which template? e.g. `/template {c.words[0]} badge`"})
    return c.words[1]


def import_modal() -> dict[str, Any]:
    blocks = [
        B.section(
            "Upload a template file (.toml; `/template export KEY` gives one to start from), "
            "and its artwork if it has one. Importing a key that exists makes a new version."
        ),
        {
            "type": "input",
            "block_id": "file",
            "label": B.plain("Template file"),
            "element": {
                "type": "file_input",
                "action_id": "value",
                "filetypes": ["toml", "txt"],
                "max_files": 1,
            },
        },
        {
            "type": "input",
            "block_id": "artwork",
            "optional": True,
            "label": B.plain("Artwork (SVG, PNG, JPEG)"),
            "element": {
                "type": "file_input",
                "action_id": "value",
                "filetypes": ["svg", "png", "jpg", "jpeg"],
                "max_files": 1,
            },
        },
    ]
    return modals.modal(V.TEMPLATE_IMPORT, "Import template", blocks, submit="Import")


SUBCOMMANDS = {
    "list": template_list,
    "show": template_show,
    "export": template_export,
    "import": template_import,
}


def register(app: App, runtime: Runtime) -> None:
    from handlers.slack.views import download, values_of

    @app.view(V.TEMPLATE_IMPORT)
    def imported(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        who: Who = context["who"]
        v = values_of(view)
        try:
            files = v.get("file") or []
            if not files:
                raise InvalidInput({"file": "Upload the template file."})
            data, _ = download(client, files[0], "file", (".toml", ".txt"), MAX_TEMPLATE_BYTES)
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput({"file": "The template file must be UTF-8 text (TOML)."}) from None
            artwork = None
            if v.get("artwork"):
                artwork = download(
                    client, v["artwork"][0], "artwork", (".svg", ".png", ".jpg", ".jpeg"), MAX_ARTWORK_BYTES
                )
                artwork = (artwork[1], artwork[0])
            with runtime.db.session() as s:
                tv = catalog.import_template(
                    s,
                    s.get(Workspace, who.ws_id),
                    who.actor,
                    text,
                    runtime.settings.files_dir,
                    artwork=artwork,
                )
                key, version = catalog.template_of(tv).key, tv.version
        except InvalidInput as exc:
            ack(
                response_action="errors",
                errors={("artwork" if k == "artwork" else "file"): m[:300] for k, m in exc.errors.items()},
            )
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"file": exc.message})
            return
        ack(
            response_action="update",
            view=modals.info_modal(
                "Template imported", f":white_check_mark: `{B.esc(key)}` is at version {version}."
            ),
        )
