"""Modal views (pure builders). State that must survive a round trip rides in `private_metadata`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.blocks import Block, clip, esc, options, plain, section
from bot.ids import JobView, NoteView

METADATA_LIMIT = 3000


def metadata(**values: Any) -> str:
    text = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    if len(text) > METADATA_LIMIT:
        raise ValueError("private_metadata over Slack's 3000-character limit")
    return text


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str | None = "Save",
    meta: str = "",
    close: str = "Cancel",
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain(close, 24),
        "blocks": blocks[:100],
        "private_metadata": meta,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def text_input(
    block_id: str,
    label: str,
    *,
    optional: bool = False,
    multiline: bool = False,
    initial: str | None = None,
    max_length: int = 3000,
    placeholder: str | None = None,
    hint: str | None = None,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = clip(initial, max_length)
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def date_input(block_id: str, label: str, *, initial: str | None = None) -> Block:
    element: dict[str, Any] = {"type": "datepicker", "action_id": "value"}
    if initial:
        element["initial_date"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": True,
    }


def select_input(
    block_id: str,
    label: str,
    pairs: list[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
    dispatch: bool = False,
) -> Block:
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options(pairs)}
    chosen = [o for o in element["options"] if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if dispatch:
        block["dispatch_action"] = True
    return block


def radio_input(
    block_id: str, label: str, pairs: list[tuple[str, str]], *, initial: str | None = None
) -> Block:
    element: dict[str, Any] = {"type": "radio_buttons", "action_id": "value", "options": options(pairs)}
    chosen = [o for o in element["options"] if o["value"] == initial]
    if chosen:
        element["initial_option"] = chosen[0]
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element}


def _job_fields(v: dict[str, Any]) -> list[Block]:
    return [
        text_input("customer_name", "Customer name", initial=v.get("customer_name"), max_length=200),
        text_input(
            "customer_email",
            "Customer email",
            initial=v.get("customer_email"),
            max_length=254,
            hint="Where the approval link is meant to go.",
        ),
        text_input(
            "reference",
            "Reference (PO / order no.)",
            optional=True,
            initial=v.get("reference"),
            max_length=100,
        ),
        date_input("due_date", "Due date", initial=v.get("due_date")),
        text_input(
            "notes",
            "Internal notes",
            optional=True,
            multiline=True,
            initial=v.get("notes"),
            max_length=3000,
            hint="Never shown to the customer.",
        ),
    ]


def new_job_modal(channel_id: str | None = None) -> dict[str, Any]:
    return modal(
        JobView.NEW_JOB, "New job", _job_fields({}), submit="Create", meta=metadata(channel=channel_id)
    )


def edit_job_modal(job_ref: str, version: int, values: dict[str, Any]) -> dict[str, Any]:
    """The job's details to change; `version` refuses the save if someone else saved meanwhile."""
    blocks = [section(f"*{esc(job_ref)}*"), *_job_fields(values)]
    return modal(
        JobView.EDIT_JOB, "Edit job", blocks, submit="Save", meta=metadata(job=job_ref, version=version)
    )


def working_modal(title: str, text: str) -> dict[str, Any]:
    return modal(NoteView.WORKING, title, [section(text)], submit=None, close="Close")


def info_modal(title: str, text: str) -> dict[str, Any]:
    return modal(NoteView.INFO, title, [section(text)], submit=None, close="Close")


TRANSFORMS = [
    ("none", "as typed"),
    ("upper", "UPPERCASE"),
    ("lower", "lowercase"),
    ("title", "Title Case"),
    ("trim", "trim spaces"),
]
NO_COLUMN = "__none__"
MAX_FIELDS = 20
MAX_COLUMNS = 30


