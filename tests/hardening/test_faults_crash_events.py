"""`passiton serve` SIGKILLed after it acked events and before its event pool ran them.

Slack does not send an acked event again, so an event held only in memory is lost with the process.
Here the pool is held on a slow Slack call (conversations.info, the first thing a message in an unknown
channel needs), the process is killed while every event is acked but none has taken effect, and a new
`serve` on the same database must run them: each effect exactly once, also when Slack's retry of one of
them arrives afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.store.db import Database
from bot.store.models import InboundEvent, Item, ProcessedEvent
from tests.conftest import _truncate
from tests.deploy.cluster import free_port
from tests.jobs.procs import Proc, wait_until
from tests.support import signing
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

LEASE = 3


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    _truncate(database)
    yield database
    _truncate(database)


def _count(db: Database, stmt: object) -> int:
    with db.session() as s:
        return int(s.scalar(stmt) or 0)  # type: ignore[call-overload]


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _send(base: str, envelope: dict[str, object], secret: str, retry: int | None = None) -> int:
    resp = signing.post_signed(base + "/slack/events", json.dumps(envelope), secret, retry_num=retry)
    return resp.status_code


def test_events_acked_before_a_sigkill_take_effect_once_after_the_restart(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    with SlackEmulator() as emu:
        small(emu)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "DATABASE_URL": db_url,
            "SLACK_API_URL": emu.url,
            "SLACK_BOT_TOKEN": emu.bot_token,
            "SLACK_SIGNING_SECRET": emu.signing_secret,
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
            "PASSITON_EVENT_WORKERS": "1",
            "PASSITON_EVENT_LEASE_SECONDS": str(LEASE),
        }
        args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        # The one event worker waits on Slack; the other events queue behind it, acked.
        emu.fail_next("conversations.info", None, delay=25.0, times=-1)  # killed long before it answers
        first = Proc(args, env, tmp_path, "serve-1")
        second: Proc | None = None
        try:
            wait_until(lambda: _healthy(base), 30, "serve to answer /healthz", first)
            envelopes = [
                emu.user_message_event(
                    "eng", "alice", f"Worth a read on vacuum, part {n}: https://example.com/v/{n}"
                )
                for n in range(3)
            ]
            emu.join("eng", "dana")
            joined = emu.envelope(
                signing.member_joined_channel_event(
                    emu.user("dana").id, emu.channel("eng").id, team=emu.team.id
                )
            )
            envelopes.append(joined)
            for envelope in envelopes:
                assert _send(base, envelope, emu.signing_secret) == 200
            wait_until(lambda: emu.arrivals("conversations.info") > 0, 30, "the worker to reach Slack", first)
            first.kill9()
            assert _count(db, select(func.count()).select_from(Item)) == 0, "the pool ran before the kill"

            emu.clear_faults()
            second = Proc(args, env, tmp_path, "serve-2")
            wait_until(lambda: _healthy(base), 30, "serve to come back", second)
            wait_until(
                lambda: _count(db, select(func.count()).select_from(Item)) == 3,
                20,
                "the acked messages stored after the restart",
                second,
            )
            # Slack's own retry of an event the dead process had acked: answered, not run again.
            assert _send(base, envelopes[0], emu.signing_secret, retry=1) == 200
            wait_until(
                lambda: (
                    _count(
                        db,
                        select(func.count()).select_from(InboundEvent).where(InboundEvent.status == "done"),
                    )
                    == 4
                ),
                20,
                "every stored event done",
                second,
            )
            assert _count(db, select(func.count()).select_from(Item)) == 3
            assert _count(db, select(func.count(func.distinct(Item.source_key)))) == 3
            joined_id = ProcessedEvent.event_id == joined["event_id"]
            assert _count(db, select(func.count()).select_from(ProcessedEvent).where(joined_id)) == 1
            with db.session() as s:
                payloads = s.scalars(select(InboundEvent.payload)).all()
            assert payloads == [None] * 4, "a done event keeps no message text"
        finally:
            first.stop()
            if second is not None:
                second.stop()
