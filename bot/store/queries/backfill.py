"""Backfill jobs: enqueue (from the install and invite paths), claim, progress, finish.

Kept in the store so the listeners that enqueue (bot.ingest, bot.slack) need nothing of the backfill
runner (bot.backfill), which needs the ingest: no import loop. Every write here is a short transaction
of the caller's; claiming is a conditional UPDATE, so two processes never run one job at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.store.models import BackfillJob, Workspace
from bot.store.queries.conflicts import insert_row_ignoring_conflict

DISCOVER = "*"  # the job that lists the channels the bot is in and enqueues one job for each
ACTIVE = ("pending", "running")


def slack_ts(at: dt.datetime) -> str:
    """A moment as Slack writes message timestamps ("1712345678.123456")."""
    return f"{at.timestamp():.6f}"


def backfill_window(now: dt.datetime, days: int) -> tuple[str, str]:
    """[oldest, latest] as Slack timestamps: the last `days` days up to now (later messages arrive live)."""
    return slack_ts(now - dt.timedelta(days=days)), slack_ts(now)


def job_for(session: Session, workspace: Workspace, slack_channel_id: str) -> BackfillJob | None:
    return session.scalars(
        select(BackfillJob).where(
            BackfillJob.workspace_id == workspace.id, BackfillJob.slack_channel_id == slack_channel_id
        )
    ).first()


def enqueue_backfill(
    session: Session,
    workspace: Workspace,
    slack_channel_id: str,
    now: dt.datetime,
    days: int,
    trigger: str,
    *,
    again: bool = True,
) -> BackfillJob | None:
    """Ask for the channel's last `days` days (None when days is 0: the backfill is off).

    A job already pending or running is left as it is. A finished one (`again`) runs again for what it has
    not covered: from the end of its last window (or `days` ago, whichever is later) up to now; a stopped
    one (token or access lost) starts over on the whole window, and what it stored before is skipped by
    message. `again=False` (the install's channel discovery) leaves finished jobs alone: the bot has been
    in those channels since and saw their messages live.
    """
    if days <= 0:
        return None
    oldest, latest = backfill_window(now, days)
    job = job_for(session, workspace, slack_channel_id)
    if job is None:
        values = {
            "workspace_id": workspace.id,
            "slack_channel_id": slack_channel_id,
            "trigger": trigger,
            "status": "pending",
            "oldest_ts": oldest,
            "latest_ts": latest,
            "created_at": now,
        }
        created = insert_row_ignoring_conflict(
            session, BackfillJob, ("workspace_id", "slack_channel_id"), values
        )
        return created or job_for(session, workspace, slack_channel_id)
    if job.status in ACTIVE or (job.status == "done" and not again):
        return job
    if job.status == "done" and float(job.latest_ts) > float(oldest):
        oldest = job.latest_ts
    job.status, job.trigger, job.error = "pending", trigger, None
    job.oldest_ts, job.latest_ts, job.reached_ts = oldest, latest, None
    job.locked_by, job.heartbeat_at, job.finished_at = None, None, None
    return job


def claimable(now: dt.datetime, lease: dt.timedelta) -> object:
    """Pending jobs, and running ones whose runner stopped sending heartbeats (it died)."""
    return or_(
        BackfillJob.status == "pending",
        (BackfillJob.status == "running")
        & (BackfillJob.heartbeat_at.is_(None) | (BackfillJob.heartbeat_at < now - lease)),
    )


def claim_next(session: Session, worker: str, now: dt.datetime, lease: dt.timedelta) -> BackfillJob | None:
    """Take the oldest claimable job of an active workspace for `worker`, or None. Channel discovery goes
    first, so an install's channels are queued before any of them is read."""
    condition = claimable(now, lease)
    candidates = session.scalars(
        select(BackfillJob.id)
        .join(Workspace, Workspace.id == BackfillJob.workspace_id)
        .where(condition, Workspace.active.is_(True))  # type: ignore[arg-type]
        .order_by((BackfillJob.slack_channel_id != DISCOVER), BackfillJob.id)
        .limit(5)
    ).all()
    for job_id in candidates:
        taken = session.execute(
            update(BackfillJob)
            .where(BackfillJob.id == job_id, condition)  # type: ignore[arg-type]
            .values(status="running", locked_by=worker, heartbeat_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) == 1:
            job = session.get(BackfillJob, job_id, populate_existing=True)
            if job is not None and job.started_at is None:
                job.started_at = now
            return job
    return None


def still_mine(session: Session, job_id: int, worker: str, now: dt.datetime, **values: object) -> bool:
    """Heartbeat (and write `values`) only while `worker` holds the job; False when another runner took it
    over, and then the caller's transaction must not commit what it read for the job."""
    result = session.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id, BackfillJob.locked_by == worker, BackfillJob.status == "running")
        .values(heartbeat_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def release(session: Session, job_id: int, worker: str, error: str | None = None) -> None:
    """Hand the job back (this process is stopping, or Slack could not be reached): pending again, to go
    on from where it got to."""
    session.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id, BackfillJob.locked_by == worker)
        .values(status="pending", locked_by=None, heartbeat_at=None, error=error)
        .execution_options(synchronize_session=False)
    )


def finish(
    session: Session, job_id: int, worker: str, now: dt.datetime, status: str, error: str | None
) -> None:
    session.execute(
        update(BackfillJob)
        .where(BackfillJob.id == job_id, BackfillJob.locked_by == worker)
        .values(status=status, error=error, locked_by=None, heartbeat_at=now, finished_at=now)
        .execution_options(synchronize_session=False)
    )


def active_jobs(session: Session) -> int:
    return len(session.scalars(select(BackfillJob.id).where(BackfillJob.status.in_(ACTIVE))).all())
