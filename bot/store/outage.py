"""Riding out a database that drops its connections after Slack has been answered.

Bolt acks an event before its listener writes anything, so an event whose write meets a restarting or
failing-over database would be lost: the web app's check before the ack (503 while the database is down)
narrows that window but cannot close it. Work done for an acknowledged event therefore retries while the
failure is the connection's, for up to `RETRY_SECONDS`. Every such write is keyed (the event id's claim,
the item's source key), so a retry after an attempt that did land adds nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

log = logging.getLogger(__name__)
T = TypeVar("T")

# Slack itself gives up on an unacknowledged event after about five minutes; a database that is back
# within two is the restart or failover this is for. Longer outages are logged as lost work.
RETRY_SECONDS = 120.0
FIRST_WAIT, LONGEST_WAIT = 0.25, 5.0


def is_transient(exc: BaseException) -> bool:
    """True for the failures a later attempt can get past: the connection was lost or refused
    (OperationalError, InterfaceError, or any driver error that invalidated the connection), or
    SQLite's lock wait ran out. Constraint violations and programming errors are not."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError)


def retry_transient(
    fn: Callable[[], T],
    what: str,
    *,
    budget: float = RETRY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """`fn()`, called again after transient database failures until it succeeds or `budget` seconds
    have passed (then the last failure is raised). Other exceptions are raised at once."""
    deadline = clock() + budget
    wait = FIRST_WAIT
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or clock() + wait > deadline:
                raise
            log.warning(
                "database unavailable; retrying",
                extra={"work": what, "attempt": attempt, "error": type(exc).__name__},
            )
        sleep(wait)
        wait = min(wait * 2, LONGEST_WAIT)
        attempt += 1
