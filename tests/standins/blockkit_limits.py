"""Block Kit limits, checked on plain dicts the way Slack checks them.

``validate_message(blocks, text)`` and ``validate_view(view)`` return a list of readable problems
(empty when the payload is fine); ``assert_valid_message`` / ``assert_valid_view`` raise
``BlockKitError`` listing all of them. The numbers are Slack's documented limits (docs.slack.dev
reference/block-kit) and agree with slack_sdk's model validators
(``slack_sdk/models/blocks``, ``slack_sdk/models/views``); ``validate_with_slack_sdk`` runs those
model validators as a cross-check.

A problem reads like::

    blocks[3] (section 'job_summary'): text.text is 3001 characters; the limit is 3000
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# -- limits ---------------------------------------------------------------------------------------

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000  # chat.postMessage answers msg_too_long above this
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_ID_LENGTH = 255  # block_id, action_id, callback_id, external_id
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_SELECT_OPTIONS = 100
MAX_OPTION_GROUPS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTION_DESCRIPTION = 75
MAX_CHECKBOX_OPTIONS = 10
MAX_RADIO_OPTIONS = 10
MAX_OVERFLOW_OPTIONS = 5
MAX_PLACEHOLDER = 150
MAX_VIEW_TITLE = 24  # title, submit, close
MAX_PRIVATE_METADATA = 3000
MAX_INPUT_LABEL = 2000
MAX_INPUT_HINT = 2000
MAX_PLAIN_TEXT_INPUT_LENGTH = 3000
MAX_VIEW_JSON_BYTES = 250_000
MAX_IMAGE_ALT_TEXT = 2000
MAX_IMAGE_TITLE = 2000
MAX_MARKDOWN_TOTAL = 12_000  # cumulative over all markdown blocks of one payload
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

KNOWN_BLOCK_TYPES = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "header",
        "rich_text",
        "file",
        "markdown",
        "video",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
SELECT_TYPES = frozenset(
    {"static_select", "external_select", "users_select", "conversations_select", "channels_select"}
)
MULTI_SELECT_TYPES = frozenset(f"multi_{t}" for t in SELECT_TYPES)
INTERACTIVE_ELEMENTS = (
    frozenset(
        {
            "button",
            "checkboxes",
            "datepicker",
            "datetimepicker",
            "overflow",
            "radio_buttons",
            "timepicker",
            "workflow_button",
        }
    )
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
)
ACTIONS_ELEMENTS = INTERACTIVE_ELEMENTS | {"rich_text_input"}
SECTION_ACCESSORIES = INTERACTIVE_ELEMENTS | {"image"}
INPUT_ELEMENTS = (
    frozenset(
        {
            "checkboxes",
            "datepicker",
            "datetimepicker",
            "email_text_input",
            "file_input",
            "number_input",
            "plain_text_input",
            "radio_buttons",
            "rich_text_input",
            "timepicker",
            "url_text_input",
        }
    )
    | SELECT_TYPES
    | MULTI_SELECT_TYPES
)
VIEW_TYPES = frozenset({"modal", "home"})

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class BlockKitError(AssertionError):
    """Raised by the assert_* helpers; ``.problems`` holds every problem found."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{what} breaks Slack's Block Kit limits ({len(self.problems)} problem(s)):\n{lines}"
        )


# -- public API ----------------------------------------------------------------------------------


def validate_blocks(blocks: Any, *, surface: str = "message") -> list[str]:
    """Check a list of blocks for ``surface`` in {"message", "modal", "home"}; returns problems."""
    checker = _Checker()
    checker.blocks(blocks, surface=surface)
    return checker.problems


def validate_message(blocks: Any = None, text: str | None = None) -> list[str]:
    """Check a chat message (``chat.postMessage`` / ``chat.update`` / ``respond``) payload."""
    checker = _Checker()
    if text is not None:
        if not isinstance(text, str):
            checker.add(f"text: must be a string, got {type(text).__name__}")
        elif len(text) > MAX_MESSAGE_TEXT:
            checker.add(f"text: {len(text)} characters; the limit is {MAX_MESSAGE_TEXT} (msg_too_long)")
    if blocks is not None:
        checker.blocks(blocks, surface="message")
    return checker.problems


def validate_view(view: Any) -> list[str]:
    """Check a modal or Home tab view (``views.open/push/update/publish``)."""
    checker = _Checker()
    checker.view(view)
    return checker.problems


