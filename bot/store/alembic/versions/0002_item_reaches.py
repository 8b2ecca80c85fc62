"""item reaches: an item already reached a member (reaction, passed on, reply)

Revision ID: 0002_item_reaches
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0002_item_reaches"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_reaches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("member_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("how", sa.String(length=12), nullable=False),
        sa.Column("at", bot.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_reaches_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_item_reaches_member_id_members"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_item_reaches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_reaches")),
        sa.UniqueConstraint("item_id", "member_id", name="uq_item_reaches_item_member"),
    )
    with op.batch_alter_table("item_reaches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_reaches_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_reaches_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_reaches_workspace_id"), ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_table("item_reaches")
