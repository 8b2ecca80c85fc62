"""Events through the real server: items once each, edits, deletes, replies, noise, welcome, uninstall."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.store.models import (
    Channel,
    ChannelMember,
    Item,
    Member,
    OutboxMessage,
    Relationship,
    ThreadReply,
    Workspace,
)
from tests.slack.harness import Slack
from tests.support import signing

ARTICLE = "<https://example.com/blog/postgres-vacuum-tuning|Postgres vacuum tuning>"


def _items(slack: Slack) -> list[Item]:
    with slack.db.session() as s:
        return list(s.scalars(select(Item).order_by(Item.id)))


def _count(slack: Slack, model: type) -> int:
    with slack.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_article_and_question_become_items_once_each_despite_retries(slack: Slack) -> None:
    unfurl = signing.link_unfurl(
        "https://example.com/blog/postgres-vacuum-tuning", "Tuning autovacuum", "How to tune it"
    )
    posted, event_id = slack.message("eng", "alice", f"worth a read {ARTICLE}", attachments=[unfurl])
    slack.wait(lambda: len(_items(slack)) == 1, what="article item")
    article = _items(slack)[0]
    assert article.kind == "article" and article.url == "https://example.com/blog/postgres-vacuum-tuning"
    assert article.title == "Tuning autovacuum" and not article.is_private
    assert article.source_key == f"{slack.emu.channel('eng').id}:{posted['ts']}"

    # Slack retries the same delivery: acknowledged, never a second item.
    ch, alice = slack.emu.channel("eng"), slack.emu.user("alice")
    same = signing.message_event(
        ch.id, alice.id, f"worth a read {ARTICLE}", ts=posted["ts"], attachments=[unfurl]
    )
    for retry in (1, 2):
        slack.event(same, event_id=event_id, retry_num=retry)
    # The same message under a new event id (app_mention beside message) is still one item.
    slack.event(
        signing.app_mention_event(ch.id, alice.id, f"<@{slack.bot_user_id}> {ARTICLE}", ts=posted["ts"])
    )

    slack.message("help", "bob", "How do I tune autovacuum on a busy Postgres table?")
    slack.wait(lambda: len(_items(slack)) == 2, what="question item")
    slack.settle()
    items = _items(slack)
    assert [i.kind for i in items] == ["article", "question"]
    with slack.db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Item).where(Item.source_key == article.source_key)) == 1
        )


def test_chatter_bots_joins_and_own_messages_leave_no_item(slack: Slack) -> None:
    ch = slack.emu.channel("eng")
    slack.message("eng", "alice", "thanks!")
    other = slack.emu.user("otherbot")
    noise = [
        signing.message_event(
            ch.id, other.id, f"bot link {ARTICLE}", bot_id="B0OTHERBOT", subtype="bot_message"
        ),
        signing.message_event(ch.id, slack.bot_user_id, f"my own link {ARTICLE}"),
        signing.message_event(
            ch.id, slack.emu.user("bob").id, "<@U1> has joined the channel", subtype="channel_join"
        ),
        signing.message_event(ch.id, "USLACKBOT", f"reminder {ARTICLE}"),
    ]
    for event in noise:
        slack.event(event)
    slack.settle(0.5)
    assert _items(slack) == []


def test_message_changed_updates_and_deleted_removes(slack: Slack) -> None:
    posted, _ = slack.message("eng", "carol", f"have a look {ARTICLE}")
    slack.wait(lambda: _items(slack), what="item")
    ch = slack.emu.channel("eng")
    unfurl = signing.link_unfurl("https://example.com/blog/postgres-vacuum-tuning", "Vacuum, explained")
    new = {**posted, "text": f"have a look, it's good {ARTICLE}", "attachments": [unfurl]}
    slack.event(signing.message_changed_event(ch.id, new, posted))
    slack.wait(lambda: _items(slack)[0].title == "Vacuum, explained", what="edit applied")
    assert "it's good" in _items(slack)[0].text
    slack.event(signing.message_deleted_event(ch.id, new))
    slack.wait(lambda: not _items(slack), what="item deleted")


def test_thread_reply_marks_question_answered_and_records_the_tie(slack: Slack) -> None:
    posted, _ = slack.message("help", "dana", "Does anyone know how to rotate Terraform state credentials?")
    slack.wait(lambda: _items(slack), what="question")
    ch, dana = slack.emu.channel("help"), slack.emu.user("dana")
    slack.message("help", "bob", "Yes, use a backend role", thread_ts=posted["ts"], parent_user_id=dana.id)
    slack.wait(lambda: _items(slack)[0].answered_at is not None, what="answered")
    assert _count(slack, ThreadReply) == 1
    assert _count(slack, Relationship) >= 1
    # The asker replying in their own thread is not help.
    slack.message("help", "dana", "thanks, that worked", thread_ts=posted["ts"], parent_user_id=dana.id)
    slack.settle()
    assert _count(slack, ThreadReply) == 1
    assert ch.id


def test_private_channel_items_are_private_and_channels_sync_members(slack: Slack) -> None:
    slack.message("leads", "alice", f"for us only {ARTICLE}")
    slack.wait(lambda: _items(slack), what="private item")
    assert _items(slack)[0].is_private
    with slack.db.session() as s:
        leads = s.scalars(
            select(Channel).where(Channel.slack_channel_id == slack.emu.channel("leads").id)
        ).one()
        assert leads.is_private
        members = set(
            s.scalars(
                select(Member.slack_user_id)
                .join(ChannelMember, ChannelMember.member_id == Member.id)
                .where(ChannelMember.channel_id == leads.id)
            )
        )
    assert {slack.emu.user("alice").id, slack.emu.user("dana").id} <= members
    assert slack.emu.user("bob").id not in members


def test_welcome_dm_is_queued_once_and_never_for_guests_or_bots(slack: Slack) -> None:
    erin = slack.emu.add_user("erin")
    ch = slack.emu.channel("eng")
    slack.emu.join("eng", "erin")
    joined = signing.member_joined_channel_event(erin.id, ch.id, team=slack.team_id)
    slack.event(joined)
    slack.event(
        signing.member_joined_channel_event(erin.id, slack.emu.channel("help").id, team=slack.team_id)
    )
    slack.event(signing.team_join_event(erin.to_api()))
    gus = slack.emu.user("gus")
    slack.event(signing.member_joined_channel_event(gus.id, ch.id, team=slack.team_id))
    slack.event(signing.member_joined_channel_event(slack.emu.user("otherbot").id, ch.id, team=slack.team_id))

    def welcomes() -> list[OutboxMessage]:
        with slack.db.session() as s:
            return list(
                s.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.like("welcome:%")))
            )

    slack.wait(welcomes, what="welcome queued")
    slack.settle(0.5)
    queued = welcomes()
    assert len(queued) == 1 and queued[0].payload["user"] == erin.id and queued[0].kind == "slack_dm"
    assert "<!channel>" not in str(queued[0].payload)


def test_welcome_dm_obeys_workspace_and_deployment_switches(slack: Slack) -> None:
    fay = slack.emu.add_user("fay")
    slack.event(
        signing.member_joined_channel_event(
            slack.emu.user("carol").id, slack.emu.channel("eng").id, team=slack.team_id
        )
    )
    slack.wait(lambda: _count(slack, Workspace) == 1, what="workspace")
    with slack.db.session() as s:
        s.scalars(select(Workspace)).one().welcome_dm = False
    slack.event(signing.team_join_event(fay.to_api()))
    slack.settle(0.5)
    with slack.db.session() as s:
        assert s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient_id.is_not(None))
        ) in (0, 1)
        fay_row = s.scalars(select(Member).where(Member.slack_user_id == fay.id)).one()
        assert fay_row.welcomed_at is None


def test_user_change_updates_tz_and_deactivation(slack: Slack) -> None:
    slack.command("interests add go", "carol")
    carol = slack.emu.update_user("carol", tz="Asia/Tokyo", deleted=True)
    slack.event(signing.user_change_event(carol.to_api()))

    def row() -> Member | None:
        with slack.db.session() as s:
            return s.scalars(
                select(Member).where(Member.slack_user_id == carol.id, Member.is_deleted.is_(True))
            ).first()

    member = slack.wait(row, what="deactivation")
    assert member.tz == "Asia/Tokyo"
    slack.emu.update_user("carol", deleted=False, tz=slack.emu.user("alice").tz)


def test_app_uninstalled_deactivates_the_workspace(slack: Slack) -> None:
    slack.command("interests add go", "alice")
    slack.event(signing.app_uninstalled_event())

    def inactive() -> bool:
        with slack.db.session() as s:
            return not s.scalars(select(Workspace)).one().active

    slack.wait(inactive, what="deactivated")
    from bot.slack.tokens import bot_token_for
    from tests.slack.harness import make_settings

    settings = make_settings(slack.emu, str(slack.db.engine.url))
    assert bot_token_for(slack.db, settings, slack.team_id) is None
    # Events for a deactivated workspace are acknowledged and ignored.
    slack.message("eng", "alice", f"after uninstall {ARTICLE}")
    slack.settle()
    assert _items(slack) == []
