"""Limits (issue 16, point 8): the topics modal opens, and saves unchanged, for a member whose list is
longer than one text box may hold (Slack refuses a pre-filled value over max_length, at most 3000)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.matching.topics import normalise_topic
from bot.slack.blocks import home as home_ids
from bot.store.models import Member, MemberTopic, Workspace
from bot.store.queries.members import add_member_topics, ensure_member
from tests.slack.harness import Slack


def _interests(slack: Slack, user: str) -> set[str]:
    from bot.store.models import Topic

    with slack.db.session() as s:
        return set(
            s.scalars(
                select(Topic.name)
                .join(MemberTopic, MemberTopic.topic_id == Topic.id)
                .join(Member, Member.id == MemberTopic.member_id)
                .where(Member.slack_user_id == slack.emu.user(user).id, MemberTopic.kind == "interest")
            )
        )


def test_a_long_topic_list_opens_in_boxes_within_slacks_limit_and_saves_unchanged(slack: Slack) -> None:
    slack.command("interests add design", "carol")  # a known member with a workspace
    many = [normalise_topic(f"distributed systems reading group {n:03d}") for n in range(180)]  # ~6,800 chars
    with slack.db.session() as s:
        workspace = s.scalars(select(Workspace)).one()
        carol = ensure_member(s, workspace, slack.emu.user("carol").id)
        for start in range(0, len(many), 50):
            add_member_topics(s, workspace, carol, "interest", many[start : start + 50])
    before = set(_interests(slack, "carol"))
    assert len(", ".join(before)) > 6000
    seen = len(slack.emu.opened_views("carol"))
    slack.click(home_ids.EDIT_INTERESTS, "carol")
    [modal] = slack.wait(lambda: slack.emu.opened_views("carol")[seen:], what="topics modal opened")
    boxes = [b for b in modal["blocks"] if b["type"] == "input"]
    assert len(boxes) >= 3
    for box in boxes:
        assert len(box["element"].get("initial_value", "")) <= box["element"]["max_length"] <= 3000
    values: dict[str, Any] = {
        b["block_id"]: {
            "topics": {"type": "plain_text_input", "value": b["element"].get("initial_value", "")}
        }
        for b in boxes
    }
    resp = slack.submit(modal, values, "carol")
    assert resp.status_code == 200 and "errors" not in resp.text, resp.text
    slack.quiesce()
    assert _interests(slack, "carol") == before
