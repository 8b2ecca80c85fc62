"""A deliberately partial Block Kit checker for the emulator.

Slack rejects structurally wrong blocks with `invalid_blocks` and a message carrying a JSON
pointer. We check the mistakes an app realistically makes (wrong text object types, missing
fields, over-long strings, duplicate ids, too many blocks); anything we don't know is accepted.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.model import SlackError

KNOWN_BLOCKS = {
    "section", "divider", "image", "actions", "context", "input", "header", "rich_text",
    "video", "file", "markdown", "call", "table", "context_actions",
}  # fmt: skip
INTERACTIVE = {
    "button", "static_select", "multi_static_select", "users_select", "multi_users_select",
    "conversations_select", "multi_conversations_select", "channels_select", "multi_channels_select",
    "external_select", "multi_external_select", "overflow", "datepicker", "timepicker",
    "datetimepicker", "checkboxes", "radio_buttons", "plain_text_input", "email_text_input",
    "url_text_input", "number_input", "rich_text_input", "file_input", "workflow_button",
}  # fmt: skip


class _Invalid(Exception):
    def __init__(self, msg: str, pointer: str) -> None:
        super().__init__(f"[ERROR] {msg} [json-pointer:{pointer}]")


def parse_json_arg(value: Any, error: str) -> Any:
    """Form bodies carry JSON as a string; JSON bodies carry it inline."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    return value


def _text_obj(obj: Any, ptr: str, *, plain_only: bool = False, max_len: int = 3000) -> None:
    if not isinstance(obj, dict):
        raise _Invalid("expected an object", ptr)
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if kind not in allowed:
        raise _Invalid(f"must be one of {list(allowed)}", f"{ptr}/type")
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise _Invalid("must be more than 0 characters", f"{ptr}/text")
    if len(text) > max_len:
        raise _Invalid(f"must be less than {max_len + 1} characters", f"{ptr}/text")


def _element(el: Any, ptr: str, action_ids: set[str]) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        raise _Invalid("missing required field: type", ptr)
    kind = el["type"]
    if kind in INTERACTIVE:
        aid = el.get("action_id")
        if aid is not None:
            if not isinstance(aid, str) or len(aid) > 255:
                raise _Invalid("must be less than 256 characters", f"{ptr}/action_id")
            if aid in action_ids:
                raise _Invalid("action_id already exists", f"{ptr}/action_id")
            action_ids.add(aid)
    if kind == "plain_text_input":
        # Slack: max_length at most 3000, and an initial_value longer than max_length is refused.
        max_length = el.get("max_length", 3000)
        if not isinstance(max_length, int) or not 1 <= max_length <= 3000:
            raise _Invalid("must be between 1 and 3000", f"{ptr}/max_length")
        initial = el.get("initial_value")
        if initial is not None and (not isinstance(initial, str) or len(initial) > max_length):
            raise _Invalid(f"must be less than {max_length + 1} characters", f"{ptr}/initial_value")
    if kind == "overflow":
        options = el.get("options")
        if not isinstance(options, list) or not 2 <= len(options) <= 5:
            raise _Invalid("must provide between 2 and 5 items", f"{ptr}/options")
        for j, option in enumerate(options):
            if not isinstance(option, dict):
                raise _Invalid("expected an object", f"{ptr}/options/{j}")
            _text_obj(option.get("text"), f"{ptr}/options/{j}/text", plain_only=True, max_len=75)
            value = option.get("value")
            if value is not None and (not isinstance(value, str) or len(value) > 150):
                raise _Invalid("must be less than 151 characters", f"{ptr}/options/{j}/value")
    if kind == "button":
        _text_obj(el.get("text"), f"{ptr}/text", plain_only=True, max_len=75)
        if "value" in el and len(str(el["value"])) > 2000:
            raise _Invalid("must be less than 2001 characters", f"{ptr}/value")
        if "style" in el and el["style"] not in ("primary", "danger"):
            raise _Invalid("must be one of [primary, danger]", f"{ptr}/style")
    if kind in INTERACTIVE and "confirm" in el:  # Slack's confirmation dialog object
        confirm = el["confirm"]
        if not isinstance(confirm, dict):
            raise _Invalid("expected an object", f"{ptr}/confirm")
        _text_obj(confirm.get("title"), f"{ptr}/confirm/title", plain_only=True, max_len=100)
        _text_obj(confirm.get("text"), f"{ptr}/confirm/text", plain_only=False, max_len=300)
        _text_obj(confirm.get("confirm"), f"{ptr}/confirm/confirm", plain_only=True, max_len=30)
        _text_obj(confirm.get("deny"), f"{ptr}/confirm/deny", plain_only=True, max_len=30)


