"""Dropping a nudge whose moment has passed: the thread got an answer, the link already reached the person,
the item is gone, someone paused, muted or left. Checked at plan time and again right before sending.

The delivery lane calls `cancel_reason(session, nudge_id, now)` before it sends a nudge's message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Executable, bindparam, func, select
from sqlalchemy.orm import Session

from bot.policy.share import SMALL_CHANNEL
from bot.store import fastpath
from bot.store.models import (
    OPEN_NUDGE_STATUSES,
    Channel,
    ChannelMember,
    Feedback,
    Item,
    ItemReach,
    Member,
    MemberTopic,
    Nudge,
    ThreadReply,
)

# After this long unsent, a suggestion is stale: a help request needs help soon, an article ages slower.
MAX_AGE = {"help": dt.timedelta(hours=24), "share": dt.timedelta(days=3)}

# Built once: the sender asks these for every nudge it is about to send, and building a statement cost more
# than running it.
_ITEM: Any = bindparam("item")
_MEMBER: Any = bindparam("member")
_OTHER: Any = bindparam("other")
_ANSWERED_BY_ANYONE = select(ThreadReply.member_id).where(ThreadReply.item_id == _ITEM).limit(1)
_ANSWERED_BY_OTHERS = (
    select(ThreadReply.member_id)
    .where(ThreadReply.item_id == _ITEM, ThreadReply.member_id != bindparam("author"))
    .limit(1)
)
_IN_CHANNEL = select(ChannelMember.id).where(
    ChannelMember.channel_id == bindparam("channel"), ChannelMember.member_id == _MEMBER
)
_CHANNEL_SIZE = select(func.count(ChannelMember.id)).where(ChannelMember.channel_id == bindparam("channel"))
_REACHED = [
    select(table.id).where(table.item_id == _ITEM, table.member_id == _MEMBER)
    for table in (ItemReach, ThreadReply)
]
_MUTED_PERSON = select(Feedback.id).where(
    Feedback.kind == "mute_person",
    (Feedback.member_id == _MEMBER) & (Feedback.other_member_id == _OTHER)
    | (Feedback.member_id == _OTHER) & (Feedback.other_member_id == _MEMBER),
)
_MUTED_TOPIC = select(MemberTopic.id).where(
    MemberTopic.member_id == _MEMBER, MemberTopic.topic_id == bindparam("topic"), MemberTopic.kind == "muted"
)


def _found(session: Session, statement: Executable, params: dict[str, Any]) -> bool:
    return fastpath.execute(session, statement, params).first() is not None


def _member_reason(member: Member | None, now: dt.datetime, who: str) -> str | None:
    if member is None or member.is_deleted or member.is_bot:
        return f"{who}_gone"
    if not member.opted_in:
        return f"{who}_opted_out"
    if member.paused_until is not None and member.paused_until > now:
        return f"{who}_paused"
    return None


def _item_reason(item: Item | None) -> str | None:
    if item is None or item.deleted_at is not None or item.text_purged_at is not None:
        return "item_deleted"
    if item.closed_at is not None:
        return "item_closed"
    return None


def _help_reason(session: Session, nudge: Nudge, item: Item) -> str | None:
    if item.answered_at is not None:
        return "answered"
    if _private(session, item) and (
        item.channel_id is None
        or not _found(session, _IN_CHANNEL, {"channel": item.channel_id, "member": nudge.recipient_id})
    ):
        # A helper picked while in the private channel may have left it (or the bot left and its member
        # list was dropped) by the time the nudge goes out: the question must not reach them.
        return "recipient_not_in_channel"
    if item.author_id is None:
        answered = _found(session, _ANSWERED_BY_ANYONE, {"item": item.id})
    else:
        answered = _found(session, _ANSWERED_BY_OTHERS, {"item": item.id, "author": item.author_id})
    return "answered" if answered else None


def _private(session: Session, item: Item) -> bool:
    if item.is_private:
        return True
    channel = session.get(Channel, item.channel_id) if item.channel_id is not None else None
    return channel is not None and channel.is_private


def _share_reason(
    session: Session, nudge: Nudge, item: Item, now: dt.datetime, small_channel: int
) -> str | None:
    if nudge.target_id is None:
        return "target_gone"
    target = session.get(Member, nudge.target_id)
    reason = _member_reason(target, now, "target")
    if reason:
        return reason
    if item.author_id == nudge.target_id:
        return "target_is_author"
    # Membership is "seen" only in a small channel (bot/policy/share.py), as when it was planned.
    if item.channel_id is not None and _found(
        session, _IN_CHANNEL, {"channel": item.channel_id, "member": nudge.target_id}
    ):
        size = fastpath.execute(session, _CHANNEL_SIZE, {"channel": item.channel_id}).scalar() or 0
        if size <= small_channel:
            return "target_in_channel"
    for reached in _REACHED:
        if _found(session, reached, {"item": item.id, "member": nudge.target_id}):
            return "already_reached"
    muted = _found(session, _MUTED_PERSON, {"member": nudge.recipient_id, "other": nudge.target_id})
    return "muted_person" if muted else None


def why_stale(
    session: Session, nudge: Nudge, now: dt.datetime, *, small_channel: int = SMALL_CHANNEL
) -> str | None:
    """A short reason this nudge should not be sent now, or None if it still should. `small_channel`: the
    PASSITON_SMALL_CHANNEL_MEMBERS setting (channels this small count as read by all their members)."""
    if nudge.status not in OPEN_NUDGE_STATUSES:
        return f"nudge_{nudge.status}"
    item = session.get(Item, nudge.item_id)
    reason = _item_reason(item)
    if reason or item is None:
        return reason or "item_deleted"
    recipient = session.get(Member, nudge.recipient_id)
    reason = _member_reason(recipient, now, "recipient")
    if reason:
        return reason
    assert recipient is not None
    if recipient.delivery == "off":
        return "delivery_off"
    if now - nudge.send_after > MAX_AGE.get(nudge.kind, MAX_AGE["share"]):
        return "too_late"
    if nudge.topic_id is not None and _found(
        session, _MUTED_TOPIC, {"member": recipient.id, "topic": nudge.topic_id}
    ):
        return "muted_topic"
    if nudge.kind == "help":
        return _help_reason(session, nudge, item)
    return _share_reason(session, nudge, item, now, small_channel)


def cancel_reason(
    session: Session, nudge_id: int, now: dt.datetime, *, small_channel: int = SMALL_CHANNEL
) -> str | None:
    """For the sender, right before sending: why not to send this nudge (and it is marked expired), or None."""
    nudge = session.get(Nudge, nudge_id)
    if nudge is None:
        return "nudge_gone"
    reason = why_stale(session, nudge, now, small_channel=small_channel)
    if reason and nudge.status in OPEN_NUDGE_STATUSES:
        nudge.status = "expired"
    return reason


def still_relevant(
    session: Session, nudge: Nudge, now: dt.datetime, *, small_channel: int = SMALL_CHANNEL
) -> bool:
    return why_stale(session, nudge, now, small_channel=small_channel) is None
