"""Home buttons, modals and shortcuts through the real server and the emulator's views."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.slack.blocks import home as home_ids
from bot.store.models import Item, ItemReach, Member, Nudge
from tests.slack.harness import Slack

ARTICLE = "<https://example.com/blog/postgres-vacuum-tuning|Postgres vacuum tuning>"


def _last_modal(slack: Slack, user: str, before: int) -> dict[str, Any]:
    slack.wait(lambda: len(slack.emu.opened_views(user)) > before, what="modal")
    return slack.emu.opened_views(user)[-1]


def _member(slack: Slack, user: str) -> Member:
    with slack.db.session() as s:
        return s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(user).id)).one()


def _settings_values(
    delivery: str = "slack", quiet: str = "", weekends_off: bool = False, pause: str = "keep"
) -> dict[str, Any]:
    return {
        "delivery": {"delivery": {"type": "radio_buttons", "selected_option": {"value": delivery}}},
        "digest": {"digest": {"type": "radio_buttons", "selected_option": {"value": "daily"}}},
        "quiet": {"quiet": {"type": "plain_text_input", "value": quiet}},
        "pause": {"pause": {"type": "static_select", "selected_option": {"value": pause}}},
        "weekends": {
            "weekends": {
                "type": "checkboxes",
                "selected_options": [{"value": "weekends_off"}] if weekends_off else [],
            }
        },
    }


def test_home_buttons_open_modals_and_bad_input_gets_field_errors(slack: Slack) -> None:
    slack.command("interests add design", "alice")
    before = len(slack.emu.opened_views("alice"))
    assert slack.click(home_ids.EDIT_INTERESTS, "alice").status_code == 200
    modal = _last_modal(slack, "alice", before)
    assert modal["callback_id"] == "edit_topics" and "design" in str(modal["blocks"])

    bad = slack.submit(
        modal, {"topics": {"topics": {"type": "plain_text_input", "value": "rust,,go"}}}, "alice"
    )
    assert (
        bad.status_code == 200
        and bad.json()["response_action"] == "errors"
        and "topics" in bad.json()["errors"]
    )
    assert _member(slack, "alice").opted_in  # unchanged, still just design
    ok = slack.submit(
        modal, {"topics": {"topics": {"type": "plain_text_input", "value": "Rust, go"}}}, "alice"
    )
    assert ok.status_code == 200 and not ok.content.strip(b" {}")
    slack.wait(lambda: "Rust" in str(slack.emu.published_views("alice")[-1]), what="home after modal")
    assert "design" not in str(slack.emu.published_views("alice")[-1]["blocks"][3])

    before = len(slack.emu.opened_views("alice"))
    slack.click(home_ids.EDIT_SETTINGS, "alice")
    settings_modal = _last_modal(slack, "alice", before)
    bad = slack.submit(settings_modal, _settings_values(quiet="late-ish"), "alice")
    assert bad.json()["response_action"] == "errors" and "quiet" in bad.json()["errors"]
    no_email = slack.emu.add_user("noemail", email=None)
    slack.command("interests add go", "noemail")
    before = len(slack.emu.opened_views("noemail"))
    slack.click(home_ids.EDIT_SETTINGS, "noemail")
    refused = slack.submit(
        _last_modal(slack, "noemail", before), _settings_values(delivery="email"), "noemail"
    )
    assert refused.json()["response_action"] == "errors" and "delivery" in refused.json()["errors"]
    assert no_email.id
    assert _member(slack, "noemail").delivery == "slack"


def test_question_reaches_an_expert_who_allows_weekends(slack: Slack) -> None:
    """End to end: expertise by command, weekends on by the settings modal, question in #help -> help nudge."""
    slack.command("expertise add postgres", "bob")
    before = len(slack.emu.opened_views("bob"))
    slack.click(home_ids.EDIT_SETTINGS, "bob")
    resp = slack.submit(_last_modal(slack, "bob", before), _settings_values(weekends_off=False), "bob")
    assert resp.status_code == 200
    slack.wait(lambda: not _member(slack, "bob").weekends_off, what="weekends on")
    slack.message("help", "alice", "How do I tune autovacuum on a busy Postgres table?")

    def nudges() -> list[Nudge]:
        with slack.db.session() as s:
            return list(s.scalars(select(Nudge).where(Nudge.kind == "help")))

    planned = slack.wait(nudges, timeout=20, what="help nudge")
    assert [n.recipient_id for n in planned] == [_member(slack, "bob").id]