def validate_blocks(blocks: Any, *, max_blocks: int = 50, field: str = "blocks") -> list[dict[str, Any]]:
    """Return the blocks if valid; raise SlackError("invalid_blocks") otherwise."""
    try:
        if not isinstance(blocks, list):
            raise _Invalid("must be an array", "")
        if len(blocks) > max_blocks:
            raise _Invalid(f"no more than {max_blocks} items allowed", "")
        block_ids: set[str] = set()
        for i, block in enumerate(blocks):
            _block(block, f"/{field}/{i}", block_ids)
    except _Invalid as exc:
        raise SlackError("invalid_blocks", [str(exc)]) from None
    return blocks


def _block(block: Any, ptr: str, block_ids: set[str]) -> None:
    if not isinstance(block, dict):
        raise _Invalid("expected an object", ptr)
    kind = block.get("type")
    if not isinstance(kind, str):
        raise _Invalid("missing required field: type", ptr)
    if kind not in KNOWN_BLOCKS:
        raise _Invalid(f"unsupported type: {kind}", f"{ptr}/type")
    bid = block.get("block_id")
    if bid is not None:
        if not isinstance(bid, str) or len(bid) > 255:
            raise _Invalid("must be less than 256 characters", f"{ptr}/block_id")
        if bid in block_ids:
            raise _Invalid("block_id already exists", f"{ptr}/block_id")
        block_ids.add(bid)
    action_ids: set[str] = set()
    if kind == "section":
        if "text" not in block and "fields" not in block:
            raise _Invalid("must provide either text or fields", ptr)
        if "text" in block:
            _text_obj(block["text"], f"{ptr}/text")
        for j, f in enumerate(block.get("fields") or []):
            _text_obj(f, f"{ptr}/fields/{j}", max_len=2000)
        if len(block.get("fields") or []) > 10:
            raise _Invalid("no more than 10 items allowed", f"{ptr}/fields")
        if "accessory" in block:
            _element(block["accessory"], f"{ptr}/accessory", action_ids)
    elif kind == "header":
        _text_obj(block.get("text"), f"{ptr}/text", plain_only=True, max_len=150)
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        limit = 25 if kind == "actions" else 10
        if not isinstance(elements, list) or not elements:
            raise _Invalid("must provide at least 1 item", f"{ptr}/elements")
        if len(elements) > limit:
            raise _Invalid(f"no more than {limit} items allowed", f"{ptr}/elements")
        for j, el in enumerate(elements):
            if kind == "context":
                if not isinstance(el, dict) or el.get("type") not in ("plain_text", "mrkdwn", "image"):
                    raise _Invalid("must be one of [image, plain_text, mrkdwn]", f"{ptr}/elements/{j}")
                if el["type"] != "image":
                    _text_obj(el, f"{ptr}/elements/{j}")
            else:
                _element(el, f"{ptr}/elements/{j}", action_ids)
    elif kind == "input":
        _text_obj(block.get("label"), f"{ptr}/label", plain_only=True, max_len=2000)
        if "element" not in block:
            raise _Invalid("missing required field: element", ptr)
        _element(block["element"], f"{ptr}/element", action_ids)
    elif kind == "image" and not block.get("alt_text"):
        raise _Invalid("missing required field: alt_text", ptr)


def validate_view(view: Any, *, kind: str) -> dict[str, Any]:
    """Check a views.* payload; errors are `invalid_arguments` with messages, as Slack answers."""
    if not isinstance(view, dict):
        raise SlackError(
            "invalid_arguments", ["[ERROR] failed to match all allowed schemas [json-pointer:/view]"]
        )
    vtype = view.get("type")
    expected = ("home",) if kind == "home" else ("modal",)
    if vtype not in expected:
        raise SlackError(
            "invalid_arguments", [f"[ERROR] must be one of {list(expected)} [json-pointer:/view/type]"]
        )
    if vtype == "modal":
        try:
            _text_obj(view.get("title"), "/view/title", plain_only=True, max_len=24)
            for key in ("submit", "close"):
                if view.get(key) is not None:
                    _text_obj(view[key], f"/view/{key}", plain_only=True, max_len=24)
        except _Invalid as exc:
            raise SlackError("invalid_arguments", [str(exc)]) from None
        if view.get("submit") is None and any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        ):
            raise SlackError(
                "invalid_arguments",
                ["[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"],
            )
    if len(str(view.get("private_metadata", ""))) > 3000:
        raise SlackError(
            "invalid_arguments",
            ["[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"],
        )
    if len(json.dumps(view)) > 250_000:
        raise SlackError("view_too_large")
    try:
        validate_blocks(view.get("blocks", []), max_blocks=100, field="view/blocks")
    except SlackError as exc:
        raise SlackError("invalid_arguments", exc.messages) from None
    return view
