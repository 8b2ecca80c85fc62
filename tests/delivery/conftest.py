"""Delivery fixtures: the Slack emulator in-thread, a workspace row for its team, a drainer wired to both."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.delivery.drain import Drainer
from bot.delivery.outbox import enqueue
from bot.delivery.ratelimit import SlackRateLimits
from bot.runtime import build_drainer, build_registry, slack_sender
from bot.store.db import Database
from bot.store.models import OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from tests.support.slack_emulator import SlackEmulator

T0 = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A monotonic clock the test moves forward together with the drain's frozen `now`."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def settings(db_url: str, emu: SlackEmulator) -> Settings:
    return load_settings(
        database_url=db_url,
        slack_api_url=emu.url,
        slack_bot_token=emu.bot_token,
        passiton_outbox_max_attempts=4,
        passiton_outbox_lease_seconds=30,
    )


@pytest.fixture
def workspace_id(db: Database, emu: SlackEmulator) -> int:
    with db.session() as session:
        return ensure_workspace(session, emu.team.id, name="Emu").id


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_drainer(db: Database, settings: Settings, clock: FakeClock) -> Callable[..., Drainer]:
    def make(*, max_wait: float = 3.0, **kwargs: Any) -> Drainer:
        # Tests about outcomes, not pacing, let the sender wait out its buckets on the fake clock, so one
        # drain at a frozen `now` sends everything; the production default reschedules instead.
        sender = slack_sender(
            db,
            settings,
            limits=SlackRateLimits(clock=clock),
            timeout=2.0,
            sleep=clock.advance,
            max_wait=max_wait,
        )
        registry = build_registry(db, settings, slack=sender)
        kwargs.setdefault("base_backoff", 2.0)
        return build_drainer(db, settings, registry=registry, **kwargs)

    return make


@pytest.fixture
def queue_dm(db: Database, workspace_id: int) -> Callable[..., int]:
    def queue(user: str, key: str, text: str = "hello", **kwargs: Any) -> int:
        with db.session() as session:
            row = enqueue(
                session, workspace_id=workspace_id, key=key, kind="slack_dm",
                payload={"user": user, "text": text, "metadata": {"event_type": "passiton_nudge", "event_payload": {"nudge": key}}},
                **kwargs,
            )  # fmt: skip
            return row.id

    return queue


def outbox_row(db: Database, row_id: int) -> OutboxMessage:
    with db.session() as session:
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        return row
