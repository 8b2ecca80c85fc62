"""The job bodies. Each takes the app context and the moment it runs for, and returns a summary.

`passiton jobs run NAME --now ISO` calls them directly; the scheduler calls them on the leader
(plan-shares, send-digests, retention) or on every process (drain-outbox).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.context import AppContext
from bot.email.digests import send_digests as queue_digests
from bot.nudges.planner import plan_share_nudges
from bot.store.db import LostLeadership
from bot.store.models import Workspace
from jobs.retention import apply_retention

log = logging.getLogger(__name__)

JobResult = dict[str, Any]


def plan_shares(ctx: AppContext, now: dt.datetime) -> JobResult:
    """Plan share nudges for members whose local morning has come, workspace by workspace."""
    with ctx.db.session() as session:
        workspace_ids = list(session.scalars(select(Workspace.id).where(Workspace.active.is_(True))))
    planned, failed = 0, 0
    for workspace_id in workspace_ids:
        # One transaction per workspace: one broken workspace must not hold back the others.
        try:
            with ctx.db.session() as session:
                workspace = session.get(Workspace, workspace_id)
                if workspace is None or not workspace.active:
                    continue
                planned += len(
                    plan_share_nudges(
                        session, workspace, now, ctx.settings, ctx.embedder, indexes=ctx.member_indexes
                    )
                )
        except LostLeadership:
            raise
        except Exception:
            failed += 1
            log.exception("share planning failed", extra={"workspace_id": workspace_id})
    return {"workspaces": len(workspace_ids), "planned": planned, "failed_workspaces": failed}


def send_digests(ctx: AppContext, now: dt.datetime) -> JobResult:
    return {"queued": queue_digests(ctx.db, ctx.settings, now)}


def drain_outbox(ctx: AppContext, now: dt.datetime | None) -> JobResult:
    """Send everything due now (or at the frozen `now`); rescheduled messages are left for later."""
    drainer = ctx.new_drainer()
    stats = drainer.drain(now)
    return {"kinds": drainer.registry.kinds(), **stats.as_dict()}


def retention(ctx: AppContext, now: dt.datetime) -> JobResult:
    with ctx.db.session() as session:
        return apply_retention(session, ctx.settings, now)


JOBS: dict[str, Callable[[AppContext, dt.datetime], JobResult]] = {
    "plan-shares": plan_shares,
    "send-digests": send_digests,
    "drain-outbox": drain_outbox,
    "retention": retention,
}
