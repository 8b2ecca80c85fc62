"""The buttons on an asker's private status: "Got it, thanks" (close the ask) and "Send a thank-you"."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.answers.service import AskError, ask_status, ask_status_blocks, close_ask
from bot.context import AppContext
from bot.slack.answers import ask_id_of, load_own_ask, thanks_modal
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import utcnow


def on_close(ack: Ack, body: dict[str, Any], context: Any, respond: Any, passiton: AppContext) -> None:
    ack()
    try:
        with passiton.db.session() as session:
            workspace, member, item = load_own_ask(
                session, team_id_of(body, context), user_id_of(body), ask_id_of(body)
            )
            close_ask(session, workspace, item, member, utcnow())
            blocks = ask_status_blocks(ask_status(session, workspace, item, member))
    except AskError as exc:
        respond(response_type="ephemeral", replace_original=False, text=str(exc))
        return
    respond(replace_original=True, text="Ask closed. Nobody else will be asked.", blocks=blocks)


def on_thanks(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, respond: Any, passiton: AppContext
) -> None:
    ack()
    try:
        with passiton.db.session() as session:
            workspace, member, item = load_own_ask(
                session, team_id_of(body, context), user_id_of(body), ask_id_of(body)
            )
            helpers = ask_status(session, workspace, item, member).engaged
            item_id = item.id
    except AskError as exc:
        respond(response_type="ephemeral", replace_original=False, text=str(exc))
        return
    client.views_open(trigger_id=body["trigger_id"], view=thanks_modal(item_id, helpers))
