"""Modals: editing topics and settings, passing an item on, showing who could help.

`open_pass_it_on_modal` is the entry point other lanes use (the nudge DM's "Pass it on" button).
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.matching.topics import MAX_TOPICS, topic_label
from bot.messages import Block, context, plain, section
from bot.messages.mrkdwn import escape, link, quote
from bot.slack.commands_parse import format_clock
from bot.slack.member_settings import MemberState

EDIT_TOPICS = "edit_topics"
EDIT_SETTINGS = "edit_settings"
PASS_IT_ON = "pass_it_on_submit"
WHO_COULD_HELP = "who_could_help_view"
PASS_IT_ON_DONE = "pass_it_on_done"
RETRY_BLOCK = "pass_it_on_problem"
VIEW_CALLBACKS = (EDIT_TOPICS, EDIT_SETTINGS, PASS_IT_ON)

PAUSE_CHOICES = {
    "keep": "Leave as is",
    "resume": "Not paused",
    "1": "1 day",
    "3": "3 days",
    "7": "1 week",
    "14": "2 weeks",
    "28": "4 weeks",
}
DELIVERY_CHOICES = {"slack": "Slack messages", "email": "Email digest", "both": "Both", "off": "Off"}
DIGEST_CHOICES = {"daily": "Daily", "weekly": "Weekly"}
MAX_RECIPIENTS = 5
MAX_NOTE = 1500


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def _text_input(
    action_id: str,
    initial: str = "",
    *,
    multiline: bool = False,
    placeholder: str = "",
    max_length: int = 3000,
) -> dict[str, Any]:
    el: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        el["initial_value"] = initial
    if placeholder:
        el["placeholder"] = plain(placeholder)
    return el


MAX_INPUT = 3000  # Slack's max_length for a plain_text_input
# The topics modal's boxes: "topics", then "topics_2", … for a list longer than one box holds.
TOPIC_BLOCKS = ("topics", *(f"topics_{n}" for n in range(2, 41)))
PUBLIC_BLOCKS = ("public", *(f"public_{n}" for n in range(2, 41)))


def topic_chunks(labels: list[str]) -> list[str]:
    """Comma-joined labels split into boxes of at most MAX_INPUT characters and MAX_TOPICS topics each
    (never inside a topic); always at least one (possibly empty) box."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for label in labels:
        extra = len(label) + (2 if current else 0)
        if current and (size + extra > MAX_INPUT or len(current) >= MAX_TOPICS):
            chunks.append(", ".join(current))
            current, size, extra = [], 0, len(label)
        current.append(label)
        size += extra
    chunks.append(", ".join(current))
    return chunks[: len(TOPIC_BLOCKS)]


