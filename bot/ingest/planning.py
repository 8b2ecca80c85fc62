"""Calls into the nudge planner after an item is stored.

Planning runs in its own transaction after the item is committed: a planner failure is logged and
counted but never loses the item (the planner's jobs tick can still reach it later).
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.context import AppContext
from bot.metrics import ERRORS
from bot.store.models import Item, Workspace
from bot.store.outage import retry_transient

log = logging.getLogger(__name__)


def plan_help(ctx: AppContext, item_id: int, now: dt.datetime) -> None:
    try:
        from bot.nudges.planner import plan_help_nudges

        def plan() -> None:
            with ctx.db.session() as session:
                item = session.get(Item, item_id)
                if item is None or item.deleted_at is not None:
                    return
                workspace = session.get(Workspace, item.workspace_id)
                assert workspace is not None
                plan_help_nudges(session, workspace, item, now, ctx.settings, ctx.embedder)

        retry_transient(plan, "plan_help")  # the item is stored: only this call would plan its nudges
    except Exception:
        ERRORS.labels("plan_help").inc()
        log.exception("planning help nudges failed", extra={"item_id": item_id})


def cancel_help(ctx: AppContext, item_id: int, now: dt.datetime) -> None:
    try:
        from bot.nudges.planner import cancel_answered_help

        def cancel() -> None:
            with ctx.db.session() as session:
                item = session.get(Item, item_id)
                if item is not None:
                    cancel_answered_help(session, item, now)

        retry_transient(cancel, "cancel_help")
    except Exception:
        ERRORS.labels("cancel_help").inc()
        log.exception("cancelling answered help nudges failed", extra={"item_id": item_id})
