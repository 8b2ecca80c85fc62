"""The welcome DM's "count me in": opens the interests editor."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import topics_modal
from bot.slack.home import member_state
from bot.slack.payloads import team_id_of, user_id_of


def on_welcome(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext) -> None:
    ack()
    ACTIONS.labels("welcome_set_interests").inc()
    state = member_state(passiton, team_id_of(body, context), user_id_of(body))
    client.views_open(trigger_id=body["trigger_id"], view=topics_modal("interest", state))
