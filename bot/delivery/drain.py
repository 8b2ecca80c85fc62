"""Draining the outbox: claim due messages, hand each to its sender, record the outcome once.

Claiming flips rows from `pending` to `sending` (with `locked_by`/`locked_at`) in one transaction: on
PostgreSQL the rows are picked with `FOR UPDATE SKIP LOCKED`, so several senders drain in parallel
without waiting on each other; on SQLite the flip is a conditional UPDATE (`… WHERE id IN (…) AND
status = 'pending'`), atomic under the database's write lock, which is all a single-machine install
needs.

A sender that dies leaves rows in `sending`. Once their lock is older than the lease they are put
back to `pending` with `maybe_delivered` set, so the next try looks for the message in Slack before
posting it again (see slack_sender.py). Before each send the lock is renewed, so a row is never
taken over while its sender is still working on it, and every outcome is written with a
conditional UPDATE on (`id`, `locked_by`, `status='sending'`): a sender that lost its lock cannot
overwrite the new owner's result.

While a message waits, `result` holds its progress (`{"state": {...}}`: the DM channel opened,
`maybe_delivered`, rate-limit deferrals); once sent it holds where it landed (channel, ts).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.delivery import metrics
from bot.delivery.senders import (
    Cancelled,
    ClaimedMessage,
    PermanentError,
    RateLimited,
    SenderRegistry,
    SendResult,
    TransientError,
)
from bot.store.db import Database
from bot.store.models import Member, Nudge, OutboxMessage, Workspace, utcnow

log = logging.getLogger(__name__)

# Kinds addressed to one person: pause and deactivation apply to them.
PERSONAL_KINDS = frozenset({"slack_dm", "email"})
NUDGE_OPEN = ("planned", "queued")
# Never spin: a row due now that another sender claimed first would otherwise loop without pause.
MIN_IDLE_SECONDS = 0.02

# (session, nudge_id, now) -> a reason to cancel the nudge's message, or None to send it.
NudgeCheck = Callable[[Session, int, dt.datetime], str | None]


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class DrainStats:
    claimed: int = 0
    sent: int = 0
    deduplicated: int = 0
    retried: int = 0
    deferred: int = 0
    failed: int = 0
    cancelled: int = 0
    reclaimed: int = 0
    lost: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: DrainStats) -> None:
        for name in (
            "claimed",
            "sent",
            "deduplicated",
            "retried",
            "deferred",
            "failed",
            "cancelled",
            "reclaimed",
            "lost",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v}


class Drainer:
    """One sender process's view of the outbox. Thread-compatible, not meant to be shared by threads."""

    def __init__(
        self,
        db: Database,
        registry: SenderRegistry,
        *,
        worker_id: str | None = None,
        batch_size: int = 20,
        lease_seconds: float = 120.0,
        max_attempts: int = 8,
        max_deferrals: int = 50,
        base_backoff: float = 2.0,
        max_backoff: float = 900.0,
        nudge_check: NudgeCheck | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.registry = registry
        self.worker_id = worker_id or worker_name()
        self.batch_size = batch_size
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.max_deferrals = max_deferrals
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.nudge_check = nudge_check if nudge_check is not None else default_nudge_check()
        self.rng = rng or random.Random()

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, registry: SenderRegistry, **kwargs: Any
    ) -> Drainer:
        kwargs.setdefault("lease_seconds", float(settings.passiton_outbox_lease_seconds))
        kwargs.setdefault("max_attempts", settings.passiton_outbox_max_attempts)
        return cls(db, registry, **kwargs)

    # -- claiming ----------------------------------------------------------------------------

    def reclaim_stale(self, now: dt.datetime) -> int:
        """Put rows whose sender died back to pending, flagged so the next try checks before sending."""
        stale_before = now - self.lease
        count = 0
        with self.db.session() as session:
            rows = session.execute(
                select(OutboxMessage.id, OutboxMessage.locked_by, OutboxMessage.locked_at, OutboxMessage.kind,
                       OutboxMessage.result)
                .where(OutboxMessage.status == "sending", OutboxMessage.locked_at < stale_before)
                .limit(500)
            ).all()  # fmt: skip
            for row in rows:
                state = _state(row.result)
                state["maybe_delivered"] = True
                done = session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.status == "sending",
                        OutboxMessage.locked_by == row.locked_by,
                        OutboxMessage.locked_at == row.locked_at,
                    )
                    .values(
                        status="pending", locked_by=None, locked_at=None, next_attempt_at=now,
                        attempts=OutboxMessage.attempts + 1, result={"state": state},
                        last_error=f"sender {row.locked_by} stopped while sending",
                    )
                    .execution_options(synchronize_session=False)
                )  # fmt: skip
                if _rowcount(done) == 1:
                    count += 1
                    metrics.RECLAIMED.labels(row.kind).inc()
                    log.warning(
                        "outbox message reclaimed", extra={"outbox_id": row.id, "from_worker": row.locked_by}
                    )
        return count

    def claim(self, now: dt.datetime) -> list[ClaimedMessage]:
        """Flip up to `batch_size` due rows of the kinds we can send to `sending`, and return them."""
        kinds = self.registry.kinds()
        if not kinds:
            return []
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                OutboxMessage.kind.in_(kinds),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(self.batch_size)
        )
        if self.db.is_postgres:
            due = due.with_for_update(skip_locked=True)
        with self.db.session() as session:
            # Two statements, not UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED): PostgreSQL
            # may run that subquery more than once and claim far more than n rows.
            candidates = list(session.scalars(due))
            if not candidates:
                return []
            ids = list(
                session.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(candidates), OutboxMessage.status == "pending")
                    .values(status="sending", locked_by=self.worker_id, locked_at=now)
                    .returning(OutboxMessage.id)
                    .execution_options(synchronize_session=False)
                )
            )
            if not ids:
                return []
            rows = session.execute(
                select(OutboxMessage, Workspace.team_id)
                .join(Workspace, Workspace.id == OutboxMessage.workspace_id)
                .where(OutboxMessage.id.in_(ids))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            ).all()
            claimed = []
            for row, team_id in rows:
                state = _state(row.result)
                claimed.append(
                    ClaimedMessage(
                        id=row.id, workspace_id=row.workspace_id, team_id=team_id,
                        idempotency_key=row.idempotency_key, kind=row.kind, payload=dict(row.payload or {}),
                        recipient_id=row.recipient_id, nudge_id=row.nudge_id, attempts=row.attempts,
                        resend=bool(state.get("maybe_delivered")), created_at=row.created_at, state=state,
                    )
                )  # fmt: skip
            return claimed

    # -- one message -------------------------------------------------------------------------

    def process(self, message: ClaimedMessage, now: dt.datetime) -> str:
        """Send one claimed message and record the outcome; returns the outcome's name."""
        started: float | None = None
        sender = self.registry.get(message.kind)
        if sender is None:  # unregistered since the claim; leave it for a process that has one
            self._finish(message, status="pending", now=now, last_error=None, next_at=now)
            return "lost"
        if message.attempts >= self.max_attempts:
            return self._fail(message, now, f"gave up after {message.attempts} attempts")
        try:
            with self.db.session() as session:
                if not self._renew(session, message, now):
                    log.warning("outbox lock lost before send", extra={"outbox_id": message.id})
                    return "lost"
                # Returned, not raised, so the renewal and what the checks wrote are committed.
                reason_not_to_send = self._check(session, message, now)
            if reason_not_to_send is not None:
                raise reason_not_to_send
            started = time.monotonic()
            result = sender.send(message)
        except Cancelled as exc:
            return self._cancel(message, now, exc.reason)
        except PermanentError as exc:
            return self._fail(message, now, exc.reason)
        except _Defer as exc:
            self._finish(message, status="pending", now=now, last_error=exc.reason, next_at=exc.until)
            return "deferred"
        except RateLimited as exc:
            return self._retry(message, _after(now, started), exc, rate_limited=True)
        except TransientError as exc:
            return self._retry(message, _after(now, started), exc, rate_limited=False)
        except Exception as exc:  # a bug or an unexpected library error: bounded retries, maybe sent
            log.exception("sender raised", extra={"outbox_id": message.id, "kind": message.kind})
            return self._retry(
                message,
                _after(now, started),
                TransientError(f"error:{type(exc).__name__}", maybe_delivered=True),
                rate_limited=False,
            )
        return self._sent(message, now, result)

    def _renew(self, session: Session, message: ClaimedMessage, now: dt.datetime) -> bool:
        done = session.execute(
            update(OutboxMessage)
            .where(*self._mine(message))
            .values(locked_at=max(now, utcnow()))
            .execution_options(synchronize_session=False)
        )
        return _rowcount(done) == 1

    def _check(self, session: Session, message: ClaimedMessage, now: dt.datetime) -> Exception | None:
        """A reason not to send now: an uninstalled workspace, a paused or departed recipient, a nudge
        whose moment has passed (the nudges lane's `cancel_reason`)."""
        workspace = session.get(Workspace, message.workspace_id)
        if workspace is None or not workspace.active:
            return PermanentError("workspace_inactive")
        if message.kind in PERSONAL_KINDS and message.recipient_id is not None:
            member = session.get(Member, message.recipient_id)
            if member is None or member.is_deleted:
                return Cancelled("recipient_gone")
            if member.paused_until is not None and member.paused_until > now:
                if message.nudge_id is not None:
                    # A nudge held through a pause would arrive stale; the pause means "not these".
                    return Cancelled("recipient_paused")
                return _Defer("recipient_paused", member.paused_until)
        if message.nudge_id is not None:
            nudge = session.get(Nudge, message.nudge_id)
            if nudge is not None and nudge.status in ("cancelled", "expired", "dismissed"):
                return Cancelled(f"nudge_{nudge.status}")
            if self.nudge_check is not None:
                reason = self.nudge_check(session, message.nudge_id, now)
                if reason:
                    return Cancelled(reason)
        return None

    # -- outcomes ----------------------------------------------------------------------------

    def _mine(self, message: ClaimedMessage) -> tuple[Any, ...]:
        return (
            OutboxMessage.id == message.id,
            OutboxMessage.locked_by == self.worker_id,
            OutboxMessage.status == "sending",
        )

    def _finish(
        self,
        message: ClaimedMessage,
        *,
        status: str,
        now: dt.datetime,
        last_error: str | None,
        next_at: dt.datetime | None = None,
        result: dict[str, Any] | None = None,
        attempts: int | None = None,
        nudge: dict[str, Any] | None = None,
    ) -> bool:
        values: dict[str, Any] = {
            "status": status,
            "locked_by": None,
            "locked_at": None,
            "last_error": last_error,
        }
        if next_at is not None:
            values["next_attempt_at"] = next_at
        if result is not None:
            values["result"] = result
        if attempts is not None:
            values["attempts"] = attempts
        if status == "sent":
            values["sent_at"] = now
        with self.db.session() as session:
            done = session.execute(
                update(OutboxMessage).where(*self._mine(message)).values(**values)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if _rowcount(done) != 1:
                log.warning(
                    "outbox lock lost; outcome not recorded",
                    extra={"outbox_id": message.id, "status": status},
                )
                return False
            if nudge is not None and message.nudge_id is not None:
                session.execute(
                    update(Nudge)
                    .where(and_(Nudge.id == message.nudge_id, Nudge.status.in_(NUDGE_OPEN)))
                    .values(**nudge)
                    .execution_options(synchronize_session=False)
                )
        return True

    def _sent(self, message: ClaimedMessage, now: dt.datetime, result: SendResult) -> str:
        nudge = {"status": "sent", "sent_at": now, "slack_channel": result.channel, "slack_ts": result.ts}
        if not self._finish(
            message, status="sent", now=now, last_error=None, result=result.to_json(), nudge=nudge
        ):
            return "lost"
        (metrics.DEDUPLICATED if result.deduplicated else metrics.SENT).labels(message.kind).inc()
        log.info(
            "outbox sent",
            extra={"outbox_id": message.id, "kind": message.kind, "channel": result.channel, "ts": result.ts,
                   "deduplicated": result.deduplicated, "attempts": message.attempts},
        )  # fmt: skip
        return "deduplicated" if result.deduplicated else "sent"

    def _fail(self, message: ClaimedMessage, now: dt.datetime, reason: str) -> str:
        if not self._finish(message, status="failed", now=now, last_error=reason, nudge={"status": "failed"}):
            return "lost"
        metrics.FAILED.labels(message.kind, metrics.reason_label(reason)).inc()
        log.warning("outbox failed", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason})
        return "failed"

    def _cancel(self, message: ClaimedMessage, now: dt.datetime, reason: str) -> str:
        # A nudge dropped at send time has "expired" (the nudges lane's word for a passed moment).
        if not self._finish(
            message, status="cancelled", now=now, last_error=reason, nudge={"status": "expired"}
        ):
            return "lost"
        metrics.CANCELLED.labels(message.kind, metrics.reason_label(reason)).inc()
        log.info("outbox cancelled", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason})
        return "cancelled"

    def _retry(
        self, message: ClaimedMessage, now: dt.datetime, exc: TransientError, *, rate_limited: bool
    ) -> str:
        state = {**message.state, **exc.state}
        state["maybe_delivered"] = bool(message.resend or exc.maybe_delivered or state.get("maybe_delivered"))
        attempts = message.attempts
        ours = isinstance(exc, RateLimited) and exc.client_side
        if rate_limited and not ours:
            state["deferrals"] = int(state.get("deferrals", 0)) + 1
        if not rate_limited or (not ours and state["deferrals"] > self.max_deferrals):
            attempts += 1
        if attempts >= self.max_attempts:
            reason = f"{exc.reason} (after {attempts} attempts)"
            if not self._finish(message, status="failed", now=now, last_error=reason, attempts=attempts,
                                result={"state": state}, nudge={"status": "failed"}):  # fmt: skip
                return "lost"
            metrics.FAILED.labels(message.kind, metrics.reason_label(exc.reason)).inc()
            log.warning(
                "outbox failed", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason}
            )
            return "failed"
        if rate_limited:
            # Slack's Retry-After is the earliest allowed moment; a little jitter spreads the herd.
            delay = (exc.retry_after or 1.0) + self.rng.uniform(0.0, 0.5)
            if ours:
                delay = (exc.retry_after or 0.1) + self.rng.uniform(0.0, 0.1)
        else:
            backoff = min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts - 1))
            delay = max(exc.retry_after or 0.0, backoff * self.rng.uniform(0.5, 1.5))
        next_at = now + dt.timedelta(seconds=delay)
        if not self._finish(message, status="pending", now=now, last_error=exc.reason, next_at=next_at,
                            attempts=attempts, result={"state": state}):  # fmt: skip
            return "lost"
        if rate_limited:
            metrics.DEFERRED.labels(message.kind).inc()
        else:
            metrics.RETRIED.labels(message.kind, metrics.reason_label(exc.reason)).inc()
        log.info(
            "outbox retry scheduled",
            extra={"outbox_id": message.id, "kind": message.kind, "reason": exc.reason, "attempts": attempts,
                   "delay_s": round(delay, 3), "rate_limited": rate_limited},
        )  # fmt: skip
        return "deferred" if rate_limited else "retried"

    # -- loops -------------------------------------------------------------------------------

    def drain_once(self, now: dt.datetime | None = None) -> DrainStats:
        """Reclaim stale rows, claim one batch and send it."""
        stats = DrainStats()
        stats.reclaimed = self.reclaim_stale(now or utcnow())
        batch = self.claim(now or utcnow())
        stats.claimed = len(batch)
        for message in batch:
            outcome = self.process(message, now or utcnow())
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        return stats

    def drain(self, now: dt.datetime | None = None, *, max_batches: int = 10_000) -> DrainStats:
        """Drain until nothing is due (messages rescheduled into the future are left for later)."""
        total = DrainStats()
        for _ in range(max_batches):
            stats = self.drain_once(now)
            total.add(stats)
            if stats.claimed == 0:
                break
        return total

    def next_due(self) -> dt.datetime | None:
        """When the earliest pending row of a kind we send is due (None when there is none)."""
        kinds = self.registry.kinds()
        if not kinds:
            return None
        with self.db.session() as session:
            return session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending", OutboxMessage.kind.in_(kinds)
                )
            )

    def idle_wait(self, idle_seconds: float) -> float:
        """How long to pause after a short batch: `idle_seconds`, or less when a row falls due sooner.
        Rows held for a rate-limit bucket come back in about a second; sleeping the full idle time past
        that would cut a busy workspace's rate."""
        due = self.next_due()
        if due is None:
            return idle_seconds
        until = (due - utcnow()).total_seconds()
        return min(idle_seconds, max(MIN_IDLE_SECONDS, until))

    def run(self, stop: threading.Event, *, idle_seconds: float = 2.0) -> None:
        """Drain until `stop` is set: straight on while there is work, pausing when there is none."""
        log.info("outbox sender started", extra={"worker": self.worker_id, "kinds": self.registry.kinds()})
        while not stop.is_set():
            try:
                stats = self.drain_once()
                if stats.claimed < self.batch_size:
                    stop.wait(self.idle_wait(idle_seconds))
            except Exception:  # the database went away: wait and try again, never exit
                log.exception("outbox drain pass failed")
                stop.wait(idle_seconds)
        log.info("outbox sender stopped", extra={"worker": self.worker_id})


class _Defer(Exception):
    """Not now, not a failure: try again at `until` (e.g. the end of the recipient's pause)."""

    def __init__(self, reason: str, until: dt.datetime) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


def _after(now: dt.datetime, started: float | None) -> dt.datetime:
    """`now` moved on by the time the send took. A backoff counts from when the try ended: a post that
    timed out after 10 s may still land at Slack a moment later, and a retry measured from before the
    call would be due at once and post again before the history check could see the first one."""
    if started is None:
        return now
    return now + dt.timedelta(seconds=max(0.0, time.monotonic() - started))


def _state(result: dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(result, dict) and isinstance(result.get("state"), dict):
        return dict(result["state"])
    return {}


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def default_nudge_check() -> NudgeCheck | None:
    """The nudges lane's relevance check, when it is installed."""
    try:
        from bot.nudges import expiry  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    check = getattr(expiry, "cancel_reason", None)
    return check if callable(check) else None
