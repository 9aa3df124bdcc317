"""`/template` subcommands: templates, fonts and machine profiles (changing them is for owners and admins)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import blocks as B
from bot import catalog_modals
from handlers.slack.commands.command import Command
from pipeline.services import templates


def _listing(heading: str, lines: list[str]) -> list[dict[str, Any]]:
    """A heading and the lines, in as many sections as one message holds."""
    return [B.section(heading), *B.sections(lines)]


def template_list(c: Command) -> None:
    infos = templates.list_templates(c.runtime, c.who)
    lines = [
        f"• `{B.esc(t.key)}` {B.esc(t.name)} — {t.width:g}×{t.height:g} in, fields: "
        f"{B.esc(', '.join(t.fields))} (v{t.version})"
        for t in infos
    ]
    c.reply_blocks(f"{len(infos)} template(s)", _listing("*Templates*", lines))


def template_show(c: Command) -> None:
    key = c.argument("template", "badge")
    tv, t = templates.show_template(c.runtime, c.who, key)
    lines = [
        f"*{B.esc(t.name)}* (`{B.esc(t.key)}`, version {tv.version}) — {t.width:g}×{t.height:g} in, "
        f"{B.esc(t.category or 'no category')}"
    ]
    if t.description:
        lines.append(B.esc(t.description))
    for f in t.fields:
        what = (
            f"{f.kind} code"
            + (f", error correction {f.error_correction or 'M'}" if f.kind == "qr" else "")
            + (f", quiet zone {f.quiet_zone}" if f.quiet_zone is not None else "")
            + (f", modules {f.module_mm:g} mm" if f.module_mm is not None else "")
            if f.is_code
            else f"{B.esc(f.font or t.default_font)} {f.weight} {f.size:g} pt (min {f.min_size:g}), "
            f"{f.overflow}, {f.max_lines} line(s)"
        )
        lines.append(
            f"• `{B.esc(f.key)}` {B.esc(f.label)}: {f.width:g}×{f.height:g} in at ({f.x:g}, {f.y:g}), "
            f"{what}, {f.align}/{f.valign}" + (", required" if f.required else "")
        )
    c.reply_blocks(f"Template {B.esc(t.key)}", B.sections(lines))


def template_export(c: Command) -> None:
    key = c.argument("template", "badge")
    source, artwork = templates.export_template(c.runtime, c.who, key)
    c.reply(f"Exporting {key}: the file comes to you as a direct message.")
    c.runtime.workers.submit(_send_template, c, key, source, artwork)


def _send_template(c: Command, key: str, source: str, artwork: Any) -> None:
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


def template_import(c: Command) -> None:
    c.need_admin("importing templates")
    c.open(catalog_modals.import_modal())


def font_list(c: Command) -> None:
    fonts = templates.list_fonts(c.runtime, c.who)
    lines = [f"• {B.esc(f.family)} ({f.weight}) — `{B.esc(f.filename)}`" for f in fonts]
    lines = lines or ["_No uploaded fonts yet._ The bundled DejaVu and Liberation families are always there."]
    c.reply_blocks("Fonts", _listing("*Uploaded fonts*", lines))


def font_upload(c: Command) -> None:
    c.need_admin("uploading fonts")
    c.open(catalog_modals.font_upload_modal())


def profile_list(c: Command) -> None:
    profiles = templates.list_profiles(c.runtime, c.who)
    lines = [f"• *{B.esc(name)}* — {B.esc(text)}" for name, text in profiles]
    c.reply_blocks("Machine profiles", _listing("*Machine profiles*", lines))


def profile_edit(c: Command) -> None:
    c.need_admin("changing machine profiles")
    name = " ".join(c.words[1:]).strip()
    values: dict[str, Any] = {}
    if name:
        name, values = templates.profile_values(c.runtime, c.who, name)
    c.open(catalog_modals.profile_modal(name or None, values))


def profile_delete(c: Command) -> None:
    c.need_admin("deleting machine profiles")
    name = " ".join(c.words[1:]).strip()
    if not name:
        c.argument("profile", "Epilog Fusion")  # says which
    c.reply(f"The machine profile {templates.delete_profile(c.runtime, c.who, name)} is deleted.")


SUBCOMMANDS: dict[str, Callable[[Command], None]] = {
    "list": template_list,
    "show": template_show,
    "export": template_export,
    "import": template_import,
    "fonts": font_list,
    "font": font_upload,
    "profiles": profile_list,
    "profile": profile_edit,
    "delete-profile": profile_delete,
}
