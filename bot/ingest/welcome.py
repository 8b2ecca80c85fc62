"""The one welcome DM: to a person who joins the workspace or a channel the bot is in, never twice.

Who gets none: bots (including Slackbot and this app), deactivated accounts, guests (single- and
multi-channel guests are usually outside collaborators passing through; they can still opt in
with /passiton), people who already opted in, and everyone when the workspace or the deployment
turned welcomes off. The DM goes through the outbox; `welcomed_at` is claimed with a conditional
UPDATE in the same transaction, so two concurrent join events queue it once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery.outbox import METADATA_EVENT_TYPE, enqueue, enqueue_dm
from bot.ingest.profiles import SLACKBOT_ID
from bot.messages.replies import INTRO_TEXT, WELCOME_TEXT, channel_intro_blocks, welcome_blocks
from bot.store.models import Channel, Member, Workspace


def should_welcome(settings: Settings, workspace: Workspace, member: Member) -> bool:
    return (
        settings.passiton_welcome_dm
        and workspace.welcome_dm
        and workspace.active
        and member.slack_user_id not in (None, SLACKBOT_ID, workspace.bot_user_id)
        and not member.is_bot
        and not member.is_deleted
        and not member.is_guest
        and not member.opted_in
        and member.welcomed_at is None
    )


def queue_welcome(
    session: Session, settings: Settings, workspace: Workspace, member: Member, now: dt.datetime
) -> bool:
    """Queue the welcome DM if this member should get one; True when it was queued now."""
    if not should_welcome(settings, workspace, member):
        return False
    claimed = session.execute(
        update(Member).where(Member.id == member.id, Member.welcomed_at.is_(None)).values(welcomed_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    session.refresh(member)
    assert member.slack_user_id is not None  # should_welcome: Slack members only
    key = f"welcome:{workspace.id}:{member.id}"
    enqueue_dm(
        session,
        workspace_id=workspace.id,
        key=key,
        user=member.slack_user_id,
        text=WELCOME_TEXT,
        blocks=welcome_blocks(),
        recipient_id=member.id,
    )
    return True


def queue_channel_intro(
    session: Session, settings: Settings, workspace: Workspace, channel: Channel, now: dt.datetime
) -> bool:
    """Queue the bot's one introduction in a channel it was just invited to; True when queued now.

    `introduced_at` is claimed with a conditional UPDATE, so a retried or doubled `member_joined_channel`
    (or being removed and invited again) never posts it twice."""
    if not settings.passiton_channel_intro or not workspace.active:
        return False
    claimed = session.execute(
        update(Channel)
        .where(Channel.id == channel.id, Channel.introduced_at.is_(None))
        .values(introduced_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    key = f"intro:{workspace.id}:{channel.id}"
    enqueue(
        session,
        workspace_id=workspace.id,
        key=key,
        kind="slack_post",
        payload={
            "channel": channel.slack_channel_id,
            "text": INTRO_TEXT,
            "blocks": channel_intro_blocks(),
            # The key under the name the sender looks for in the channel's history after a crash.
            "metadata": {"event_type": METADATA_EVENT_TYPE, "event_payload": {"idempotency_key": key}},
        },
    )
    return True
