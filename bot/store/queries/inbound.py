"""The inbound event queue: Slack events written before they are acknowledged, run by the event pool.

A row is taken by one process at a time through its lease (`lease_until`): the process that wrote it
holds it from the start; a row whose lease passed while still pending was left by a process that died
(or ran far longer than the lease) and may be taken over by any process, with a compare-and-set on the
old lease so two processes sweeping at once cannot both take it. Running an event twice is harmless:
the work claims the event id in the transaction that writes its effects (`claim_event`), so the second
run finds the claim and does nothing. The lease only keeps the queue from doing work twice for nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database
from bot.store.models import InboundEvent

DONE_KEEP = dt.timedelta(days=1)  # a Slack retry of a done event is refused cheaply for this long
FAILED_KEEP = dt.timedelta(days=7)  # kept for inspection (the payload stays), then dropped
RETRY_BASE_SECONDS = 5.0


@dataclass(frozen=True)
class TakenEvent:
    id: int
    team_id: str
    event_id: str
    event_type: str
    payload: dict[str, Any]
    attempts: int


def record(
    db: Database,
    *,
    team_id: str,
    event_id: str,
    event_type: str,
    payload: dict[str, Any],
    now: dt.datetime,
    lease: dt.timedelta,
) -> int | None:
    """Write the event, held by the caller for `lease`: one INSERT in its own transaction, the only
    database work between a request and its ack. Returns the row id to run, or None when the event was
    already recorded (a Slack retry) and is done or held by a live process. A retry of an event whose
    holder died is taken over here."""
    # Core, not the ORM: this runs on the request thread before the ack, where every millisecond of
    # interpreter time is also taken from the other requests' acks.
    try:
        with db.engine.begin() as conn:
            return int(
                conn.execute(
                    insert(InboundEvent).returning(InboundEvent.id),
                    {
                        "team_id": team_id[:32],
                        "event_id": event_id[:64],
                        "event_type": event_type[:64],
                        "payload": payload,
                        "status": "pending",
                        "attempts": 1,
                        "received_at": now,
                        "lease_until": now + lease,
                    },
                ).scalar_one()
            )
    except IntegrityError:
        pass
    with db.session() as session:
        found = session.execute(
            select(
                InboundEvent.id, InboundEvent.status, InboundEvent.lease_until, InboundEvent.attempts
            ).where(InboundEvent.event_id == event_id[:64])
        ).first()
    if found is None or found.status != "pending" or (found.lease_until and found.lease_until > now):
        return None
    return found.id if _take(db, found.id, found.attempts, now, lease) else None


def _take(db: Database, row_id: int, attempts: int, now: dt.datetime, lease: dt.timedelta) -> bool:
    """Compare-and-set on the run count (each take adds one): True for exactly one of several processes
    taking the same row, and only while its lease is still over."""
    with db.session() as session:
        result = session.execute(
            update(InboundEvent)
            .where(
                InboundEvent.id == row_id,
                InboundEvent.status == "pending",
                InboundEvent.attempts == attempts,
                or_(InboundEvent.lease_until.is_(None), InboundEvent.lease_until <= now),
            )
            .values(lease_until=now + lease, attempts=InboundEvent.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1


def take_due(
    db: Database,
    *,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int = 100,
    skip: frozenset[int] = frozenset(),
) -> list[TakenEvent]:
    """Pending events whose lease has passed (their process died, or an earlier run failed and its
    back-off is over), oldest first, each taken for `lease`. `skip`: rows this process is running."""
    with db.session() as session:
        rows = session.execute(
            select(
                InboundEvent.id,
                InboundEvent.team_id,
                InboundEvent.event_id,
                InboundEvent.event_type,
                InboundEvent.payload,
                InboundEvent.attempts,
            )
            .where(
                InboundEvent.status == "pending",
                or_(InboundEvent.lease_until.is_(None), InboundEvent.lease_until <= now),
            )
            .order_by(InboundEvent.id)
            .limit(limit + len(skip))
        ).all()
    taken: list[TakenEvent] = []
    for row in rows:
        if row.id in skip or len(taken) == limit:
            continue
        if _take(db, row.id, row.attempts, now, lease):
            taken.append(
                TakenEvent(
                    row.id,
                    row.team_id,
                    row.event_id,
                    row.event_type,
                    dict(row.payload or {}),
                    row.attempts + 1,
                )
            )
    return taken


_FINISH = (
    update(InboundEvent)
    .where(InboundEvent.id == bindparam("row_id"))
    .values(status="done", payload=None, finished_at=bindparam("now"), lease_until=None, last_error=None)
)


def finish(db: Database, row_id: int, now: dt.datetime) -> None:
    """Done: the payload (message text) goes at once; the row stays a day so Slack's retries are refused."""
    with db.engine.begin() as conn:
        conn.execute(_FINISH, {"row_id": row_id, "now": now})


def failed_run(db: Database, row_id: int, now: dt.datetime, error: str, *, max_attempts: int) -> str:
    """A run raised: pending again after a back-off (the sweep retries it), or failed after `max_attempts`
    runs. Returns the new status."""
    with db.session() as session:
        attempts = session.scalar(select(InboundEvent.attempts).where(InboundEvent.id == row_id)) or 0
        status = "failed" if attempts >= max_attempts else "pending"
        backoff = dt.timedelta(seconds=RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id == row_id, InboundEvent.status == "pending")
            .values(
                status=status,
                lease_until=now + backoff if status == "pending" else None,
                finished_at=now if status == "failed" else None,
                last_error=error[:2000],
            )
            .execution_options(synchronize_session=False)
        )
    return status


def prune(db: Database, now: dt.datetime) -> int:
    """Drop done rows after DONE_KEEP and failed ones after FAILED_KEEP."""
    with db.session() as session:
        result = session.execute(
            delete(InboundEvent)
            .where(
                or_(
                    (InboundEvent.status == "done") & (InboundEvent.finished_at < now - DONE_KEEP),
                    (InboundEvent.status == "failed") & (InboundEvent.finished_at < now - FAILED_KEEP),
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def pending_count(db: Database) -> int:
    with db.session() as session:
        return len(session.scalars(select(InboundEvent.id).where(InboundEvent.status == "pending")).all())
