"""Opt-out words and mutes (issue 16, point 1), through the real server and the emulator.

`stop`/`off`/`unsubscribe`/`snooze` are understood; `pause` without a duration asks how long with
buttons; `mute bob` mutes the *person* Bob (a known member), `mute crypto` the topic, and the reply
says which; App Home lists every mute, people and topics, each with an undo.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.slack.blocks import home as home_ids
from bot.store.models import Feedback, Member, MemberTopic, Topic
from tests.slack.harness import Slack


def _member(slack: Slack, user: str) -> Member:
    with slack.db.session() as s:
        return s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(user).id)).one()


def _muted_topics(slack: Slack, user: str) -> list[str]:
    me = _member(slack, user)
    with slack.db.session() as s:
        return list(
            s.scalars(
                select(Topic.name)
                .join(MemberTopic, MemberTopic.topic_id == Topic.id)
                .where(MemberTopic.member_id == me.id, MemberTopic.kind == "muted")
                .order_by(Topic.name)
            )
        )


def _muted_people(slack: Slack, user: str) -> list[int]:
    me = _member(slack, user)
    with slack.db.session() as s:
        return list(
            s.scalars(
                select(Feedback.other_member_id).where(
                    Feedback.member_id == me.id, Feedback.kind == "mute_person"
                )
            )
        )


def test_stop_words_turn_suggestions_off(slack: Slack) -> None:
    for word, user in (("stop", "alice"), ("off", "bob"), ("unsubscribe", "carol")):
        slack.command("interests add design", user)
        reply = slack.command(word, user)
        assert "don't know" not in reply["text"] and "Suggestions are off" in reply["text"]
        assert _member(slack, user).delivery == "off"


def test_pause_without_a_duration_asks_how_long_with_buttons(slack: Slack) -> None:
    slack.command("interests add design", "dana")
    for word in ("pause", "snooze"):
        reply = slack.command(word, "dana")
        buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert "how long" in reply["text"].lower() and len(buttons) >= 3
    assert _member(slack, "dana").paused_until is None  # asking pauses nothing
    week = next(b for b in buttons if b["value"] == "7")
    answered = len(slack.emu.responses())
    slack.click(week["action_id"], "dana", value="7", channel="general")
    slack.wait(lambda: len(slack.emu.responses()) > answered, what="the pause confirmed")
    assert "Paused until" in slack.emu.responses()[-1]["text"]
    paused = _member(slack, "dana").paused_until
    assert paused is not None
    assert "Paused until" in slack.command("snooze 3d", "dana")["text"]


def test_mute_a_person_by_name_or_mention_and_a_topic_and_undo_on_home(slack: Slack) -> None:
    for user in ("bob", "carol"):
        slack.command("interests add design", user)  # known members, with their Slack profiles
    slack.wait(lambda: _member(slack, "bob").real_name == "Bob", what="bob's profile")
    slack.command("interests add design", "alice")

    reply = slack.command("mute Bob", "alice")["text"].lower()
    assert "muted, as people: bob" in reply and "topic" not in reply.split("Muted, as people")[0]
    assert _muted_people(slack, "alice") == [_member(slack, "bob").id]
    assert "bob" not in _muted_topics(slack, "alice")  # not silently a topic called "bob"

    carol = slack.emu.user("carol")
    reply = slack.command(f"mute <@{carol.id}|carol>, crypto", "alice")["text"]
    assert "Meant a person? Mention them" in reply  # "crypto" matched nobody: a topic, and it says so
    assert "muted, as people: carol" in reply.lower() and "muted, as topics: *crypto*" in reply.lower()
    assert sorted(_muted_people(slack, "alice")) == sorted(
        [_member(slack, "bob").id, _member(slack, "carol").id]
    )
    assert _muted_topics(slack, "alice") == ["crypto"]
    # `mute topic …` says outright it is a topic, even when it is someone's name.
    assert "as topics" in slack.command("mute topic bob", "alice")["text"]
    assert "bob" in _muted_topics(slack, "alice")
    listed = slack.command("mute", "alice")["text"].lower()
    assert "bob" in listed and "carol" in listed and "crypto" in listed

    home = slack.wait(
        lambda: [v for v in slack.emu.published_views("alice") if "Unmute carol" in json.dumps(v["blocks"])
                 and "Unmute topic crypto" in json.dumps(v["blocks"]) and "Unmute bob" in json.dumps(v["blocks"])],
        what="home listing the mutes",
    )[-1]  # fmt: skip
    undo = {
        e["text"]["text"]: e
        for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"].startswith(home_ids.UNMUTE)
    }  # fmt: skip
    assert {"Unmute bob", "Unmute carol", "Unmute topic crypto", "Unmute topic bob"} <= set(undo)
    slack.quiesce()
    assert undo["Unmute topic bob"]["value"] == "topic:bob"  # the topic "bob" and the person Bob, apart
    slack.click(undo["Unmute bob"]["action_id"], "alice", value=undo["Unmute bob"]["value"])
    carol_id = _member(slack, "carol").id
    slack.wait(lambda: _muted_people(slack, "alice") == [carol_id], what="bob unmuted")
    slack.quiesce()
    assert "Unmute bob" not in json.dumps(slack.emu.published_views("alice")[-1]["blocks"])
    slack.click(undo["Unmute topic crypto"]["action_id"], "alice", value=undo["Unmute topic crypto"]["value"])
    slack.wait(lambda: "crypto" not in _muted_topics(slack, "alice"), what="topic unmuted")

    reply = slack.command("unmute carol", "alice")["text"]
    assert "Unmuted, as people: carol" in reply and _muted_people(slack, "alice") == []


def test_a_name_several_people_share_is_not_guessed(slack: Slack) -> None:
    slack.emu.add_user("ben1", real_name="Ben Stone", display_name="")
    slack.emu.add_user("ben2", real_name="Ben Marsh", display_name="")
    for user in ("ben1", "ben2", "alice"):
        slack.command("interests add design", user)
    slack.wait(lambda: _member(slack, "ben2").real_name == "Ben Marsh", what="profiles")
    reply = slack.command("mute ben", "alice")
    assert "Several people" in reply["text"] and "Ben Stone" in reply["text"]
    assert _muted_people(slack, "alice") == [] and "ben" not in _muted_topics(slack, "alice")
