"""Recording that an item reached a member (the planner then never suggests passing it to them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store.models import ItemReach

# "clicked": they pressed a nudge's button that opens the item ("I'll take a look", "Pass it on").
HOWS = ("reaction", "passed", "reply", "clicked")


def record_reach(
    session: Session, workspace_id: int, item_id: int, member_id: int, how: str, at: dt.datetime
) -> bool:
    """Note that `member_id` has the item (reacted to it, got it passed on, replied). False if known already."""
    if how not in HOWS:
        raise ValueError(f"unknown reach {how!r}; expected one of {', '.join(HOWS)}")
    query = select(ItemReach.id).where(ItemReach.item_id == item_id, ItemReach.member_id == member_id)
    if session.scalars(query).first() is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                ItemReach(workspace_id=workspace_id, item_id=item_id, member_id=member_id, how=how, at=at)
            )
    except IntegrityError:  # recorded concurrently
        return False
    return True
