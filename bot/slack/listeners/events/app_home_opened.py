"""`app_home_opened`: opening either tab is engagement; the Home tab is (re)published."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import EVENTS
from bot.slack.home import note_engagement, publish_home
from bot.slack.payloads import team_id_of


def on_home_opened(
    body: dict[str, Any], event: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    EVENTS.labels("app_home_opened").inc()
    team_id, user_id = team_id_of(body, context), str(event["user"])
    note_engagement(passiton, team_id, user_id)  # either tab: they came to look
    if event.get("tab", "home") != "home":
        return
    publish_home(passiton, client, team_id, user_id)
