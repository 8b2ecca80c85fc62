"""Pass it on: check who may receive a message, then send it in the giver's name.

The privacy rule lives here: a message from a private channel, DM or group DM goes only to people
who are in that conversation *now* (membership is fetched fresh from Slack, not from the cache).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.context import AppContext
from bot.ingest import slack_sync
from bot.ingest.messages import item_by_key
from bot.ingest.profiles import SLACKBOT_ID
from bot.messages import Block, context, section
from bot.messages.mrkdwn import escape, link, mention, quote
from bot.messages.nudges import NudgeView, passed_on_blocks, passed_on_text
from bot.nudges.render import view_of
from bot.slack.blocks.modals import MAX_NOTE, PassItOnTarget
from bot.store.models import Feedback, Item, Nudge, utcnow
from bot.store.queries.engagement import record_engagement
from bot.store.queries.members import ensure_member, member_by_slack_id
from bot.store.queries.reaches import record_reach
from bot.store.queries.workspaces import ensure_workspace

log = logging.getLogger(__name__)


@dataclass
class Check:
    errors: dict[str, str] = field(default_factory=dict)
    permalink: str | None = None
    channel_private: bool = False
    names: dict[str, str] = field(default_factory=dict)  # recipient id -> name as Slack shows it


def _user(client: WebClient, user_id: str) -> dict[str, Any] | None:
    return slack_sync.fetch_user(client, user_id)


def choice_errors(giver: str, recipients: list[str]) -> dict[str, str]:
    """What can be said about the choice without asking Slack (answered inline, in the ack)."""
    if not recipients:
        return {"recipients": "Pick at least one person."}
    if giver in recipients:
        return {"recipients": "Pick someone other than yourself."}
    return {}


def _shown_name(user: dict[str, Any], uid: str) -> str:
    profile = user.get("profile") or {}
    return str(profile.get("display_name") or user.get("real_name") or profile.get("real_name")
               or user.get("name") or uid)  # fmt: skip


def check_recipients(client: WebClient, giver: str, target: PassItOnTarget, recipients: list[str]) -> Check:
    """Everything that must hold before anything is sent; errors are keyed by the modal's block ids.
    Calls Slack (users.info, conversations.*, chat.getPermalink): only ever after the ack."""
    check = Check(errors=choice_errors(giver, recipients))
    if check.errors:
        return check
    for uid in recipients:
        user = _user(client, uid)
        if user is not None:
            check.names[uid] = _shown_name(user, uid)
        if user is None or uid == SLACKBOT_ID or user.get("is_bot") or user.get("is_app_user"):
            check.errors["recipients"] = "One of them is a bot; pass it on to people."
            return check
        if user.get("deleted"):
            name = escape(str(user.get("real_name") or user.get("name") or uid))
            check.errors["recipients"] = f"{name} is no longer in this workspace."
            return check
    facts = slack_sync.fetch_channel(client, target.channel)
    check.channel_private = facts.is_private
    if facts.is_private:
        if facts.members is None:
            check.errors["recipients"] = (
                "This is from a private conversation I can't see the members of, so I can't pass it on."
            )
            return check
        outside = [uid for uid in recipients if uid not in facts.members]
        if outside:
            names = ", ".join(escape(check.names.get(uid, uid)) for uid in outside)
            where = f"#{facts.name}" if facts.name else "that private conversation"
            check.errors["recipients"] = (
                f"{names} {'is' if len(outside) == 1 else 'are'} not in {where}. "
                "Messages from private conversations can only be passed to people already in them."
            )
            return check
    try:
        check.permalink = client.chat_getPermalink(channel=target.channel, message_ts=target.ts)["permalink"]
    except SlackApiError as exc:
        log.warning("chat.getPermalink failed", extra={"error": exc.response.get("error")})
        check.errors["recipients"] = (
            "I can't find that message any more (deleted, or I'm not in the channel)."
        )
    return check


def share_blocks(
    giver: str, recipient: str, note: str, permalink: str, title: str = ""
) -> tuple[str, list[Block]]:
    """The message in the giver's name: their note, quoted and escaped, then the link."""
    shown = link(permalink, title or "the message")
    head = f"{mention(giver)} passed this on to {mention(recipient)}:"
    blocks: list[Block] = [section(head)]
    if note.strip():
        blocks.append(section(quote(note, MAX_NOTE)))
    blocks.append(section(shown))
    blocks.append(context("Sent with passiton, on their behalf. Reply here to talk it over."))
    text = f"{head} {escape(note.strip())[:300]} {permalink}".strip()
    return text, blocks


