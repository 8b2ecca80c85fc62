"""The in-channel answer when Slack posted it but the app never heard so: one answer in the thread.

Slack acts on chat.postMessage and then the answer is lost (the connection drops, or a 5xx/gateway timeout
comes back). A blind retry — slack_sdk's connection-error retry, or the outbox sending the queued answer
again — is a second answer in the thread. The answer carries metadata (`passiton_answer`, the question's
channel and ts, its idempotency key) and whoever retries looks for it in the thread first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.runtime import build_drainer
from bot.store.db import Database
from bot.store.models import OutboxMessage, utcnow
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

pytestmark = [pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        small(emulator)
        yield emulator


@pytest.fixture
def served(emu: SlackEmulator, sqlite_url: str, sqlite_db: Database) -> Iterator[tuple[Slack, Any]]:
    settings = make_settings(emu, sqlite_url)
    ctx = make_context(settings)
    emu.reset_calls()
    emu.clear_faults()
    with running_server(create_web_app(ctx)) as url:
        slack = Slack(emu, url, ctx.db)
        yield slack, settings
        slack.settle(0.3)
        slack.close()
    emu.clear_faults()


def answers_in_thread(emu: SlackEmulator, channel: str, ts: str) -> list[dict[str, Any]]:
    return [
        m for m in emu.messages(channel) if m.get("thread_ts") == ts and m.get("ts") != ts and m.get("bot_id")
    ]


@pytest.mark.parametrize(
    "fault", ["dropped_connection", "503_after_posting", "gateway_timeout_after_posting"]
)
def test_an_answer_whose_response_was_lost_is_posted_once(served: tuple[Slack, Any], fault: str) -> None:
    slack, settings = served
    emu = slack.emu
    slack.command("expertise add postgres", "alice")
    slack.command("expertise public postgres", "alice")
    where = {"channel": emu.channel("help").id}
    if fault == "dropped_connection":
        emu.drop_response_after_commit("chat.postMessage", match=where)
    elif fault == "503_after_posting":
        emu.fail_after_commit("chat.postMessage", "internal_error", status=503, match=where)
    else:
        emu.fail_after_commit("chat.postMessage", "request_timeout", status=504, match=where)

    question, event_id = slack.message("help", "dana", "who knows about postgres?")
    slack.wait(lambda: answers_in_thread(emu, "help", question["ts"]), what="the answer in the thread")
    slack.settle(0.5)

    # The retries: Slack's redelivery of the event, then the outbox sender once the row is due.
    slack.event(_event_of(emu, question), event_id=event_id, retry_num=1)
    slack.settle(0.5)
    build_drainer(slack.db, settings).drain(now=utcnow() + dt.timedelta(seconds=120))

    [answer] = answers_in_thread(emu, "help", question["ts"])
    meta = answer["metadata"]
    assert meta["event_type"] == "passiton_answer"
    payload = meta["event_payload"]
    assert payload["channel"] == emu.channel("help").id and payload["ts"] == question["ts"]
    row = _answer_row(slack.db)
    assert row is not None and row["status"] == "sent"
    assert payload["idempotency_key"] == row["key"]
    assert emu.user("alice").display_name in str(answer.get("blocks"))


def _answer_row(db: Database) -> dict[str, Any] | None:
    with db.session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("%:answer:%"))).first()
        if row is None:
            return None
        return {"status": row.status, "key": row.idempotency_key, "attempts": row.attempts}


def _event_of(emu: SlackEmulator, message: dict[str, Any]) -> dict[str, Any]:
    from tests.support import signing

    return signing.message_event(
        emu.channel("help").id, emu.user("dana").id, message["text"], ts=message["ts"], channel_type="channel"
    )
