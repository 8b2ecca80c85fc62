"""A real jobs scheduler whose one leader job records when it ran: `python -m tests.jobs.leader_probe DIR`.

The scheduler, the leader election, its fence and PostgreSQL are the production ones; only the job is
a probe. Each run is one transaction through the leader's fenced database: it reads the server clock,
marks `DIR/<pid>.inside` while it sits in the transaction (so a test can freeze the process exactly
there, the hard case), then records its start and end in `leader_probe`. If two processes ever led at
once, two committed rows from different processes would overlap in time.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import text

from bot.config import load_settings
from bot.context import AppContext
from bot.logs import setup_logging
from bot.store.db import Database
from jobs.scheduler import JobsScheduler

PROBE_TABLE = (
    "CREATE TABLE IF NOT EXISTS leader_probe (pid integer NOT NULL, started timestamptz NOT NULL, "
    "ended timestamptz NOT NULL)"
)


def main() -> None:
    marks = Path(sys.argv[1])
    inside = marks / f"{os.getpid()}.inside"
    settings = load_settings()
    setup_logging(settings.passiton_log_level)

    def probe(ctx: AppContext, now: dt.datetime) -> dict[str, object]:
        with ctx.db.session() as session:
            started = session.execute(text("SELECT clock_timestamp()")).scalar_one()
            inside.touch()
            time.sleep(1.0)
            inside.unlink()
            session.execute(
                text("INSERT INTO leader_probe VALUES (:pid, :started, clock_timestamp())"),
                {"pid": os.getpid(), "started": started},
            )
        return {"recorded": True}

    ctx = AppContext(db=Database(settings.database_url), settings=settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduler = JobsScheduler(ctx, role="scheduler", jobs={"probe": probe}, intervals={"probe": 0.2}).start()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        scheduler.shutdown()


if __name__ == "__main__":
    main()