def template_modal(
    job_ref: str,
    templates: list[tuple[str, str]],
    *,
    chosen: str | None = None,
    fields: list[tuple[str, str, bool]] | None = None,
    columns: list[str] | None = None,
    suggested: Mapping[str, tuple[str | None, str]] | None = None,
) -> dict[str, Any]:
    """Choose a template, then map parsed columns onto its fields (with a transform each)."""
    blocks: list[Block] = [
        section(f"*{job_ref}*: which template, and which parsed column goes into each field?"),
        select_input("template", "Template", templates, initial=chosen, dispatch=True),
    ]
    if chosen and fields is not None:
        # kept well inside Slack's 250 kB per view: a template has a handful of fields, an order few columns
        col_pairs = [(NO_COLUMN, "(leave empty)")] + [
            (c[:150], clip(c, 75)) for c in (columns or [])[:MAX_COLUMNS]
        ]
        for key, label, required in fields[:MAX_FIELDS]:
            column, transform = (suggested or {}).get(key, (None, "none"))
            blocks.append(
                select_input(
                    f"map:{key}",
                    f"{label}{' (required)' if required else ''} ← column",
                    col_pairs,
                    initial=column or NO_COLUMN,
                )
            )
            blocks.append(select_input(f"tf:{key}", f"{label}: transform", TRANSFORMS, initial=transform))
        field_pairs = [(NO_COLUMN, "(no numbering)")] + [(k, label) for k, label, _ in fields[:MAX_FIELDS]]
        blocks.append(
            select_input(
                "serial_field",
                "Number the items into a field (optional)",
                field_pairs,
                initial=NO_COLUMN,
                optional=True,
            )
        )
        blocks.append(
            text_input(
                "serial_start",
                "Numbering starts at",
                optional=True,
                max_length=12,
                placeholder="1, or 001 for zero padding",
            )
        )
    return modal(
        JobView.TEMPLATE,
        "Template & mapping",
        blocks,
        submit="Make proofs" if chosen else "Next",
        meta=metadata(job=job_ref, template=chosen),
    )


def edit_item_modal(
    job_ref: str, item_id: int, number: int, fields: list[tuple[str, str, str]], note: str | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [section(f"*{job_ref}*, item {number}")]
    if note:
        blocks.append(section(f":pencil2: The customer asked: _{esc(clip(note, 2500))}_"))
    for key, label, value in fields[:45]:
        blocks.append(text_input(f"v:{key}", label, optional=True, initial=value or None, max_length=1000))
    return modal(
        JobView.EDIT_ITEM,
        "Edit item",
        blocks,
        submit="Save & re-proof",
        meta=metadata(job=job_ref, item=item_id),
    )


def approval_modal(job_ref: str, customer_email: str, *, has_link: bool) -> dict[str, Any]:
    blocks: list[Block] = [
        section(
            f"*{job_ref}*: a link for the customer ({esc(customer_email)}) "
            "to approve the proofs on their phone."
            + (
                "\n:warning: The job already has a link: a new one switches the old one off."
                if has_link
                else ""
            )
        )
    ]
    blocks.append(text_input("expires_days", "Expires after (days; 0 = never)", initial="30", max_length=4))
    return modal(JobView.APPROVAL, "Approval link", blocks, submit="Create link", meta=metadata(job=job_ref))


def record_approval_modal(job_ref: str) -> dict[str, Any]:
    blocks = [
        radio_input(
            "how",
            "What happened?",
            [
                ("phone", "The customer approved by phone"),
                ("email", "The customer approved by email"),
                ("skip", "Skip customer approval"),
            ],
            initial="phone",
        ),
        text_input("note", "Note (who, when, what was said)", optional=True, multiline=True, max_length=2000),
    ]
    return modal(
        JobView.RECORD_APPROVAL, "Record approval", blocks, submit="Record", meta=metadata(job=job_ref)
    )


def export_modal(
    job_ref: str, profiles: list[tuple[str, str]], *, initial: str | None = None, warning: str | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [section(f"*{job_ref}*: lay the items out on the laser bed.")]
    if warning:
        blocks.append(section(f":warning: {esc(warning)}"))
    blocks += [
        select_input("profile", "Machine profile", profiles, initial=initial),
        select_input(
            "format",
            "File format",
            [
                ("profile", "as the profile says"),
                ("svg", "SVG"),
                ("pdf", "PDF"),
                ("dxf", "DXF"),
                ("lbrn2", "LightBurn project"),
            ],
            initial="profile",
        ),
        select_input(
            "mode",
            "Text",
            [
                ("profile", "as the profile says"),
                ("curves", "converted to curves"),
                ("text", "live text (needs the fonts on the laser PC)"),
            ],
            initial="profile",
        ),
    ]
    return modal(JobView.EXPORT, "Export", blocks, submit="Export", meta=metadata(job=job_ref))
