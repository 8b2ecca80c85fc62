"""The scheduler process: leader election, the leader's periodic jobs, and an outbox sender.

Roles:
- ``all`` (default): competes for leadership; the leader runs plan-shares every minute, send-digests
  every five minutes and retention hourly; every process (leader or standby) also drains the outbox.
- ``scheduler``: the leader jobs only, no sender thread.
- ``sender``: only drains the outbox; no election.

Why drain on every process: on PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so parallel senders
never take the same row, and a standby that sends keeps the outbox moving during the seconds a
failover takes. Throughput is bounded by Slack's per-workspace limits, not by senders, so more than
two or three buy nothing; the client-side buckets are per process, and 429s coordinate the rest.
On SQLite the claim is one atomic UPDATE, equally safe, and there is normally one process anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from apscheduler.schedulers.background import BackgroundScheduler

from bot.context import AppContext, HistoryReader
from bot.delivery.drain import Drainer
from bot.store.db import LostLeadership
from bot.store.models import utcnow
from jobs import metrics as job_metrics
from jobs import tasks
from jobs.leader import FencedDatabase, Leader, make_leader

log = logging.getLogger(__name__)

Role = Literal["all", "scheduler", "sender"]
LEADER_JOBS: dict[str, float] = {"plan-shares": 60.0, "send-digests": 300.0, "retention": 3600.0}


class JobsScheduler:
    """APScheduler (UTC) for the leader jobs, a heartbeat thread for leadership, a sender thread."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        role: Role = "all",
        leader: Leader | None = None,
        drainer: Drainer | None = None,
        heartbeat_seconds: float | None = None,
        drain_idle_seconds: float = 2.0,
        metrics_seconds: float = 15.0,
        intervals: dict[str, float] | None = None,
        jobs: Mapping[str, Callable[[AppContext, dt.datetime], tasks.JobResult]] | None = None,
        backfill: HistoryReader | None = None,
        backfill_idle_seconds: float = 5.0,
    ) -> None:
        self.ctx = ctx
        self.role = role
        self.heartbeat_seconds = heartbeat_seconds or ctx.settings.passiton_leader_heartbeat_seconds
        self.drain_idle_seconds = drain_idle_seconds
        self.metrics_seconds = metrics_seconds
        self.jobs = dict(jobs) if jobs is not None else dict(tasks.JOBS)
        self.intervals = {**LEADER_JOBS, **(intervals or {})} if jobs is None else dict(intervals or {})
        self.leader: Leader | None = None
        self.job_ctx = ctx
        if role in ("all", "scheduler"):
            self.leader = leader or make_leader(ctx.db, ctx.settings.passiton_leader_lease_seconds)
            # The leader jobs see a database whose every transaction checks that we still lead; they
            # share the process's embedder rather than loading a second one.
            self.job_ctx = dataclasses.replace(
                ctx, db=FencedDatabase(ctx.db, self.leader), embedder_factory=lambda: ctx.embedder
            )
        self.drainer: Drainer | None = None
        if role in ("all", "sender"):
            self.drainer = drainer or ctx.new_drainer()
        self.scheduler = BackgroundScheduler(
            timezone=dt.UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self.backfill: HistoryReader | None = None
        if self.leader is not None:  # history is read by the leader only: one reader per deployment
            self.backfill = backfill or ctx.new_backfill(self.stop_event)
        self.backfill_idle_seconds = backfill_idle_seconds

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> JobsScheduler:
        # APScheduler logs every run at INFO; our own "job done" line says what matters.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        if self.leader is not None:
            self.leader.heartbeat()
            first = utcnow() + dt.timedelta(seconds=2)
            for name, seconds in self.intervals.items():
                self.scheduler.add_job(
                    self.run_if_leader, "interval", seconds=seconds, args=[name], id=name, next_run_time=first
                )
            self._thread(self._heartbeat_loop, "jobs-leader")
        self.scheduler.start()
        if self.backfill is not None:
            self._thread(self._backfill_loop, "backfill")
        if self.drainer is not None:
            self._thread(self._drain_loop, "outbox-sender")
        self._thread(self._metrics_loop, "jobs-metrics")
        log.info("jobs started", extra={"role": self.role, "leader": self.is_leader})
        return self

    def shutdown(self, wait: bool = True) -> None:
        self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if wait:
            for thread in self._threads:
                thread.join(timeout=30)
        if self.leader is not None:
            self.leader.release()
        log.info("jobs stopped", extra={"role": self.role})

    @property
    def is_leader(self) -> bool:
        return self.leader is not None and self.leader.is_leader

    def _thread(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- loops and jobs ----------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        assert self.leader is not None
        while not self.stop_event.wait(self.heartbeat_seconds):
            self.leader.heartbeat()

    def _backfill_loop(self) -> None:
        """The leader reads history, one job at a time (a job left running by a dead process is taken over
        after its lease; one this process's last run handed back is pending and goes on at once)."""
        assert self.backfill is not None
        while not self.stop_event.is_set():
            if self.is_leader:
                try:
                    self.backfill.run_pending()
                except Exception:  # a database outage: try again at the next round
                    log.exception("backfill round failed")
            self.stop_event.wait(self.backfill_idle_seconds)

    def _drain_loop(self) -> None:
        assert self.drainer is not None
        self.drainer.run(
            self.stop_event,
            idle_seconds=self.drain_idle_seconds,
            on_pass=lambda: job_metrics.job_succeeded("drain-outbox"),
        )

    def _metrics_loop(self) -> None:
        """The outbox backlog gauges, from the shared table (every process reports the same numbers)."""
        while True:
            try:
                job_metrics.refresh_outbox_gauges(self.ctx.db)
            except Exception as exc:  # the database is away: the gauges keep their last values
                log.warning("outbox metrics not refreshed", extra={"error": type(exc).__name__})
            if self.stop_event.wait(self.metrics_seconds):
                return

    def run_if_leader(self, name: str) -> None:
        if not self.is_leader:
            return
        started = time.monotonic()
        try:
            result = self.jobs[name](self.job_ctx, utcnow())
        except LostLeadership as exc:  # the rest of this run belongs to the new leader
            log.warning("job stopped: leadership lost", extra={"job": name, "error": str(exc)})
            return
        except Exception:  # keep the schedule alive; the next run tries again
            job_metrics.FAILURES.labels(name).inc()
            log.exception("job failed", extra={"job": name})
            return
        job_metrics.job_succeeded(name, time.monotonic() - started)
        log.info(
            "job done", extra={"job": name, "result": result, "seconds": round(time.monotonic() - started, 3)}
        )


def start_in_process(ctx: AppContext, *, role: Role = "all") -> JobsScheduler:
    """For `passiton run`: the scheduler and a sender inside the Socket Mode process (`.shutdown()`)."""
    return JobsScheduler(ctx, role=role).start()