def send_pass_it_on(
    ctx: AppContext,
    client: WebClient,
    team_id: str,
    giver: str,
    target: PassItOnTarget,
    recipients: list[str],
    note: str,
    permalink: str,
    names: dict[str, str] | None = None,
) -> list[str]:
    """Open a conversation of giver + recipient (+ the bot) per recipient and post there. Returns channel ids."""
    title = ""
    if target.item_id is not None:
        with ctx.db.session() as session:
            item = session.get(Item, target.item_id)
            title = item.title if item is not None else ""
    sent: list[str] = []
    for recipient in recipients:
        opened = client.conversations_open(users=f"{giver},{recipient}")
        channel = opened["channel"]["id"]
        text, blocks = share_blocks(giver, recipient, note, permalink, title)
        client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=True)
        sent.append(channel)
    where = _record_shared(ctx, team_id, giver, target, recipients)
    mark_nudge_passed_on(client, where, [names.get(r, r) for r in recipients] if names else [])
    return sent


def _record_shared(
    ctx: AppContext, team_id: str, giver: str, target: PassItOnTarget, recipients: list[str]
) -> tuple[str, str, NudgeView] | None:
    """The item has now reached its recipients (no share nudge will name them for it), and close the loop on
    a nudge that led to this share (the policy reads it; nothing shows it as a score). Returns where the
    nudge DM is and what it showed, so it can be redrawn without buttons."""
    now = utcnow()
    with ctx.db.session() as session:
        workspace = ensure_workspace(session, team_id)
        item = session.get(Item, target.item_id) if target.item_id is not None else None
        if item is None:
            item = item_by_key(session, workspace, f"{target.channel}:{target.ts}")
        if item is not None and item.workspace_id == workspace.id:
            for uid in recipients:
                who = member_by_slack_id(session, workspace, uid)
                if who is not None:
                    record_reach(session, workspace.id, item.id, who.id, "passed", now)
        if target.nudge_id is None:
            return None
        nudge = session.scalars(
            select(Nudge).where(Nudge.id == target.nudge_id, Nudge.workspace_id == workspace.id)
        ).first()
        member = ensure_member(session, workspace, giver)
        if nudge is None or nudge.recipient_id != member.id:
            return None
        nudge.status = "acted"
        nudge.acted_at = now
        record_engagement(session, member, now)
        session.add(
            Feedback(
                workspace_id=workspace.id,
                member_id=member.id,
                nudge_id=nudge.id,
                kind="shared",
                created_at=now,
            )
        )
        if not nudge.slack_channel or not nudge.slack_ts:
            return None
        return nudge.slack_channel, nudge.slack_ts, view_of(session, nudge)


def mark_nudge_passed_on(
    client: WebClient, where: tuple[str, str, NudgeView] | None, names: list[str]
) -> None:
    """Redraw the nudge DM as "Passed on to Ben ✓", without its buttons (a second press would
    suggest it can be passed on again). The share is sent and recorded either way."""
    if where is None:
        return
    channel, ts, view = where
    try:
        client.chat_update(
            channel=channel, ts=ts, text=passed_on_text(names), blocks=passed_on_blocks(view, names)
        )
    except SlackApiError as exc:
        log.warning("chat.update of the nudge failed", extra={"error": exc.response.get("error")})
