"""/passiton through the real server: settings change, App Home shows them, bad input changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.models import Member, MemberTopic, Topic
from tests.slack.harness import Slack


def _topics(slack: Slack, user: str, kind: str) -> list[tuple[str, bool]]:
    uid = slack.emu.user(user).id
    with slack.db.session() as s:
        rows = s.execute(
            select(Topic.name, MemberTopic.public)
            .join(MemberTopic, MemberTopic.topic_id == Topic.id)
            .join(Member, Member.id == MemberTopic.member_id)
            .where(Member.slack_user_id == uid, MemberTopic.kind == kind)
            .order_by(Topic.name)
        ).all()
    return [(n, p) for n, p in rows]


def _home_text(slack: Slack, user: str) -> str:
    views = slack.emu.published_views(user)
    assert views, "no Home published"
    return str(views[-1]["blocks"])


def test_interests_and_expertise_by_command_show_on_home(slack: Slack) -> None:
    reply = slack.command("interests add Postgres, k8s ,  machine learning", "alice")
    assert reply["response_type"] == "ephemeral"
    assert "Postgres" in reply["text"] and "Kubernetes" in reply["text"]
    slack.command("expertise add terraform, postgresql", "alice")
    reply = slack.command("expertise public terraform", "alice")
    assert "named" in reply["text"]
    assert _topics(slack, "alice", "interest") == [
        ("kubernetes", False),
        ("machine learning", False),
        ("postgres", False),
    ]
    assert _topics(slack, "alice", "expertise") == [("postgres", False), ("terraform", True)]

    slack.wait(
        lambda: "Terraform (named in channels)" in str(slack.emu.published_views("alice")), what="home"
    )
    home = _home_text(slack, "alice")
    assert "Kubernetes" in home and "machine learning" in home
    # Opening the Home tab publishes it too.
    before = len(slack.emu.published_views("alice"))
    slack.event(
        {
            "type": "app_home_opened",
            "user": slack.emu.user("alice").id,
            "channel": "D1",
            "tab": "home",
            "event_ts": "1.0",
        }
    )
    slack.wait(lambda: len(slack.emu.published_views("alice")) > before, what="home on open")
    assert "[0-9]+ (shares|helped)" not in _home_text(slack, "alice")


def test_list_remove_and_settings_commands(slack: Slack) -> None:
    slack.command("interests add rust, go", "bob")
    assert "Go" in slack.command("interests list", "bob")["text"]
    assert "Removed" in slack.command("interests remove rust", "bob")["text"]
    assert _topics(slack, "bob", "interest") == [("go", False)]
    assert "Paused until" in slack.command("pause 2w", "bob")["text"]
    assert "Quiet hours set: 19:00–08:00" in slack.command("quiet 19:00-08:00", "bob")["text"]
    assert "email digest" in slack.command("via both", "bob")["text"]
    assert "weekly" in slack.command("digest weekly", "bob")["text"]
    with slack.db.session() as s:
        bob = s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user("bob").id)).one()
        assert (bob.quiet_start, bob.quiet_end, bob.delivery, bob.digest) == (
            19 * 60,
            8 * 60,
            "both",
            "weekly",
        )
        assert bob.paused_until is not None
        assert bob.tz == slack.emu.user("bob").tz  # profile fetched from users.info
    assert "Welcome back" in slack.command("resume", "bob")["text"]


def test_malformed_commands_get_friendly_errors_and_change_nothing(slack: Slack) -> None:
    slack.command("interests add postgres", "carol")
    cases = {
        "interests postgres": "/passiton interests add",
        "interests add postgres,,k8s": "separate topics",
        "pause forever": "pause 2w",
        "quiet 25:00-08:00": "19:00-08:00",
        "via pigeon": "via slack",
        "digest hourly": "digest daily",
        "who knows": "who knows terraform",
        "expertise public rust": "not in your expertise",
        "frobnicate": "/passiton help",
    }
    for text, hint in cases.items():
        reply = slack.command(text, "carol")
        assert reply["response_type"] == "ephemeral", text
        assert hint in reply["text"], (text, reply["text"])
    assert _topics(slack, "carol", "interest") == [("postgres", False)]
    assert _topics(slack, "carol", "expertise") == []


def test_half_valid_visibility_change_applies_nothing(slack: Slack) -> None:
    slack.command("expertise add postgres", "dana")
    reply = slack.command("expertise public postgres, rust", "dana")
    assert "not in your expertise" in reply["text"]
    assert _topics(slack, "dana", "expertise") == [("postgres", False)]


def test_help_fits_one_screen(slack: Slack) -> None:
    reply = slack.command("help", "alice")
    text = reply["text"]
    assert len(text.splitlines()) <= 16 and len(text) < 1800
    for word in (
        "interests",
        "expertise",
        "mute",
        "pause",
        "quiet",
        "via",
        "digest",
        "who knows",
        "ask",
        "export",
        "forget-me",
        "public",
    ):
        assert word in text


def test_who_knows_names_only_public_experts_privately(slack: Slack) -> None:
    slack.command("expertise add terraform", "bob")
    slack.command("expertise public terraform", "bob")
    slack.command("expertise add terraform", "carol")  # private: must not be named
    slack.emu.reset_calls()
    before = len(slack.emu.responses())
    slack.command("who knows Terraform?", "alice")  # answered through the response_url, after the ack
    reply = slack.wait(lambda: slack.emu.responses()[before:], what="who knows answer")[-1]
    reply = {**reply, "text": str(reply.get("blocks"))}
    assert reply["response_type"] == "ephemeral"
    bob, carol = slack.emu.user("bob"), slack.emu.user("carol")
    assert bob.display_name in reply["text"] or bob.real_name in reply["text"] or bob.name in reply["text"]
    assert carol.real_name not in reply["text"]
    assert "<@" not in reply["text"]  # named, not pinged


def test_mrkdwn_injection_in_topics_is_escaped(slack: Slack) -> None:
    reply = slack.command("interests add <!channel>, <@U0EVIL>, <https://evil.example|click>", "alice")
    blob = str(reply)
    assert "<!channel>" not in blob and "<@U0EVIL>" not in blob and "<https://evil" not in blob
    slack.wait(lambda: slack.emu.published_views("alice"), what="home")
    home = str(slack.emu.published_views("alice")[-1])
    assert "<!channel>" not in home and "<@U0EVIL>" not in home
