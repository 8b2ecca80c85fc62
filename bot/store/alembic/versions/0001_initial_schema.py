"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 23:47:08.684543
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("bot_user_id", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("welcome_dm", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deactivated_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("team_id", name=op.f("uq_workspaces_team_id")),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slack_channel_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("members_synced_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("workspace_id", "slack_channel_id", name="uq_channels_workspace_slack_channel"),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channels_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "embedding_cache",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_embedding_cache_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_cache")),
        sa.UniqueConstraint("workspace_id", "model", "text_hash", name="uq_embedding_cache_key"),
    )
    with op.batch_alter_table("embedding_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_embedding_cache_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("real_name", sa.String(length=200), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("is_guest", sa.Boolean(), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=8), nullable=False),
        sa.Column("paused_until", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("quiet_start", sa.Integer(), nullable=True),
        sa.Column("quiet_end", sa.Integer(), nullable=True),
        sa.Column("weekends_off", sa.Boolean(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("asked_to_continue_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("welcomed_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_planned_on", sa.Date(), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("workspace_id", "email", name="uq_members_workspace_email"),
        sa.UniqueConstraint("workspace_id", "slack_user_id", name="uq_members_workspace_slack_user"),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "processed_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_processed_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint("event_id", name="uq_processed_events_event_id"),
    )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_processed_events_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_processed_events_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "topics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_topics_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topics")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_topics_workspace_name"),
    )
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topics_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "channel_members",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_members_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_channel_members_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channel_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_members")),
        sa.UniqueConstraint("channel_id", "member_id", name="uq_channel_members_channel_member"),
    )
    with op.batch_alter_table("channel_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channel_members_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_members_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_members_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_key", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("posted_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("text_purged_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["members.id"], name=op.f("fk_items_author_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_items_channel_id_channels"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_items_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("workspace_id", "source_key", name="uq_items_workspace_source_key"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_workspace_id"), ["workspace_id"], unique=False)
        batch_op.create_index("ix_items_workspace_posted", ["workspace_id", "posted_at"], unique=False)

    op.create_table(
        "member_topics",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topic_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_topics_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_member_topics_topic_id_topics"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_member_topics_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_topics")),
        sa.UniqueConstraint("member_id", "topic_id", "kind", name="uq_member_topics_member_topic_kind"),
    )
    with op.batch_alter_table("member_topics", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_topics_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_topics_topic_id"), ["topic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_topics_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "relationships",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_a_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_b_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("channel_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("updated_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_relationships_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_a_id"],
            ["members.id"],
            name=op.f("fk_relationships_member_a_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_b_id"],
            ["members.id"],
            name=op.f("fk_relationships_member_b_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_relationships_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relationships")),
        sa.UniqueConstraint("member_a_id", "member_b_id", "channel_id", name="uq_relationships_pair_channel"),
    )
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relationships_member_a_id"), ["member_a_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relationships_member_b_id"), ["member_b_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_relationships_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "nudges",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("recipient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("target_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("topic_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("send_after", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acted_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("slack_channel", sa.String(length=32), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_nudges_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["members.id"], name=op.f("fk_nudges_recipient_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["members.id"], name=op.f("fk_nudges_target_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_nudges_topic_id_topics"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_nudges_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name="uq_nudges_workspace_dedupe_key"),
    )
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nudges_item_id"), ["item_id"], unique=False)
        batch_op.create_index("ix_nudges_recipient_created", ["recipient_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudges_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudges_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudges_target_id"), ["target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_nudges_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "thread_replies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("replied_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_thread_replies_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_thread_replies_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_thread_replies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_replies")),
        sa.UniqueConstraint("item_id", "member_id", name="uq_thread_replies_item_member"),
    )
    with op.batch_alter_table("thread_replies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thread_replies_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_thread_replies_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_thread_replies_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("nudge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("topic_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("other_member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_feedback_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["nudge_id"], ["nudges.id"], name=op.f("fk_feedback_nudge_id_nudges"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["other_member_id"],
            ["members.id"],
            name=op.f("fk_feedback_other_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"], ["topics.id"], name=op.f("fk_feedback_topic_id_topics"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_feedback_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_nudge_id"), ["nudge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("nudge_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("locked_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["nudge_id"], ["nudges.id"], name=op.f("fk_outbox_nudge_id_nudges"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["members.id"], name=op.f("fk_outbox_recipient_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_outbox_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_nudge_id"), ["nudge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_recipient_id"), ["recipient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_nudge_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_nudge_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_member_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("thread_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_replies_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_thread_replies_member_id"))
        batch_op.drop_index(batch_op.f("ix_thread_replies_item_id"))

    op.drop_table("thread_replies")
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudges_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_nudges_target_id"))
        batch_op.drop_index(batch_op.f("ix_nudges_status"))
        batch_op.drop_index(batch_op.f("ix_nudges_recipient_id"))
        batch_op.drop_index("ix_nudges_recipient_created")
        batch_op.drop_index(batch_op.f("ix_nudges_item_id"))

    op.drop_table("nudges")
    with op.batch_alter_table("relationships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relationships_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_relationships_member_b_id"))
        batch_op.drop_index(batch_op.f("ix_relationships_member_a_id"))

    op.drop_table("relationships")
    with op.batch_alter_table("member_topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_topics_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_member_topics_topic_id"))
        batch_op.drop_index(batch_op.f("ix_member_topics_member_id"))

    op.drop_table("member_topics")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_workspace_posted")
        batch_op.drop_index(batch_op.f("ix_items_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_items_channel_id"))
        batch_op.drop_index(batch_op.f("ix_items_author_id"))

    op.drop_table("items")
    with op.batch_alter_table("channel_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_members_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_channel_members_member_id"))
        batch_op.drop_index(batch_op.f("ix_channel_members_channel_id"))

    op.drop_table("channel_members")
    with op.batch_alter_table("topics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topics_workspace_id"))

    op.drop_table("topics")
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_events_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_processed_events_received_at"))

    op.drop_table("processed_events")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_workspace_id"))

    op.drop_table("members")
    with op.batch_alter_table("embedding_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_embedding_cache_workspace_id"))

    op.drop_table("embedding_cache")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channels_workspace_id"))

    op.drop_table("channels")
    op.drop_table("workspaces")
    op.drop_table("scheduler_leases")
