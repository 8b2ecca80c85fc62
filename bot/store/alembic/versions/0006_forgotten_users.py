"""forgotten users: forget-me also stops collection

Revision ID: 0006_forgotten_users
Revises: 0005_encrypt_slack_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision = "0006_forgotten_users"
down_revision = "0005_encrypt_slack_tokens"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "forgotten_users",
        sa.Column("id", BigId, nullable=False),
        sa.Column("workspace_id", BigId, nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("forgotten_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_forgotten_users_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forgotten_users")),
        sa.UniqueConstraint("workspace_id", "user_hash", name="uq_forgotten_users_key"),
    )
    with op.batch_alter_table("forgotten_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forgotten_users_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forgotten_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forgotten_users_workspace_id"))
    op.drop_table("forgotten_users")
