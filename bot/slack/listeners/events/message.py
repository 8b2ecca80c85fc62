"""The work of `message` and `app_mention`, after the ack: a posted message is ingested (understood,
stored, matched, planned) and, when it asks who knows something, answered in its thread; a DM to the
bot is read as a command."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.answers import answer_message
from bot.slack.direct_messages import answer_dm
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


def message_work(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, body: dict[str, Any], _: Any
) -> None:
    event = body.get("event") or {}
    if event.get("channel_type") == "im":  # a member writing to passiton itself
        answer_dm(ctx, client, team_id, bot_user_id, event, body.get("event_id"))
        return
    _ingest_and_answer(ctx, client, team_id, bot_user_id, event, body.get("event_id"))


def mention_work(
    ctx: AppContext, client: WebClient, team_id: str, bot_user_id: str | None, body: dict[str, Any], _: Any
) -> None:
    # The same message also arrives as `message` when the app is subscribed to the channel; the
    # item key makes the two one, and the answer is claimed per message, so it is posted once.
    event = body.get("event") or {}
    event = {**event, "channel_type": event.get("channel_type") or "channel"}
    _ingest_and_answer(ctx, client, team_id, bot_user_id, event, body.get("event_id"))
