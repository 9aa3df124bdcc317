"""`/template list | show KEY | import | export KEY` (importing is for owners and admins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import blocks as B
from bot import modals
from bot.modals import V
from handlers.slack.context import Who
from handlers.slack.payloads import read_metadata, values_of
from pipeline import catalog, machines, workspace_fonts
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

    def send() -> None:
        target = c.client.conversations_open(users=c.who.actor.id)["channel"]["id"]
        c.client.files_upload_v2(
            channel=target,
            content=source,
            filename=f"{key}.toml",
            title=f"Template {key}",
            initial_comment=f"Template `{key}`: edit it and `/template import` it back.",
        )
        if artwork is not None and artwork.exists():
            c.client.files_upload_v2(
                channel=target, file=str(artwork), filename=artwork.name, title=f"{key} artwork"
            )

    c.runtime.workers.submit(send)


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


def font_list(c: Command) -> None:
    with c.runtime.db.read() as s:
        fonts = workspace_fonts.list_fonts(s, s.get(Workspace, c.who.ws_id))
    lines = [f"• {B.esc(f.family)} ({f.weight}) — `{B.esc(f.filename)}`" for f in fonts]
    lines = lines or ["_No uploaded fonts yet._ The bundled DejaVu and Liberation families are always there."]
    c.reply_blocks(
        "Fonts", [B.section("*Uploaded fonts*"), *[B.section(x) for x in B.chunks(lines, 2900)][:45]]
    )


def font_upload(c: Command) -> None:
    _admin(c, "uploading fonts")
    c.ack()
    blocks = [
        B.section(
            "Upload a TrueType or OpenType font (.ttf, .otf). It is opened and checked first; templates "
            "can use it by its family name at once."
        ),
        {
            "type": "input",
            "block_id": "font",
            "label": B.plain("Font file"),
            "element": {
                "type": "file_input",
                "action_id": "value",
                "filetypes": ["ttf", "otf"],
                "max_files": 1,
            },
        },
    ]
    c.client.views_open(
        trigger_id=c.trigger_id, view=modals.modal(FONT_UPLOAD, "Upload font", blocks, submit="Upload")
    )


def profile_list(c: Command) -> None:
    with c.runtime.db.session() as s:
        profiles = machines.list_profiles(s, s.get(Workspace, c.who.ws_id))
        lines = [f"• *{B.esc(p.name)}* — {B.esc(machines.describe(p))}" for p in profiles]
    c.reply_blocks(
        "Machine profiles",
        [B.section("*Machine profiles*"), *[B.section(x) for x in B.chunks(lines, 2900)][:45]],
    )


def profile_edit(c: Command) -> None:
    _admin(c, "changing machine profiles")
    name = " ".join(c.words[1:]).strip()
    values: dict[str, Any] = {}
    if name:
        with c.runtime.db.session() as s:
            row = machines.get_profile(s, s.get(Workspace, c.who.ws_id), name)
            values = machines.entered_values(row)
            name = row.name
    c.ack()
    c.client.views_open(trigger_id=c.trigger_id, view=profile_modal(name or None, values))


def _admin(c: Command, what: str) -> None:
    if not c.who.actor.is_admin:
        raise PermissionDenied(f"Sorry — {what} is for the workspace's owners and admins.")


def profile_modal(existing: str | None, v: dict[str, Any]) -> dict[str, Any]:
    def num(key: str) -> str | None:
        return f"{v[key]:g}" if isinstance(v.get(key), int | float) else None

    blocks = [
        modals.text_input("name", "Name", initial=v.get("name"), max_length=100),
        modals.select_input(
            "units", "Units", [("mm", "millimetres"), ("in", "inches")], initial=v.get("units", "mm")
        ),
        modals.text_input("bed_width", "Bed width", initial=num("bed_width"), max_length=10),
        modals.text_input("bed_height", "Bed height", initial=num("bed_height"), max_length=10),
        modals.text_input("margin", "Margin", initial=num("margin") or "5", max_length=10),
        modals.text_input("gap", "Gap between items", initial=num("gap") or "3", max_length=10),
        modals.select_input(
            "output_format",
            "File format",
            [("svg", "SVG"), ("pdf", "PDF"), ("dxf", "DXF")],
            initial=v.get("output_format", "svg"),
        ),
        modals.select_input(
            "text_mode",
            "Text",
            [("curves", "converted to curves"), ("text", "live text")],
            initial=v.get("text_mode", "curves"),
        ),
        modals.text_input(
            "cut_color", "Cut colour (#RRGGBB)", initial=v.get("cut_color") or "#FF0000", max_length=7
        ),
        modals.text_input(
            "engrave_color",
            "Engrave colour (#RRGGBB)",
            initial=v.get("engrave_color") or "#000000",
            max_length=7,
        ),
        modals.select_input(
            "cut_outline",
            "Cut each item's outline",
            [("yes", "yes"), ("no", "no")],
            initial="no" if v.get("cut_outline") is False else "yes",
        ),
        modals.select_input(
            "include_artwork",
            "Include base artwork",
            [("yes", "yes"), ("no", "no")],
            initial="no" if v.get("include_artwork") is False else "yes",
        ),
        modals.select_input(
            "item_order",
            "Item order",
            [("job", "as in the job"), ("name", "by name")],
            initial=v.get("item_order", "job"),
        ),
    ]
    return modals.modal(
        PROFILE_EDIT, "Machine profile", blocks, submit="Save", meta=modals.metadata(existing=existing)
    )


FONT_UPLOAD = "font_upload"
PROFILE_EDIT = "profile_edit"

SUBCOMMANDS = {
    "list": template_list,
    "show": template_show,
    "export": template_export,
    "import": template_import,
    "fonts": font_list,
    "font": font_upload,
    "profiles": profile_list,
    "profile": profile_edit,
}


def register(app: App, runtime: Runtime) -> None:
    from handlers.slack.views import download

    @app.view(FONT_UPLOAD)
    def font_uploaded(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        who: Who = context["who"]
        files = values_of(view).get("font") or []
        try:
            if not files:
                raise InvalidInput({"font": "Upload a .ttf or .otf file."})
            data, name = download(
                client, files[0], "font", (".ttf", ".otf"), 30_000_000, context=context, runtime=runtime
            )
            with runtime.db.session() as s:
                font = workspace_fonts.upload_font(
                    s, s.get(Workspace, who.ws_id), who.actor, data, name, runtime.settings.files_dir
                )
                family, weight = font.family, font.weight
        except InvalidInput as exc:
            ack(response_action="errors", errors={"font": next(iter(exc.errors.values()))[:300]})
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"font": exc.message})
            return
        ack(
            response_action="update",
            view=modals.info_modal(
                "Font uploaded", f":white_check_mark: *{B.esc(family)}* ({weight}) is ready for templates."
            ),
        )

    @app.view(PROFILE_EDIT)
    def profile_saved(ack: Ack, view: dict[str, Any], context: BoltContext) -> None:
        who: Who = context["who"]
        v = values_of(view)
        existing = read_metadata(view).get("existing")
        values: dict[str, Any] = {k: v.get(k) for k in machines.FIELDS if k in v}
        for flag in ("cut_outline", "include_artwork"):
            values[flag] = v.get(flag) != "no"
        for key in ("bed_width", "bed_height", "margin", "gap"):
            try:
                values[key] = float(str(v.get(key) or "").replace(",", "."))
            except ValueError:
                ack(response_action="errors", errors={key: "Give a number, e.g. 600 or 24.5"})
                return
        try:
            with runtime.db.session() as s:
                ws = s.get(Workspace, who.ws_id)
                if existing:
                    row = machines.update_profile(s, ws, who.actor, existing, **values)
                else:
                    row = machines.create_profile(s, ws, who.actor, **values)
                name, text = row.name, machines.describe(row)
        except InvalidInput as exc:
            ack(
                response_action="errors",
                errors={(k if k in machines.FIELDS else "name"): m[:300] for k, m in exc.errors.items()},
            )
            return
        except CraftError as exc:
            ack(response_action="errors", errors={"name": exc.message})
            return
        ack(
            response_action="update",
            view=modals.info_modal("Machine profile", f":white_check_mark: *{B.esc(name)}*: {B.esc(text)}"),
        )

    @app.view(V.TEMPLATE_IMPORT)
    def imported(ack: Ack, view: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        who: Who = context["who"]
        v = values_of(view)
        try:
            files = v.get("file") or []
            if not files:
                raise InvalidInput({"file": "Upload the template file."})
            data, _ = download(
                client,
                files[0],
                "file",
                (".toml", ".txt"),
                MAX_TEMPLATE_BYTES,
                context=context,
                runtime=runtime,
            )
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput({"file": "The template file must be UTF-8 text (TOML)."}) from None
            artwork = None
            if v.get("artwork"):
                artwork = download(
                    client,
                    v["artwork"][0],
                    "artwork",
                    (".svg", ".png", ".jpg", ".jpeg"),
                    MAX_ARTWORK_BYTES,
                    context=context,
                    runtime=runtime,
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
