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

A claimed batch is sent in windows, to spend few transactions per message: one transaction records the
outcomes of the previous window's sends, renews the locks of the next window's messages and makes their
checks (workspace, recipient, the nudge's relevance), then those are sent. No send starts more than
`recheck_seconds` after its renewal and checks (the rest of the window is renewed and checked again),
and a window never holds two messages of one nudge, so no check can depend on what a send of its own
window wrote. A crash between a send and the recording of its outcome leaves the row in `sending`, as
before: reclaimed after the lease and looked for before it is posted again. Emails, whose resend cannot
be detected, are recorded right after their send.

While a message waits, `result` holds its progress (`{"state": {...}}`: the DM channel opened,
`maybe_delivered`, rate-limit deferrals); once sent it holds where it landed (channel, ts).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

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
from bot.store.models import OPEN_NUDGE_STATUSES, Item, Member, Nudge, OutboxMessage, Workspace, utcnow

log = logging.getLogger(__name__)

# Kinds addressed to one person: pause and deactivation apply to them.
PERSONAL_KINDS = frozenset({"slack_dm", "email"})
# Kinds whose resend cannot be detected (SMTP has no idempotency): their outcome is recorded right after the
# send instead of with the next window's renewal, so a crash leaves the narrowest window for a duplicate.
RECORD_AT_ONCE = frozenset({"email"})
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
        recheck_seconds: float = 0.05,
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
        self.nudge_check = nudge_check
        self.rng = rng or random.Random()
        # A send starts at most this long after its lock was renewed and its checks were made. A Slack call
        # takes longer, so live each message still gets its renewal and checks right before its send (and
        # its outcome is recorded in the same transaction); quick ones (a rate-limit hold, which sends
        # nothing, or a replay's recording sender) share one transaction.
        self.recheck_seconds = recheck_seconds
        # How many messages the next window takes: cut to as many as fitted when sends turned out slow, so a
        # slow sender does not check a whole batch only to check most of it again; doubled when they are quick.
        self._window_size = max(1, batch_size)

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
            # The columns a ClaimedMessage needs, not the rows as objects: nothing here changes them.
            o = OutboxMessage
            rows = session.execute(
                select(o.id, o.workspace_id, Workspace.team_id, o.idempotency_key, o.kind, o.payload,
                       o.recipient_id, o.nudge_id, o.attempts, o.result, o.created_at)
                .join(Workspace, Workspace.id == o.workspace_id)
                .where(o.id.in_(ids))
                .order_by(o.next_attempt_at, o.id)
            ).all()  # fmt: skip
            claimed = []
            for row in rows:
                state = _state(row.result)
                claimed.append(
                    ClaimedMessage(
                        id=row.id, workspace_id=row.workspace_id, team_id=row.team_id,
                        idempotency_key=row.idempotency_key, kind=row.kind, payload=dict(row.payload or {}),
                        recipient_id=row.recipient_id, nudge_id=row.nudge_id, attempts=row.attempts,
                        resend=bool(state.get("maybe_delivered")), created_at=row.created_at, state=state,
                    )
                )  # fmt: skip
            return claimed

    # -- sending -----------------------------------------------------------------------------

    def process(self, message: ClaimedMessage, now: dt.datetime) -> str:
        """Send one claimed message and record the outcome; returns the outcome's name."""
        return self.process_batch([message], now)[0]

    def process_batch(self, batch: Sequence[ClaimedMessage], now: dt.datetime | None = None) -> list[str]:
        """Send claimed messages in order and record each outcome; returns the outcomes' names.

        The messages go in windows. One transaction records the outcomes of the previous window's sends,
        renews the locks of the window's messages and makes their checks; then they are sent. A window
        ends early when a send would start more than `recheck_seconds` after that transaction (the rest is
        renewed and checked again, in smaller windows), and it never holds two messages of one nudge, so
        no check can depend on what a send of its own window wrote. An email's outcome is recorded right
        after it is sent: a resent email cannot be detected, so it does not wait for the next window.
        """
        names: list[str] = []
        pending: list[_Outcome] = []  # sent, outcome not recorded yet
        todo = list(batch)
        one_by_one = False
        try:
            while todo:
                window = todo[: _window(todo, 1 if one_by_one else self._window_size)]
                try:
                    with self.db.session() as session:
                        recorded = self._record(session, pending)
                        to_send, decided = self._prepare(session, window, now or utcnow())
                except Exception as exc:
                    if pending:
                        # Recorded on their own (an error here goes up, as a failed write always did),
                        # then the window is tried again without them.
                        done, pending = pending, []
                        names += self._recorded(done)
                        continue
                    if len(window) > 1:
                        one_by_one = True  # the check that failed then holds back no other message
                        continue
                    # As before any send: an unexpected error, retried a bounded number of times.
                    log.exception("sender raised", extra={"outbox_id": window[0].id, "kind": window[0].kind})
                    error = TransientError(f"error:{type(exc).__name__}", maybe_delivered=True)
                    pending.append(self._retried(window[0], now or utcnow(), error, rate_limited=False))
                    todo.pop(0)
                    continue
                pending = []
                names += _reported(recorded) + _reported(decided)
                checked = time.monotonic()
                sending = {m.id for m in to_send}
                sent = 0
                for i, message in enumerate(window):
                    if message.id not in sending:
                        continue
                    if sent and time.monotonic() - checked > self.recheck_seconds:
                        # The checks are no longer fresh: renew and check the rest again.
                        todo = [m for m in window[i:] if m.id in sending] + todo[len(window) :]
                        self._window_size = sent
                        break
                    pending.append(self._send(message, now or utcnow()))
                    sent += 1
                    if message.kind in RECORD_AT_ONCE:
                        done, pending = pending, []
                        names += self._recorded(done)
                else:
                    todo = todo[len(window) :]
                    quick = time.monotonic() - checked <= self.recheck_seconds
                    if quick and len(window) == self._window_size:  # a whole window went out in time
                        self._window_size = min(max(1, self.batch_size), 2 * self._window_size)
        finally:
            if pending:  # also when a send raised something no handler takes: what went out is recorded
                names += self._recorded(pending)
        return names

    def _prepare(
        self, session: Session, window: Sequence[ClaimedMessage], now: dt.datetime
    ) -> tuple[list[ClaimedMessage], list[tuple[_Outcome, str]]]:
        """Renew the window's locks and check its messages; returns those to send, and the outcomes of the
        others (recorded in this transaction)."""
        decided: list[_Outcome] = []
        live: list[ClaimedMessage] = []
        for message in window:
            if self.registry.get(message.kind) is None:
                # Unregistered since the claim; leave it for a process that has one.
                decided.append(_Outcome(message, "lost", _values("pending", now, None, next_at=now)))
            elif message.attempts >= self.max_attempts:
                decided.append(self._failed(message, now, f"gave up after {message.attempts} attempts"))
            else:
                live.append(message)
        renewed: set[int] = set()
        if live:
            renewed = set(
                session.scalars(
                    update(_OUTBOX)
                    .where(
                        _OUTBOX.c.id.in_([m.id for m in live]),
                        _OUTBOX.c.locked_by == self.worker_id,
                        _OUTBOX.c.status == "sending",
                    )
                    .values(locked_at=max(now, utcnow()))
                    .returning(_OUTBOX.c.id)
                )
            )
        lost: list[tuple[_Outcome, str]] = []
        mine: list[ClaimedMessage] = []
        for message in live:
            if message.id in renewed:
                mine.append(message)
            else:
                log.warning("outbox lock lost before send", extra={"outbox_id": message.id})
                lost.append((_Outcome(message, "lost", {}), "lost"))
        self._load_for_checks(session, mine)
        to_send: list[ClaimedMessage] = []
        for message in mine:
            reason = self._check(session, message, now)
            if reason is None:
                to_send.append(message)
            elif isinstance(reason, Cancelled):
                decided.append(self._cancelled(message, now, reason.reason))
            elif isinstance(reason, PermanentError):
                decided.append(self._failed(message, now, reason.reason))
            elif isinstance(reason, _Defer):
                values = _values("pending", now, reason.reason, next_at=reason.until)
                decided.append(_Outcome(message, "deferred", values))
            else:  # not a reason the checks give; handled as any unexpected error
                raise reason
        session.flush()  # what the checks changed goes first, as when they had their own transaction
        return to_send, lost + self._record(session, decided)

    def _load_for_checks(self, session: Session, messages: Sequence[ClaimedMessage]) -> None:
        """Load the rows the checks look up in one query per table rather than one per message: the checks
        then find them in the session's identity map. That map holds objects weakly, so they are also kept
        in `session.info` until the session (this transaction) ends."""
        if not messages:
            return
        held: list[Any] = list(
            session.scalars(select(Workspace).where(Workspace.id.in_({m.workspace_id for m in messages})))
        )
        members = {
            m.recipient_id for m in messages if m.kind in PERSONAL_KINDS and m.recipient_id is not None
        }
        nudge_ids = {m.nudge_id for m in messages if m.nudge_id is not None}
        if nudge_ids:
            nudges = list(session.scalars(select(Nudge).where(Nudge.id.in_(nudge_ids))))
            held += nudges
            members |= {n.recipient_id for n in nudges} | {
                n.target_id for n in nudges if n.target_id is not None
            }
            items = {n.item_id for n in nudges if n.item_id is not None}
            if items:
                held += session.scalars(select(Item).where(Item.id.in_(items))).all()
        if members:
            held += session.scalars(select(Member).where(Member.id.in_(members))).all()
        session.info["drain_checked_rows"] = held

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

    def _send(self, message: ClaimedMessage, now: dt.datetime) -> _Outcome:
        """Hand one renewed and checked message to its sender; the outcome, not yet recorded."""
        started: float | None = None
        sender = self.registry.get(message.kind)
        if sender is None:
            return _Outcome(message, "lost", _values("pending", now, None, next_at=now))
        try:
            started = time.monotonic()
            try:
                result = sender.send(message)
            finally:  # every outcome: a slow 429 or a timeout is latency a member waits through too
                metrics.SEND_SECONDS.labels(message.kind).observe(time.monotonic() - started)
        except Cancelled as exc:
            return self._cancelled(message, now, exc.reason)
        except PermanentError as exc:
            return self._failed(message, now, exc.reason)
        except RateLimited as exc:
            return self._retried(message, _after(now, started), exc, rate_limited=True)
        except TransientError as exc:
            return self._retried(message, _after(now, started), exc, rate_limited=False)
        except Exception as exc:  # a bug or an unexpected library error: bounded retries, maybe sent
            log.exception("sender raised", extra={"outbox_id": message.id, "kind": message.kind})
            return self._retried(
                message,
                _after(now, started),
                TransientError(f"error:{type(exc).__name__}", maybe_delivered=True),
                rate_limited=False,
            )
        return self._sent(message, now, result)

    # -- outcomes ----------------------------------------------------------------------------

    def _record(self, session: Session, outcomes: Sequence[_Outcome]) -> list[tuple[_Outcome, str]]:
        """Write outcomes, each with a conditional UPDATE on (id, locked_by, status='sending'): a sender
        that lost its lock cannot overwrite the new owner's result. Returns each with the name it counts as."""
        out: list[tuple[_Outcome, str]] = []
        for outcome in outcomes:
            message = outcome.message
            done = session.execute(
                _finish_statement(tuple(outcome.values)),
                {
                    "w_id": message.id,
                    "w_by": self.worker_id,
                    **{f"v_{k}": v for k, v in outcome.values.items()},
                },
            )
            if _rowcount(done) != 1:
                log.warning(
                    "outbox lock lost; outcome not recorded",
                    extra={"outbox_id": message.id, "status": outcome.values["status"]},
                )
                out.append((outcome, "lost"))
                continue
            if outcome.nudge is not None and message.nudge_id is not None:
                session.execute(
                    _nudge_statement(tuple(outcome.nudge)),
                    {"w_id": message.nudge_id, **{f"v_{k}": v for k, v in outcome.nudge.items()}},
                )
            out.append((outcome, outcome.name))
        return out

    def _recorded(self, outcomes: Sequence[_Outcome]) -> list[str]:
        """Record outcomes in a transaction of their own, then count and log them."""
        with self.db.session() as session:
            recorded = self._record(session, outcomes)
        return _reported(recorded)

    def _sent(self, message: ClaimedMessage, now: dt.datetime, result: SendResult) -> _Outcome:
        nudge = {"status": "sent", "sent_at": now, "slack_channel": result.channel, "slack_ts": result.ts}

        def report() -> None:
            (metrics.DEDUPLICATED if result.deduplicated else metrics.SENT).labels(message.kind).inc()
            log.info(
                "outbox sent",
                extra={"outbox_id": message.id, "kind": message.kind, "channel": result.channel, "ts": result.ts,
                       "deduplicated": result.deduplicated, "attempts": message.attempts},
            )  # fmt: skip

        name = "deduplicated" if result.deduplicated else "sent"
        return _Outcome(message, name, _values("sent", now, None, result=result.to_json()), nudge, report)

    def _failed(self, message: ClaimedMessage, now: dt.datetime, reason: str) -> _Outcome:
        def report() -> None:
            metrics.FAILED.labels(message.kind, metrics.reason_label(reason)).inc()
            log.warning(
                "outbox failed", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason}
            )

        return _Outcome(message, "failed", _values("failed", now, reason), {"status": "failed"}, report)

    def _cancelled(self, message: ClaimedMessage, now: dt.datetime, reason: str) -> _Outcome:
        def report() -> None:
            metrics.CANCELLED.labels(message.kind, metrics.reason_label(reason)).inc()
            log.info(
                "outbox cancelled", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason}
            )

        # A nudge dropped at send time has "expired" (the nudges lane's word for a passed moment).
        return _Outcome(
            message, "cancelled", _values("cancelled", now, reason), {"status": "expired"}, report
        )

    def _retried(
        self, message: ClaimedMessage, now: dt.datetime, exc: TransientError, *, rate_limited: bool
    ) -> _Outcome:
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

            def failed() -> None:
                metrics.FAILED.labels(message.kind, metrics.reason_label(exc.reason)).inc()
                log.warning(
                    "outbox failed", extra={"outbox_id": message.id, "kind": message.kind, "reason": reason}
                )

            values = _values("failed", now, reason, attempts=attempts, result={"state": state})
            return _Outcome(message, "failed", values, {"status": "failed"}, failed)
        if rate_limited:
            # Slack's Retry-After is the earliest allowed moment; a little jitter spreads the herd.
            delay = (exc.retry_after or 1.0) + self.rng.uniform(0.0, 0.5)
            if ours:
                delay = (exc.retry_after or 0.1) + self.rng.uniform(0.0, 0.1)
        else:
            backoff = min(self.max_backoff, self.base_backoff * 2 ** max(0, attempts - 1))
            delay = max(exc.retry_after or 0.0, backoff * self.rng.uniform(0.5, 1.5))
        next_at = now + dt.timedelta(seconds=delay)

        def scheduled() -> None:
            if rate_limited:
                metrics.DEFERRED.labels(message.kind).inc()
            else:
                metrics.RETRIED.labels(message.kind, metrics.reason_label(exc.reason)).inc()
            log.info(
                "outbox retry scheduled",
                extra={"outbox_id": message.id, "kind": message.kind, "reason": exc.reason, "attempts": attempts,
                       "delay_s": round(delay, 3), "rate_limited": rate_limited},
            )  # fmt: skip

        values = _values(
            "pending", now, exc.reason, next_at=next_at, attempts=attempts, result={"state": state}
        )
        return _Outcome(message, "deferred" if rate_limited else "retried", values, None, scheduled)

    # -- loops -------------------------------------------------------------------------------

    def drain_once(self, now: dt.datetime | None = None) -> DrainStats:
        """Reclaim stale rows, claim one batch and send it."""
        stats = DrainStats()
        stats.reclaimed = self.reclaim_stale(now or utcnow())
        batch = self.claim(now or utcnow())
        stats.claimed = len(batch)
        for outcome in self.process_batch(batch, now):
            setattr(stats, outcome, getattr(stats, outcome) + 1)
        return stats

    def drain(self, now: dt.datetime | None = None, *, max_batches: int = 10_000) -> DrainStats:
        """Drain until nothing is due (messages rescheduled into the future are left for later).

        At a given `now`, a pass that claimed less than a full batch took everything due then: what it
        rescheduled is due later, so no further pass is made to find that out."""
        total = DrainStats()
        for _ in range(max_batches):
            stats = self.drain_once(now)
            total.add(stats)
            if stats.claimed == 0 or (now is not None and stats.claimed < self.batch_size):
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

    def run(
        self,
        stop: threading.Event,
        *,
        idle_seconds: float = 2.0,
        on_pass: Callable[[], None] | None = None,
    ) -> None:
        """Drain until `stop` is set: straight on while there is work, pausing when there is none.
        `on_pass` is called after every pass that reached the database (the jobs' last-success metric)."""
        log.info("outbox sender started", extra={"worker": self.worker_id, "kinds": self.registry.kinds()})
        while not stop.is_set():
            try:
                stats = self.drain_once()
                if on_pass is not None:
                    on_pass()
                if stats.claimed < self.batch_size:
                    stop.wait(self.idle_wait(idle_seconds))
            except Exception:  # the database went away: wait and try again, never exit
                log.exception("outbox drain pass failed")
                stop.wait(idle_seconds)
        log.info("outbox sender stopped", extra={"worker": self.worker_id})


