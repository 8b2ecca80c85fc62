"""per-channel answers switch, the one introduction, and whether two members ever talked

`answers_enabled`: members of a channel (or admins) turn in-channel "who knows" answers off there with
`/passiton answers off`. `introduced_at`: when the bot posted its one introduction card after being
invited, so it never posts a second. `relationships.talked_at`: the last reply, mention or reaction between the two
(sharing a channel leaves it empty), so a reason says "you two often talk" only when they do.

Revision ID: 0009_channel_answers_intro
Revises: 0008_backoff_recovers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.models import UTCDateTime

revision = "0009_channel_answers_intro"
down_revision = "0008_backoff_recovers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("answers_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("introduced_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("relationships") as batch:
        batch.add_column(sa.Column("talked_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("relationships") as batch:
        batch.drop_column("talked_at")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("introduced_at")
        batch.drop_column("answers_enabled")
