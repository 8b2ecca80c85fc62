"""Slack misbehaving while a real `passiton jobs` process drains the outbox.

The in-process drain tests (tests/delivery/test_drain.py) pin each fault's handling one message at a
time. Here one backlog meets the faults in a row, in a separate process that nobody restarts: 429s
with Retry-After, 5xx on opening and on posting, a post slower than the client's timeout that Slack
still accepts, and a bot token replaced by a reinstall while messages are in flight. Afterwards every
message reached its member exactly once and nothing was marked failed.
"""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import func, select

from bot.config import load_settings
from bot.delivery.outbox import enqueue
from bot.slack.installation import installation_store
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from tests.jobs.procs import Proc, wait_until
from tests.slack.harness import TEST_TOKEN_KEYS
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def _posted_keys(emu: SlackEmulator) -> collections.Counter[str]:
    """Posts Slack accepted, by outbox idempotency key (a post whose answer was lost still counts)."""
    keys: collections.Counter[str] = collections.Counter()
    for call in emu.calls("chat.postMessage"):
        if call.response.get("ok"):
            keys[call.args["metadata"]["event_payload"]["idempotency_key"]] += 1
    return keys


def _statuses(db: Database) -> dict[str, int]:
    with db.session() as s:
        rows = s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: int(n) for status, n in rows}


def _queue(db: Database, emu: SlackEmulator, n: int, prefix: str) -> list[str]:
    users = [emu.add_user(f"{prefix}{i}") for i in range(n)]
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, name="Emu")
        for i, user in enumerate(users):
            enqueue(s, workspace_id=ws.id, key=f"{prefix}:{i}", kind="slack_dm",
                    payload={"user": user.id, "text": f"{prefix} message {i}"})  # fmt: skip
    return [u.id for u in users]


def _database(tmp_path: Path) -> tuple[str, Database]:
    url = f"sqlite:///{tmp_path / 'faults.db'}"
    upgrade(url)
    return url, Database(url)


def test_a_backlog_survives_429s_5xx_and_a_post_slower_than_the_timeout(tmp_path: Path) -> None:
    url, db = _database(tmp_path)
    with SlackEmulator() as emu:
        user_ids = _queue(db, emu, 24, "m")
        # Consumed in this order, one fault per matching call.
        emu.fail_next("chat.postMessage", "ratelimited", retry_after=1, times=3)
        emu.fail_next("conversations.open", "internal_error", status=500, times=2)
        emu.fail_next("chat.postMessage", "service_unavailable", status=503, times=3)
        # Slack takes the post, but only after the client (10 s) gave up on the answer.
        emu.fail_next("chat.postMessage", None, delay=10.3, times=1)
        proc = Proc(
            ["jobs", "--role", "sender"],
            {
                "DATABASE_URL": url,
                "SLACK_API_URL": emu.url,
                "SLACK_BOT_TOKEN": emu.bot_token,
                "PASSITON_SLACK_RATE_SCALE": "50",
                "PASSITON_LOG_LEVEL": "INFO",
            },
            tmp_path,
            "sender",
        )
        try:
            wait_until(lambda: _statuses(db).get("sent", 0) == len(user_ids), 60, "every message sent", proc)
            assert proc.popen.poll() is None, "the sender must keep running through the faults"
        finally:
            proc.stop()
        keys = _posted_keys(emu)
        assert set(keys) == {f"m:{i}" for i in range(len(user_ids))}
        assert [k for k, n in keys.items() if n != 1] == [], "a message reached Slack twice"
        for uid in user_ids:
            assert len(emu.dms_to(uid)) == 1
        assert _statuses(db) == {"sent": len(user_ids)}
        faults = collections.Counter(c.status for c in emu.calls() if c.fault)
        assert faults[429] == 3 and faults[500] == 2 and faults[503] == 3
        # The slow post was retried after the timeout, found in the DM's history, not posted again.
        assert any(line.get("msg") == "already delivered; not posting again" for line in proc.lines())


def test_a_reinstall_that_revokes_the_old_token_loses_nothing(tmp_path: Path) -> None:
    """OAuth mode: the token comes from slack_sdk's installation store. A reinstall mid-drain issues a
    new token and Slack revokes the old one (invalid_auth); the sender must pick up the new token
    instead of failing whatever it held."""
    url, db = _database(tmp_path)
    with SlackEmulator() as emu:
        client_id, client_secret = emu.oauth_client
        store = installation_store(
            load_settings(
                database_url=url, slack_client_id=client_id, slack_client_secret=client_secret,
                passiton_token_keys=TEST_TOKEN_KEYS,
            ),
            db,
        )  # fmt: skip

        def install(token: str) -> None:
            store.save(
                Installation(
                    app_id=emu.app_id, team_id=emu.team.id, team_name=emu.team.name,
                    bot_token=token, bot_id=emu.bot_user.bot_id, bot_user_id=emu.bot_user.id,
                    bot_scopes=["chat:write", "im:write"], user_id=emu.user("USLACKBOT").id,
                    installed_at=dt.datetime.now(dt.UTC).timestamp(),
                )
            )  # fmt: skip

        old = emu.bot_token
        install(old)
        user_ids = _queue(db, emu, 16, "r")
        emu.fail_next("chat.postMessage", None, delay=0.15, times=-1)  # a steady drain, not a burst
        proc = Proc(
            ["jobs", "--role", "sender"],
            {
                "DATABASE_URL": url,
                "SLACK_API_URL": emu.url,
                "SLACK_BOT_TOKEN": "",
                "SLACK_CLIENT_ID": client_id,
                "SLACK_CLIENT_SECRET": client_secret,
                "PASSITON_TOKEN_KEYS": TEST_TOKEN_KEYS,
                "PASSITON_SLACK_RATE_SCALE": "50",
            },
            tmp_path,
            "sender",
        )
        try:
            wait_until(lambda: sum(_posted_keys(emu).values()) >= 4, 30, "sending to start", proc)
            new = emu.reinstall()
            install(new)
            emu.revoke_token(old, "invalid_auth")
            wait_until(
                lambda: _statuses(db).get("sent", 0) + _statuses(db).get("failed", 0) == len(user_ids),
                45,
                "every message settled",
                proc,
            )
            assert proc.popen.poll() is None
        finally:
            proc.stop()
        with db.session() as s:
            failed = s.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.last_error).where(
                    OutboxMessage.status != "sent"
                )
            ).all()
        assert failed == [], f"messages lost to the token swap: {failed}"
        keys = _posted_keys(emu)
        assert sorted(keys.values()) == [1] * len(user_ids)
        assert emu.calls("chat.postMessage", ok=False), "the old token was refused at least once"
        assert {c.token for c in emu.calls("chat.postMessage", ok=True)} <= {old, new}
