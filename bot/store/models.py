"""The typed schema. Every row belongs to a workspace; every query filters on `workspace_id`.

Status and kind columns are short strings rather than database enums so that adding a value is a
code change, not a migration on every engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger primary keys autoincrement on PostgreSQL; SQLite only autoincrements INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every engine (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Workspace(Base):
    """A Slack team (or, for an email-only community, a team id of our own choosing)."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), unique=True)
    enterprise_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    bot_user_id: Mapped[str | None] = mapped_column(String(32))
    # The team's subdomain (acme in acme.slack.com), for archive links when no permalink is at hand.
    domain: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    welcome_dm: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Member(Base):
    """A person: a Slack user, an email-only member, or both."""

    __tablename__ = "members"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_user_id", name="uq_members_workspace_slack_user"),
        UniqueConstraint("workspace_id", "email", name="uq_members_workspace_email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    real_name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    # Slack Connect: a member of another organisation (also counted as a guest). Never named to others,
    # whatever they said about being named.
    is_external: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Consent: nothing reaches a member, nor names them as a target, until they opt in.
    opted_in: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery: Mapped[str] = mapped_column(String(8), default="slack")  # slack | email | both | off
    digest: Mapped[str] = mapped_column(String(8), default="daily")  # daily | weekly
    paused_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Quiet hours as minutes after local midnight; start > end wraps past midnight.
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    weekends_off: Mapped[bool] = mapped_column(Boolean, default=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    # Internal back-off state, never shown: nudges left unanswered in a row.
    unanswered: Mapped[int] = mapped_column(Integer, default=0)
    asked_to_continue_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Holds since they last engaged (each longer: bot/policy/backoff.py) and when the current one ends.
    holds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The last sign of engagement: a reply to a question they were nudged about, a button, a command, App Home.
    last_engaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    welcomed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_planned_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    topics: Mapped[list[MemberTopic]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def name(self) -> str:
        return self.display_name or self.real_name or self.slack_user_id or self.email or f"member {self.id}"


class Topic(Base):
    __tablename__ = "topics"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_topics_workspace_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))  # normalised
    label: Mapped[str] = mapped_column(String(80))  # as first typed, for display


class MemberTopic(Base):
    """A member's stated relation to a topic: interest, expertise or muted."""

    __tablename__ = "member_topics"
    __table_args__ = (
        UniqueConstraint("member_id", "topic_id", "kind", name="uq_member_topics_member_topic_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # interest | expertise | muted
    # Separate consent to be named in public in-channel answers (expertise only).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(12), default="stated")  # stated | inferred | import
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[Member] = relationship(back_populates="topics")
    topic: Mapped[Topic] = relationship()


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_channel_id", name="uq_channels_workspace_slack_channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    # private covers private channels, DMs and group DMs: content never leaves its members.
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Slack Connect: shared with (or being shared with) another organisation. Its items are shown only to
    # audiences wholly inside it, like a private channel's.
    is_ext_shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    members_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # In-channel "who knows" answers; the channel's members turn them off (`/passiton answers off`).
    answers_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The one introduction card posted when the bot was invited; set once, never posted again.
    introduced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ChannelMember(Base):
    __tablename__ = "channel_members"
    __table_args__ = (UniqueConstraint("channel_id", "member_id", name="uq_channel_members_channel_member"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)


class Item(Base):
    """Something posted that could be passed on or answered: article, question, ask (or chatter)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_key", name="uq_items_workspace_source_key"),
        Index("ix_items_workspace_posted", "workspace_id", "posted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    # Natural key of the source: "<channel>:<ts>" for Slack, "email:<message-id>", "ask:<uuid>".
    source_key: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(8), default="slack")  # slack | email | command
    kind: Mapped[str] = mapped_column(String(10))  # article | question | ask | chatter
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="SET NULL"), index=True)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str | None] = mapped_column(Text)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    text_purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThreadReply(Base):
    """Observed help: a member replied in the thread of a question or ask."""

    __tablename__ = "thread_replies"
    __table_args__ = (
        UniqueConstraint("item_id", "member_id", name="uq_thread_replies_item_member"),
        # Per question (who replied) and per activity window (observed help): without them SQLite read
        # every reply of the workspace for each, through the workspace_id index.
        Index("ix_thread_replies_workspace_item", "workspace_id", "item_id", "member_id"),
        Index("ix_thread_replies_workspace_replied", "workspace_id", "replied_at", "member_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    replied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemReach(Base):
    """An item reached a member outside its channel or was noticed by them: they reacted to it, someone
    passed it on to them, they replied. A share nudge about an item that already reached its target has
    lost its moment."""

    __tablename__ = "item_reaches"
    __table_args__ = (UniqueConstraint("item_id", "member_id", name="uq_item_reaches_item_member"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    how: Mapped[str] = mapped_column(String(12))  # reaction | passed | reply | clicked
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Relationship(Base):
    """How much two members interact, decayed on read. Stored once per unordered pair and channel."""

    __tablename__ = "relationships"
    __table_args__ = (
        UniqueConstraint("member_a_id", "member_b_id", "channel_id", name="uq_relationships_pair_channel"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    member_a_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    member_b_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last reply, mention or reaction between them; None when the tie is only a shared channel.
    talked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# What becomes of a nudge: planned -> queued -> sent -> (acted | dismissed | lapsed); or cancelled / expired /
# failed. One type for every module that reads or sets it.
NudgeStatus = Literal[
    "planned", "queued", "sent", "acted", "dismissed", "lapsed", "cancelled", "expired", "failed"
]
# Not sent yet: what a cancellation, an expiry or a dropped moment can still stop.
OPEN_NUDGE_STATUSES: tuple[NudgeStatus, ...] = ("planned", "queued")


class Nudge(Base):
    """One suggestion to one member. `dedupe_key` makes "at most one per (item, target)" a constraint."""

    __tablename__ = "nudges"
    __table_args__ = (
        UniqueConstraint("workspace_id", "dedupe_key", name="uq_nudges_workspace_dedupe_key"),
        Index("ix_nudges_recipient_created", "recipient_id", "created_at"),
        # A question's help nudges, read on every plan and every thread reply (see ThreadReply).
        Index("ix_nudges_workspace_item", "workspace_id", "item_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))  # share | help
    recipient_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # planned -> queued -> sent -> (acted | dismissed); or cancelled / expired / failed.
    status: Mapped[str] = mapped_column(String(12), default="planned", index=True)
    channel: Mapped[str] = mapped_column(String(8), default="slack")  # slack | email
    send_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    nudge_id: Mapped[int | None] = mapped_column(ForeignKey("nudges.id", ondelete="SET NULL"), index=True)
    # shared | helped | not_now | not_my_area | mute_topic | mute_person | thanks | continue | stop
    kind: Mapped[str] = mapped_column(String(16))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    other_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message waiting to go out. The idempotency key is unique so planning twice queues once."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # slack_dm | slack_post | slack_update | email
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    nudge_id: Mapped[int | None] = mapped_column(ForeignKey("nudges.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sending|sent|failed|…
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedEvent(Base):
    """Slack event ids already handled, so a retried delivery is a no-op."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("event_id", name="uq_processed_events_event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class InboundEvent(Base):
    """A Slack event written before it is acknowledged, so an ack never outlives the process holding
    the event: the event pool runs it and marks it done; a restart (or another replica, once the lease
    has passed) runs what was left pending. `payload` (the envelope, with message text) is dropped when
    the event is done; done rows are pruned after a day."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("event_id", name="uq_inbound_events_event_id"),
        Index("ix_inbound_events_due", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class EmbeddingCache(Base):
    """Vectors keyed by model and text hash so re-planning never re-embeds."""

    __tablename__ = "embedding_cache"
    __table_args__ = (UniqueConstraint("workspace_id", "model", "text_hash", name="uq_embedding_cache_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    model: Mapped[str] = mapped_column(String(100))
    text_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ForgottenUser(Base):
    """Someone who asked to be forgotten, kept only as "do not collect": a hash of their Slack user id.

    Their messages, reactions, mentions and channel memberships are no longer recorded, so forget-me
    is not undone by the next message they post. The mark goes when they opt in again (state an
    interest or expertise). A hash, not the id, so the row names nobody (bot.store.queries.forgotten).
    """

    __tablename__ = "forgotten_users"
    __table_args__ = (UniqueConstraint("workspace_id", "user_hash", name="uq_forgotten_users_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    user_hash: Mapped[str] = mapped_column(String(64))
    forgotten_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerLease(Base):
    """Leader lease used where advisory locks are unavailable (SQLite runs one scheduler anyway)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BackfillJob(Base):
    """Reading one channel's recent history (bot/backfill), resumable: each page of history is stored in
    the same transaction that moves `reached_ts`, so a restart goes on from the last page stored.

    `slack_channel_id` "*" is the job of finding the channels the bot is in (after an install); it
    enqueues one job per channel. One row per channel: inviting the bot again reuses it."""

    __tablename__ = "backfill_jobs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slack_channel_id", name="uq_backfill_jobs_workspace_channel"),
        Index("ix_backfill_jobs_status", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    slack_channel_id: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(12), default="invited")  # install | invited | cli
    # pending -> running -> done; or stopped (token or channel access lost: `error` says which).
    status: Mapped[str] = mapped_column(String(10), default="pending")
    # The window, as Slack timestamps: [oldest_ts, latest_ts]; later messages come as live events.
    oldest_ts: Mapped[str] = mapped_column(String(32))
    latest_ts: Mapped[str] = mapped_column(String(32))
    # The oldest top-level message stored so far; the next page is read from just before it.
    reached_ts: Mapped[str | None] = mapped_column(String(32))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# Tables holding rows about a member; forget-me and the tenancy tests walk this list.
MEMBER_TABLES: tuple[type[Base], ...] = (
    MemberTopic,
    ChannelMember,
    Item,
    ThreadReply,
    ItemReach,
    Relationship,
    Nudge,
    Feedback,
    OutboxMessage,
    Member,
)
