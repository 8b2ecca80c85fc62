"""Content from a private channel never reaches someone who is not in it, through any path: share
nudges, help nudges, in-channel answers' related items. A public twin of each private message goes
through the same paths, so the test shows those paths do carry public content (and so could leak).

Seed `small`: private #leads has alice, dana and the bot; bob and carol are not in it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage
from bot.web.app import create_web_app
from jobs.tasks import plan_shares
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

PRIVATE_ARTICLE = "Our postgres vacuum runbook draft https://example.com/secret-okapi-runbook"
PUBLIC_ARTICLE = "Postgres vacuum tuning explained https://example.com/public-vacuum-guide"
PRIVATE_QUESTION = "How do we tune autovacuum for the okapi billing Postgres cluster?"
PUBLIC_QUESTION = "How do I tune autovacuum on a busy Postgres table?"


@pytest.fixture
def served(db: Database, db_url: str) -> Iterator[tuple[Slack, object]]:
    with SlackEmulator() as emu:
        small(emu)
        ctx = make_context(make_settings(emu, db_url))
        with running_server(create_web_app(ctx)) as url:
            driver = Slack(emu, url, db)
            yield driver, ctx
            driver.close()


def test_private_channel_content_never_reaches_non_members(served: tuple[Slack, object]) -> None:
    slack, ctx = served
    emu = slack.emu
    slack.command("expertise add postgres", "bob")
    slack.command("expertise public postgres", "bob")
    slack.command("interests add postgres", "carol")
    slack.command("interests add postgres", "dana")
    with slack.db.session() as s:
        for m in s.scalars(select(Member)):
            m.weekends_off = False
    # Dana talks with carol, so carol is someone dana could pass things on to.
    first, _ = slack.message("general", "carol", "Does anyone have a good postgres book?")
    slack.message("general", "dana", "Yes, try the internals one", thread_ts=first["ts"],
                  parent_user_id=emu.user("carol").id)  # fmt: skip
    slack.message("leads", "alice", PRIVATE_ARTICLE)
    slack.message("leads", "alice", PRIVATE_QUESTION)
    slack.message("eng", "alice", PUBLIC_ARTICLE)
    slack.message("help", "alice", PUBLIC_QUESTION)
    slack.wait(lambda: _items(slack.db) >= 5, what="items stored")
    with slack.db.session() as s:
        private = {i.id for i in s.scalars(select(Item).where(Item.is_private.is_(True)))}
    assert len(private) == 2, "the private channel's items are marked private"

    # Help nudges: the public question reaches bob, the private one does not.
    slack.wait(lambda: _nudges_about(slack.db, "help"), what="a help nudge for the public question")
    # Share planning over a whole day, so every time zone's morning comes once.
    start = dt.datetime.now(dt.UTC).replace(minute=5, second=0, microsecond=0)
    for hour in range(0, 24):
        plan_shares(ctx, start + dt.timedelta(hours=hour))  # type: ignore[arg-type]
    slack.quiesce()

    # Someone asks the bot in public: the answer may cite related items, never private ones.
    slack.message("help", "carol", f"<@{emu.bot_user.id}> who knows about postgres vacuum?")
    slack.wait(lambda: _bot_posts(slack, "help"), what="the in-channel answer")
    slack.quiesce()

    with slack.db.session() as s:
        members = {m.id: m.slack_user_id for m in s.scalars(select(Member))}
        leads = set(emu.channel("leads").members)
        for n in s.scalars(select(Nudge)):
            if n.item_id in private:
                assert members[n.recipient_id] in leads, f"private item nudged to {members[n.recipient_id]}"
                assert n.target_id is None or members[n.target_id] in leads, "private item passed outside"
        about_public = [n for n in s.scalars(select(Nudge)) if n.item_id not in private]
        assert {n.kind for n in about_public} == {"help", "share"}, (
            "public content must flow, or this proves nothing"
        )
        outbox = [json.dumps(o.payload) for o in s.scalars(select(OutboxMessage))]
    # What reached people outside #leads, by any route, never mentions its content.
    outside = [u for u in ("bob", "carol", "gus") if emu.user(u).id not in leads]
    for name in outside:
        uid = emu.user(name).id
        seen = json.dumps(emu.dms_to(uid)) + json.dumps(emu.ephemerals(user=uid))
        assert "okapi" not in seen.lower(), f"{name} saw private content"
    public_channels = ("general", "help", "eng")
    for ch in public_channels:
        assert "okapi" not in json.dumps(emu.messages(emu.channel(ch).id)).lower()
    assert not any(
        "okapi" in p.lower() for p in outbox if "okapi" in p.lower() and _to_outsider(p, outside, emu)
    )


def _to_outsider(payload: str, outside: list[str], emu: SlackEmulator) -> bool:
    return any(emu.user(u).id in payload for u in outside)


def _items(db: Database) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(Item.id))))


def _nudges_about(db: Database, kind: str) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(Nudge.id).where(Nudge.kind == kind))))


def _bot_posts(slack: Slack, channel: str) -> list[object]:
    cid = slack.emu.channel(channel).id
    return [c for c in slack.emu.calls("chat.postMessage", ok=True) if c.args.get("channel") == cid]


@pytest.mark.parametrize("who_leaves", ["helper", "bot"])
def test_private_help_nudge_is_dropped_when_membership_ends_before_sending(
    served: tuple[Slack, object], who_leaves: str
) -> None:
    """Alice, in private #leads, is picked to help with a question asked there. Before the outbox sends
    it, either alice leaves #leads (member_left_channel) or the bot is removed from it (group_left: its
    member list can no longer be kept and is dropped). Either way the question must not reach her."""
    from bot.store.models import Channel, ChannelMember
    from tests.support import signing

    slack, ctx = served
    emu = slack.emu
    slack.command("expertise add postgres", "alice")
    with slack.db.session() as s:
        for m in s.scalars(select(Member)):
            m.weekends_off = False
    slack.message("leads", "dana", PRIVATE_QUESTION)
    slack.wait(lambda: _nudges_to(slack, "alice"), timeout=20, what="a help nudge to alice")
    slack.quiesce()
    leads = emu.channel("leads").id
    if who_leaves == "helper":
        slack.event({"type": "member_left_channel", "user": emu.user("alice").id, "channel": leads,
                     "channel_type": "G", "team": slack.team_id, "event_ts": signing.new_ts()})  # fmt: skip
    else:
        slack.event({"type": "group_left", "channel": leads, "actor_id": emu.user("dana").id,
                     "event_ts": signing.new_ts()})  # fmt: skip

    def left() -> bool:
        with slack.db.session() as s:
            channel = s.scalars(select(Channel).where(Channel.slack_channel_id == leads)).one()
            members = set(
                s.scalars(select(ChannelMember.member_id).where(ChannelMember.channel_id == channel.id))
            )
            alice = s.scalars(select(Member.id).where(Member.slack_user_id == emu.user("alice").id)).one()
            if who_leaves == "bot":
                return not members and channel.members_synced_at is None
            return alice not in members and bool(members)

    slack.wait(left, what=f"{who_leaves} left #leads")
    from bot.runtime import build_drainer

    settings = ctx.settings  # type: ignore[attr-defined]
    build_drainer(slack.db, settings).drain(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert emu.dms_to(emu.user("alice").id) == []
    with slack.db.session() as s:
        [nudge] = _nudges_to(slack, "alice")
        assert s.get(Nudge, nudge).status == "expired"  # type: ignore[union-attr]
        statuses = {o.status for o in s.scalars(select(OutboxMessage).where(OutboxMessage.nudge_id == nudge))}
        assert statuses == {"cancelled"}


def _nudges_to(slack: Slack, name: str) -> list[int]:
    with slack.db.session() as s:
        uid = slack.emu.user(name).id
        return list(
            s.scalars(
                select(Nudge.id)
                .join(Member, Member.id == Nudge.recipient_id)
                .where(Member.slack_user_id == uid)
            )
        )
