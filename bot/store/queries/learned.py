"""Observed help as its member sees it on App Home, and clearing it at their request."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from bot.store.models import Channel, ChannelMember, Item, Member, ThreadReply, Topic

RECENT = 200  # the questions read to say what someone answered about


@dataclass
class ObservedHelp:
    texts: list[str] = field(default_factory=list)  # the questions and asks they replied to
    channels: list[str] = field(default_factory=list)  # where, by name, most recent first
    vocabulary: list[str] = field(default_factory=list)  # the workspace's topics

    @property
    def any(self) -> bool:
        return bool(self.texts)


def observed_help(session: Session, member: Member) -> ObservedHelp:
    """The member's thread replies to questions and asks (live or read from history). A private channel's
    question counts only while the member is in that channel: its text never shows elsewhere."""
    in_channel = exists().where(
        ChannelMember.channel_id == Item.channel_id, ChannelMember.member_id == member.id
    )
    rows = session.execute(
        select(Item.text, Item.title, Channel.name)
        .join(ThreadReply, ThreadReply.item_id == Item.id)
        .outerjoin(Channel, Channel.id == Item.channel_id)
        .where(
            ThreadReply.member_id == member.id,
            ThreadReply.workspace_id == member.workspace_id,
            Item.deleted_at.is_(None),
            ~Item.is_private | in_channel,
        )
        .order_by(ThreadReply.replied_at.desc())
        .limit(RECENT)
    ).all()
    found = ObservedHelp()
    for text, title, channel_name in rows:
        found.texts.append(text or title or "")
        if channel_name and channel_name not in found.channels:
            found.channels.append(channel_name)
    if found.texts:
        found.vocabulary = list(
            session.scalars(select(Topic.name).where(Topic.workspace_id == member.workspace_id))
        )
    return found


def clear_observed_help(session: Session, member: Member) -> int:
    """Forget which questions the member answered (their observed help); the questions themselves stay."""
    result = session.execute(
        delete(ThreadReply)
        .where(ThreadReply.member_id == member.id, ThreadReply.workspace_id == member.workspace_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
