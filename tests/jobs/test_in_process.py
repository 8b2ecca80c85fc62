"""`start_in_process` (what `passiton run` uses): the sender thread delivers, shutdown lets go."""

from __future__ import annotations

import time
from pathlib import Path

from bot.config import load_settings
from bot.delivery.outbox import enqueue
from bot.runtime import build_context
from bot.store.db import Database
from bot.store.models import OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from jobs.leader import FileLeader, sqlite_lock_path
from jobs.scheduler import JobsScheduler, start_in_process
from tests.support.slack_emulator import SlackEmulator


def test_in_process_scheduler_sends_and_releases_leadership(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    with SlackEmulator() as emu:
        user = emu.add_user("rosa")
        settings = load_settings(
            database_url=sqlite_url, slack_api_url=emu.url, slack_bot_token=emu.bot_token
        )
        ctx = build_context(settings, db=sqlite_db)
        scheduler = start_in_process(ctx)
        try:
            assert isinstance(scheduler, JobsScheduler) and scheduler.is_leader
            # A second process on the same SQLite file would stand by.
            assert FileLeader(sqlite_lock_path(sqlite_url)).heartbeat() is False
            with sqlite_db.session() as session:
                ws = ensure_workspace(session, emu.team.id)
                row_id = enqueue(session, workspace_id=ws.id, key="k", kind="slack_dm",
                                 payload={"user": user.id, "text": "from the thread"}).id  # fmt: skip
            emu.wait_for_calls("chat.postMessage", 1, timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with sqlite_db.session() as session:
                    row = session.get(OutboxMessage, row_id)
                    if row is not None and row.status == "sent":
                        break
                time.sleep(0.1)
            assert row is not None and row.status == "sent"
        finally:
            scheduler.shutdown()
        assert not scheduler.is_leader
        other = FileLeader(sqlite_lock_path(sqlite_url))
        assert other.heartbeat() is True
        other.release()
        assert [m["text"] for m in emu.dms_to(user.id)] == ["from the thread"]
