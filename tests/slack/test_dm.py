"""DMs to the bot (issue 16, point 2): read as a command, or answered with the short help; once per
message even when Slack retries the event; the bot's own messages are not answered."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.models import Item, Member, MemberTopic, Topic
from tests.slack.harness import Slack
from tests.support import signing


def _dm(slack: Slack, user: str) -> str:
    uid = slack.emu.user(user).id
    channel, _ = slack.emu.workspace.open_im(slack.team_id, slack.bot_user_id, uid)
    return channel.id


def _say(
    slack: Slack, user: str, text: str, *, event_id: str | None = None, retry_num: int | None = None
) -> str:
    channel = _dm(slack, user)
    posted = slack.emu.post_as_user(channel, slack.emu.user(user).id, text)
    event = signing.message_event(channel, slack.emu.user(user).id, text, ts=posted["ts"], channel_type="im")
    return slack.event(event, event_id=event_id, retry_num=retry_num)


def _bot_replies(slack: Slack, user: str) -> list[str]:
    return [m["text"] for m in slack.emu.dms_to(user)]


def _topics(slack: Slack, user: str, kind: str) -> list[str]:
    with slack.db.session() as s:
        return list(
            s.scalars(
                select(Topic.name)
                .join(MemberTopic, MemberTopic.topic_id == Topic.id)
                .join(Member, Member.id == MemberTopic.member_id)
                .where(Member.slack_user_id == slack.emu.user(user).id, MemberTopic.kind == kind)
            )
        )


def test_a_dm_is_read_as_a_command(slack: Slack) -> None:
    _say(slack, "carol", "interests add rust, go")
    slack.wait(lambda: _topics(slack, "carol", "interest"), what="interests from a DM")
    assert sorted(_topics(slack, "carol", "interest")) == ["go", "rust"]
    reply = slack.wait(lambda: _bot_replies(slack, "carol"), what="reply in the DM")
    assert "Rust" in reply[-1]
    _say(slack, "carol", "/passiton mute crypto")  # typed out of habit
    slack.wait(lambda: _topics(slack, "carol", "muted") == ["crypto"], what="mute from a DM")
    with slack.db.session() as s:  # a DM to passiton is never an item others could be nudged about
        assert s.scalars(select(Item).where(Item.text.like("%rust, go%"))).first() is None


def test_anything_else_gets_the_short_help_once_even_when_slack_retries(slack: Slack) -> None:
    event_id = _say(slack, "dana", "hi! what is this?")
    slack.wait(lambda: _bot_replies(slack, "dana"), what="short help")
    channel = _dm(slack, "dana")
    text = "hi! what is this?"
    retry = signing.message_event(channel, slack.emu.user("dana").id, text, channel_type="im")
    slack.event(retry, event_id=event_id, retry_num=1)  # Slack's retry of the same event
    slack.quiesce()
    replies = _bot_replies(slack, "dana")
    assert len(replies) == 1 and "as commands" in replies[0] and "`help`" in replies[0]
    _say(slack, "dana", "help")
    slack.wait(lambda: len(_bot_replies(slack, "dana")) == 2, what="full help")
    assert "/passiton stop" in _bot_replies(slack, "dana")[-1]


def test_the_bots_own_messages_are_not_answered(slack: Slack) -> None:
    channel = _dm(slack, "bob")
    own = signing.message_event(channel, slack.bot_user_id, "Here is a suggestion", channel_type="im",
                                subtype="bot_message", bot_id=slack.emu.bot_user.bot_id)  # fmt: skip
    slack.event(own)
    slack.quiesce()
    assert _bot_replies(slack, "bob") == []
