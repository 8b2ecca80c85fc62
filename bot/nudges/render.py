"""A stored nudge as the DM shows it (used to redraw the message after a button press)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.matching.topics import topic_label
from bot.messages.nudges import NudgeView
from bot.nudges.loading import display_name
from bot.store.models import Channel, Item, Member, Nudge, Topic


def view_of(session: Session, nudge: Nudge) -> NudgeView:
    item = session.get(Item, nudge.item_id)
    channel = (
        session.get(Channel, item.channel_id) if item is not None and item.channel_id is not None else None
    )
    topic = session.get(Topic, nudge.topic_id) if nudge.topic_id is not None else None
    target = session.get(Member, nudge.target_id) if nudge.target_id is not None else None
    asker = session.get(Member, item.author_id) if item is not None and item.author_id is not None else None
    url = None
    if item is not None:
        url = item.permalink if nudge.kind == "help" else (item.url or item.permalink)
    return NudgeView(
        nudge_id=nudge.id,
        kind=nudge.kind,
        reason=nudge.reason,
        title=item.title if item is not None else "",
        url=url,
        channel_name=channel.name if channel is not None else None,
        text=item.text if item is not None else "",
        topic_label=(topic.label or topic_label(topic.name)) if topic is not None else None,
        target_name=display_name(target) if target is not None else None,
        asker_name=display_name(asker) if asker is not None else None,
    )
