"""`passiton jobs run retention --now …` drops item text after PASSITON_RETENTION_DAYS, and no copy of it
survives elsewhere: the whole database (every string, text and JSON column) is searched for the
words of a question and an article that went through the live path (served app, help planning,
outbox drain) once the job has run as if the retention period had passed.

tests/jobs/test_run_once.py pins the job's row-level rules; this looks for copies the rules miss.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.models import EmbeddingCache, Item, Member, Nudge, OutboxMessage
from bot.web.app import create_web_app
from tests.hardening.test_privacy_forget import _search
from tests.jobs.procs import REPO
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

QUESTION = "How do I tune autovacuum on the wombatledger Postgres table?"
ARTICLE = "Long read on numbat-sharding for Postgres https://example.com/numbat"


@pytest.fixture
def slack(sqlite_db: Database, sqlite_url: str) -> Iterator[Slack]:
    with SlackEmulator() as emu:
        small(emu)
        ctx = make_context(make_settings(emu, sqlite_url))
        with running_server(create_web_app(ctx)) as url:
            driver = Slack(emu, url, sqlite_db)
            yield driver
            driver.close()


def _jobs_run(name: str, now: dt.datetime, env: dict[str, str], cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "jobs", "run", name, "--now", now.isoformat()],
        cwd=cwd, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_retention_leaves_no_copy_of_old_item_text(slack: Slack, sqlite_url: str, tmp_path: Path) -> None:
    emu = slack.emu
    slack.command("expertise add postgres", "bob")
    slack.command("interests add postgres", "carol")
    with slack.db.session() as s:
        for m in s.scalars(select(Member)):
            m.weekends_off = False
    slack.message("help", "dana", QUESTION)
    slack.message("eng", "alice", ARTICLE)
    slack.wait(lambda: _count(slack.db, Nudge), timeout=20, what="a help nudge")
    slack.quiesce()
    env = {"DATABASE_URL": sqlite_url, "SLACK_API_URL": emu.url, "SLACK_BOT_TOKEN": emu.bot_token,
           "PASSITON_RETENTION_DAYS": "30", "PASSITON_OUTBOX_KEEP_DAYS": "14"}  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    # Deliver what was planned, so copies in sent messages exist too.
    _jobs_run("drain-outbox", now + dt.timedelta(days=3), env, tmp_path)
    assert _search(slack.db, ["wombatledger", "numbat-sharding"]), "the words are stored before retention"

    early = _jobs_run("retention", now + dt.timedelta(days=29), env, tmp_path)
    assert isinstance(early["result"], dict) and early["result"]["items_purged"] == 0
    assert _search(slack.db, ["wombatledger"])  # not yet

    out = _jobs_run("retention", now + dt.timedelta(days=31), env, tmp_path)
    assert isinstance(out["result"], dict) and out["result"]["items_purged"] >= 2
    with slack.db.session() as s:
        assert all(i.text == "" and i.text_purged_at is not None for i in s.scalars(select(Item)))
        assert (
            s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
            == 0
        )
    assert _search(slack.db, ["wombatledger", "numbat-sharding"]) == []  # no copy in nudges or outbox
    with slack.db.session() as s:
        assert s.scalar(select(func.count()).select_from(EmbeddingCache)) == 0, (
            "vectors of purged text remain"
        )


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
