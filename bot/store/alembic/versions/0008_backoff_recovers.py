"""a back-off that wears off and ends on engagement; the team domain for links

`holds` counts the holds since the member last engaged (each lasts longer: 2, 4, 8 weeks), `held_until`
ends the current one, and `last_engaged_at` is the last sign of engagement (a reply in the thread of a
question they were nudged about, a button, a command, opening App Home). Before this, a member who left
a few nudges and the "keep these coming?" question unanswered was held forever.

`workspaces.domain` is the team's subdomain, learned from auth.test, so a help DM can link to the
question with an archive URL when chat.getPermalink cannot be reached.

Members held under the old rule (asked and still at or above the count) get a first hold that ends two
weeks after they were asked, so they are tried again rather than held for good.

Revision ID: 0008_backoff_recovers
Revises: 0007_backfill_jobs
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision = "0008_backoff_recovers"
down_revision = "0007_backfill_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("domain", sa.String(length=100), nullable=True))
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("holds", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("held_until", bot.store.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("last_engaged_at", bot.store.models.UTCDateTime(timezone=True), nullable=True)
        )
    utc = bot.store.models.UTCDateTime(timezone=True)
    members = sa.table(
        "members",
        sa.column("id", sa.Integer()),
        sa.column("holds", sa.Integer()),
        sa.column("held_until", utc),
        sa.column("asked_to_continue_at", utc),
    )
    # Row by row in Python (few rows: only members who were asked), so the dates are written by the same
    # type as everywhere else on both engines, rather than by two dialects' interval arithmetic.
    bind = op.get_bind()
    asked = bind.execute(
        sa.select(members.c.id, members.c.asked_to_continue_at).where(
            members.c.asked_to_continue_at.is_not(None)
        )
    ).all()
    for member_id, asked_at in asked:
        bind.execute(
            members.update()
            .where(members.c.id == member_id)
            .values(holds=1, held_until=asked_at + dt.timedelta(weeks=2))
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("last_engaged_at")
        batch.drop_column("held_until")
        batch.drop_column("holds")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("domain")
