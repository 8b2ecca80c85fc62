"""The nudge DM end to end: planned, sent by the real outbox drain to the Slack emulator, answered by a
signed button press to the real app, which records feedback and redraws the DM in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.messages import nudges as nb
from bot.nudges.planner import plan_share_nudges
from bot.runtime import build_drainer
from bot.store.db import Database
from bot.store.models import Channel, ChannelMember, Feedback, Item, Member, Nudge
from bot.store.queries.members import add_member_topics, ensure_member
from bot.store.queries.relationships import record_interaction
from bot.store.queries.workspaces import ensure_workspace
from bot.web.app import create_web_app
from tests.nudges.world import embedder
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator

NOW = dt.datetime(2025, 6, 4, 8, 30, tzinfo=dt.UTC)  # 09:30 in London, 04:30 in New York


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("alice", tz="America/New_York")
        emulator.add_user("bob", tz="Europe/Berlin")
        emulator.add_user("carol", tz="Europe/London")
        emulator.add_channel("eng", members=["alice", "carol"])
        emulator.add_channel("infra", members=["bob", "carol"])
        yield emulator


@pytest.fixture(scope="module")
def served(emu: SlackEmulator, sqlite_url: str) -> Iterator[tuple[str, Any]]:
    ctx = make_context(make_settings(emu, sqlite_url))
    with running_server(create_web_app(ctx)) as url:
        yield url, ctx


@pytest.fixture
def slack(emu: SlackEmulator, served: tuple[str, Any], sqlite_db: Database) -> Iterator[Slack]:
    url, ctx = served
    emu.reset_calls()
    driver = Slack(emu, url, ctx.db)
    yield driver
    driver.close()


def _plan_and_send(slack: Slack, served: tuple[str, Any]) -> Nudge:
    emu, db, settings = slack.emu, slack.db, served[1].settings
    with db.session() as s:
        ws = ensure_workspace(s, emu.team.id, bot_user_id=emu.bot_user.id)
        m = {
            name: ensure_member(s, ws, emu.user(name).id, display_name=name, tz=emu.user(name).tz)
            for name in ("alice", "bob", "carol")
        }
        add_member_topics(s, ws, m["alice"], "interest", ["writing"])
        add_member_topics(s, ws, m["bob"], "interest", ["postgres"])
        add_member_topics(s, ws, m["carol"], "interest", ["design"])
        ch = {}
        for name, people in (("eng", ["alice", "carol"]), ("infra", ["bob", "carol"])):
            ch[name] = Channel(workspace_id=ws.id, slack_channel_id=emu.channel(name).id, name=name)
            s.add(ch[name])
            s.flush()
            for p in people:
                s.add(ChannelMember(workspace_id=ws.id, channel_id=ch[name].id, member_id=m[p].id))
        record_interaction(
            s, ws.id, m["carol"].id, m["bob"].id, ch["infra"].id, "reply", NOW - dt.timedelta(days=1)
        )
        posted = emu.post_as_user(
            ch["eng"].slack_channel_id, m["alice"].slack_user_id or "", "postgres vacuum"
        )
        s.add(
            Item(workspace_id=ws.id, source_key=f"{ch['eng'].slack_channel_id}:{posted['ts']}", kind="article",
                 channel_id=ch["eng"].id, slack_ts=posted["ts"], author_id=m["alice"].id,
                 url="https://example.com/postgres-vacuum", title="Postgres vacuum tuning <!channel>",
                 text="A deep dive into postgres autovacuum", posted_at=NOW - dt.timedelta(hours=2))
        )  # fmt: skip
        s.flush()
        [nudge] = plan_share_nudges(s, ws, NOW, settings, embedder())
    stats = build_drainer(db, settings).drain_once(NOW)
    assert stats.sent == 1
    with db.session() as s:
        sent = s.get(Nudge, nudge.id)
        assert sent is not None and sent.status == "sent"
        return sent


def _press(slack: Slack, user: str, action_id: str, dm: dict[str, Any]) -> None:
    """Press a button, or pick the option of the "…" menu that stands for it, as Slack would send it."""
    elements = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    picked = [
        (e, o) for e in elements if e["type"] == "overflow" for o in e["options"]
        if o["value"].startswith(action_id + ":")
    ]  # fmt: skip
    if picked:
        menu, option = picked[0]
        action = {"action_id": menu["action_id"], "block_id": nb.ACTIONS_BLOCK, "type": "overflow",
                  "selected_option": option}  # fmt: skip
    else:
        button = next(e for e in elements if e["action_id"] == action_id)
        action = {
            "action_id": action_id,
            "block_id": nb.ACTIONS_BLOCK,
            "type": "button",
            "value": button["value"],
        }
    payload = signing.block_actions_payload(
        [action],
        user_id=slack.emu.user(user).id,
        team_id=slack.team_id,
        trigger_id=slack.emu.issue_trigger_id(user),
        channel_id=dm["channel"],
        message=dm,
        response_url=slack.emu.issue_response_url(dm["channel"], user),
    )
    assert slack.interact(payload).status_code == 200


def test_not_my_area_records_feedback_and_redraws_the_dm(slack: Slack, served: tuple[str, Any]) -> None:
    nudge = _plan_and_send(slack, served)
    [dm] = slack.emu.dms_to("carol")[-1:]
    text = str(dm["blocks"])
    assert "Pass it on" in text and "bob listed postgres; you two often talk in #infra." in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text, "member text is escaped"
    _press(slack, "carol", nb.NOT_MY_AREA, dm)

    def answered() -> bool:
        with slack.db.session() as s:
            n = s.get(Nudge, nudge.id)
            return n is not None and n.status == "dismissed"

    slack.wait(answered, what="the nudge to be dismissed")
    with slack.db.session() as s:
        kinds = [f.kind for f in s.scalars(select(Feedback).where(Feedback.nudge_id == nudge.id))]
        assert kinds == ["not_my_area"]
        carol = s.scalars(select(Member).where(Member.display_name == "carol")).one()
        assert carol.unanswered == 0
    updated = slack.wait(
        lambda: [
            m
            for m in slack.emu.dms_to("carol")
            if m["ts"] == dm["ts"] and "not your area" in str(m["blocks"])
        ],
        what="the DM to be redrawn",
    )
    assert all(b["type"] != "actions" for b in updated[0]["blocks"]), "buttons are gone once answered"


def test_two_buttons_and_the_rest_in_the_menu(slack: Slack, served: tuple[str, Any]) -> None:
    nudge = _plan_and_send(slack, served)
    [dm] = slack.emu.dms_to("carol")[-1:]
    [row] = [b for b in dm["blocks"] if b["type"] == "actions"]
    kinds = [e["type"] for e in row["elements"]]
    assert kinds == ["button", "button", "overflow"]  # Pass it on, Not now, "…"
    assert [e["text"]["text"] for e in row["elements"][:2]] == ["Pass it on", "Not now"]
    menu = [o["text"]["text"] for o in row["elements"][2]["options"]]
    assert menu == ["Not my area", "Don't suggest postgres", "Don't suggest bob"]
    _press(slack, "carol", nb.MUTE_PERSON, dm)  # "Don't suggest bob", from the menu

    def muted() -> list[str]:
        with slack.db.session() as s:
            return [f.kind for f in s.scalars(select(Feedback).where(Feedback.nudge_id == nudge.id))]

    assert slack.wait(muted, what="the person muted") == ["mute_person"]
    slack.wait(
        lambda: [
            m for m in slack.emu.dms_to("carol") if m["ts"] == dm["ts"] and "won't suggest bob" in str(m)
        ],
        what="the DM redrawn",
    )


def test_pass_it_on_opens_the_modal_with_the_target_preselected(
    slack: Slack, served: tuple[str, Any]
) -> None:
    _plan_and_send(slack, served)
    dm = slack.emu.dms_to("carol")[-1]
    _press(slack, "carol", nb.PASS_ON, dm)
    views = slack.wait(lambda: slack.emu.opened_views("carol"), what="the pass-it-on modal")
    users = [
        b["element"].get("initial_users")
        for b in views[-1]["blocks"]
        if b.get("type") == "input" and b["element"].get("type") == "multi_users_select"
    ]
    assert users == [[slack.emu.user("bob").id]]
