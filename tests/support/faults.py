"""Fault injection and Slack-like rate limiting for the emulator.

Faults are checked before a method runs, so an injected 429 or 5xx never has a side effect —
except `drop_after_commit`, which runs the method and then hangs up without an answer, the way
a crash or a network cut after Slack accepted a post looks to the client.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Requests per minute per method and workspace (Slack's tiers: 1, 20, 50, 100).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIER = {
    "auth.test": 4,
    "bots.info": 3,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "chat.postEphemeral": 4,
    "chat.postMessage": 4,  # plus one message per second per channel, see RateLimiter
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.members": 4,
    "conversations.open": 3,
    "conversations.replies": 3,
    "oauth.v2.access": 4,
    "reactions.add": 3,
    "team.info": 3,
    "users.conversations": 3,
    "users.info": 4,
    "users.list": 2,
    "users.lookupByEmail": 3,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
    "apps.connections.open": 1,
}


@dataclass
class Fault:
    method: str  # a method name or "*"
    error: str | None = "ratelimited"
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    times: int = 1
    match: dict[str, Any] = field(default_factory=dict)
    after_commit: bool = False  # run the method, then drop the connection

    def matches(self, method: str, args: dict[str, Any]) -> bool:
        if self.method not in ("*", method):
            return False
        return all(str(args.get(k)) == str(v) for k, v in self.match.items())

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "error": self.error,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "times": self.times,
            "match": self.match,
            "after_commit": self.after_commit,
        }


def make_fault(
    method: str,
    error: str | None = "ratelimited",
    status: int | None = None,
    retry_after: float | None = None,
    times: int = 1,
    delay: float = 0.0,
    match: dict[str, Any] | None = None,
) -> Fault:
    """Defaults follow Slack: `ratelimited` is HTTP 429 with Retry-After: 1; other errors are 200."""
    if status is None:
        status = 429 if error == "ratelimited" else 200
    if status == 429 and retry_after is None:
        retry_after = 1
    return Fault(method, error, status, retry_after, delay, times, dict(match or {}))


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(self, method: str, args: dict[str, Any]) -> Fault | None:
        """Consume one use of the first fault that applies (times<0 means forever)."""
        with self._lock:
            for f in self._faults:
                if f.matches(method, args):
                    if f.times > 0:
                        f.times -= 1
                        if f.times == 0:
                            self._faults.remove(f)
                    return f
        return None


class RateLimiter:
    """Token buckets per (team, method) at the method's tier, and per (team, channel) for posts.

    `scale` multiplies every rate, so a test can exercise throttling without waiting minutes.
    """

    def __init__(self, scale: float = 1.0, per_channel_per_second: float = 1.0, burst: float = 1.0) -> None:
        self.scale = scale
        self.per_channel = per_channel_per_second
        self.burst = burst
        self.overrides: dict[str, float] = {}  # method -> per minute
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}  # key -> (tokens, last)

    def _take(self, key: tuple[str, ...], per_second: float, capacity: float) -> float:
        """Take a token; 0.0 if granted, else seconds until one is available."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * per_second)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / per_second

    def check(self, team_id: str, method: str, args: dict[str, Any]) -> float:
        per_minute = self.overrides.get(method) or TIER_PER_MINUTE[METHOD_TIER.get(method, 3)]
        per_second = per_minute * self.scale / 60.0
        with self._lock:
            wait = self._take((team_id, method), per_second, max(1.0, per_minute * self.scale / 60.0 * 5))
            if wait == 0.0 and method == "chat.postMessage" and args.get("channel"):
                wait = self._take(
                    (team_id, method, str(args["channel"])),
                    self.per_channel * self.scale,
                    max(1.0, self.burst),
                )
        return wait


def retry_after_header(seconds: float) -> str:
    """Slack sends whole seconds; never 0, or clients would hammer."""
    return str(max(1, math.ceil(seconds)))
