"""The "pause for how long?" buttons that answer a bare `pause`."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from bot.metrics import ACTIONS
from bot.slack.commands_parse import MAX_PAUSE_DAYS
from bot.slack.home import publish_home
from bot.slack.member_settings import pause
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import utcnow
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace


def on_pause_for(
    ack: Ack, body: dict[str, Any], context: Any, respond: Respond, client: WebClient, passiton: AppContext
) -> None:
    ack()
    ACTIONS.labels("pause_for").inc()
    try:
        days = int(str((body.get("actions") or [{}])[0].get("value")))
    except ValueError:
        return
    if not 1 <= days <= MAX_PAUSE_DAYS:
        return
    team_id, user_id, now = team_id_of(body, context), user_id_of(body), utcnow()
    with passiton.db.session() as session:
        member = ensure_member(session, ensure_workspace(session, team_id), user_id)
        text = pause(member, days, now)
    respond(replace_original=True, response_type="ephemeral", text=text)
    publish_home(passiton, client, team_id, user_id, now)