def assert_valid_message(blocks: Any = None, text: str | None = None) -> None:
    problems = validate_message(blocks, text)
    if problems:
        raise BlockKitError("message", problems)


def assert_valid_view(view: Any) -> None:
    problems = validate_view(view)
    if problems:
        kind = view.get("type", "view") if isinstance(view, Mapping) else "view"
        raise BlockKitError(f"{kind} view", problems)


def validate_with_slack_sdk(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Cross-check: parse each block with slack_sdk's models and run their JSON validators."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    problems: list[str] = []
    for i, raw in enumerate(blocks):
        try:
            block = Block.parse(dict(raw))
            if block is None:
                problems.append(f"blocks[{i}]: slack_sdk could not parse it")
                continue
            block.validate_json()
            block.to_dict()  # nested elements validate on serialisation
        except (SlackObjectFormationError, TypeError, ValueError, KeyError) as exc:
            problems.append(f"blocks[{i}]: {exc}")
    return problems


# -- the checker ---------------------------------------------------------------------------------


def _describe(block: Any, path: str) -> str:
    if isinstance(block, Mapping):
        kind = block.get("type", "?")
        bid = block.get("block_id")
        return f"{path} ({kind} {bid!r})" if bid else f"{path} ({kind})"
    return path


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self._markdown_total = 0

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    # generic pieces ------------------------------------------------------------------------------

    def length(self, value: Any, path: str, limit: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(f"{path}: must be a string, got {type(value).__name__}")
        elif len(value) > limit:
            self.add(f"{path} is {len(value)} characters; the limit is {limit}")

    def identifier(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value:
            self.add(f"{path}: must be a non-empty string")
        elif len(value) > MAX_ID_LENGTH:
            self.add(f"{path} is {len(value)} characters; the limit is {MAX_ID_LENGTH}")

    def text(
        self,
        obj: Any,
        path: str,
        *,
        limit: int | None = None,
        plain_only: bool = False,
        required: bool = True,
    ) -> None:
        if obj is None:
            if required:
                self.add(f"{path}: missing (a text object is required)")
            return
        if not isinstance(obj, Mapping):
            self.add(f"{path}: must be a text object {{type, text}}, got {type(obj).__name__}")
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.add(f"{path}.type: must be plain_text or mrkdwn, got {kind!r}")
        elif plain_only and kind != "plain_text":
            self.add(f"{path}.type: must be plain_text here, got {kind!r}")
        value = obj.get("text")
        if not isinstance(value, str):
            self.add(f"{path}.text: missing or not a string")
        elif value == "":
            self.add(f"{path}.text: must not be empty")
        elif limit is not None and len(value) > limit:
            self.add(f"{path}.text is {len(value)} characters; the limit is {limit}")

    def items(self, value: Any, path: str, *, limit: int, minimum: int = 0) -> list[Any]:
        if value is None:
            if minimum:
                self.add(f"{path}: missing (at least {minimum} required)")
            return []
        if not isinstance(value, list):
            self.add(f"{path}: must be a list, got {type(value).__name__}")
            return []
        if len(value) > limit:
            self.add(f"{path} has {len(value)} items; the limit is {limit}")
        if len(value) < minimum:
            self.add(f"{path} has {len(value)} items; at least {minimum} required")
        return value

    def url(self, value: Any, path: str) -> None:
        self.length(value, path, MAX_URL)

    # blocks --------------------------------------------------------------------------------------

    def blocks(self, blocks: Any, *, surface: str) -> None:
        limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
        if not isinstance(blocks, list):
            self.add(f"blocks: must be a list, got {type(blocks).__name__}")
            return
        if len(blocks) > limit:
            self.add(f"{surface} has {len(blocks)} blocks; the limit is {limit}")
        items = blocks
        seen: dict[str, int] = {}
        for i, block in enumerate(items):
            path = f"blocks[{i}]"
            if not isinstance(block, Mapping):
                self.add(f"{path}: must be an object, got {type(block).__name__}")
                continue
            bid = block.get("block_id")
            if bid is not None:
                self.identifier(bid, f"{_describe(block, path)}: block_id")
                if isinstance(bid, str):
                    if bid in seen:
                        self.add(f"{path}: block_id {bid!r} is already used by blocks[{seen[bid]}]")
                    else:
                        seen[bid] = i
            self.block(block, path)
        if self._markdown_total > MAX_MARKDOWN_TOTAL:
            self.add(
                f"markdown blocks hold {self._markdown_total} characters in total; "
                f"the limit is {MAX_MARKDOWN_TOTAL}"
            )

    def block(self, block: Mapping[str, Any], path: str) -> None:
        kind = block.get("type")
        if kind not in KNOWN_BLOCK_TYPES:
            self.add(f"{path}: unknown block type {kind!r}")
            return
        where = _describe(block, path)
        getattr(self, f"block_{kind}")(block, where)

    def block_section(self, block: Mapping[str, Any], where: str) -> None:
        has_text = block.get("text") is not None
        fields = block.get("fields")
        if not has_text and not fields:
            self.add(f"{where}: needs text or fields")
        if has_text:
            self.text(block["text"], f"{where}: text", limit=MAX_SECTION_TEXT)
        for j, field in enumerate(self.items(fields, f"{where}: fields", limit=MAX_SECTION_FIELDS)):
            self.text(field, f"{where}: fields[{j}]", limit=MAX_SECTION_FIELD_TEXT)
        accessory = block.get("accessory")
        if accessory is not None:
            self.element(accessory, f"{where}: accessory", allowed=SECTION_ACCESSORIES)

    def block_divider(self, block: Mapping[str, Any], where: str) -> None:
        return None

    def block_image(self, block: Mapping[str, Any], where: str) -> None:
        self.image_source(block, where)
        self.text(
            block.get("title"), f"{where}: title", limit=MAX_IMAGE_TITLE, plain_only=True, required=False
        )

    def image_source(self, obj: Mapping[str, Any], where: str) -> None:
        if not obj.get("image_url") and not obj.get("slack_file"):
            self.add(f"{where}: needs image_url or slack_file")
        self.url(obj.get("image_url"), f"{where}: image_url")
        alt = obj.get("alt_text")
        if not isinstance(alt, str) or not alt:
            self.add(f"{where}: alt_text is required")
        else:
            self.length(alt, f"{where}: alt_text", MAX_IMAGE_ALT_TEXT)

    def block_actions(self, block: Mapping[str, Any], where: str) -> None:
        elements = self.items(
            block.get("elements"), f"{where}: elements", limit=MAX_ACTIONS_ELEMENTS, minimum=1
        )
        seen: set[str] = set()
        for j, element in enumerate(elements):
            epath = f"{where}: elements[{j}]"
            self.element(element, epath, allowed=ACTIONS_ELEMENTS)
            self.unique_action_id(element, epath, seen)

    def block_context(self, block: Mapping[str, Any], where: str) -> None:
        elements = self.items(
            block.get("elements"), f"{where}: elements", limit=MAX_CONTEXT_ELEMENTS, minimum=1
        )
        for j, element in enumerate(elements):
            epath = f"{where}: elements[{j}]"
            if isinstance(element, Mapping) and element.get("type") == "image":
                self.image_source(element, epath)
            else:
                self.text(element, epath)

    def block_input(self, block: Mapping[str, Any], where: str) -> None:
        self.text(block.get("label"), f"{where}: label", limit=MAX_INPUT_LABEL, plain_only=True)
        self.text(block.get("hint"), f"{where}: hint", limit=MAX_INPUT_HINT, plain_only=True, required=False)
        element = block.get("element")
        if element is None:
            self.add(f"{where}: element is required")
        else:
            self.element(element, f"{where}: element", allowed=INPUT_ELEMENTS)

    def block_header(self, block: Mapping[str, Any], where: str) -> None:
        self.text(block.get("text"), f"{where}: text", limit=MAX_HEADER_TEXT, plain_only=True)

    def block_rich_text(self, block: Mapping[str, Any], where: str) -> None:
        if not isinstance(block.get("elements"), list):
            self.add(f"{where}: elements must be a list")

    def block_file(self, block: Mapping[str, Any], where: str) -> None:
        if not block.get("external_id"):
            self.add(f"{where}: external_id is required")
        if block.get("source") != "remote":
            self.add(f"{where}: source must be 'remote'")

    def block_markdown(self, block: Mapping[str, Any], where: str) -> None:
        value = block.get("text")
        if not isinstance(value, str) or not value:
            self.add(f"{where}: text must be a non-empty string")
        else:
            self._markdown_total += len(value)

    def block_video(self, block: Mapping[str, Any], where: str) -> None:
        for key in ("alt_text", "title", "thumbnail_url", "video_url"):
            if not block.get(key):
                self.add(f"{where}: {key} is required")

    # elements ------------------------------------------------------------------------------------

    def unique_action_id(self, element: Any, path: str, seen: set[str]) -> None:
        if isinstance(element, Mapping) and isinstance(element.get("action_id"), str):
            aid = element["action_id"]
            if aid in seen:
                self.add(f"{path}: action_id {aid!r} is not unique within its block")
            seen.add(aid)

    def element(self, element: Any, path: str, *, allowed: frozenset[str]) -> None:
        if not isinstance(element, Mapping):
            self.add(f"{path}: must be an object, got {type(element).__name__}")
            return
        kind = element.get("type")
        if kind not in allowed:
            self.add(f"{path}: element type {kind!r} is not allowed here")
            return
        self.identifier(element.get("action_id"), f"{path}.action_id")
        self.text(
            element.get("placeholder"),
            f"{path}.placeholder",
            limit=MAX_PLACEHOLDER,
            plain_only=True,
            required=False,
        )
        if element.get("confirm") is not None:
            self.confirm(element["confirm"], f"{path}.confirm")
        if kind == "image":
            self.image_source(element, path)
        elif kind == "button":
            self.button(element, path)
        elif kind in SELECT_TYPES or kind in MULTI_SELECT_TYPES:
            self.select(element, path, multi=kind in MULTI_SELECT_TYPES, static="static" in kind)
        elif kind == "overflow":
            for k, option in enumerate(
                self.items(element.get("options"), f"{path}.options", limit=MAX_OVERFLOW_OPTIONS, minimum=1)
            ):
                self.option(option, f"{path}.options[{k}]", plain_only=True)
        elif kind in ("checkboxes", "radio_buttons"):
            limit = MAX_CHECKBOX_OPTIONS if kind == "checkboxes" else MAX_RADIO_OPTIONS
            options = self.items(element.get("options"), f"{path}.options", limit=limit, minimum=1)
            for k, option in enumerate(options):
                self.option(option, f"{path}.options[{k}]", plain_only=False)
            initial = element.get("initial_options" if kind == "checkboxes" else "initial_option")
            self.initial_options(initial, options, f"{path}", many=kind == "checkboxes")
        elif kind == "plain_text_input":
            self.plain_text_input(element, path)
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and (not isinstance(initial, str) or not _DATE.match(initial)):
                self.add(f"{path}.initial_date must look like YYYY-MM-DD, got {initial!r}")
        elif kind == "timepicker":
            initial = element.get("initial_time")
            if initial is not None and (not isinstance(initial, str) or not _TIME.match(initial)):
                self.add(f"{path}.initial_time must look like HH:mm, got {initial!r}")

    def button(self, element: Mapping[str, Any], path: str) -> None:
        self.text(element.get("text"), f"{path}.text", limit=MAX_BUTTON_TEXT, plain_only=True)
        self.length(element.get("value"), f"{path}.value", MAX_BUTTON_VALUE)
        self.url(element.get("url"), f"{path}.url")
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            self.add(f"{path}.style must be 'primary' or 'danger', got {style!r}")

    def select(self, element: Mapping[str, Any], path: str, *, multi: bool, static: bool) -> None:
        options: list[Any] = []
        if static:
            has_options = element.get("options") is not None
            has_groups = element.get("option_groups") is not None
            if has_options == has_groups:
                self.add(f"{path}: needs exactly one of options or option_groups")
            options = list(self.items(element.get("options"), f"{path}.options", limit=MAX_SELECT_OPTIONS))
            groups = self.items(
                element.get("option_groups"), f"{path}.option_groups", limit=MAX_OPTION_GROUPS
            )
            for g, group in enumerate(groups):
                gpath = f"{path}.option_groups[{g}]"
                if not isinstance(group, Mapping):
                    self.add(f"{gpath}: must be an object")
                    continue
                self.text(group.get("label"), f"{gpath}.label", limit=MAX_OPTION_TEXT, plain_only=True)
                group_options = self.items(group.get("options"), f"{gpath}.options", limit=MAX_SELECT_OPTIONS)
                options.extend(group_options)
            for k, option in enumerate(options):
                self.option(option, f"{path}.options[{k}]", plain_only=True)
        if multi:
            max_items = element.get("max_selected_items")
            if max_items is not None and (not isinstance(max_items, int) or max_items < 1):
                self.add(f"{path}.max_selected_items must be an integer >= 1")
        if static:
            initial = element.get("initial_options" if multi else "initial_option")
            self.initial_options(initial, options, path, many=multi)

    def option(self, option: Any, path: str, *, plain_only: bool) -> None:
        if not isinstance(option, Mapping):
            self.add(f"{path}: must be an option object {{text, value}}")
            return
        self.text(option.get("text"), f"{path}.text", limit=MAX_OPTION_TEXT, plain_only=plain_only)
        value = option.get("value")
        if value is None:
            self.add(f"{path}.value is required")
        else:
            self.length(value, f"{path}.value", MAX_OPTION_VALUE)
        self.text(
            option.get("description"), f"{path}.description", limit=MAX_OPTION_DESCRIPTION, required=False
        )
        self.url(option.get("url"), f"{path}.url")

    def initial_options(self, initial: Any, options: Sequence[Any], path: str, *, many: bool) -> None:
        if initial is None:
            return
        chosen = initial if many else [initial]
        if not isinstance(chosen, list):
            self.add(f"{path}: initial_options must be a list")
            return
        values = {o.get("value") for o in options if isinstance(o, Mapping)}
        for option in chosen:
            value = option.get("value") if isinstance(option, Mapping) else None
            if value not in values:
                key = "initial_options" if many else "initial_option"
                self.add(f"{path}.{key}: value {value!r} is not one of the element's options")

    def plain_text_input(self, element: Mapping[str, Any], path: str) -> None:
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        for key, value in (("max_length", max_length), ("min_length", min_length)):
            if value is None:
                continue
            if not isinstance(value, int) or value < 0:
                self.add(f"{path}.{key} must be a non-negative integer")
            elif value > MAX_PLAIN_TEXT_INPUT_LENGTH:
                self.add(f"{path}.{key} is {value}; the limit is {MAX_PLAIN_TEXT_INPUT_LENGTH}")
        if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
            self.add(f"{path}: min_length {min_length} is larger than max_length {max_length}")
        initial = element.get("initial_value")
        limit = max_length if isinstance(max_length, int) else MAX_PLAIN_TEXT_INPUT_LENGTH
        self.length(initial, f"{path}.initial_value", min(limit, MAX_PLAIN_TEXT_INPUT_LENGTH))

    def confirm(self, confirm: Any, path: str) -> None:
        if not isinstance(confirm, Mapping):
            self.add(f"{path}: must be a confirmation dialog object")
            return
        self.text(confirm.get("title"), f"{path}.title", limit=MAX_CONFIRM_TITLE, plain_only=True)
        self.text(confirm.get("text"), f"{path}.text", limit=MAX_CONFIRM_TEXT)
        self.text(confirm.get("confirm"), f"{path}.confirm", limit=MAX_CONFIRM_BUTTON, plain_only=True)
        self.text(confirm.get("deny"), f"{path}.deny", limit=MAX_CONFIRM_BUTTON, plain_only=True)

    # views ---------------------------------------------------------------------------------------

    def view(self, view: Any) -> None:
        if not isinstance(view, Mapping):
            self.add(f"view: must be an object, got {type(view).__name__}")
            return
        kind = view.get("type")
        if kind not in VIEW_TYPES:
            self.add(f"view.type must be 'modal' or 'home', got {kind!r}")
        try:
            size = len(json.dumps(view, ensure_ascii=False).encode("utf-8"))
        except (TypeError, ValueError) as exc:
            self.add(f"view: not JSON-serialisable ({exc})")
            size = 0
        if size > MAX_VIEW_JSON_BYTES:
            self.add(f"view JSON is {size} bytes; the limit is {MAX_VIEW_JSON_BYTES}")
        if kind == "modal":
            self.text(view.get("title"), "view.title", limit=MAX_VIEW_TITLE, plain_only=True)
            self.text(
                view.get("submit"), "view.submit", limit=MAX_VIEW_TITLE, plain_only=True, required=False
            )
            self.text(view.get("close"), "view.close", limit=MAX_VIEW_TITLE, plain_only=True, required=False)
            blocks = view.get("blocks")
            has_input = isinstance(blocks, list) and any(
                isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
            )
            if has_input and view.get("submit") is None:
                self.add("view.submit is required when the modal has input blocks")
        metadata = view.get("private_metadata")
        self.length(metadata, "view.private_metadata", MAX_PRIVATE_METADATA)
        self.identifier(view.get("callback_id"), "view.callback_id")
        self.identifier(view.get("external_id"), "view.external_id")
        if view.get("blocks") is None:
            self.add("view.blocks is required")
        else:
            self.blocks(view.get("blocks"), surface=kind if kind in VIEW_TYPES else "modal")
