"""Message shortcuts: "Pass it on…" and "Who could help with this?". Modals open right after the ack
(a trigger id lives three seconds), so nothing slow runs before views.open."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.messages import item_by_key
from bot.matching.items import understand_message
from bot.matching.rank import named_topics
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import ItemPreview, PassItOnTarget, pass_it_on_modal, who_could_help_modal
from bot.slack.listeners import team_id_of, user_id_of
from bot.store.queries.experts import public_experts, workspace_public_topics
from bot.store.queries.members import ensure_member
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)
MAX_TOPIC_WORDS = 6


def message_text(message: dict[str, Any]) -> str:
    parsed = understand_message(str(message.get("text") or ""), message.get("attachments") or [])
    return parsed.for_embedding()


def register(app: App, ctx: AppContext) -> None:
    @app.shortcut("pass_it_on")
    def on_pass_it_on(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        ACTIONS.labels("shortcut_pass_it_on").inc()
        team_id = team_id_of(body, context)
        message = body.get("message") or {}
        channel = body.get("channel") or {}
        channel_id, ts = str(channel.get("id") or ""), str(message.get("ts") or body.get("message_ts") or "")
        parsed = understand_message(str(message.get("text") or ""), message.get("attachments") or [])
        item_id, is_private = None, channel_id.startswith(("D", "G"))
        with ctx.db.session() as session:
            workspace = ensure_workspace(session, team_id)
            item = item_by_key(session, workspace, f"{channel_id}:{ts}")
            known = slack_sync.get_channel(session, workspace, channel_id)
            if item is not None:
                item_id, is_private = item.id, item.is_private or is_private
            if known is not None:
                is_private = is_private or known.is_private
        preview = ItemPreview(
            title=parsed.titles[0] if parsed.titles else "",
            text=parsed.text,
            url=parsed.links[0].url if parsed.links else None,
            channel_name=str(channel.get("name") or ""),
            is_private=is_private,
        )
        target = PassItOnTarget(channel=channel_id, ts=ts, item_id=item_id)
        client.views_open(trigger_id=body["trigger_id"], view=pass_it_on_modal(target, preview))

    @app.shortcut("who_could_help")
    def on_who_could_help(ack: Ack, body: dict[str, Any], context: Any, client: WebClient) -> None:
        ack()
        ACTIONS.labels("shortcut_who_could_help").inc()
        team_id, user_id = team_id_of(body, context), user_id_of(body)
        text = message_text(body.get("message") or {})
        with ctx.db.session() as session:
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
