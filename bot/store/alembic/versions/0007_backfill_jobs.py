"""backfill jobs: per-channel progress of reading recent history

On install and when invited to a channel the bot reads the channel's recent history; a job row per
channel keeps how far it got, so a restart resumes instead of starting over (or never finishing).

Revision ID: 0007_backfill_jobs
Revises: 0006_forgotten_users
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0007_backfill_jobs"
down_revision = "0006_forgotten_users"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "backfill_jobs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("slack_channel_id", sa.String(length=32), nullable=False),
        sa.Column("trigger", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("oldest_ts", sa.String(length=32), nullable=False),
        sa.Column("latest_ts", sa.String(length=32), nullable=False),
        sa.Column("reached_ts", sa.String(length=32), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("heartbeat_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", bot.store.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_backfill_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfill_jobs")),
        sa.UniqueConstraint("workspace_id", "slack_channel_id", name="uq_backfill_jobs_workspace_channel"),
    )
    op.create_index("ix_backfill_jobs_status", "backfill_jobs", ["status", "heartbeat_at"])
    op.create_index(op.f("ix_backfill_jobs_workspace_id"), "backfill_jobs", ["workspace_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_backfill_jobs_workspace_id"), table_name="backfill_jobs")
    op.drop_index("ix_backfill_jobs_status", table_name="backfill_jobs")
    op.drop_table("backfill_jobs")