@dataclass
class _Outcome:
    """What became of one message: the values its row gets, the nudge's, and what to count and log once
    they are recorded."""

    message: ClaimedMessage
    name: str  # the DrainStats field it counts in
    values: dict[str, Any]
    nudge: dict[str, Any] | None = None
    report: Callable[[], None] | None = None


def _values(
    status: str,
    now: dt.datetime,
    last_error: str | None,
    *,
    next_at: dt.datetime | None = None,
    result: dict[str, Any] | None = None,
    attempts: int | None = None,
) -> dict[str, Any]:
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
    return values


def _reported(recorded: Sequence[tuple[_Outcome, str]]) -> list[str]:
    """Count and log what was recorded (after its transaction committed), as the names DrainStats counts."""
    for outcome, name in recorded:
        if name != "lost" and outcome.report is not None:
            outcome.report()
    return [name for _, name in recorded]


def _window(todo: Sequence[ClaimedMessage], size: int) -> int:
    """How many of the first messages go in the next window: at most `size`, and one per nudge."""
    nudges: set[int] = set()
    for n, message in enumerate(todo[:size]):
        if message.nudge_id is not None:
            if message.nudge_id in nudges:
                return n
            nudges.add(message.nudge_id)
    return min(size, len(todo))


_OUTBOX = cast(Table, OutboxMessage.__table__)
_NUDGES = cast(Table, Nudge.__table__)


@functools.lru_cache(maxsize=32)
def _finish_statement(columns: tuple[str, ...]) -> Update:
    """The conditional UPDATE that records an outcome, built once per set of columns it writes."""
    return (
        update(_OUTBOX)
        .where(
            _OUTBOX.c.id == bindparam("w_id"),
            _OUTBOX.c.locked_by == bindparam("w_by"),
            _OUTBOX.c.status == "sending",
        )
        .values({name: bindparam(f"v_{name}") for name in columns})
    )


@functools.lru_cache(maxsize=32)
def _nudge_statement(columns: tuple[str, ...]) -> Update:
    """The UPDATE of an outcome's nudge, if it is still open (a nudge acted on meanwhile keeps its status)."""
    return (
        update(_NUDGES)
        .where(_NUDGES.c.id == bindparam("w_id"), _NUDGES.c.status.in_(OPEN_NUDGE_STATUSES))
        .values({name: bindparam(f"v_{name}") for name in columns})
    )


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
