"""Two workspaces in one database (SQLite and PostgreSQL), served by one multi-workspace app.

Everything goes through the public surface: signed commands and events to the served app (OAuth
mode, both teams installed), Slack's side read back from the emulator. The two teams are built to
tempt a missing `workspace_id` filter: the same topic is stated in both, the same display names
exist in both, and one person (an Enterprise Grid user) has the same Slack user id in both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import select, text

from bot.config import Settings
from bot.slack.installation import installation_store
from bot.store.db import Database
from bot.store.models import Item, Member, Nudge, OutboxMessage, Workspace
from bot.web.app import create_web_app
from jobs.tasks import plan_shares
from tests.slack.harness import make_context, make_settings, running_server
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator

TEAM_B = "T0EMU0002"


class Team:
    """Slack's side for one team: signed deliveries to the served app."""

    def __init__(self, emu: SlackEmulator, url: str, team_id: str) -> None:
        self.emu, self.url, self.team_id = emu, url, team_id
        self.bot_user_id = emu.bot_user_for(team_id).id

    def uid(self, name: str) -> str:
        return self.emu.user(name, self.team_id).id

    def cid(self, name: str) -> str:
        return self.emu.channel(name, self.team_id).id

    def post(self, body: str) -> Any:
        resp = signing.post_signed(self.url + "/slack/events", body, self.emu.signing_secret)
        assert resp.status_code == 200, resp.text
        return resp

    def command(self, text: str, user: str, channel: str = "general") -> None:
        self.post(
            signing.slash_command_body(
                text, user_id=self.uid(user), team_id=self.team_id, channel_id=self.cid(channel),
                trigger_id=self.emu.issue_trigger_id(user, self.team_id),
                response_url=self.emu.issue_response_url(channel, user, self.team_id),
            )
        )  # fmt: skip

    def event(self, event: dict[str, Any]) -> None:
        self.post(json.dumps(signing.envelope(event, team_id=self.team_id, bot_user_id=self.bot_user_id)))

    def say(self, channel: str, user: str, text: str) -> None:
        posted = self.emu.post_as_user(self.cid(channel), self.uid(user), text, team_id=self.team_id)
        self.event(signing.message_event(self.cid(channel), self.uid(user), text, ts=posted["ts"],
                                         channel_type="channel"))  # fmt: skip


def _build(emu: SlackEmulator) -> str:
    """Team A (the default) and team B with look-alike people; returns Grid user's shared id."""
    emu.add_team(TEAM_B, "Beta", "beta")
    grid = emu.add_user("gina", real_name="Gina Grid", tz="UTC")
    emu.add_user("gina", id=grid.id, real_name="Gina Grid", tz="UTC", team_id=TEAM_B)
    for team, suffix in ((emu.team.id, "Alpha"), (TEAM_B, "Beta")):
        for name in ("alice", "bob", "dana"):
            emu.add_user(name, real_name=f"{name.title()} {suffix}", display_name=f"{name}-{suffix.lower()}",
                         tz="UTC", team_id=team)  # fmt: skip
        people = ["alice", "bob", "dana", "gina"]
        emu.add_channel("general", members=people, team_id=team)
        emu.add_channel("help", members=people, team_id=team)
        emu.add_channel("eng", members=["alice", "gina"], team_id=team)
    return grid.id


def _install(emu: SlackEmulator, db: Database, settings: Settings) -> None:
    store = installation_store(settings, db)
    for team_id in (emu.team.id, TEAM_B):
        bot = emu.bot_user_for(team_id)
        store.save(
            Installation(
                app_id=emu.app_id, team_id=team_id, team_name=team_id, bot_token=emu.bot_token_for(team_id),
                bot_id=bot.bot_id, bot_user_id=bot.id, bot_scopes=["chat:write"], user_id="USLACKBOT",
                installed_at=dt.datetime.now(dt.UTC).timestamp(),
            )
        )  # fmt: skip


@pytest.fixture
def two_teams(db: Database, db_url: str) -> Iterator[tuple[Team, Team, str, Any]]:
    with SlackEmulator() as emu:
        grid_id = _build(emu)
        client_id, client_secret = emu.oauth_client
        settings = make_settings(
            emu, db_url, slack_bot_token=None, slack_client_id=client_id, slack_client_secret=client_secret
        )
        _install(emu, db, settings)
        ctx = make_context(settings)
        try:
            with running_server(create_web_app(ctx)) as url:
                yield Team(emu, url, emu.team.id), Team(emu, url, TEAM_B), grid_id, ctx
        finally:
            _drop_installations(db)


