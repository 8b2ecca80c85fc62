"""Events API listeners. Each event we act on is written to the store before Bolt acks it
(`bot.slack.inbound`); the work happens after the ack, on the event pool, and rides out a database
restart (`retry_transient`): an acked event is one Slack will not send again, so it must not live only
in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.metrics import EVENTS
from bot.slack.inbound import ROW_KEY, EventQueue, EventWork
from bot.slack.listeners import team_id_of
from bot.slack.listeners.answers import answer_message
from bot.slack.listeners.dm import answer_dm
from bot.store.outage import retry_transient


def _ingest_and_answer(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    bot_user_id: str | None,
    event: dict[str, Any],
    event_id: str | None,
) -> None:
    try:
        retry_transient(
            lambda: ingest.handle_message(ctx, client, team_id, bot_user_id, event, event_id), "message"
        )
    finally:  # a question is answered even if storing it failed; the answer never raises
        answer_message(ctx, client, team_id, bot_user_id, event)


def _on_message(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, body: dict[str, Any], _: Any
) -> None:
    event = body.get("event") or {}
    if event.get("channel_type") == "im":  # a member writing to passiton itself
        answer_dm(ctx, client, team_id, bot_user_id, event, body.get("event_id"))
        return
    _ingest_and_answer(ctx, client, team_id, bot_user_id, event, body.get("event_id"))


def _on_mention(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, body: dict[str, Any], _: Any
) -> None:
    # The same message also arrives as `message` when the app is subscribed to the channel; the
    # item key makes the two one, and the answer is claimed per message, so it is posted once.
    event = body.get("event") or {}
    event = {**event, "channel_type": event.get("channel_type") or "channel"}
    _ingest_and_answer(ctx, client, team_id, bot_user_id, event, body.get("event_id"))


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
    "message": _on_message,
    "app_mention": _on_mention,
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


def register(app: App, ctx: AppContext, *, installation_store: Any | None = None) -> None:
    queue = EventQueue(ctx, WORK, installation_store)
    queue.attach(app)

    def listener(event_type: str) -> Callable[..., None]:
        def on_event(body: dict[str, Any], context: Any, client: WebClient) -> None:
            EVENTS.labels(event_type).inc()
            queue.run_later(event_type, client, team_id_of(body, context), context.bot_user_id, body,
                            context.get(ROW_KEY))  # fmt: skip

        on_event.__name__ = f"on_{event_type}"
        return on_event

    for event_type in WORK:
        app.event(event_type)(listener(event_type))