def topics_modal(kind: str, state: MemberState) -> dict[str, Any]:
    """Edit one list of topics as comma-separated text (expertise also asks which may be named)."""
    if kind == "interest":
        current, title = state.interests, "Your interests"
        label = "What would you like to hear about?"
    elif kind == "expertise":
        current, title = [t for t, _ in state.expertise], "Your expertise"
        label = "What could you help someone with?"
    else:
        current, title = state.muted, "Muted topics"
        label = "Topics never to suggest to you"
    chunks = topic_chunks([topic_label(t) for t in current])
    blocks: list[Block] = [
        _input(
            TOPIC_BLOCKS[0],
            label,
            _text_input("topics", chunks[0], multiline=True, placeholder="postgres, k8s, design"),
            optional=True,
            hint="Separate topics with commas. Leave empty to clear the list.",
        )
    ]
    # A long list goes on in more boxes, each within Slack's 3000 characters (and the 50 topics one box
    # may hold): a pre-filled value over max_length would make Slack refuse to open the modal at all.
    for n, chunk in enumerate(chunks[1:], start=1):
        blocks.append(
            _input(
                TOPIC_BLOCKS[n],
                f"{label} (continued)",
                _text_input("topics", chunk, multiline=True),
                optional=True,
            )
        )
    if kind == "expertise":
        public = topic_chunks([topic_label(t) for t, is_public in state.expertise if is_public])
        blocks.append(
            _input(
                PUBLIC_BLOCKS[0],
                "Which of these may passiton name you for in channel answers?",
                _text_input("public", public[0], placeholder="e.g. terraform"),
                optional=True,
                hint="Off unless you list them here. You are named, never @-mentioned.",
            )
        )
        for n, chunk in enumerate(public[1:], start=1):
            blocks.append(
                _input(PUBLIC_BLOCKS[n], "(continued)", _text_input("public", chunk), optional=True)
            )
    return {
        "type": "modal",
        "callback_id": EDIT_TOPICS,
        "private_metadata": json.dumps({"kind": kind}),
        "title": plain(title),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def settings_modal(state: MemberState) -> dict[str, Any]:
    delivery = {
        "type": "radio_buttons",
        "action_id": "delivery",
        "options": [_option(v, t) for v, t in DELIVERY_CHOICES.items()],
        "initial_option": _option(state.delivery, DELIVERY_CHOICES.get(state.delivery, state.delivery)),
    }
    digest = {
        "type": "radio_buttons",
        "action_id": "digest",
        "options": [_option(v, t) for v, t in DIGEST_CHOICES.items()],
        "initial_option": _option(state.digest, DIGEST_CHOICES.get(state.digest, state.digest)),
    }
    quiet = ""
    if state.quiet_start is not None and state.quiet_end is not None:
        quiet = f"{format_clock(state.quiet_start)}-{format_clock(state.quiet_end)}"
    pause = {
        "type": "static_select",
        "action_id": "pause",
        "options": [_option(v, t) for v, t in PAUSE_CHOICES.items()],
        "initial_option": _option("keep", PAUSE_CHOICES["keep"]),
    }
    weekends_option = _option("weekends_off", "No suggestions on weekends")
    weekends: dict[str, Any] = {"type": "checkboxes", "action_id": "weekends", "options": [weekends_option]}
    if state.weekends_off:
        weekends["initial_options"] = [weekends_option]
    return {
        "type": "modal",
        "callback_id": EDIT_SETTINGS,
        "title": plain("Delivery and timing"),
        "submit": plain("Save"),
        "close": plain("Cancel"),
        "blocks": [
            _input("delivery", "How suggestions reach you", delivery),
            _input("digest", "Email digest", digest, hint="Used when suggestions come by email."),
            _input(
                "quiet",
                "Quiet hours (your time zone)",
                _text_input("quiet", quiet, placeholder="19:00-08:00", max_length=20),
                optional=True,
                hint=f"Like 19:00-08:00. Empty for none. Time zone from Slack: {state.tz}.",
            ),
            _input("pause", "Pause", pause),
            _input("weekends", "Weekends", weekends, optional=True),
        ],
    }


@dataclass(frozen=True)
class PassItOnTarget:
    """What is being passed on; travels in the modal's private_metadata."""

    channel: str
    ts: str
    item_id: int | None = None
    nudge_id: int | None = None

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str) -> PassItOnTarget:
        data = json.loads(raw or "{}")
        return cls(
            channel=str(data["channel"]),
            ts=str(data["ts"]),
            item_id=int(data["item_id"]) if data.get("item_id") is not None else None,
            nudge_id=int(data["nudge_id"]) if data.get("nudge_id") is not None else None,
        )


@dataclass(frozen=True)
class ItemPreview:
    """The few facts the modal shows about the message being passed on."""

    title: str
    text: str
    url: str | None
    channel_name: str
    is_private: bool


