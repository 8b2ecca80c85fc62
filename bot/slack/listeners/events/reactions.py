"""`reaction_added`: reacting to an article is having seen it."""

from __future__ import annotations

from typing import Any

from bot.context import AppContext
from bot.ingest import events as ingest
from bot.slack.listeners.events.work import count, durably
from bot.slack.listeners.request import team_id_of


def on_reaction(body: dict[str, Any], event: dict[str, Any], context: Any, passiton: AppContext) -> None:
    count(body)
    durably(passiton, "reaction_added", ingest.handle_reaction,
            passiton, team_id_of(body, context), event, body.get("event_id"))  # fmt: skip
