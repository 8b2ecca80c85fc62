"""People a member asked never to be suggested (with, or to): "Don't suggest Ben", `/passiton mute @ben`.

A person mute is a `mute_person` Feedback row naming the other member, the same row the nudge button
writes, so the policy reads one thing whichever way it was said.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.store.models import Feedback, Member, Workspace


def muted_people(session: Session, member: Member) -> list[Member]:
    """Everyone this member muted, by name (each once, however many times it was said)."""
    ids = select(Feedback.other_member_id).where(
        Feedback.member_id == member.id, Feedback.kind == "mute_person", Feedback.other_member_id.is_not(None)
    )
    people = session.scalars(
        select(Member).where(Member.id.in_(ids), Member.workspace_id == member.workspace_id)
    )
    return sorted(people, key=lambda m: (m.name.lower(), m.id))


def is_muted(session: Session, member: Member, other: Member) -> bool:
    return (
        session.scalars(
            select(Feedback.id).where(
                Feedback.member_id == member.id,
                Feedback.kind == "mute_person",
                Feedback.other_member_id == other.id,
            )
        ).first()
        is not None
    )


def mute_person(
    session: Session, workspace: Workspace, member: Member, other: Member, now: dt.datetime
) -> bool:
    """False when already muted (nothing written)."""
    if is_muted(session, member, other):
        return False
    session.add(
        Feedback(
            workspace_id=workspace.id,
            member_id=member.id,
            kind="mute_person",
            other_member_id=other.id,
            created_at=now,
        )
    )
    session.flush()
    return True


def unmute_person(session: Session, member: Member, other: Member) -> bool:
    """Drop every mute of `other` by `member` (from buttons and commands alike); False if there was none."""
    result = session.execute(
        delete(Feedback).where(
            Feedback.member_id == member.id,
            Feedback.kind == "mute_person",
            Feedback.other_member_id == other.id,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def members_named(
    session: Session, workspace: Workspace, name: str, *, exclude: int | None = None
) -> list[Member]:
    """People a typed name plausibly means: their display name, full name or first name, any case.
    Bots and deactivated members are never meant."""
    wanted = name.strip().lower()
    if not wanted:
        return []
    first = func.lower(Member.real_name).like(wanted.replace("%", "").replace("_", "") + " %")
    rows = session.scalars(
        select(Member).where(
            Member.workspace_id == workspace.id,
            Member.is_bot.is_(False),
            Member.is_deleted.is_(False),
            or_(func.lower(Member.display_name) == wanted, func.lower(Member.real_name) == wanted, first),
        )
    )
    return [m for m in rows if m.id != exclude]