def pass_it_on_modal(
    target: PassItOnTarget,
    preview: ItemPreview,
    prefill_user_ids: list[str] | tuple[str, ...] = (),
    draft: str | None = None,
) -> dict[str, Any]:
    shown = link(preview.url, preview.title or preview.url) if preview.url else escape(preview.title)
    summary = [s for s in (shown, quote(preview.text, 300) if preview.text else "") if s]
    where = f"#{escape(preview.channel_name)}" if preview.channel_name else "a conversation"
    users: dict[str, Any] = {
        "type": "multi_users_select",
        "action_id": "recipients",
        "max_selected_items": MAX_RECIPIENTS,
        "placeholder": plain("Pick one or more people"),
    }
    if prefill_user_ids:
        users["initial_users"] = list(prefill_user_ids)[:MAX_RECIPIENTS]
    blocks: list[Block] = [
        section("\n".join(summary) or "_(a message)_"),
        context(
            f"From {where}."
            + (
                " This is from a private conversation: it can only go to people in it."
                if preview.is_private
                else ""
            )
        ),
        _input("recipients", "Pass it on to", users),
        _input(
            "note",
            "Your note",
            _text_input(
                "note",
                draft or "",
                multiline=True,
                placeholder="Thought of you when I saw this…",
                max_length=MAX_NOTE,
            ),
            optional=True,
            hint="Sent in your name, in a conversation between you, them and passiton."
            + (" Edit the draft freely." if draft else ""),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": PASS_IT_ON,
        "private_metadata": target.dumps(),
        "title": plain("Pass it on"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }


def pass_it_on_sending_modal() -> dict[str, Any]:
    """What the modal turns into the moment it is submitted (`response_action: update`): the checks
    and the sending need Slack calls, which never run before the ack."""
    return {
        "type": "modal",
        "callback_id": PASS_IT_ON_DONE,
        "title": plain("Pass it on"),
        "close": plain("Close"),
        "blocks": [section("Passing it on…"), context("You can close this; it goes on without you.")],
    }


def pass_it_on_done_modal(text: str) -> dict[str, Any]:
    """The outcome, in place of "Passing it on…": `text` is mrkdwn, already escaped."""
    return {
        "type": "modal",
        "callback_id": PASS_IT_ON_DONE,
        "title": plain("Pass it on"),
        "close": plain("Close"),
        "blocks": [section(text)],
    }


def pass_it_on_retry_modal(
    submitted: dict[str, Any], problem: str, recipients: list[str], note: str
) -> dict[str, Any]:
    """The form again, as submitted (same block and action ids, the choices kept), with what was
    wrong at the top: a check that needed Slack ran after the modal had already closed into
    "Passing it on…", so Slack's inline `errors` are no longer available. `problem` is escaped mrkdwn."""
    blocks: list[Block] = [
        copy.deepcopy(b) for b in submitted.get("blocks") or [] if b.get("block_id") != RETRY_BLOCK
    ]
    for block in blocks:
        element = block.get("element") or {}
        if block.get("block_id") == "recipients" and element.get("type") == "multi_users_select":
            element["initial_users"] = recipients[:MAX_RECIPIENTS]
        elif block.get("block_id") == "note" and element.get("type") == "plain_text_input":
            element.pop("initial_value", None)
            if note:
                element["initial_value"] = note[:MAX_NOTE]
    warning = section(f":warning: {problem}", block_id=RETRY_BLOCK)
    return {
        "type": "modal",
        "callback_id": PASS_IT_ON,
        "private_metadata": str(submitted.get("private_metadata") or ""),
        "title": plain("Pass it on"),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [warning, *blocks],
    }


def who_could_help_modal(found: dict[str, list[str]], topics_seen: list[str]) -> dict[str, Any]:
    """`found`: topic -> display names of members who agreed to be named for it."""
    if found:
        lines = [
            f"*{escape(topic_label(topic))}*: " + ", ".join(escape(n) for n in names)
            for topic, names in sorted(found.items())
        ]
        body = "People who said they can help and agreed to be named:\n" + "\n".join(lines)
        tail = "Only you can see this. Nobody was notified; reaching out is up to you."
    elif topics_seen:
        body = (
            "Nobody has agreed to be named for "
            + ", ".join(f"*{escape(topic_label(t))}*" for t in topics_seen)
            + " yet."
        )
        tail = "Asking in a channel, or `/passiton ask …`, may still find someone."
    else:
        body = "I couldn't tell what this message is about from the topics people listed."
        tail = "`/passiton who knows &lt;topic&gt;` looks a topic up directly."  # escaped: Slack reads <…> as a link
    return {
        "type": "modal",
        "callback_id": WHO_COULD_HELP,
        "title": plain("Who could help"),
        "close": plain("Close"),
        "blocks": [section(body), context(tail)],
    }


def open_pass_it_on_modal(
    client: Any,
    trigger_id: str,
    item: Any,
    prefill_user_ids: list[str] | tuple[str, ...] = (),
    draft: str | None = None,
    *,
    channel_name: str = "",
    nudge_id: int | None = None,
) -> Any:
    """Open the pass-it-on modal for a stored Slack `Item` (the nudge DM's "Pass it on" button uses this).

    `prefill_user_ids` are Slack user ids preselected as recipients; `draft` prefills the note (an
    editable suggestion, e.g. from an LLM). On submit the view handler checks privacy again, sends the
    message in the giver's name, and marks `nudge_id` (when given) acted on with a `shared` feedback.
    """
    channel, _, ts = str(item.source_key).partition(":")
    target = PassItOnTarget(channel=channel, ts=ts, item_id=item.id, nudge_id=nudge_id)
    preview = ItemPreview(
        title=item.title or "",
        text=item.text or "",
        url=item.url,
        channel_name=channel_name,
        is_private=bool(item.is_private),
    )
    return client.views_open(
        trigger_id=trigger_id, view=pass_it_on_modal(target, preview, prefill_user_ids, draft)
    )
