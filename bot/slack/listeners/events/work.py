"""What every event listener does around its work: count the event, and run the work durably."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.context import AppContext
from bot.metrics import EVENTS
from bot.store.outage import retry_transient


def count(body: dict[str, Any]) -> None:
    EVENTS.labels(str((body.get("event") or {}).get("type") or "unknown")).inc()


def durably(ctx: AppContext, what: str, fn: Callable[..., None], /, *args: Any) -> None:
    """Run an event's work on the event pool, retried through a database restart; the pool keeps
    Bolt's own threads free for commands and buttons while it waits."""

    def work() -> None:
        retry_transient(lambda: fn(*args), what)

    ctx.submit(work)
