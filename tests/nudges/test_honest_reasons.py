"""Honest reasons (issue 16, point 6), planned by the real planner and sent by the real outbox drain to
the Slack emulator: "you two often talk" only for ties made of replies, mentions or reactions; a tie that
is only a shared channel says "you're both in #infra"; a giver who engaged with the article (reacted)
comes before a stronger tie who merely is in its channel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bot.nudges.planner import plan_share_nudges
from bot.runtime import build_drainer
from bot.store.db import Database
from bot.store.models import Channel, ChannelMember, Item, ItemReach, Member, Workspace
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.relationships import record_interaction, record_interactions
from bot.store.queries.workspaces import ensure_workspace
from tests.nudges.world import embedder
from tests.slack.harness import make_settings
from tests.support.slack_emulator import SlackEmulator

NOW = dt.datetime(2025, 6, 4, 8, 30, tzinfo=dt.UTC)  # 09:30 in London
PEOPLE = {
    "alice": "America/New_York",
    "bob": "Europe/Berlin",
    "carol": "Europe/London",
    "dave": "Europe/London",
}
CHANNELS = {"eng": ["alice", "carol", "dave"], "infra": ["bob", "carol"], "ops": ["bob", "dave"]}


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        for name, tz in PEOPLE.items():
            emulator.add_user(name, tz=tz)
        for name, members in CHANNELS.items():
            emulator.add_channel(name, members=members)
        yield emulator


def _world(db: Database, emu: SlackEmulator) -> tuple[Workspace, dict[str, Member], dict[str, Channel], Item]:
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        m = {n: ensure_member(s, ws, emu.user(n).id, display_name=n, tz=tz) for n, tz in PEOPLE.items()}
        for name, topic in (
            ("alice", "writing"),
            ("bob", "postgres"),
            ("carol", "design"),
            ("dave", "design"),
        ):
            add_member_topics(s, ws, m[name], "interest", [topic])
        ch = {}
        for name, members in CHANNELS.items():
            ch[name] = Channel(workspace_id=ws.id, slack_channel_id=emu.channel(name).id, name=name)
            s.add(ch[name])
            s.flush()
            for p in members:
                s.add(ChannelMember(workspace_id=ws.id, channel_id=ch[name].id, member_id=m[p].id))
        posted = emu.post_as_user(
            ch["eng"].slack_channel_id, m["alice"].slack_user_id or "", "postgres vacuum"
        )
        item = Item(workspace_id=ws.id, source_key=f"{ch['eng'].slack_channel_id}:{posted['ts']}", kind="article",
                    channel_id=ch["eng"].id, slack_ts=posted["ts"], author_id=m["alice"].id,
                    url="https://example.com/postgres-vacuum", title="Postgres vacuum tuning",
                    text="A deep dive into postgres autovacuum", posted_at=NOW - dt.timedelta(hours=2))  # fmt: skip
        s.add(item)
        s.flush()
        s.expunge_all()
    return ws, m, ch, item


def _send(db: Database, emu: SlackEmulator, sqlite_url: str) -> tuple[str, str]:
    """Plan this morning's shares and send them; (who got the nudge, the reason the DM shows)."""
    settings = make_settings(emu, sqlite_url)
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id)
        [nudge] = plan_share_nudges(s, ws, NOW, settings, embedder())
        giver = s.get(Member, nudge.recipient_id)
        assert giver is not None and giver.slack_user_id is not None
        name = giver.display_name
    assert build_drainer(db, settings).drain_once(NOW).sent == 1
    [dm] = emu.dms_to(name)[-1:]
    [why] = [
        e["text"]
        for b in dm["blocks"]
        if b["type"] == "context"
        for e in b["elements"]
        if "listed" in e["text"]
    ]
    assert why.startswith("bob listed postgres; "), why
    return name, why.removeprefix("bob listed postgres; ")


def test_a_shared_channel_is_not_talking(emu: SlackEmulator, sqlite_db: Database, sqlite_url: str) -> None:
    ws, m, ch, _ = _world(sqlite_db, emu)
    with sqlite_db.session() as s:  # a membership sync: carol and bob share #infra, and never talked
        record_interactions(s, ws.id, [(m["carol"].id, m["bob"].id)], ch["infra"].id, "shared_channel",
                            NOW - dt.timedelta(days=1))  # fmt: skip
    giver, reason = _send(sqlite_db, emu, sqlite_url)
    assert (giver, reason) == ("carol", "you're both in #infra.")


def test_a_giver_who_reacted_comes_first_and_talk_is_said_only_of_talk(
    emu: SlackEmulator, sqlite_db: Database, sqlite_url: str
) -> None:
    ws, m, ch, item = _world(sqlite_db, emu)
    with sqlite_db.session() as s:
        for days in (1, 2, 3):  # carol and bob really talk, in #infra
            record_interaction(s, ws.id, m["carol"].id, m["bob"].id, ch["infra"].id, "reply",
                               NOW - dt.timedelta(days=days))  # fmt: skip
        record_interaction(
            s, ws.id, m["dave"].id, m["bob"].id, ch["ops"].id, "mention", NOW - dt.timedelta(days=9)
        )
        s.add(ItemReach(workspace_id=ws.id, item_id=item.id, member_id=m["dave"].id, how="reaction", at=NOW))
    giver, reason = _send(sqlite_db, emu, sqlite_url)
    assert giver == "dave"  # reacted to the article: preferred over carol's stronger tie
    assert reason == "you two often talk in #ops."
