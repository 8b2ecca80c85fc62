"""The "Remove" button under an in-channel answer: the asker takes the bot's reply away."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.slack.payloads import user_id_of


def on_remove(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, respond: Any) -> None:
    """The asker takes the bot's reply away (asked by mistake, or it isn't wanted); nobody else can."""
    ack()
    asker = str((body.get("actions") or [{}])[0].get("value") or "")
    if user_id_of(body) != asker:
        respond(response_type="ephemeral", replace_original=False,
                text="Only the person who asked can remove this reply.")  # fmt: skip
        return
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    if channel and ts:
        client.chat_delete(channel=str(channel), ts=str(ts))
