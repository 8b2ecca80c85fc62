"""Slack Connect: channels.is_ext_shared (shared with another organisation), members.is_external

Revision ID: 0011_slack_connect
Revises: 0010_inbound_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_slack_connect"
down_revision = "0010_inbound_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows read false until their next sync (conversations.info, users.info) says otherwise.
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_ext_shared", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_external", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("is_external")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("is_ext_shared")
