"""Members and their stated topics."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from bot.store.models import Base, Member, MemberTopic, Topic, Workspace
from bot.store.queries.conflicts import insert_row_ignoring_conflict
from bot.store.queries.remembered import Remembered

TOPIC_KINDS = ("interest", "expertise", "muted")

# The ingest asks for the same authors over and over (a replay asked SQLite for the same author tens of
# thousands of times): members found by Slack id are remembered for the session (see `Remembered`).
_BY_SLACK = Remembered("member_by_slack_id", Member)
_BY_SLACK_ID = select(Member).where(
    Member.workspace_id == bindparam("workspace_id"), Member.slack_user_id == bindparam("slack_user_id")
)
_BY_EMAIL = select(Member).where(
    Member.workspace_id == bindparam("workspace_id"), Member.email == bindparam("email")
)
_TOPICS = Remembered("ensure_topic", Topic)
_MEMBER_TOPICS: Table = Base.metadata.tables["member_topics"]
_TOPIC_NAMES = (
    select(Topic.name)
    .join(MemberTopic, MemberTopic.topic_id == Topic.id)
    .where(MemberTopic.member_id == bindparam("member_id"), MemberTopic.kind == bindparam("kind"))
)
_TOPIC_BY_NAME = select(Topic).where(
    Topic.workspace_id == bindparam("workspace_id"), Topic.name == bindparam("name")
)
# Profile fields a new member is inserted with; the email is set afterwards, as on an existing member,
# since it is unique too and a clash must not pass for the Slack id's.
_INSERTED_PROFILE = frozenset(c.key for c in Member.__table__.c) - {
    "id",
    "workspace_id",
    "slack_user_id",
    "email",
}


def member_by_slack_id(session: Session, workspace: Workspace, slack_user_id: str) -> Member | None:
    key = (workspace.id, slack_user_id)
    member = _BY_SLACK.get(
        session, key, lambda m: m.slack_user_id == slack_user_id and m.workspace_id == key[0]
    )
    if member is None:
        member = session.scalars(
            _BY_SLACK_ID, {"workspace_id": key[0], "slack_user_id": slack_user_id}
        ).first()
        if member is not None:
            _BY_SLACK.remember(session, key, member)
    return member


def member_by_email(session: Session, workspace: Workspace, email: str) -> Member | None:
    return session.scalars(_BY_EMAIL, {"workspace_id": workspace.id, "email": email.strip().lower()}).first()


def ensure_member(session: Session, workspace: Workspace, slack_user_id: str, **profile: object) -> Member:
    """The member for a Slack user id, created on first sight, profile fields refreshed if given."""
    member = member_by_slack_id(session, workspace, slack_user_id)
    if member is None:
        values = {k: v for k, v in profile.items() if v is not None and k in _INSERTED_PROFILE}
        member = insert_row_ignoring_conflict(
            session,
            Member,
            ("workspace_id", "slack_user_id"),
            {**values, "workspace_id": workspace.id, "slack_user_id": slack_user_id},
        )
        if member is None:  # created concurrently by another listener thread or replica
            member = member_by_slack_id(session, workspace, slack_user_id)
            assert member is not None
        else:
            _BY_SLACK.remember(session, (workspace.id, slack_user_id), member)
    for key, value in profile.items():
        if value is not None and getattr(member, key) != value:
            setattr(member, key, value)
    return member


def ensure_topic(session: Session, workspace: Workspace, name: str, label: str | None = None) -> Topic:
    """The topic row for a normalised name (callers normalise with bot.matching.topics)."""
    key = (workspace.id, name)
    topic = _TOPICS.get(session, key, lambda t: t.name == name and t.workspace_id == key[0])
    if topic is not None:
        return topic
    params = {"workspace_id": workspace.id, "name": name}
    topic = session.scalars(_TOPIC_BY_NAME, params).first()
    if topic is None:
        topic = insert_row_ignoring_conflict(
            session, Topic, ("workspace_id", "name"), {**params, "label": label or name}
        )
        if topic is None:  # created concurrently
            topic = session.scalars(_TOPIC_BY_NAME, params).one()
    _TOPICS.remember(session, key, topic)
    return topic


def member_topics(session: Session, member: Member, kind: str) -> list[Topic]:
    _check_kind(kind)
    return list(
        session.scalars(
            select(Topic)
            .join(MemberTopic, MemberTopic.topic_id == Topic.id)
            .where(MemberTopic.member_id == member.id, MemberTopic.kind == kind)
            .order_by(Topic.name)
        )
    )


def add_member_topics(
    session: Session,
    workspace: Workspace,
    member: Member,
    kind: str,
    names: Iterable[str],
    *,
    source: str = "stated",
    public: bool | None = None,
) -> list[str]:
    """Link topics to a member; returns the names that were new for them. Idempotent."""
    _check_kind(kind)
    have = set(session.scalars(_TOPIC_NAMES, {"member_id": member.id, "kind": kind}))
    added: list[str] = []
    links: list[dict[str, object]] = []
    for name in names:
        if name in have:
            continue
        topic = ensure_topic(session, workspace, name)
        links.append({"workspace_id": workspace.id, "member_id": member.id, "topic_id": topic.id, "kind": kind,
                      "source": source, "public": bool(public)})  # fmt: skip
        have.add(name)
        added.append(name)
    if links:
        # Plain rows (nobody holds them as objects): one INSERT for all, not a unit-of-work flush.
        session.execute(insert(_MEMBER_TOPICS), links)
    if kind in ("interest", "expertise") and added and source != "inferred":
        member.opted_in = True  # stating a topic is the opt-in
        from bot.store.queries.forgotten import clear_forgotten

        clear_forgotten(
            session, workspace, member.slack_user_id
        )  # ... and ends a forget-me's "do not collect"
    session.flush()
    return added


def remove_member_topics(session: Session, member: Member, kind: str, names: Iterable[str]) -> list[str]:
    """Unlink topics from a member; returns the names that were actually removed."""
    _check_kind(kind)
    wanted = set(names)
    rows = session.execute(
        select(MemberTopic.id, Topic.name)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id == member.id, MemberTopic.kind == kind, Topic.name.in_(wanted))
    ).all()
    if rows:
        session.execute(delete(MemberTopic).where(MemberTopic.id.in_([r.id for r in rows])))
    session.flush()
    return sorted(r.name for r in rows)


def set_public_expertise(session: Session, member: Member, names: Iterable[str], public: bool) -> list[str]:
    """Give or withdraw consent to be named in channel for some expertise topics."""
    wanted = set(names)
    links = session.scalars(
        select(MemberTopic)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id == member.id, MemberTopic.kind == "expertise", Topic.name.in_(wanted))
    ).all()
    for link in links:
        link.public = public
    session.flush()
    return sorted(link.topic.name for link in links)


def _check_kind(kind: str) -> None:
    if kind not in TOPIC_KINDS:
        raise ValueError(f"unknown topic kind {kind!r}; expected one of {', '.join(TOPIC_KINDS)}")
