"""The "Who could help with this?" message shortcut: the members who opted in to be named for the
topics the message names. The modal opens right after the ack (a trigger id lives three seconds)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.matching.items import understand_message
from bot.matching.rank import named_topics
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import who_could_help_modal
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.queries.experts import public_experts, workspace_public_topics
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace

MAX_TOPIC_WORDS = 6


def message_text(message: dict[str, Any]) -> str:
    parsed = understand_message(str(message.get("text") or ""), message.get("attachments") or [])
    return parsed.for_embedding()


def on_who_could_help(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    ack()
    ACTIONS.labels("shortcut_who_could_help").inc()
    team_id, user_id = team_id_of(body, context), user_id_of(body)
    text = message_text(body.get("message") or {})
    with passiton.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        me = ensure_member(session, workspace, user_id)
        topics = workspace_public_topics(session, workspace)
        lookup = {t: i for i, t in enumerate(topics)}
        seen = [topics[i] for i in named_topics(text, lookup, MAX_TOPIC_WORDS)]
        found = {
            t: [m.name for m in ms]
            for t, ms in public_experts(session, workspace, seen, exclude=[me.id]).items()
        }
    client.views_open(trigger_id=body["trigger_id"], view=who_could_help_modal(found, seen))
