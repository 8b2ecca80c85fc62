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
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from bot.backfill.store import CLAIM_PREFIX as HISTORY_CLAIM
from bot.config import Settings
from bot.store.models import EmbeddingCache, Item, OutboxMessage, ProcessedEvent

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
    }
