"""Forget-me and export: every row about one member, deleted or gathered.

Walks `bot.store.models.MEMBER_TABLES` so a table added there is covered by both. Items the member
authored go too, with the nudges and outbox messages that were about them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from bot.store.models import (
    MEMBER_TABLES,
    Base,
    Channel,
    ChannelMember,
    EmbeddingCache,
    Feedback,
    Item,
    Member,
    MemberTopic,
    Nudge,
    OutboxMessage,
    Relationship,
    ThreadReply,
    Topic,
)


def _member_columns(model: type[Base]) -> list[Any]:
    """Columns of `model` that point at members.id (and the primary key of members itself)."""
    table = Base.metadata.tables[model.__tablename__]
    if table.name == "members":
        return [table.c.id]
    return [fk.parent for fk in table.foreign_keys if fk.column.table.name == "members"]


def _about(model: type[Base], member_id: int) -> ColumnElement[bool]:
    columns = _member_columns(model)
    if not columns:
        raise RuntimeError(f"{model.__name__} is in MEMBER_TABLES but has no column pointing at members")
    return or_(*(column == member_id for column in columns))


def forget_member(session: Session, member: Member) -> dict[str, int]:
    """Delete the member and every row about them; returns rows deleted per table (for logs only)."""
    member_id = member.id
    deleted: dict[str, int] = {}
    item_ids = list(session.scalars(select(Item.id).where(Item.author_id == member_id)))
    if item_ids:
        # Nudges about their items, and whatever was queued for those nudges, go before the items.
        nudge_ids = list(session.scalars(select(Nudge.id).where(Nudge.item_id.in_(item_ids))))
        if nudge_ids:
            deleted["outbox(items)"] = _count(
                session.execute(delete(OutboxMessage).where(OutboxMessage.nudge_id.in_(nudge_ids)))
            )
            session.execute(update(Feedback).where(Feedback.nudge_id.in_(nudge_ids)).values(nudge_id=None))
            deleted["nudges(items)"] = _count(session.execute(delete(Nudge).where(Nudge.id.in_(nudge_ids))))
        session.execute(delete(ThreadReply).where(ThreadReply.item_id.in_(item_ids)))
    nudge_ids = list(
        session.scalars(
            select(Nudge.id).where(or_(Nudge.recipient_id == member_id, Nudge.target_id == member_id))
        )
    )
    if nudge_ids:
        session.execute(delete(OutboxMessage).where(OutboxMessage.nudge_id.in_(nudge_ids)))
        session.execute(update(Feedback).where(Feedback.nudge_id.in_(nudge_ids)).values(nudge_id=None))
    workspace_id = member.workspace_id
    their_topics = list(
        session.scalars(select(MemberTopic.topic_id).where(MemberTopic.member_id == member_id))
    )
    session.expunge(member)
    for model in MEMBER_TABLES:
        result = session.execute(delete(model).where(_about(model, member_id)))
        deleted[model.__tablename__] = _count(result)
    # Topics only they had named: the label is their wording.
    deleted["topics(orphaned)"] = _count(
        session.execute(
            delete(Topic).where(
                Topic.id.in_(their_topics),
                ~select(MemberTopic.id).where(MemberTopic.topic_id == Topic.id).exists(),
            )
        )
    )
    # Stored vectors are keyed by a hash of the text they came from: their items, topics, the bodies of
    # questions they answered, in forms that vary by caller. Rather than guess every form, the
    # workspace's vector cache is dropped; it is only a cache and refills at the next planning.
    deleted["embedding_cache"] = _count(
        session.execute(delete(EmbeddingCache).where(EmbeddingCache.workspace_id == workspace_id))
    )
    session.flush()
    return deleted


def forget_and_stop_collecting(session: Session, member: Member) -> dict[str, int]:
    """Forget-me as the member asks it (Slack or email link): delete everything, then remember them
    only as "do not collect" (bot.store.queries.forgotten), so their next message does not start a
    new profile. Stating an interest or expertise again lifts it."""
    from bot.store.models import Workspace
    from bot.store.queries.forgotten import mark_forgotten

    workspace = session.get(Workspace, member.workspace_id)
    slack_user_id = member.slack_user_id
    deleted = forget_member(session, member)
    if workspace is not None and slack_user_id:
        mark_forgotten(session, workspace, slack_user_id)
    return deleted


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_member(session: Session, member: Member) -> dict[str, Any]:
    """Everything passiton holds about the member, as plain JSON-able data."""
    topics: dict[str, list[dict[str, Any]]] = {"interest": [], "expertise": [], "muted": []}
    rows = session.execute(
        select(MemberTopic, Topic)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id == member.id)
    ).all()
    for link, topic in sorted(rows, key=lambda r: r[1].name):
        entry: dict[str, Any] = {"topic": topic.name, "source": link.source, "since": _iso(link.created_at)}
        if link.kind == "expertise":
            entry["named_in_channels"] = link.public
        topics.setdefault(link.kind, []).append(entry)
    channels = list(
        session.scalars(
            select(Channel.name)
            .join(ChannelMember, ChannelMember.channel_id == Channel.id)
            .where(ChannelMember.member_id == member.id)
            .order_by(Channel.name)
        )
    )
    items = [
        {
            "kind": i.kind,
            "source": i.source,
            "text": i.text,
            "url": i.url,
            "title": i.title,
            "posted_at": _iso(i.posted_at),
            "private": i.is_private,
        }
        for i in session.scalars(select(Item).where(Item.author_id == member.id).order_by(Item.posted_at))
    ]
    replies = [
        {"item_id": r.item_id, "replied_at": _iso(r.replied_at)}
        for r in session.scalars(select(ThreadReply).where(ThreadReply.member_id == member.id))
    ]
    nudges = [
        {
            "kind": n.kind,
            "item_id": n.item_id,
            "reason": n.reason,
            "status": n.status,
            "channel": n.channel,
            "created_at": _iso(n.created_at),
        }
        for n in session.scalars(
            select(Nudge).where(Nudge.recipient_id == member.id).order_by(Nudge.created_at)
        )
    ]
    feedback = [
        {"kind": f.kind, "nudge_id": f.nudge_id, "created_at": _iso(f.created_at)}
        for f in session.scalars(
            select(Feedback).where(Feedback.member_id == member.id).order_by(Feedback.created_at)
        )
    ]
    ties = []
    for rel in session.scalars(
        select(Relationship).where(
            or_(Relationship.member_a_id == member.id, Relationship.member_b_id == member.id)
        )
    ):
        other_id = rel.member_b_id if rel.member_a_id == member.id else rel.member_a_id
        other = session.get(Member, other_id)
        ties.append(
            {
                "with": other.name if other else None,
                "weight": round(rel.weight, 3),
                "updated_at": _iso(rel.updated_at),
            }
        )
    return {
        "profile": {
            "slack_user_id": member.slack_user_id,
            "email": member.email,
            "display_name": member.display_name,
            "real_name": member.real_name,
            "tz": member.tz,
            "opted_in": member.opted_in,
            "delivery": member.delivery,
            "digest": member.digest,
            "paused_until": _iso(member.paused_until),
            "quiet_start_minutes": member.quiet_start,
            "quiet_end_minutes": member.quiet_end,
            "weekends_off": member.weekends_off,
            "available": member.available,
            "welcomed_at": _iso(member.welcomed_at),
            "created_at": _iso(member.created_at),
        },
        "topics": topics,
        "channels": channels,
        "items": items,
        "thread_replies": replies,
        "nudges_received": nudges,
        "feedback": feedback,
        "relationships": ties,
    }
