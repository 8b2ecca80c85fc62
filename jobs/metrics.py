"""Prometheus metrics of the jobs process: what an operator alerts on.

- `passiton_job_last_success_timestamp_seconds{job}`: when each job last finished without error (the
  leader jobs, and `drain-outbox` for every sending process). Alert on `time() - it` growing: a job that
  fails every run, or a leader that never runs, shows here while the process itself looks healthy.
- `passiton_job_duration_seconds{job}` and `passiton_job_failures_total{job}`.
- The outbox backlog gauges (bot/delivery/metrics.py), refreshed by `refresh_outbox_gauges` every few
  seconds on every jobs process: any one of them reports the same shared table.
"""

from __future__ import annotations

import datetime as dt
import time

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

from bot.delivery import metrics as outbox_metrics
from bot.store.db import Database
from bot.store.models import OutboxMessage, utcnow

LAST_SUCCESS = Gauge(
    "passiton_job_last_success_timestamp_seconds",
    "Unix time at which the job last finished without an error",
    ["job"],
)
DURATION = Histogram(
    "passiton_job_duration_seconds",
    "How long one run of a job took",
    ["job"],
    buckets=(0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)
FAILURES = Counter("passiton_job_failures_total", "Runs of a job that raised", ["job"])
UNFINISHED = ("pending", "sending")


def job_succeeded(name: str, seconds: float | None = None) -> None:
    LAST_SUCCESS.labels(name).set(time.time())
    if seconds is not None:
        DURATION.labels(name).observe(seconds)


def refresh_outbox_gauges(db: Database, now: dt.datetime | None = None) -> dict[str, int]:
    """One grouped count over the unfinished rows (the (status, next_attempt_at) index serves it)."""
    now = now or utcnow()
    with db.session() as session:
        counts = dict(
            session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.status.in_(UNFINISHED))
                .group_by(OutboxMessage.status)
            ).all()
        )
        oldest = session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
            )
        )
    out = {status: int(counts.get(status, 0)) for status in UNFINISHED}
    for status, count in out.items():
        outbox_metrics.BACKLOG.labels(status).set(count)
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=dt.UTC)
    outbox_metrics.OLDEST_DUE_SECONDS.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    return out
