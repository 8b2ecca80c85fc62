"""In-channel answers only when asked (issue 16, point 4), through the real server and the emulator.

The asked-about phrase is the topic ("lol who knows what design wants this week" names nobody); members
turn answers off in their channel; the asker can remove the reply; "shared before" lists articles and
answered questions (linked to the thread), never unanswered ones; names link to profiles, pinging nobody.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.store.models import Item
from tests.slack.harness import Slack
from tests.support import signing


def _replies(slack: Slack, channel: str, ts: str) -> list[dict[str, Any]]:
    ch = slack.emu.channel(channel).id
    return [
        m for m in slack.emu.messages(ch) if m.get("thread_ts") == ts and m["ts"] != ts and m.get("bot_id")
    ]


def _expert(slack: Slack, user: str, topic: str) -> None:
    slack.command(f"expertise add {topic}", user)
    slack.command(f"expertise public {topic}", user)


def _item(slack: Slack, text: str) -> Item | None:
    with slack.db.session() as s:
        return s.scalars(select(Item).where(Item.text.like(f"%{text}%"))).first()


def test_casual_who_knows_names_nobody_and_a_real_one_links_profiles(slack: Slack) -> None:
    _expert(slack, "alice", "design")
    casual, _ = slack.message("help", "dana", "lol who knows what design wants this week")
    asked, _ = slack.message("help", "dana", "who knows about design?")
    [reply] = slack.wait(lambda: _replies(slack, "help", asked["ts"]), what="answer")
    slack.quiesce()
    assert _replies(slack, "help", casual["ts"]) == []
    blob = json.dumps(reply["blocks"])
    alice = slack.emu.user("alice")
    assert f"slack://user?team={slack.team_id}&id={alice.id}|" in blob  # a link to her profile
    assert "<@" not in blob and "<!" not in blob  # named, never pinged


def test_the_asker_can_remove_the_answer_and_nobody_else(slack: Slack) -> None:
    _expert(slack, "alice", "design")
    asked, _ = slack.message("help", "dana", "does anyone know design systems?")
    [reply] = slack.wait(lambda: _replies(slack, "help", asked["ts"]), what="answer")
    [button] = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Remove"
    channel = slack.emu.channel("help").id

    def press(user: str) -> None:
        action = {"action_id": button["action_id"], "block_id": "answer_remove", "type": "button",
                  "value": button["value"]}  # fmt: skip
        payload = signing.block_actions_payload(
            [action], user_id=slack.emu.user(user).id, team_id=slack.team_id, channel_id=channel,
            message={"ts": reply["ts"], "text": reply["text"]},
            response_url=slack.emu.issue_response_url("help", user),
        )  # fmt: skip
        assert slack.interact(payload).status_code == 200

    answered = len(slack.emu.responses())
    press("carol")
    slack.wait(lambda: len(slack.emu.responses()) > answered, what="refusal")
    assert "Only the person who asked" in slack.emu.responses()[-1]["text"]
    assert _replies(slack, "help", asked["ts"])  # still there
    press("dana")
    slack.wait(lambda: not _replies(slack, "help", asked["ts"]), what="answer removed")


def test_members_turn_answers_off_in_their_channel(slack: Slack) -> None:
    _expert(slack, "alice", "design")
    refused = slack.command("answers off", "gus", channel="help")  # a guest who isn't in #help
    assert "Only members" in refused["text"]
    reply = slack.command("answers off", "dana", channel="help")
    assert "Answers are off" in reply["text"]
    asked, _ = slack.message("help", "carol", "who knows about design?")
    slack.wait(lambda: _item(slack, "who knows about design") is not None, what="question stored")
    slack.quiesce()
    assert _replies(slack, "help", asked["ts"]) == []
    assert "Answers are on" in slack.command("answers on", "dana", channel="help")["text"]
    again, _ = slack.message("help", "carol", "anyone familiar with design tokens?")
    slack.wait(lambda: _replies(slack, "help", again["ts"]), what="answers back on")


def test_shared_before_lists_answered_questions_and_articles_never_unanswered(slack: Slack) -> None:
    _expert(slack, "alice", "design")
    slack.message("eng", "bob", "Our design tokens, explained <https://blog.example/design-tokens>")
    answered_q, _ = slack.message("eng", "bob", "How should we version the design tokens package?")
    open_q, _ = slack.message("eng", "carol", "Where do design reviews for mobile happen these days?")
    slack.wait(lambda: _item(slack, "version the design tokens") and _item(slack, "design reviews for mobile"),
               what="questions stored")  # fmt: skip
    slack.message("eng", "alice", "We tag them with semver on every release.", thread_ts=answered_q["ts"])

    def answered() -> bool:
        item = _item(slack, "version the design tokens")
        return item is not None and item.answered_at is not None

    slack.wait(answered, what="question answered")
    asked, _ = slack.message("eng", "carol", "who knows about design?")
    [reply] = slack.wait(lambda: _replies(slack, "eng", asked["ts"]), what="answer")
    blob = json.dumps(reply["blocks"])
    assert "Shared before" in blob and "Our design tokens, explained" in blob  # the article
    eng = slack.emu.channel("eng").id
    assert f"thread_ts={answered_q['ts']}" in blob and f"cid={eng}" in blob and "(answered)" in blob
    assert "design reviews for mobile" not in blob and open_q["ts"].replace(".", "") not in blob
