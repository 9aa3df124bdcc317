"""The windows of `/template`: importing a template, uploading a font, editing a machine profile."""

from __future__ import annotations

from typing import Any

from bot import blocks as B
from bot import modals
from bot.ids import CatalogView


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
    return modals.modal(CatalogView.TEMPLATE_IMPORT, "Import template", blocks, submit="Import")


def font_upload_modal() -> dict[str, Any]:
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
    return modals.modal(CatalogView.FONT_UPLOAD, "Upload font", blocks, submit="Upload")


def _laser_blocks(v: dict[str, Any], num: Any) -> list[dict[str, Any]]:
    """The optional laser settings a LightBurn project's layers take (empty: LightBurn's default)."""
    unit = v.get("units") or "mm"
    blocks: list[dict[str, Any]] = [
        B.section(
            "*LightBurn layers* (optional; an empty setting keeps LightBurn's default). "
            f"Speeds in {unit}/s, power in % of the laser's."
        ),
        modals.select_input(
            "engrave_mode",
            "Engrave text and artwork",
            [("fill", "fill"), ("line", "line (outlines)")],
            initial=v.get("engrave_mode") or "fill",
        ),
    ]
    labels = {
        "speed": f"speed ({unit}/s)",
        "power": "power (%)",
        "passes": "passes",
        "interval": f"interval ({unit})",
    }
    for op, settings in (
        ("engrave", ("speed", "power", "passes", "interval")),
        ("score", ("speed", "power", "passes")),
        ("cut", ("speed", "power", "passes")),
    ):
        for name in settings:
            key = f"{op}_{name}"
            blocks.append(
                modals.text_input(
                    key, f"{op.capitalize()} {labels[name]}", optional=True, initial=num(key), max_length=10
                )
            )
    return blocks


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
            [("svg", "SVG"), ("pdf", "PDF"), ("dxf", "DXF"), ("lbrn2", "LightBurn project")],
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
        modals.text_input(
            "min_module",
            "Smallest QR/barcode module",
            initial=num("min_module") or "0.25",
            max_length=10,
        ),
        modals.select_input(
            "invert_codes",
            "Codes on dark material (engraves light)",
            [("no", "no: engrave the dark modules"), ("yes", "yes: engrave around them (inverted)")],
            initial="yes" if v.get("invert_codes") is True else "no",
        ),
        *_laser_blocks(v, num),
    ]
    return modals.modal(
        CatalogView.PROFILE_EDIT,
        "Machine profile",
        blocks,
        submit="Save",
        meta=modals.metadata(existing=existing),
    )
