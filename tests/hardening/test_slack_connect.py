"""Slack Connect: members of other organisations in a channel shared with them, through the emulator.

Such members carry none of Slack's guest flags (they are not this workspace's guests); users.info tells them
apart by their own workspace's `team_id` (or `is_stranger`). They must be treated as guests: never named in
an answer, never handed an item from a channel they are not in (answers' "shared before" lists, help and
share nudges), and the items of a shared channel are never listed to people outside it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.ingest.profiles import is_external
from bot.policy.eligibility import may_be_target
from bot.policy.help import HelpItem, plan_help
from bot.policy.model import Candidate, MemberPrefs, PolicyState
from bot.store.db import Database
from bot.store.models import Channel, Item, Member, Nudge
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator

PARTNER_TEAM = "T0EXT0001"


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        small(emulator)
        emulator.add_external_user("erin", home_team_id=PARTNER_TEAM, display_name="erin.partner")
        emulator.add_external_user(
            "sam", home_team_id=PARTNER_TEAM, is_stranger=True, display_name="sam.partner"
        )
        emulator.add_channel(
            "partners", members=["alice", "dana", "erin", "sam"], connected_team_ids=[PARTNER_TEAM]
        )
        yield emulator


@pytest.fixture(scope="module")
def served(emu: SlackEmulator, sqlite_url: str) -> Iterator[tuple[str, Database]]:
    ctx = make_context(make_settings(emu, sqlite_url))
    with running_server(create_web_app(ctx)) as url:
        yield url, ctx.db


@pytest.fixture
def slack(emu: SlackEmulator, served: tuple[str, Database], sqlite_db: Database) -> Iterator[Slack]:
    url, db = served
    emu.reset_calls()
    emu.clear_faults()
    driver = Slack(emu, url, db)
    yield driver
    driver.quiesce()
    driver.close()


def thread_replies(slack: Slack, channel: str, ts: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in slack.emu.calls("chat.postMessage", ok=True)
        if c.args.get("channel") == slack.emu.channel(channel).id and c.args.get("thread_ts") == ts
    ]


def public_expertise(slack: Slack, *names: str) -> None:
    for name in names:
        slack.command(
            "expertise add postgres", name, channel="partners" if name in ("erin", "sam") else "general"
        )
        slack.command(
            "expertise public postgres", name, channel="partners" if name in ("erin", "sam") else "general"
        )


def _count(db: Database, kind: str) -> int:
    with db.session() as s:
        return len(s.scalars(select(Item).where(Item.kind == kind)).all())


def test_members_of_other_organisations_are_guests_and_never_named(slack: Slack) -> None:
    public_expertise(slack, "alice", "erin", "sam")
    posted, _ = slack.message("partners", "dana", "who knows about postgres?")
    [reply] = slack.wait(lambda: thread_replies(slack, "partners", posted["ts"]), what="thread reply")
    blob = json.dumps(reply["blocks"]) + reply["text"]
    assert "alice" in blob
    for outsider in ("erin", "sam"):
        user = slack.emu.user(outsider)
        assert user.display_name not in blob and user.real_name not in blob, f"{outsider} was named"
    with slack.db.session() as s:
        flags = {
            uid: guest and external
            for uid, guest, external in s.execute(
                select(Member.slack_user_id, Member.is_guest, Member.is_external)
            )
        }
        shared = s.scalars(select(Channel.is_ext_shared).where(Channel.name == "partners")).one()
    assert flags[slack.emu.user("erin").id] and flags[slack.emu.user("sam").id]
    assert not flags[slack.emu.user("alice").id]
    assert shared


def test_outsiders_in_a_shared_channel_see_no_items_from_other_channels(slack: Slack) -> None:
    public_expertise(slack, "alice")
    slack.message("eng", "carol", "Postgres autovacuum tuning <https://blog.example/vacuum>")
    slack.wait(lambda: _count(slack.db, "article") == 1, what="the article stored")
    posted, _ = slack.message("partners", "dana", "who knows about postgres?")
    [reply] = slack.wait(lambda: thread_replies(slack, "partners", posted["ts"]), what="thread reply")
    blob = json.dumps(reply["blocks"])
    assert "alice" in blob
    assert slack.emu.channel("eng").id not in blob and "autovacuum" not in blob


def test_items_of_a_shared_channel_are_not_listed_to_people_outside_it(slack: Slack) -> None:
    public_expertise(slack, "alice")
    slack.message(
        "partners",
        "alice",
        "Postgres upgrade runbook we agreed with the partner <https://blog.example/runbook>",
    )
    slack.wait(lambda: _count(slack.db, "article") == 1, what="the article stored")
    # #help: internal members only, not all of them in #partners.
    posted, _ = slack.message("help", "bob", "who knows about postgres?")
    [reply] = slack.wait(lambda: thread_replies(slack, "help", posted["ts"]), what="thread reply")
    blob = json.dumps(reply["blocks"])
    assert "alice" in blob
    assert slack.emu.channel("partners").id not in blob and "runbook" not in blob
    # Inside the shared channel itself the item is of course fine to show.
    again, _ = slack.message("partners", "dana", "does anyone know postgres?")
    [inside] = slack.wait(lambda: thread_replies(slack, "partners", again["ts"]), what="thread reply")
    assert "runbook" in json.dumps(inside["blocks"])


def test_no_help_nudge_takes_a_question_to_an_outsider_who_is_not_in_its_channel(slack: Slack) -> None:
    for name in ("bob", "erin"):
        slack.command("expertise add postgres", name, channel="partners" if name == "erin" else "general")
    slack.message("help", "dana", "How do I tune autovacuum for a big postgres table?")
    slack.wait(lambda: _help_recipients(slack), what="help nudges planned")
    slack.quiesce()
    recipients = _help_recipients(slack)
    assert slack.emu.user("bob").id in recipients
    assert slack.emu.user("erin").id not in recipients
    # In the shared channel, where she is a member, she may be asked.
    slack.message("partners", "dana", "How do I tune autovacuum for a huge postgres table please?")
    slack.wait(lambda: slack.emu.user("erin").id in _help_recipients(slack), what="erin asked in #partners")


def _help_recipients(slack: Slack) -> set[str]:
    with slack.db.session() as s:
        return set(
            s.scalars(
                select(Member.slack_user_id)
                .join(Nudge, Nudge.recipient_id == Member.id)
                .where(Nudge.kind == "help")
            )
        )


# -- the pure parts -------------------------------------------------------------------------------------


def test_external_is_told_by_team_stranger_flag_and_grid_org() -> None:
    home = "T0HOME"
    assert not is_external({"id": "U1", "team_id": home}, home)
    assert is_external({"id": "U2", "team_id": "T0OTHER"}, home)
    assert is_external({"id": "U3", "team_id": home, "is_stranger": True}, home)
    assert is_external({"id": "U4", "profile": {"team": "T0OTHER"}}, home)
    # Another workspace of our own Enterprise Grid org is not another organisation.
    grid = {"id": "U5", "team_id": "T0SISTER", "enterprise_user": {"enterprise_id": "E0OURS"}}
    assert not is_external(grid, home, "E0OURS")
    assert is_external({**grid, "enterprise_user": {"enterprise_id": "E0THEIRS"}}, home, "E0OURS")


def test_policy_never_targets_a_guest_and_asks_one_only_inside_the_channel() -> None:
    now = dt.datetime(2026, 3, 3, 15, tzinfo=dt.UTC)
    guest = MemberPrefs(id=2, opted_in=True, guest=True, weekends_off=False)
    member = MemberPrefs(id=3, opted_in=True, weekends_off=False)
    assert not may_be_target(guest, now) and may_be_target(member, now)
    state = PolicyState(prefs={2: guest, 3: member})
    candidates = [Candidate(2, 0.9, "postgres"), Candidate(3, 0.8, "postgres")]
    outside = plan_help(HelpItem(id=1, asker_id=9), candidates, state, now, k=3, asker_name="Dana")
    assert [p.helper_id for p in outside] == [3]
    inside = plan_help(
        HelpItem(id=1, asker_id=9, channel_members=frozenset({2, 3, 9})), candidates, state, now, k=3,
        asker_name="Dana",
    )  # fmt: skip
    assert sorted(p.helper_id for p in inside) == [2, 3]
