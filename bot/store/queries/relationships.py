"""Recording interactions between members (the policy decides what they mean)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.policy.relationships import bumped, pair
from bot.store.models import Relationship


def record_interaction(
    session: Session,
    workspace_id: int,
    member_id: int,
    other_id: int,
    channel_id: int | None,
    kind: str,
    at: dt.datetime,
) -> None:
    """Strengthen the tie between two members in a channel. Self-interactions are ignored."""
    if member_id == other_id:
        return
    a, b = pair(member_id, other_id)
    query = select(Relationship).where(
        Relationship.member_a_id == a,
        Relationship.member_b_id == b,
        Relationship.channel_id.is_(None) if channel_id is None else Relationship.channel_id == channel_id,
    )
    row = session.scalars(query).first()
    if row is None:
        row = Relationship(
            workspace_id=workspace_id,
            member_a_id=a,
            member_b_id=b,
            channel_id=channel_id,
            weight=0.0,
            updated_at=at,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            row = session.scalars(query).one()
    row.weight = bumped(row.weight, row.updated_at, at, kind)
    row.updated_at = max(row.updated_at, at)
