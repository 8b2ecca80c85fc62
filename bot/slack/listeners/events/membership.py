"""Channel membership: a member joined or left a channel, or the bot was removed from one."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.listeners.events.work import count, durably
from bot.slack.listeners.request import team_id_of


def on_joined(
    body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    count(body)
    durably(passiton, "member_joined_channel", ingest.handle_member_joined,
            passiton, client, team_id_of(body, context), context.bot_user_id, event, body.get("event_id"))  # fmt: skip


def on_left(body: dict[str, Any], event: dict[str, Any], context: Any, passiton: AppContext) -> None:
    count(body)
    durably(passiton, "member_left_channel", ingest.handle_member_left,
            passiton, team_id_of(body, context), event, body.get("event_id"))  # fmt: skip


def on_bot_left(body: dict[str, Any], event: dict[str, Any], context: Any, passiton: AppContext) -> None:
    count(body)
    durably(passiton, str(event.get("type")), ingest.handle_bot_left_channel,
            passiton, team_id_of(body, context), event)  # fmt: skip
