"""A share nudge's "Pass it on": opens the pass-it-on modal with the target preselected; the modal's
submit (bot/slack/listeners/views/pass_it_on.py) records the share."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.context import AppContext
from bot.slack.answers import offer_pass_it_on_draft
from bot.slack.blocks.modals import open_pass_it_on_modal
from bot.slack.listeners.actions.nudge_feedback import nudge_id_of
from bot.slack.payloads import team_id_of, user_id_of
from bot.store.models import Channel, Item, Member, Nudge, utcnow
from bot.store.queries.engagement import record_engagement
from bot.store.queries.members import member_by_slack_id
from bot.store.queries.reaches import record_reach
from bot.store.queries.workspaces import get_workspace


def on_pass_on(ack: Ack, body: dict[str, Any], context: Any, client: WebClient, passiton: AppContext) -> None:
    ack()
    nudge_id = nudge_id_of(body)
    with passiton.db.session() as session:
        workspace = get_workspace(session, team_id_of(body, context))
        member = member_by_slack_id(session, workspace, user_id_of(body)) if workspace else None
        nudge = session.get(Nudge, nudge_id) if nudge_id is not None else None
        if member is None or nudge is None or nudge.recipient_id != member.id or workspace is None:
            return
        if nudge.workspace_id != workspace.id:
            return
        item = session.get(Item, nudge.item_id)
        if item is not None:
            # Pressing a nudge's button is engagement, and the giver has now seen the article.
            now = utcnow()
            record_engagement(session, member, now)
            record_reach(session, workspace.id, item.id, member.id, "clicked", now)
        target = session.get(Member, nudge.target_id) if nudge.target_id is not None else None
        channel = session.get(Channel, item.channel_id) if item is not None and item.channel_id else None
        if item is None:
            return
        prefill = [target.slack_user_id] if target is not None and target.slack_user_id else []
        channel_name = channel.name if channel is not None else ""
    opened = open_pass_it_on_modal(
        client, body["trigger_id"], item, prefill, channel_name=channel_name, nudge_id=nudge_id
    )
    # With an LLM configured, an editable draft note follows into the open modal (issue 7).
    offer_pass_it_on_draft(
        passiton, client, opened, nudge_id=nudge_id, prefill=prefill, channel_name=channel_name
    )
