"""The bot introduces itself once per channel (issue 16, point 5): invited to a channel, it queues one
short card (what it does, nothing happens until someone opts in, an opt-in button), which the real
outbox sender posts to the emulator; a retried event or a second invitation never posts another, and
PASSITON_CHANNEL_INTRO=false turns it off."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.delivery.drain import Drainer
from bot.ingest.welcome import queue_channel_intro
from bot.messages.replies import WELCOME_SET_INTERESTS
from bot.runtime import build_registry
from bot.store.models import Channel, OutboxMessage, Workspace, utcnow
from tests.slack.harness import Slack, make_settings
from tests.support import signing


def _drain(slack: Slack, sqlite_url: str) -> None:
    settings = make_settings(slack.emu, sqlite_url)
    Drainer.from_settings(slack.db, settings, build_registry(slack.db, settings)).drain()


def _intros(slack: Slack) -> list[OutboxMessage]:
    with slack.db.session() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("intro:%"))))


def test_invited_once_introduces_once(slack: Slack, sqlite_url: str) -> None:
    design = slack.emu.add_channel("design-crit", members=["alice", "bob"])
    joined = signing.member_joined_channel_event(
        slack.bot_user_id, design.id, team=slack.team_id, inviter="U0"
    )
    event_id = slack.event(joined)
    slack.wait(lambda: _intros(slack), what="intro queued")
    slack.event(joined, event_id=event_id, retry_num=1)  # Slack's retry
    slack.quiesce()
    slack.emu.leave(design.id, slack.bot_user_id)  # removed, then invited again later
    slack.emu.join(design.id, slack.bot_user_id)
    slack.event(signing.member_joined_channel_event(slack.bot_user_id, design.id, team=slack.team_id))
    slack.quiesce()
    _drain(slack, sqlite_url)
    posted = [m for m in slack.emu.messages(design.id) if m.get("bot_id")]
    assert len(posted) == 1 and len(_intros(slack)) == 1
    card = json.dumps(posted[0]["blocks"])
    assert "Nothing happens to anyone until they opt in" in card and WELCOME_SET_INTERESTS in card
    _drain(slack, sqlite_url)
    assert len([m for m in slack.emu.messages(design.id) if m.get("bot_id")]) == 1


def test_the_setting_turns_the_introduction_off(slack: Slack, sqlite_url: str) -> None:
    off = make_settings(slack.emu, sqlite_url, passiton_channel_intro=False)
    on = make_settings(slack.emu, sqlite_url)
    slack.command("interests add design", "alice")  # the workspace row exists
    with slack.db.session() as s:
        workspace = s.scalars(select(Workspace)).one()
        channel = Channel(workspace_id=workspace.id, slack_channel_id="C0QUIET01", name="quiet")
        s.add(channel)
        s.flush()
        assert not queue_channel_intro(s, off, workspace, channel, utcnow())
        assert channel.introduced_at is None
        assert queue_channel_intro(s, on, workspace, channel, utcnow())
        assert not queue_channel_intro(s, on, workspace, channel, utcnow())  # once
