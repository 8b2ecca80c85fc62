"""The sender contract: one object per outbox kind, and the errors that tell the drain what to do next.

A sender gets a `ClaimedMessage` (a plain snapshot; the drain owns the row and its lock) and either
returns a `SendResult`, or raises:

- `TransientError` — try again later (Slack 5xx, timeouts, connection errors, an SMTP 4xx). The drain
  backs off with jitter and counts an attempt; after the cap the message fails with this reason.
  `maybe_delivered=True` says the other side may have acted (a timeout after the request was sent), so
  the next try must look for the first before sending again. `retry_after` overrides the back-off.
- `RateLimited` — a `TransientError` that is the receiver's flow control, not a failure: the message is
  rescheduled at `retry_after` without counting an attempt (up to a cap of deferrals).
- `PermanentError` — this message can never go out (`channel_not_found`, `user_disabled`, …): it ends
  with the reason, no retry.
- `Cancelled` — the message should no longer be sent (the nudge's moment has passed, the recipient
  paused): it ends as `cancelled`, which is not a failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ClaimedMessage:
    """What a sender needs of an outbox row. `resend` is true when an earlier try may have gone out."""

    id: int
    workspace_id: int
    team_id: str
    idempotency_key: str
    kind: str
    payload: dict[str, Any]
    recipient_id: int | None = None
    nudge_id: int | None = None
    attempts: int = 0
    resend: bool = False
    created_at: dt.datetime | None = None
    # Progress a sender kept from an earlier try (e.g. the DM channel it opened).
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    """Where the message landed. For Slack: channel and ts; for email: the Message-ID."""

    channel: str | None = None
    ts: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # True when the message was found already delivered (a resend after a crash) instead of sent now.
    deduplicated: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        if self.channel is not None:
            out["channel"] = self.channel
        if self.ts is not None:
            out["ts"] = self.ts
        if self.deduplicated:
            out["deduplicated"] = True
        return out


class DeliveryError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(DeliveryError):
    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        maybe_delivered: bool = False,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered
        self.state = state or {}


class RateLimited(TransientError):
    """Flow control: not a failure of the message, so it does not use up an attempt.

    `client_side=True` means our own pacing held the call back (nothing was sent); those deferrals
    never count, however long a backlog takes. Only the receiver's 429s count towards the cap."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        *,
        client_side: bool = False,
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason, retry_after, state=state)
        self.client_side = client_side


class PermanentError(DeliveryError):
    pass


class Cancelled(DeliveryError):
    pass


class Sender(Protocol):
    def send(self, message: ClaimedMessage) -> SendResult: ...


class SenderRegistry:
    """kind -> sender. A kind with no sender stays queued (logged) rather than failing."""

    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, kind: str, sender: Sender) -> None:
        self._senders[kind] = sender

    def get(self, kind: str) -> Sender | None:
        return self._senders.get(kind)

    def kinds(self) -> list[str]:
        return sorted(self._senders)

    def __contains__(self, kind: object) -> bool:
        return kind in self._senders
