"""What each event type does after the ack. `bot.slack.inbound` stores every one of these events before
Bolt acks it and runs its work here on the event pool (bot/slack/listeners/events/queued.py hands it over)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.inbound import EventWork
from bot.slack.listeners.events.message import mention_work, message_work
from bot.store.outage import retry_transient


def _durably(what: str, fn: Callable[..., None]) -> EventWork:
    """The event's handler, retried through a database restart; it runs on the event pool, which keeps
    Bolt's own threads free for commands and buttons while it waits."""

    def work(
        ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, body: dict[str, Any],
        installation_store: Any,
    ) -> None:  # fmt: skip
        event = body.get("event") or {}
        event_id = body.get("event_id")
        enterprise_id = body.get("enterprise_id")
        args: dict[str, tuple[Any, ...]] = {
            "member_joined_channel": (ctx, client, team_id, bot_user_id, event, event_id),
            "member_left_channel": (ctx, team_id, event, event_id),
            # The bot was removed from a public (channel_left) or private (group_left) channel.
            "channel_left": (ctx, team_id, event),
            "group_left": (ctx, team_id, event),
            "team_join": (ctx, team_id, event.get("user") or {}, event_id),
            "user_change": (ctx, team_id, event.get("user") or {}, event_id),
            "reaction_added": (ctx, team_id, event, event_id),
            "app_uninstalled": (ctx, team_id, enterprise_id, installation_store),
            "tokens_revoked": (ctx, team_id, enterprise_id, event.get("tokens") or {}, installation_store),
        }
        retry_transient(lambda: fn(*args[what]), what)

    return work


# What each event type does after the ack; `bot.slack.inbound` stores every one of them before it.
WORK: dict[str, EventWork] = {
    "message": message_work,
    "app_mention": mention_work,
    "member_joined_channel": _durably("member_joined_channel", ingest.handle_member_joined),
    "member_left_channel": _durably("member_left_channel", ingest.handle_member_left),
    "channel_left": _durably("channel_left", ingest.handle_bot_left_channel),
    "group_left": _durably("group_left", ingest.handle_bot_left_channel),
    "team_join": _durably("team_join", ingest.handle_team_join),
    "user_change": _durably("user_change", ingest.handle_user_change),
    "reaction_added": _durably("reaction_added", ingest.handle_reaction),
    "app_uninstalled": _durably("app_uninstalled", ingest.handle_uninstalled),
    "tokens_revoked": _durably("tokens_revoked", ingest.handle_tokens_revoked),
}
