"""Events API listeners. Bolt acks events before these run; the work happens after the ack, on the
event pool, and rides out a database restart (`retry_transient`): an acked event is one Slack will not
send again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.metrics import EVENTS
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


def _durably(ctx: AppContext, what: str, fn: Callable[..., None], /, *args: Any) -> None:
    """Run an event's work on the event pool, retried through a database restart; the pool keeps
    Bolt's own threads free for commands and buttons while it waits."""

    def work() -> None:
        retry_transient(lambda: fn(*args), what)

    ctx.submit(work)


def register(app: App, ctx: AppContext, *, installation_store: Any | None = None) -> None:
    def _count(body: dict[str, Any]) -> None:
        EVENTS.labels(str((body.get("event") or {}).get("type") or "unknown")).inc()

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient) -> None:
        _count(body)
        if event.get("channel_type") == "im":  # a member writing to passiton itself
            ctx.submit(answer_dm, ctx, client, team_id_of(body, context), context.bot_user_id, event,
                       body.get("event_id"))  # fmt: skip
            return
        ctx.submit(_ingest_and_answer, ctx, client, team_id_of(body, context), context.bot_user_id, event,
                   body.get("event_id"))  # fmt: skip

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient) -> None:
        # The same message also arrives as `message` when the app is subscribed to the channel; the
        # item key makes the two one, and the answer is claimed per message, so it is posted once.
        _count(body)
        event = {**event, "channel_type": event.get("channel_type") or "channel"}
        ctx.submit(_ingest_and_answer, ctx, client, team_id_of(body, context), context.bot_user_id, event,
                   body.get("event_id"))  # fmt: skip

    @app.event("member_joined_channel")
    def on_joined(body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient) -> None:
        _count(body)
        _durably(ctx, "member_joined_channel", ingest.handle_member_joined,
                 ctx, client, team_id_of(body, context), context.bot_user_id, event, body.get("event_id"))  # fmt: skip

    @app.event("member_left_channel")
    def on_left(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "member_left_channel", ingest.handle_member_left,
                 ctx, team_id_of(body, context), event, body.get("event_id"))  # fmt: skip

    def on_bot_left(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, str(event.get("type")), ingest.handle_bot_left_channel,
                 ctx, team_id_of(body, context), event)  # fmt: skip

    # The bot was removed from a public (channel_left) or private (group_left) channel.
    app.event("channel_left")(on_bot_left)
    app.event("group_left")(on_bot_left)

    @app.event("team_join")
    def on_team_join(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "team_join", ingest.handle_team_join,
                 ctx, team_id_of(body, context), event.get("user") or {}, body.get("event_id"))  # fmt: skip

    @app.event("user_change")
    def on_user_change(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "user_change", ingest.handle_user_change,
                 ctx, team_id_of(body, context), event.get("user") or {}, body.get("event_id"))  # fmt: skip

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "reaction_added", ingest.handle_reaction,
                 ctx, team_id_of(body, context), event, body.get("event_id"))  # fmt: skip

    @app.event("app_uninstalled")
    def on_uninstalled(body: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "app_uninstalled", ingest.handle_uninstalled,
                 ctx, team_id_of(body, context), body.get("enterprise_id"), installation_store)  # fmt: skip

    @app.event("tokens_revoked")
    def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any], context: Any) -> None:
        _count(body)
        _durably(ctx, "tokens_revoked", ingest.handle_tokens_revoked,
                 ctx, team_id_of(body, context), body.get("enterprise_id"), event.get("tokens") or {},
                 installation_store)  # fmt: skip
