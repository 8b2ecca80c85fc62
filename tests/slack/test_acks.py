"""Acks first (issue 16, point 3): no Web API call before Slack gets its answer, the pass-it-on modal
closes at once, a submission sent twice shares once, and the nudge DM says it was passed on.

Every Web API call is held by the emulator while Slack's request is answered: a listener that called
Slack before its ack would not answer within Slack's three seconds (Bolt then gives up on it), so the
answers checked here can only come from acks that came first.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.messages import nudges as nb
from bot.slack.app import web_client
from bot.slack.blocks.modals import open_pass_it_on_modal
from bot.store.models import Feedback, Item, Member, Nudge
from tests.slack.harness import Slack
from tests.support import signing

ARTICLE = "<https://example.com/blog/postgres-vacuum-tuning|Postgres vacuum tuning>"


def _member(slack: Slack, user: str) -> Member:
    with slack.db.session() as s:
        return s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(user).id)).one()


def _profile_calls(slack: Slack, user: str) -> list[Any]:
    return [c for c in slack.emu.calls("users.info") if c.args.get("user") == slack.emu.user(user).id]


def test_first_settings_command_is_answered_before_users_info(slack: Slack) -> None:
    slack.emu.add_user("erin", tz="Asia/Tokyo")
    with slack.emu.holding():
        reply = slack.command("interests add rust", "erin")  # a member passiton has never seen
        assert "Rust" in reply["text"]
        assert not _profile_calls(slack, "erin")  # nothing reached Slack before the answer
    slack.emu.wait_for_calls("users.info")  # the profile is fetched afterwards
    slack.wait(lambda: _member(slack, "erin").tz == "Asia/Tokyo", what="profile after the ack")

    # Quiet hours are read in the member's time zone, so a member without a profile is answered on the
    # response_url, once users.info said which zone: the ack itself is empty and immediate.
    slack.emu.add_user("fred", tz="America/Chicago")
    answered = len(slack.emu.responses())
    with slack.emu.holding():
        resp = slack.post(
            signing.slash_command_body(
                "quiet 19:00-08:00",
                user_id=slack.emu.user("fred").id,
                team_id=slack.team_id,
                channel_id=slack.emu.channel("general").id,
                trigger_id=slack.emu.issue_trigger_id("fred"),
                response_url=slack.emu.issue_response_url("general", "fred"),
            )
        )
        assert resp.status_code == 200 and not resp.content.strip()
        assert not _profile_calls(slack, "fred")
    slack.wait(lambda: len(slack.emu.responses()) > answered, what="reply on the response_url")
    assert "America/Chicago" in slack.emu.responses()[-1]["text"]


def _share_nudge(slack: Slack) -> tuple[int, str, str, dict[str, Any]]:
    """A share nudge to bob about an article, for carol, posted to bob's DM as the sender would."""
    slack.command("interests add postgres", "carol")
    slack.message("eng", "alice", f"vacuum, finally explained {ARTICLE}")

    def item() -> Item | None:
        with slack.db.session() as s:
            return s.scalars(select(Item).where(Item.title.like("%vacuum%"))).first()

    stored = slack.wait(item, what="item")
    bob, carol = _member(slack, "bob"), _member(slack, "carol")
    with slack.db.session() as s:
        nudge = Nudge(workspace_id=stored.workspace_id, dedupe_key=f"share:acks:{stored.id}", kind="share",
                      recipient_id=bob.id, item_id=stored.id, target_id=carol.id, status="sent",
                      reason="Carol said she cares about postgres.")  # fmt: skip
        s.add(nudge)
        s.flush()
        nudge_id = nudge.id
    view = nb.NudgeView(nudge_id=nudge_id, kind="share", reason="Carol said she cares about postgres.",
                        title="Postgres vacuum tuning", channel_name="eng", target_name="Carol")  # fmt: skip
    client = web_client(slack.emu.url, slack.emu.bot_token)
    sent = client.chat_postMessage(
        channel=slack.emu.user("bob").id, text="Pass it on?", blocks=nb.nudge_blocks(view)
    )
    with slack.db.session() as s:
        row = s.get(Nudge, nudge_id)
        assert row is not None
        row.slack_channel, row.slack_ts = str(sent["channel"]), str(sent["ts"])
    before = len(slack.emu.opened_views("bob"))
    open_pass_it_on_modal(client, slack.emu.issue_trigger_id("bob"), stored, [slack.emu.user("carol").id],
                          channel_name="eng", nudge_id=nudge_id)  # fmt: skip
    slack.wait(lambda: len(slack.emu.opened_views("bob")) > before, what="modal")
    return nudge_id, str(sent["channel"]), str(sent["ts"]), slack.emu.opened_views("bob")[-1]


def test_pass_it_on_closes_at_once_sends_once_and_marks_the_nudge(slack: Slack) -> None:
    nudge_id, dm, dm_ts, modal = _share_nudge(slack)
    slack.quiesce()
    slack.emu.reset_calls()
    carol = slack.emu.user("carol")
    values = {
        "recipients": {"recipients": {"type": "multi_users_select", "selected_users": [carol.id]}},
        "note": {"note": {"type": "plain_text_input", "value": "You asked about vacuum"}},
    }
    payload = signing.view_submission_payload(
        modal, values, user_id=slack.emu.user("bob").id, team_id=slack.team_id
    )
    with slack.emu.holding():
        first = slack.interact(payload)
        again = slack.interact(payload)  # Slack's retry, or a second click on Send
        for resp in (first, again):
            assert resp.status_code == 200
            body = resp.json()
            assert body["response_action"] == "update" and "Passing it on" in json.dumps(body["view"])
        assert not slack.emu.calls()  # users.info, conversations.*, chat.getPermalink: all after
    slack.emu.apply_view_response(str(modal["id"]), first.json(), submitted_hash=modal["hash"])

    done = slack.wait(
        lambda: [v for v in slack.emu.opened_views("bob") if "Passed on to" in json.dumps(v["blocks"])],
        what="modal says it was passed on",
    )
    assert "Carol" in json.dumps(done[-1]["blocks"]) or carol.display_name in json.dumps(done[-1]["blocks"])
    slack.quiesce()
    conv = slack.emu.conversation_between("bob", "carol")
    assert conv is not None
    assert len([m for m in slack.emu.messages(conv.id) if "passed this on" in m["text"]]) == 1  # once
    with slack.db.session() as s:
        assert s.scalars(select(Feedback.kind).where(Feedback.nudge_id == nudge_id)).all() == ["shared"]

    # The nudge DM now says so, without its buttons.
    message = next(m for m in slack.emu.messages(dm) if m["ts"] == dm_ts)
    assert "Passed on to" in json.dumps(message["blocks"]) and "✓" in json.dumps(
        message["blocks"], ensure_ascii=False
    )
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert "Postgres vacuum tuning" in json.dumps(message["blocks"])  # the item stays
