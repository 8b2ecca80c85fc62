"""`passiton jobs run NAME --now`, as an operator runs it, and the retention job's effect."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.delivery.outbox import enqueue
from bot.store.db import Database
from bot.store.models import Item, OutboxMessage, ProcessedEvent
from bot.store.queries.workspaces import ensure_workspace
from jobs.retention import apply_retention
from tests.jobs.procs import REPO
from tests.support.slack_emulator import SlackEmulator

NOW = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "jobs", "run", *args],
        cwd=cwd, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _seed_retention(db: Database) -> dict[str, int]:
    old, recent = NOW - dt.timedelta(days=100), NOW - dt.timedelta(days=10)
    with db.session() as session:
        ws = ensure_workspace(session, "T0RETAIN")
        rows = {
            "old_question": Item(workspace_id=ws.id, source_key="C1:1", kind="question", title="how do I vacuum?",
                                 text="how do I vacuum?", posted_at=old),
            "old_article": Item(workspace_id=ws.id, source_key="C1:2", kind="article", title="Vacuum explained",
                                description="a long read", text="look <https://x>", url="https://x", posted_at=old),
            "recent": Item(workspace_id=ws.id, source_key="C1:3", kind="question", title="t", text="still here",
                           posted_at=recent),
        }  # fmt: skip
        session.add_all(rows.values())
        session.add_all(
            [
                ProcessedEvent(event_id="Ev-old", workspace_id=ws.id, received_at=NOW - dt.timedelta(days=5)),
                ProcessedEvent(
                    event_id="Ev-new", workspace_id=ws.id, received_at=NOW - dt.timedelta(hours=1)
                ),
            ]
        )
        for key, status, age in (("o-sent", "sent", 30), ("o-new", "sent", 1), ("o-pending", "pending", 30)):
            msg = enqueue(
                session, workspace_id=ws.id, key=key, kind="slack_dm", payload={"user": "U1", "text": "x"}
            )
            msg.status, msg.created_at = status, NOW - dt.timedelta(days=age)
            msg.next_attempt_at = NOW + dt.timedelta(days=30)  # not due in these tests
        session.flush()
        return {name: item.id for name, item in rows.items()}


def _check_retention(db: Database, ids: dict[str, int]) -> None:
    with db.session() as session:
        q, a, r = (session.get(Item, ids[n]) for n in ("old_question", "old_article", "recent"))
        assert q is not None and a is not None and r is not None
        assert (q.text, q.title, q.text_purged_at) == ("", "", NOW)
        assert (a.text, a.description, a.title, a.url) == ("", "", "Vacuum explained", "https://x")
        assert r.text == "still here" and r.text_purged_at is None
        assert {e.event_id for e in session.query(ProcessedEvent)} == {"Ev-new"}
        keys = {m.idempotency_key for m in session.query(OutboxMessage)}
        assert "o-sent" not in keys and {"o-new", "o-pending"} <= keys


def test_retention_drops_old_text_and_prunes(db: Database, db_url: str) -> None:
    ids = _seed_retention(db)
    with db.session() as session:
        counts = apply_retention(session, load_settings(database_url=db_url, passiton_retention_days=90), NOW)
    assert counts == {
        "items_purged": 2,
        "vectors_pruned": 0,
        "events_pruned": 1,
        "outbox_pruned": 1,
        "workspaces_purged": 0,
        "oauth_states_pruned": 0,
    }
    _check_retention(db, ids)


@pytest.mark.slow
def test_jobs_run_with_now_from_the_command_line(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    ids = _seed_retention(sqlite_db)
    with SlackEmulator() as emu:
        user = emu.add_user("olive")
        with sqlite_db.session() as session:
            ws = ensure_workspace(session, emu.team.id)
            enqueue(session, workspace_id=ws.id, key="later", kind="slack_dm",
                    payload={"user": user.id, "text": "at nine"}, not_before=NOW)  # fmt: skip
        env = {"DATABASE_URL": sqlite_url, "SLACK_API_URL": emu.url, "SLACK_BOT_TOKEN": emu.bot_token,
               "PASSITON_RETENTION_DAYS": "90"}  # fmt: skip

        out = _run(["retention", "--now", NOW.isoformat()], env, tmp_path)
        assert out["result"] == {
            "items_purged": 2,
            "vectors_pruned": 0,
            "events_pruned": 1,
            "outbox_pruned": 1,
            "workspaces_purged": 0,
            "oauth_states_pruned": 0,
        }
        _check_retention(sqlite_db, ids)

        # The message is not due before --now reaches its time; then it is sent, once.
        early = _run(["drain-outbox", "--now", (NOW - dt.timedelta(minutes=1)).isoformat()], env, tmp_path)
        assert early["result"] == {"kinds": ["slack_dm", "slack_post", "slack_update"]}
        assert emu.dms_to(user.id) == []
        sent = _run(["drain-outbox", "--now", "2031-05-01T12:00:00"], env, tmp_path)
        assert sent["now"] == NOW.isoformat()
        assert isinstance(sent["result"], dict) and sent["result"]["sent"] == 1
        assert [m["text"] for m in emu.dms_to(user.id)] == ["at nine"]

        planned = _run(["plan-shares", "--now", NOW.isoformat()], env, tmp_path)
        assert isinstance(planned["result"], dict) and planned["result"]["failed_workspaces"] == 0


def test_bad_now_is_a_usage_error(tmp_path: Path, sqlite_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "jobs", "run", "retention", "--now", "yesterday"],
        cwd=tmp_path, env={**os.environ, "DATABASE_URL": sqlite_url, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "ISO-8601" in done.stderr
