"""Retention: keep what the product needs, drop the rest on a schedule.

- Item text and description go after PASSITON_RETENTION_DAYS (questions and asks lose their title
  too, since it is their text); the row stays so nudges, feedback and "already reached" keep their
  references. Nudges pointing at a purged item expire at send time.
- Stored vectors older than PASSITON_RETENTION_DAYS: a vector is derived from the text it was computed
  from (keyed by its hash), so it goes with that text; topic vectors are recomputed at the next planning.
- Slack event ids older than EVENT_DAYS (Slack retries within minutes; a few days is ample); the
  backfill's per-message claims once their message is older than PASSITON_BACKFILL_DAYS.
- Finished outbox rows (sent, cancelled, failed) older than PASSITON_OUTBOX_KEEP_DAYS: their payload
  holds message text. Their idempotency keys are only needed while a retry could still come.
- Uninstalled workspaces: app_uninstalled / tokens_revoked deactivate the workspace and stamp
  `deactivated_at`; PASSITON_UNINSTALL_GRACE_DAYS later everything of that workspace goes (members,
  topics, channels, ties, items, nudges, feedback, outbox, events, vectors, then the workspace row).
  A reinstall within the grace clears the stamp and keeps it all: an admin who removed the app by
  mistake, or reinstalls to change scopes, loses nothing. Rows go child tables first, by workspace id,
  so the purge does not depend on the database enforcing ON DELETE CASCADE (SQLite only does with a
  pragma).
- Expired OAuth states (slack_sdk deletes a state only when it is used; abandoned installs leave them).
"""

from __future__ import annotations

import datetime as dt

from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table, delete, inspect, select, update
from sqlalchemy.orm import Session

from bot.backfill.store import CLAIM_PREFIX as HISTORY_CLAIM
from bot.config import Settings
from bot.store.models import Base, EmbeddingCache, Item, OutboxMessage, ProcessedEvent, Workspace

EVENT_DAYS = 3
FINISHED = ("sent", "cancelled", "failed")


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def apply_retention(session: Session, settings: Settings, now: dt.datetime) -> dict[str, int]:
    items_before = now - dt.timedelta(days=settings.passiton_retention_days)
    purge = (Item.posted_at < items_before, Item.text_purged_at.is_(None))
    session.execute(
        update(Item)
        .where(*purge, Item.kind != "article")
        .values(title="")
        .execution_options(synchronize_session=False)
    )
    items = session.execute(
        update(Item)
        .where(*purge)
        .values(text="", description="", text_purged_at=now)
        .execution_options(synchronize_session=False)
    )
    vectors = session.execute(
        delete(EmbeddingCache)
        .where(EmbeddingCache.created_at < items_before)
        .execution_options(synchronize_session=False)
    )
    events = session.execute(
        delete(ProcessedEvent)
        .where(
            ProcessedEvent.received_at < now - dt.timedelta(days=EVENT_DAYS),
            ~ProcessedEvent.event_id.startswith(HISTORY_CLAIM),
        )
        .execution_options(synchronize_session=False)
    )
    # A message the backfill stored is claimed with its own time as received_at: once older than any
    # backfill window could reach, no job can meet it again.
    history_days = max(settings.passiton_backfill_days, EVENT_DAYS)
    history = session.execute(
        delete(ProcessedEvent)
        .where(
            ProcessedEvent.received_at < now - dt.timedelta(days=history_days),
            ProcessedEvent.event_id.startswith(HISTORY_CLAIM),
        )
        .execution_options(synchronize_session=False)
    )
    outbox = session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.status.in_(FINISHED),
            OutboxMessage.created_at < now - dt.timedelta(days=settings.passiton_outbox_keep_days),
        )
        .execution_options(synchronize_session=False)
    )
    return {
        "items_purged": _count(items),
        "vectors_pruned": _count(vectors),
        "events_pruned": _count(events) + _count(history),
        "outbox_pruned": _count(outbox),
        "workspaces_purged": purge_uninstalled(session, settings, now),
        "oauth_states_pruned": prune_oauth_states(session, now),
    }


def _workspace_tables() -> list[Table]:
    """Every table with a workspace_id, children before parents (the reverse of creation order)."""
    return [
        t for t in reversed(Base.metadata.sorted_tables) if "workspace_id" in t.c and t.name != "workspaces"
    ]


def purge_uninstalled(session: Session, settings: Settings, now: dt.datetime) -> int:
    """Delete every row of the workspaces uninstalled more than the grace period ago; returns how many."""
    before = now - dt.timedelta(days=settings.passiton_uninstall_grace_days)
    workspace_ids = list(
        session.scalars(
            select(Workspace.id).where(
                Workspace.active.is_(False),
                Workspace.deactivated_at.is_not(None),
                Workspace.deactivated_at <= before,
            )
        )
    )
    for workspace_id in workspace_ids:
        for table in _workspace_tables():
            session.execute(delete(table).where(table.c.workspace_id == workspace_id))
        session.execute(delete(Workspace).where(Workspace.id == workspace_id))
    return len(workspace_ids)


def prune_oauth_states(session: Session, now: dt.datetime) -> int:
    # slack_sdk's own definition of its table (as migration 0003 created it), not the Slack app's.
    name = SQLAlchemyOAuthStateStore.default_table_name
    table = SQLAlchemyOAuthStateStore.build_oauth_states_table(MetaData(), name)
    bind = session.get_bind()
    if not inspect(bind).has_table(table.name):  # an install without the OAuth tables (single workspace)
        return 0
    naive_utc = now.astimezone(dt.UTC).replace(tzinfo=None)  # how slack_sdk stores expire_at
    return _count(session.execute(delete(table).where(table.c.expire_at < naive_utc)))
