"""One sender serves several workspaces at once: a row whose rate-limit bucket is empty is rescheduled,
not waited for, so the next workspace's rows go out meanwhile."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from bot.config import Settings
from bot.delivery.drain import Drainer
from bot.delivery.outbox import enqueue
from bot.delivery.ratelimit import SlackRateLimits
from bot.delivery.slack_sender import SlackSender
from bot.runtime import build_registry, slack_sender
from bot.store.db import Database
from bot.store.models import OutboxMessage
from bot.store.queries.workspaces import ensure_workspace
from tests.delivery.conftest import T0, FakeClock
from tests.support.slack_emulator import SlackEmulator

PER_TEAM = 8


def _queue_backlogs(db: Database, emu: SlackEmulator, teams: list[str]) -> None:
    """PER_TEAM DMs per workspace, all due at the same moment, the first workspace's with the lower ids:
    claimed in id order, a sender that waited on the row in hand would serve them one team after another."""
    for team in teams:
        users = [emu.add_user(f"{team.lower()}-member{i}", team_id=team) for i in range(PER_TEAM)]
        with db.session() as session:
            workspace = ensure_workspace(session, team, name=team)
            for user in users:
                enqueue(session, workspace_id=workspace.id, key=f"fair:{team}:{user.id}", kind="slack_dm",
                        payload={"user": user.id, "text": "hello"}, not_before=T0 - dt.timedelta(minutes=1))  # fmt: skip


def test_one_sender_interleaves_workspaces_instead_of_waiting_on_one(
    db: Database, emu: SlackEmulator, settings: Settings, clock: FakeClock
) -> None:
    teams = [emu.team.id, emu.add_team("T0FAIRB", "Fair B").id]
    _queue_backlogs(db, emu, teams)
    # Slack's real tiers on a fake clock that also moves when the sender sleeps: waiting in-process is
    # possible and free here, so only the sender's choice decides the order.
    sender = SlackSender(
        api_url=emu.url, tokens=emu.bot_token_for, limits=SlackRateLimits(clock=clock), sleep=clock.advance
    )
    drainer = Drainer(db, build_registry(db, settings, slack=sender), batch_size=50, rng=random.Random(3))

    now = T0
    for _ in range(60):
        drainer.drain(now)
        now += dt.timedelta(seconds=0.5)
        clock.advance(0.5)

    order = [c.team_id for c in emu.calls("chat.postMessage", ok=True)]
    assert sorted(order) == sorted(teams * PER_TEAM)  # every DM once
    # conversations.open allows a burst of 4 per workspace, then one per 1.2 s: both workspaces get their
    # burst before either waits, and neither ever runs more than a burst ahead of the other.
    assert sorted(order[:8]) == sorted(teams * 4)
    for n in range(1, len(order) + 1):
        counts = [order[:n].count(team) for team in teams]
        assert max(counts) - min(counts) <= 4, order
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage)).all()
    # Holds for our own buckets are not attempts, and Slack never had to say 429.
    assert {(r.status, r.attempts) for r in rows} == {("sent", 0)}
    assert all(c.status == 200 for c in emu.calls())


def test_idle_pause_ends_when_the_next_row_falls_due(
    db: Database, emu: SlackEmulator, settings: Settings, workspace_id: int
) -> None:
    drainer = Drainer(db, build_registry(db, settings, slack=slack_sender(db, settings)))
    assert drainer.next_due() is None and drainer.idle_wait(2.0) == 2.0
    due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.5)
    with db.session() as session:
        enqueue(session, workspace_id=workspace_id, key="soon", kind="slack_dm", payload={"user": "U1"},
                not_before=due)  # fmt: skip
    assert drainer.next_due() == due
    assert 0 < drainer.idle_wait(2.0) <= 0.5
    # A row far off does not stretch the pause past the idle time.
    assert drainer.idle_wait(0.1) == 0.1
