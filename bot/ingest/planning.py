"""How the live bot runs the pipeline's follow-ups: after the message is committed, each in its own transaction.

A planner failure is logged and counted but never loses the item (the planner's jobs tick can still reach it
later); a database restart is ridden out (`retry_transient`), since the stored message is the only thing
that would plan its nudges.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.context import AppContext
from bot.ingest.pipeline import FollowUp
from bot.metrics import ERRORS
from bot.store.outage import retry_transient

log = logging.getLogger(__name__)

FAILED = {
    "plan_help": "planning help nudges failed",
    "cancel_help": "cancelling answered help nudges failed",
}


def run_after_commit(ctx: AppContext, step: FollowUp, item_id: int | None = None) -> Any:
    """Run `step` in a transaction of its own (its write only if its check says yes); never raises."""
    try:

        def once() -> Any:
            with ctx.db.session() as session:
                return step.write(session) if step.check(session) else None

        return retry_transient(once, step.name)
    except Exception:
        ERRORS.labels(step.name).inc()
        log.exception(FAILED[step.name], extra={"item_id": item_id})
        return None
