"""The "Pass it on…" message shortcut. The modal opens right after the ack (a trigger id lives three
seconds), so nothing slow runs before views.open."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.messages import item_by_key
from bot.matching.items import understand_message
from bot.metrics import ACTIONS
from bot.slack.blocks.modals import ItemPreview, PassItOnTarget, pass_it_on_modal
from bot.slack.payloads import team_id_of
from bot.store.queries.workspaces import ensure_workspace


def on_pass_it_on(
    ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext
) -> None:
    ack()
    ACTIONS.labels("shortcut_pass_it_on").inc()
    team_id = team_id_of(body, context)
    message = body.get("message") or {}
    channel = body.get("channel") or {}
    channel_id, ts = str(channel.get("id") or ""), str(message.get("ts") or body.get("message_ts") or "")
    parsed = understand_message(str(message.get("text") or ""), message.get("attachments") or [])
    item_id, is_private = None, channel_id.startswith(("D", "G"))
    with passiton.db.session() as session:
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
