"""The pure pieces: the command parser and mrkdwn escaping."""

from __future__ import annotations

import pytest

from bot.messages.mrkdwn import escape, link, mention, quote
from bot.slack import commands_parse as cp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", cp.Help()),
        ("help", cp.Help()),
        ("interests", cp.ListTopics("interest")),
        ("interests list", cp.ListTopics("interest")),
        ("Interests ADD Postgres, k8s", cp.ChangeTopics("interest", "add", ("postgres", "kubernetes"))),
        ("expertise remove terraform", cp.ChangeTopics("expertise", "remove", ("terraform",))),
        ("expertise public terraform, k8s", cp.ExpertiseVisibility(True, ("terraform", "kubernetes"))),
        ("expertise private terraform", cp.ExpertiseVisibility(False, ("terraform",))),
        ("mute", cp.ListTopics("muted")),
        ("mute crypto, NFTs", cp.Mute(False, (), ("crypto", "NFTs"))),
        ("unmute crypto", cp.Mute(True, (), ("crypto",))),
        ("mute <@U0ABC|ben>, <@W0DEF> rust", cp.Mute(False, ("U0ABC", "W0DEF"), ("rust",))),
        ("mute @ben", cp.Mute(False, (), ("ben",))),
        ("mute topic ben", cp.Mute(False, (), ("ben",), topics_only=True)),
        ("unmute person ben", cp.Mute(True, (), ("ben",), people_only=True)),
        ("stop", cp.Via("off")),
        ("off", cp.Via("off")),
        ("Unsubscribe", cp.Via("off")),
        ("pause", cp.AskPause()),
        ("snooze", cp.AskPause()),
        ("snooze 3d", cp.Pause(3)),
        ("pause 2w", cp.Pause(14)),
        ("pause 3 days", cp.Pause(3)),
        ("resume", cp.Resume()),
        ("quiet 19:00-08:00", cp.Quiet(19 * 60, 8 * 60)),
        ("quiet 7pm to 7:30am", cp.Quiet(19 * 60, 7 * 60 + 30)),
        ("quiet off", cp.Quiet(None, None)),
        ("via email", cp.Via("email")),
        ("digest weekly", cp.Digest("weekly")),
        ("who knows about Kubernetes?", cp.WhoKnows("kubernetes")),
        ("ask looking for someone to review my talk", cp.Ask("looking for someone to review my talk")),
        ("export", cp.Export()),
        ("forget-me", cp.ForgetMe()),
        ("forget me", cp.ForgetMe()),
    ],
)
def test_parses(text: str, expected: cp.Command) -> None:
    assert cp.parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("interests postgres", "/passiton interests add"),
        ("interests add", "Say which topics"),
        ("interests add ,", "separate topics"),
        ("expertise shout rust", "public"),
        ("pause soon", "pause 2w"),
        ("snooze for a bit", "snooze 2w"),
        ("pause 0d", "pause 2w"),
        ("stop it", "takes nothing"),
        ("mute <#C123|eng>", "mentioning them"),
        ("mute topic <@U0ABC>", "takes topics"),
        ("pause 60w", "26 weeks"),
        ("quiet 19:00", "19:00-08:00"),
        ("quiet 10:00-10:00", "differ"),
        ("via carrier-pigeon", "via slack"),
        ("digest", "digest daily"),
        ("who is here", "who knows terraform"),
        ("ask", "ask looking for"),
        ("export now", "takes nothing"),
        ("forget you", "forget-me"),
        ("<!channel> hi", "/passiton help"),
    ],
)
def test_errors_say_what_to_type(text: str, hint: str) -> None:
    with pytest.raises(cp.ParseError) as info:
        cp.parse_command(text)
    assert hint in str(info.value)


def test_errors_never_echo_control_sequences() -> None:
    for text in ("<!channel>", "interests <@U123|x>", "interests add " + "<!here>" * 20):
        try:
            cp.parse_command(text)
        except cp.ParseError as exc:
            assert "<!" not in str(exc) and "<@" not in str(exc)


def test_escape_and_links() -> None:
    assert escape("a & <!channel> <@U1>") == "a &amp; &lt;!channel&gt; &lt;@U1&gt;"
    assert escape(escape("&")) == "&amp;amp;"  # escaping is not idempotent: do it exactly once, at render
    assert (
        link("https://example.com/a?b=1&c=2", "A <b>|c")
        == "<https://example.com/a?b=1&amp;c=2|A &lt;b&gt;¦c>"
    )
    assert link("javascript:alert(1)", "x") == "javascript:alert(1)"
    assert link("https://x.example/<!channel>", "x").startswith("https://x.example/&lt;")
    assert quote("<!here>\nsecond") == "> &lt;!here&gt;\n> second"
    assert mention("U123ABC") == "<@U123ABC>"
    with pytest.raises(ValueError):
        mention("U1> <!channel")
