"""indexes for the per-question reads

Help planning and every thread reply read one question's nudges and replies, and the expertise index
reads the replies of its activity window. With only single-column indexes SQLite chose the workspace_id
one and read the whole workspace's history each time, so planning slowed down as history grew.

Revision ID: 0004_per_item_indexes
Revises: 0003_slack_oauth
"""

from __future__ import annotations

from alembic import op

revision = "0004_per_item_indexes"
down_revision = "0003_slack_oauth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_nudges_workspace_item", "nudges", ["workspace_id", "item_id", "kind"])
    op.create_index(
        "ix_thread_replies_workspace_item", "thread_replies", ["workspace_id", "item_id", "member_id"]
    )
    op.create_index(
        "ix_thread_replies_workspace_replied",
        "thread_replies",
        ["workspace_id", "replied_at", "member_id", "item_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_thread_replies_workspace_replied", table_name="thread_replies")
    op.drop_index("ix_thread_replies_workspace_item", table_name="thread_replies")
    op.drop_index("ix_nudges_workspace_item", table_name="nudges")