def test_pass_it_on_lands_in_a_conversation_between_giver_and_recipient(slack: Slack) -> None:
    slack.command("interests add postgres", "carol")
    posted, _ = slack.message("eng", "alice", f"good one <!channel> {ARTICLE}")

    def stored() -> list[Item]:
        with slack.db.session() as s:
            return list(s.scalars(select(Item).where(Item.slack_ts == posted["ts"])))

    slack.wait(stored, what="article stored")  # events are handled after the ack, on a worker
    before = len(slack.emu.opened_views("bob"))
    assert slack.shortcut("pass_it_on", posted, "bob", "eng").status_code == 200
    modal = _last_modal(slack, "bob", before)
    assert modal["callback_id"] == "pass_it_on_submit"
    assert "<!channel>" not in str(modal["blocks"])

    note = "Thought of you <!channel> <@U0EVIL> <https://evil.example|click> & co"
    values = {
        "recipients": {
            "recipients": {"type": "multi_users_select", "selected_users": [slack.emu.user("carol").id]}
        },
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
    resp = slack.submit(modal, values, "bob")
    assert resp.status_code == 200 and "errors" not in resp.text
    conv = slack.wait(lambda: slack.emu.conversation_between("bob", "carol"), what="mpim")
    msgs = slack.wait(lambda: slack.emu.messages(conv.id), what="shared message")
    blob = str(msgs[-1])
    assert f"<@{slack.emu.user('bob').id}>" in blob  # attributed to the giver
    assert "&lt;!channel&gt;" in blob and "<!channel>" not in blob
    assert "<@U0EVIL>" not in blob and "<https://evil" not in blob and "&amp; co" in blob
    assert "/archives/" in blob or "slack" in blob  # the permalink

    def passed() -> set[tuple[int, str]]:
        with slack.db.session() as s:
            return {(r.member_id, r.how) for r in s.scalars(select(ItemReach))}

    # The article has now reached carol: no share nudge will name her for it ("seen" is an act).
    slack.wait(lambda: (_member(slack, "carol").id, "passed") in passed(), what="reach recorded")


def test_private_channel_content_is_never_passed_to_a_non_member(slack: Slack) -> None:
    posted, _ = slack.message("leads", "alice", f"confidential {ARTICLE}")
    before = len(slack.emu.opened_views("dana"))
    slack.shortcut("pass_it_on", posted, "dana", "leads")
    modal = _last_modal(slack, "dana", before)
    assert "private" in str(modal["blocks"])
    values = {
        "recipients": {
            "recipients": {"type": "multi_users_select", "selected_users": [slack.emu.user("bob").id]}
        },
        "note": {"note": {"type": "plain_text_input", "value": "fyi"}},
    }
    opened = len(slack.emu.opened_views("dana"))
    resp = slack.submit(modal, values, "dana")
    assert resp.status_code == 200 and resp.json()["response_action"] == "update"  # closes at once
    # The membership check needs Slack, so it runs after the ack and puts the form back with why.
    retry = slack.wait(
        lambda: [v for v in slack.emu.opened_views("dana")[opened:] if "not in" in str(v["blocks"])],
        what="the form again, with the reason",
    )[-1]
    assert retry["callback_id"] == "pass_it_on_submit" and slack.emu.user("bob").id in str(retry["blocks"])
    slack.quiesce()
    assert slack.emu.conversation_between("dana", "bob") is None
    # A member of the channel may receive it.
    values["recipients"]["recipients"]["selected_users"] = [slack.emu.user("alice").id]
    before = len(slack.emu.opened_views("dana"))
    slack.shortcut("pass_it_on", posted, "dana", "leads")
    modal = _last_modal(slack, "dana", before)
    assert "errors" not in slack.submit(modal, values, "dana").text
    slack.wait(lambda: slack.emu.conversation_between("dana", "alice"), what="mpim with a member")


def test_who_could_help_shows_public_experts_privately(slack: Slack) -> None:
    slack.command("expertise add postgres", "carol")
    slack.command("expertise public postgres", "carol")
    slack.command("expertise add postgres", "dana")  # not public: never named
    posted, _ = slack.message("help", "alice", "How do I tune autovacuum on a busy Postgres table?")
    before = len(slack.emu.opened_views("bob"))
    slack.shortcut("who_could_help", posted, "bob", "help")
    modal = _last_modal(slack, "bob", before)
    text = str(modal["blocks"])
    carol, dana = slack.emu.user("carol"), slack.emu.user("dana")
    assert (carol.display_name or carol.real_name) in text
    assert (dana.display_name or dana.real_name) not in text
    assert "<@" not in text


def test_forget_me_asks_first_then_deletes_everything(slack: Slack) -> None:
    slack.command("interests add go, rust", "dana")
    slack.message("help", "dana", "Does anyone know a good Rust profiler?")
    from bot.store.models import Item, MemberTopic

    def item_stored() -> bool:
        with slack.db.session() as s:
            return s.scalars(select(Item)).first() is not None

    slack.wait(item_stored, what="question stored")
    slack.quiesce()  # let the after-ack work on it finish: forget-me is about what is stored
    reply = slack.command("forget-me", "dana")
    assert "forget_me_confirm" in str(reply["blocks"])
    assert _member(slack, "dana")  # nothing deleted before the confirmation
    slack.click("forget_me_confirm", "dana", channel="general")
    slack.wait(lambda: slack.emu.responses(), what="confirmation reply")

    def gone() -> bool:
        with slack.db.session() as s:
            return (
                s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user("dana").id)).first()
                is None
            )

    slack.wait(gone, what="member deleted")

    with slack.db.session() as s:
        assert s.scalars(select(MemberTopic)).first() is None
        # Only her item: a late after-ack write from the previous test may leave someone else's.
        assert s.scalars(select(Item).where(Item.text.like("%Rust profiler%"))).first() is None


