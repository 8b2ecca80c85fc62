"""Property tests over every Block Kit builder that renders member text: whatever names, titles, notes,
topics, reasons or summaries members (or an LLM, or a web page) supply, the mrkdwn that comes out holds no
control sequence the builder was not given on purpose.

A builder may emit `<@U…>` only for user ids passed to it as ids, and `<url|label>` only for URLs passed
to it as URLs; `<!channel>`, `<!here>`, `<#C…>` or any other `<…>` can only have come from member text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers.compose import Expert, RelatedCandidate, compose_answer, render_summary
from bot.answers.service import AskStatus, ask_status_blocks
from bot.messages.nudges import (
    FEEDBACK_OF,
    NudgeView,
    continue_blocks,
    nudge_blocks,
    nudge_text,
    resolved_blocks,
)
from bot.messages.replies import error, forget_confirm_blocks, reply, welcome_blocks
from bot.slack.blocks.help import HELP_TEXT, help_blocks
from bot.slack.blocks.home import home_view
from bot.slack.blocks.modals import (
    ItemPreview,
    PassItOnTarget,
    pass_it_on_modal,
    settings_modal,
    topics_modal,
    who_could_help_modal,
)
from bot.slack.member_settings import MemberState
from bot.slack.passing import share_blocks

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOSTILE = [
    "<!channel>", "<!here>", "<!everyone>", "<@U0123ABC>", "<@W99|boss>", "<#C0123|general>",
    "<https://evil.example|click>", "<https://evil.example>", "<mailto:a@b.example|mail>", "<!subteam^S1|@team>",
    "<!date^1392734382^{date}|x>", "&lt;!channel&gt;", "&", "<", ">", "|", "*", "_", "~", "`", "```", "\n",
    "\u202e", "\x00", "@channel", "@here", "https://ok.example/a?b=1&c=<@U1>",
]  # fmt: skip
text = st.lists(st.one_of(st.text(max_size=15), st.sampled_from(HOSTILE)), max_size=8).map("".join)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.com/post?a=1&b=2",
            "https://example.com/<!channel>",
            "https://x.example|<!here>",
            "https://x.example/ spaced",
            "javascript:alert(1)",
            "http://x.example/>",
        ]
    ),
    st.builds(lambda s: "https://site.example/" + s, text),
)
slack_ids = st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True)
SEQUENCE = re.compile(r"<([^>]*)>")


def mrkdwn_texts(value: Any) -> Iterable[str]:
    """Every string Slack reads as mrkdwn: text objects of type mrkdwn, anywhere in the structure."""
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            yield value["text"]
        for inner in value.values():
            yield from mrkdwn_texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from mrkdwn_texts(inner)


CITATION = re.compile(r"\[(\d+|\?)\]")
QUOTE_MARK = re.compile(r"^>", re.M)  # Slack's block quote: `>` at the start of a line


def assert_inert(
    mrkdwn: str, *, ids: Iterable[str] = (), links: Iterable[str | None] = (), citations: bool = False
) -> None:
    """Only the given ids may be mentioned and only the given URLs linked; no other `<`/`>` may remain.

    `citations`: an LLM summary's numbered citations (`<url|[2]>`) are allowed; their URLs were checked
    against the cited permalinks before rendering (bot/llm/tasks.py) and their label cannot disguise them.
    """
    allowed_ids = set(ids)
    allowed_urls = {u for u in links if u}
    for match in SEQUENCE.finditer(mrkdwn):
        inner = match.group(1)
        if inner.startswith("@"):
            assert inner[1:] in allowed_ids, (inner, mrkdwn)
            continue
        assert not inner.startswith(("!", "#")), (inner, mrkdwn)
        url, _, label = inner.partition("|")
        if citations and url.startswith(("http://", "https://")) and CITATION.fullmatch(label):
            continue
        assert url.replace("&amp;", "&") in allowed_urls, (url, mrkdwn)
        assert "<" not in label, (label, mrkdwn)
    leftover = QUOTE_MARK.sub("", SEQUENCE.sub("", mrkdwn))
    assert "<" not in leftover and ">" not in leftover, mrkdwn


def assert_all_inert(
    value: Any, *, ids: Iterable[str] = (), links: Iterable[str | None] = (), citations: bool = False
) -> None:
    ids, links = list(ids), list(links)
    for mrkdwn in mrkdwn_texts(value):
        assert_inert(mrkdwn, ids=ids, links=links, citations=citations)


# -- nudge DMs ------------------------------------------------------------------------------------

views = st.builds(
    NudgeView,
    nudge_id=st.integers(min_value=1, max_value=2**31),
    kind=st.sampled_from(["share", "help"]),
    reason=text,
    title=text,
    url=urls,
    channel_name=st.none() | text,
    text=text,
    topic_label=st.none() | text,
    target_name=st.none() | text,
    asker_name=st.none() | text,
)


@PROPS
@given(view=views, feedback=st.sampled_from(sorted(set(FEEDBACK_OF.values()))), question=text)
def test_nudge_dms(view: NudgeView, feedback: str, question: str) -> None:
    assert_all_inert(nudge_blocks(view), links=[view.url])
    assert_all_inert(resolved_blocks(view, feedback), links=[view.url])
    assert_inert(nudge_text(view))  # the notification text is mrkdwn too
    assert_all_inert(continue_blocks(question))


# -- App Home and modals ----------------------------------------------------------------------------

states = st.builds(
    MemberState,
    interests=st.lists(text, max_size=5),
    expertise=st.lists(st.tuples(text, st.booleans()), max_size=5),
    muted=st.lists(text, max_size=5),
    delivery=st.sampled_from(["slack", "email", "both", "off"]),
    digest=st.sampled_from(["daily", "weekly"]),
    paused_until=st.none() | st.just(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
    quiet_start=st.none() | st.integers(0, 1439),
    quiet_end=st.none() | st.integers(0, 1439),
    weekends_off=st.booleans(),
    tz=text,
)


@PROPS
@given(state=states, kind=st.sampled_from(["interest", "expertise", "muted"]))
def test_home_and_settings_modals(state: MemberState, kind: str) -> None:
    assert_all_inert(home_view(state, dt.datetime(2025, 6, 1, tzinfo=dt.UTC)))
    assert_all_inert(topics_modal(kind, state))
    assert_all_inert(settings_modal(state))


@PROPS
@given(
    title=text, body=text, url=urls, channel=text, private=st.booleans(), draft=st.none() | text,
    users=st.lists(slack_ids, max_size=3),
    found=st.dictionaries(text, st.lists(text, max_size=3), max_size=3), seen=st.lists(text, max_size=3),
)  # fmt: skip
def test_pass_it_on_and_who_could_help_modals(
    title: str, body: str, url: str | None, channel: str, private: bool, draft: str | None,
    users: list[str], found: dict[str, list[str]], seen: list[str],
) -> None:  # fmt: skip
    preview = ItemPreview(title=title, text=body, url=url, channel_name=channel, is_private=private)
    modal = pass_it_on_modal(PassItOnTarget("C1", "1.0", 1, 2), preview, users, draft)
    assert_all_inert(modal, links=[url])
    assert_all_inert(who_could_help_modal(found, seen))


# -- in-channel answers, asks, the passed-on message -------------------------------------------------

related = st.builds(
    RelatedCandidate,
    item_id=st.integers(1, 10_000),
    title=text,
    text=text,
    permalink=st.builds(lambda s: "https://passiton-test.slack.com/archives/C1/p" + s, st.from_regex(r"[0-9]{1,16}", fullmatch=True)),
    channel_id=st.integers(1, 5),
    is_private=st.just(False),
    score=st.floats(0, 1),
)  # fmt: skip


@PROPS
@given(
    topics=st.lists(text, max_size=3),
    experts=st.lists(st.builds(Expert, member_id=st.integers(1, 100), name=text), max_size=10),
    items=st.lists(related, max_size=4),
    names=st.dictionaries(st.integers(1, 5), text, max_size=5),
    summary=st.none() | text,
    private=st.booleans(),
)
def test_in_channel_answers(
    topics: list[str], experts: list[Expert], items: list[RelatedCandidate], names: dict[int, str],
    summary: str | None, private: bool,
) -> None:  # fmt: skip
    answer = compose_answer(topics, experts, items, names, summary=summary, private=private)
    if answer is None:
        return
    permalinks = [c.permalink for c in items]
    assert_all_inert(answer.blocks, links=permalinks, citations=True)
    assert_inert(answer.text, links=permalinks, citations=True)  # the notification text


@PROPS
@given(summary=text, items=st.lists(related, max_size=3))
def test_llm_summary_cannot_smuggle_control_sequences(summary: str, items: list[RelatedCandidate]) -> None:
    rendered = render_summary(summary, items)
    # The summary may cite URLs as numbered links; whatever it cites, nothing pings and nothing hides.
    for match in SEQUENCE.finditer(rendered):
        url, _, label = match.group(1).partition("|")
        assert url.startswith(("http://", "https://")) and re.fullmatch(r"\[(\d+|\?)\]", label), rendered
    assert "<" not in SEQUENCE.sub("", rendered)


@PROPS
@given(named=st.lists(text, max_size=4), asked=st.integers(0, 5), waiting=st.integers(0, 5))
def test_ask_status(named: list[str], asked: int, waiting: int) -> None:
    status = AskStatus(item_id=1, asked=asked, waiting=waiting, named=tuple(named), engaged=1, closed=False)
    assert_all_inert(ask_status_blocks(status))


@PROPS
@given(giver=slack_ids, recipient=slack_ids, note=text, title=text)
def test_passed_on_message(giver: str, recipient: str, note: str, title: str) -> None:
    permalink = "https://passiton-test.slack.com/archives/C1/p1"
    fallback, blocks = share_blocks(giver, recipient, note, permalink, title)
    assert_all_inert(blocks, ids=[giver, recipient], links=[permalink])
    # The fallback shows the permalink bare (Slack links it); no other sequence.
    assert_inert(fallback.replace(permalink, ""), ids=[giver, recipient])


@PROPS
@given(message=text)
def test_replies_escape_nothing_themselves_so_callers_must(message: str) -> None:
    """reply()/error() take mrkdwn the caller built; the parser's errors are checked in test_fuzz_parsers.
    Here: the static messages (help, welcome, forget-me) hold no stray sequences."""
    for blocks in (help_blocks(), welcome_blocks(), forget_confirm_blocks(), reply("ok"), error("no")):
        assert_all_inert(blocks)
    assert_inert(HELP_TEXT)
