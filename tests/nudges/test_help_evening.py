"""Calmer help DMs (issue 16, point 7): by default none after 18:00 on the helper's clock. A question
asked at 19:00 in London reaches its London helper at 08:00 the next morning, sent by the real outbox drain
to the Slack emulator; PASSITON_HELP_UNTIL_HOUR moves the evening limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.nudges.planner import plan_help_nudges
from bot.policy.help import help_window
from bot.runtime import build_drainer
from bot.store.db import Database
from bot.store.models import Channel, ChannelMember, Item
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.workspaces import ensure_workspace
from tests.nudges.world import embedder
from tests.slack.harness import make_settings
from tests.support.slack_emulator import SlackEmulator

EVENING = dt.datetime(2025, 6, 4, 18, 0, tzinfo=dt.UTC)  # a Wednesday, 19:00 in London (BST)
NEXT_MORNING = dt.datetime(2025, 6, 5, 7, 0, tzinfo=dt.UTC)  # 08:00 in London


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("asker", tz="America/New_York")
        emulator.add_user("helper", tz="Europe/London")
        emulator.add_channel("help", members=["asker", "helper"])
        yield emulator


def _question(db: Database, emu: SlackEmulator, sqlite_url: str, **settings: object) -> list[int]:
    config = make_settings(emu, sqlite_url, **settings)
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        asker = ensure_member(s, ws, emu.user("asker").id, display_name="asker", tz="America/New_York")
        helper = ensure_member(s, ws, emu.user("helper").id, display_name="helper", tz="Europe/London")
        add_member_topics(s, ws, helper, "expertise", ["postgres"])
        ch = Channel(workspace_id=ws.id, slack_channel_id=emu.channel("help").id, name="help")
        s.add(ch)
        s.flush()
        for m in (asker, helper):
            s.add(ChannelMember(workspace_id=ws.id, channel_id=ch.id, member_id=m.id))
        posted = emu.post_as_user(
            ch.slack_channel_id, asker.slack_user_id or "", "How do I tune postgres autovacuum?"
        )
        q = Item(workspace_id=ws.id, source_key=f"{ch.slack_channel_id}:{posted['ts']}", kind="question",
                 channel_id=ch.id, slack_ts=posted["ts"], author_id=asker.id, text=posted["text"],
                 permalink=f"https://x.slack.com/archives/{ch.slack_channel_id}/p1", posted_at=EVENING)  # fmt: skip
        s.add(q)
        s.flush()
        nudges = plan_help_nudges(s, ws, q, EVENING, config, embedder())
        return [n.id for n in nudges]


def test_no_help_dm_in_the_evening_it_waits_for_the_morning(
    emu: SlackEmulator, sqlite_db: Database, sqlite_url: str
) -> None:
    assert _question(sqlite_db, emu, sqlite_url)  # planned: the helper is not lost, only later
    settings = make_settings(emu, sqlite_url)
    late_evening = EVENING + dt.timedelta(minutes=settings.passiton_help_grace_minutes + 60)
    assert build_drainer(sqlite_db, settings).drain(late_evening).sent == 0
    assert emu.dms_to("helper") == []
    assert build_drainer(sqlite_db, settings).drain(NEXT_MORNING).sent == 1
    [dm] = emu.dms_to("helper")
    assert "asked" in dm["text"]


def test_the_evening_limit_is_a_setting(emu: SlackEmulator, sqlite_db: Database, sqlite_url: str) -> None:
    assert _question(sqlite_db, emu, sqlite_url, passiton_help_until_hour=21)
    settings = make_settings(emu, sqlite_url, passiton_help_until_hour=21)
    before = len(emu.dms_to("helper"))
    after_grace = EVENING + dt.timedelta(
        minutes=settings.passiton_help_grace_minutes + 1
    )  # the channel's turn first
    assert build_drainer(sqlite_db, settings).drain(after_grace).sent == 1
    assert len(emu.dms_to("helper")) == before + 1


def test_the_window_reaches_across_the_night() -> None:
    window, horizon = help_window(18)
    assert (window.start_hour, window.end_hour) == (8, 18)
    assert horizon >= dt.timedelta(hours=14)  # 18:00 to 08:00: an evening question still finds its helper
