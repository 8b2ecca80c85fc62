"""The thank-you modal's submission: a private thanks to the people who helped with an ask."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.answers.service import AskError, send_thanks
from bot.context import AppContext
from bot.slack.answers import ask_id_of, load_own_ask
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import utcnow


def on_thanks_sent(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any, passiton: AppContext
) -> None:
    values = view.get("state", {}).get("values", {})
    note = str((values.get("thanks") or {}).get("thanks", {}).get("value") or "")
    try:
        with passiton.db.session() as session:
            workspace, member, item = load_own_ask(
                session, team_id_of(body, context), user_id_of(body), ask_id_of({"view": view})
            )
            send_thanks(session, workspace, item, member, note, utcnow())
    except AskError as exc:
        ack(response_action="errors", errors={"thanks": str(exc)})
        return
    ack()
