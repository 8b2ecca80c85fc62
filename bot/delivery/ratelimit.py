"""Client-side token buckets, so a sender paces itself below Slack's limits instead of finding them.

Slack limits each method per workspace by tier (tier 3 ≈ 50 calls/min, tier 4 ≈ 100/min) and
chat.postMessage to about one message per second per channel, with short bursts tolerated. The
buckets are per process: several sender processes share a workspace's budget, so a 429 can still
come, and its Retry-After then blocks the bucket for everyone in this process (`block`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Calls per minute by method (Slack's published tiers), and the burst each bucket allows.
METHOD_PER_MINUTE: dict[str, float] = {
    "chat.postMessage": 100.0,  # "special": ~1/s per channel, workspace-wide bursts allowed
    "chat.update": 50.0,  # tier 3
    "conversations.open": 50.0,  # tier 3
    "conversations.history": 50.0,  # tier 3
    "conversations.replies": 50.0,  # tier 3
}
DEFAULT_PER_MINUTE = 50.0
PER_CHANNEL_PER_SECOND = 1.0
# Float refills land a hair under a whole token; without slack a waiter could spin on 1e-16 s waits.
_EPSILON = 1e-6


@dataclass
class _Bucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    last: float
    blocked_until: float = 0.0


class TokenBuckets:
    """Thread-safe buckets keyed by tuples, created on first use with `rate_for(key)`."""

    def __init__(
        self,
        rate_for: Callable[[tuple[str, ...]], tuple[float, float]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate_for = rate_for
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def _bucket(self, key: tuple[str, ...], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            rate, capacity = self._rate_for(key)
            bucket = self._buckets[key] = _Bucket(rate, capacity, capacity, now)
        return bucket

    def reserve(self, *keys: tuple[str, ...]) -> float:
        """Take a token from every bucket if all have one (returns 0), else return the seconds until
        they all will. Nothing is taken when the answer is positive, so a caller that decides not to
        wait leaves the buckets as they were."""
        with self._lock:
            now = self._clock()
            wait = 0.0
            buckets = []
            for key in keys:
                b = self._bucket(key, now)
                b.tokens = min(b.capacity, b.tokens + (now - b.last) * b.rate)
                b.last = now
                buckets.append(b)
                if now < b.blocked_until:
                    wait = max(wait, b.blocked_until - now)
                elif b.tokens < 1.0 - _EPSILON:
                    wait = max(wait, (1.0 - b.tokens) / b.rate)
            if wait > 0:
                return wait
            for b in buckets:
                b.tokens = max(0.0, b.tokens - 1.0)
            return 0.0

    def block(self, key: tuple[str, ...], seconds: float) -> None:
        """Hold the bucket empty for `seconds` (a 429's Retry-After)."""
        with self._lock:
            now = self._clock()
            b = self._bucket(key, now)
            b.blocked_until = max(b.blocked_until, now + seconds)
            b.tokens = 0.0


def slack_rate(key: tuple[str, ...]) -> tuple[float, float]:
    """(rate per second, burst) for ("team", method) and ("team", method, channel) keys."""
    if len(key) >= 3:
        return PER_CHANNEL_PER_SECOND, 2.0
    per_minute = METHOD_PER_MINUTE.get(key[1], DEFAULT_PER_MINUTE)
    # A burst of a few seconds' worth, never less than one call.
    return per_minute / 60.0, max(1.0, per_minute / 60.0 * 5)


class SlackRateLimits:
    """Paces calls per (workspace, method) and chat.postMessage per (workspace, channel)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, scale: float = 1.0) -> None:
        def rate_for(key: tuple[str, ...]) -> tuple[float, float]:
            rate, burst = slack_rate(key)
            if len(key) >= 3:  # one message per second per channel holds on every plan
                return rate, burst
            return rate * scale, max(1.0, burst * scale)

        self.buckets = TokenBuckets(rate_for, clock)

    def wait_for(self, team_id: str, method: str, channel: str | None = None) -> float:
        """Seconds to wait before calling `method` (0 = go, and the call's tokens were taken)."""
        if channel is not None and method == "chat.postMessage":
            return self.buckets.reserve((team_id, method), (team_id, method, channel))
        return self.buckets.reserve((team_id, method))

    def blocked(self, team_id: str, method: str, seconds: float) -> None:
        self.buckets.block((team_id, method), seconds)
