"""The one callback of every event type `bot.slack.inbound` stores before the ack: count it and hand it
to the queue, which runs its work (work.py) on the event pool and settles its stored row."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.metrics import EVENTS
from bot.slack.inbound import ROW_KEY, EventQueue
from bot.slack.payloads import team_id_of


def on_event(body: dict[str, Any], context: Any, client: WebClient, passiton_events: EventQueue) -> None:
    # Bolt routes by the event's own type, so it is the type this callback was registered for.
    event_type = str((body.get("event") or {}).get("type"))
    EVENTS.labels(event_type).inc()
    passiton_events.run_later(event_type, client, team_id_of(body, context), context.bot_user_id, body,
                              context.get(ROW_KEY))  # fmt: skip