def test_export_sends_the_members_data_by_dm(slack: Slack) -> None:
    slack.command("interests add <!here> design", "alice")
    reply = slack.command("export", "alice")
    assert "direct message" in reply["text"]
    dms = slack.wait(lambda: [m for m in slack.emu.dms_to("alice") if "```" in m["text"]], what="export DM")
    assert '"interest"' in dms[0]["text"] or "interest" in dms[0]["text"]
    assert "<!here>" not in str(dms)


def test_pass_it_on_from_a_nudge_is_prefilled_and_marks_the_nudge_acted(slack: Slack) -> None:
    """The nudge DM's button opens the same modal (open_pass_it_on_modal); sending records `shared`."""
    from bot.slack.app import web_client
    from bot.slack.blocks.modals import open_pass_it_on_modal
    from bot.store.models import Feedback, Item

    slack.command("interests add postgres", "carol")
    posted, _ = slack.message("eng", "alice", f"vacuum, finally explained {ARTICLE}")
    item = slack.wait(lambda: _items_of(slack), what="item")[0]
    bob, carol = _member(slack, "bob"), _member(slack, "carol")
    with slack.db.session() as s:
        nudge = Nudge(workspace_id=item.workspace_id, dedupe_key="share:test", kind="share", recipient_id=bob.id,
                      item_id=item.id, target_id=carol.id, status="sent")  # fmt: skip
        s.add(nudge)
        s.flush()
        nudge_id = nudge.id
    client = web_client(slack.emu.url, slack.emu.bot_token)
    before = len(slack.emu.opened_views("bob"))
    open_pass_it_on_modal(client, slack.emu.issue_trigger_id("bob"), item, [slack.emu.user("carol").id],
                          draft="You asked about vacuum last week", channel_name="eng", nudge_id=nudge_id)  # fmt: skip
    modal = _last_modal(slack, "bob", before)
    assert slack.emu.user("carol").id in str(modal["blocks"]) and "vacuum last week" in str(modal["blocks"])
    values = {
        "recipients": {
            "recipients": {"type": "multi_users_select", "selected_users": [slack.emu.user("carol").id]}
        },
        "note": {"note": {"type": "plain_text_input", "value": "You asked about vacuum last week"}},
    }
    assert "errors" not in slack.submit(modal, values, "bob").text

    def acted() -> bool:
        with slack.db.session() as s:
            return s.get(Nudge, nudge_id).status == "acted"  # type: ignore[union-attr]

    slack.wait(acted, what="nudge acted")
    with slack.db.session() as s:
        assert s.scalars(select(Feedback.kind).where(Feedback.nudge_id == nudge_id)).all() == ["shared"]
    assert slack.emu.conversation_between("bob", "carol") is not None
    assert isinstance(posted, dict) and Item


def _items_of(slack: Slack) -> list[Any]:
    from bot.store.models import Item

    with slack.db.session() as s:
        return list(s.scalars(select(Item)))