def _drop_installations(db: Database) -> None:
    """conftest empties passiton's tables between tests, not slack_sdk's; other tests count them."""
    with db.engine.begin() as conn:
        for table in ("slack_bots", "slack_installations"):
            conn.execute(text(f"DELETE FROM {table}"))


def _wait(predicate: Any, what: str, timeout: float = 15.0) -> Any:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _team_text(emu: SlackEmulator, team_id: str) -> str:
    """Everything the app said in one team: posts, ephemerals, views, response_url bodies."""
    calls = [c for c in emu.calls(ok=True) if c.team_id == team_id]
    return json.dumps([c.args for c in calls], default=str)


def test_two_workspaces_never_see_each_other(two_teams: tuple[Team, Team, str, Any], db: Database) -> None:
    a, b, grid_id, ctx = two_teams
    emu = a.emu
    # The same topic stated in both teams; a topic only team A knows about.
    for team in (a, b):
        team.command("expertise add postgres", "dana")
        team.command("expertise public postgres", "dana")
        team.command("interests add postgres", "bob")
    a.command("interests add kubernetes", "gina")  # the Grid user, in A only
    a.command("expertise add kubernetes", "gina")
    a.command("expertise public kubernetes", "gina")
    _wait(lambda: _members_with_topics(db) == 5, "five members with topics")
    with db.session() as s:  # any day of the week will do (the settings modal is tested elsewhere)
        for m in s.scalars(select(Member)):
            m.weekends_off = False

    # A question and an article in team A.
    a.say("help", "alice", "How do I tune autovacuum on a busy Postgres table?")
    a.say("eng", "alice", "Great deep dive on Postgres vacuum internals https://example.com/pg-vacuum")
    _wait(lambda: _items(db, a.team_id) >= 2, "team A's items")
    _wait(lambda: _nudges(db, a.team_id), "a help nudge in team A")
    plan_shares(ctx, dt.datetime.now(dt.UTC))

    with db.session() as s:
        ws = {w.team_id: w.id for w in s.scalars(select(Workspace))}
        member_ws = {m.id: m.workspace_id for m in s.scalars(select(Member))}
        for n in s.scalars(select(Nudge)):
            item = s.get(Item, n.item_id)
            assert item is not None
            people = [n.recipient_id] + ([n.target_id] if n.target_id else [])
            assert {member_ws[p] for p in people} == {n.workspace_id} == {item.workspace_id}, (
                "cross-team nudge"
            )
        for o in s.scalars(select(OutboxMessage)):
            if o.recipient_id is not None:
                assert member_ws[o.recipient_id] == o.workspace_id
        assert not s.scalars(select(Item).where(Item.workspace_id == ws[TEAM_B])).first()
        assert not s.scalars(select(Nudge).where(Nudge.workspace_id == ws[TEAM_B])).first()
    # Nothing about team A's question or article reached anyone in team B.
    b_text = _team_text(emu, TEAM_B)
    assert "autovacuum" not in b_text and "pg-vacuum" not in b_text

    # "who knows" in B names B's expert, never A's look-alike or A's kubernetes expert.
    before = len(emu.responses())
    b.command("who knows postgres?", "bob")
    answer = json.dumps(_wait(lambda: emu.responses()[before:], "B's who-knows answer"))
    assert "Dana Beta" in answer or "dana-beta" in answer
    assert "Alpha" not in answer and "alpha" not in answer
    before = len(emu.responses())
    b.command("who knows kubernetes?", "bob")
    answer = json.dumps(_wait(lambda: emu.responses()[before:], "B's second answer"))
    assert "Gina" not in answer and "gina" not in answer.lower().replace("imagine", "")

    # App Home in B for the Grid user (same user id as in A) shows nothing she said in A.
    b.event({"type": "app_home_opened", "user": grid_id, "tab": "home"})
    home_b = _wait(lambda: emu.published_views(grid_id, TEAM_B), "B's Home for the Grid user")
    assert "kubernetes" not in json.dumps(home_b[-1]).lower()
    a.event({"type": "app_home_opened", "user": grid_id, "tab": "home"})
    home_a = _wait(lambda: emu.published_views(grid_id, a.team_id), "A's Home for the Grid user")
    assert "kubernetes" in json.dumps(home_a[-1]).lower()  # the check above could have failed


def _members_with_topics(db: Database) -> int:
    from bot.store.models import MemberTopic

    with db.session() as s:
        return len(set(s.scalars(select(MemberTopic.member_id))))


def _items(db: Database, team_id: str) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(Item.id).join(Workspace).where(Workspace.team_id == team_id))))


def _nudges(db: Database, team_id: str) -> int:
    with db.session() as s:
        return len(list(s.scalars(select(Nudge.id).join(Workspace).where(Workspace.team_id == team_id))))
