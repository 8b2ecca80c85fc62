"""Who opted in to be named for a topic. Issue 7 (expertise answers) builds richer answers on this."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Member, MemberTopic, Topic, Workspace


def public_experts(
    session: Session, workspace: Workspace, topic_names: Iterable[str], *, exclude: Iterable[int] = ()
) -> dict[str, list[Member]]:
    """Members who gave consent to be named for each topic (expertise with `public`), by topic name.

    Deactivated members, bots, members of other organisations (Slack Connect) and members who switched
    themselves unavailable are left out.
    """
    names = sorted(set(topic_names))
    if not names:
        return {}
    skip = set(exclude)
    rows = session.execute(
        select(Topic.name, Member)
        .join(MemberTopic, MemberTopic.topic_id == Topic.id)
        .join(Member, Member.id == MemberTopic.member_id)
        .where(
            Topic.workspace_id == workspace.id,
            Topic.name.in_(names),
            MemberTopic.kind == "expertise",
            MemberTopic.public.is_(True),
            Member.is_deleted.is_(False),
            Member.is_bot.is_(False),
            Member.is_external.is_(False),
            Member.available.is_(True),
        )
        .order_by(Topic.name, Member.display_name, Member.id)
    ).all()
    found: dict[str, list[Member]] = {}
    for name, member in rows:
        if member.id not in skip:
            found.setdefault(name, []).append(member)
    return found


def workspace_public_topics(session: Session, workspace: Workspace) -> list[str]:
    """Names of every topic someone agreed to be named for in this workspace."""
    return list(
        session.scalars(
            select(Topic.name)
            .join(MemberTopic, MemberTopic.topic_id == Topic.id)
            .where(
                Topic.workspace_id == workspace.id,
                MemberTopic.kind == "expertise",
                MemberTopic.public.is_(True),
            )
            .distinct()
            .order_by(Topic.name)
        )
    )
