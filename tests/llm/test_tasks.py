"""Classification, draft notes and grounded summaries, each checked on what the model sends back."""

from __future__ import annotations

import pytest

from bot.llm.client import LLMClient
from bot.llm.tasks import CLASSIFY_SYSTEM, DRAFT_SYSTEM, SUMMARY_SYSTEM, ItemBrief, LLMTasks, cap, defang
from bot.matching.classify import classify
from tests.support.openai_server import OpenAIServer, system_prompt, user_data

P1 = "https://passiton-test.slack.com/archives/C1/p1700000000000100"
P2 = "https://passiton-test.slack.com/archives/C2/p1700000000000200"
ITEMS = [
    ItemBrief(title="Autovacuum tuning", text="Lower the scale factor on big tables.", permalink=P1),
    ItemBrief(title="Postgres 17 notes", text="Incremental backups arrive.", permalink=P2),
]


@pytest.fixture
def tasks(openai_server: OpenAIServer) -> LLMTasks:
    return LLMTasks(LLMClient(api_key="sk-test", model="m", base_url=openai_server.url, timeout=2))


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("question", "question"),
        ("Ask.", "ask"),
        (" ARTICLE\n", "article"),
        ("chatter", "chatter"),
        ("I think it is a question", None),
        ("spam", None),
    ],
)
def test_classify_accepts_only_the_four_kinds(
    tasks: LLMTasks, openai_server: OpenAIServer, answer: str, expected: str | None
) -> None:
    openai_server.reply(answer, when="Decide what the message")
    assert tasks.classify_item("how do I tune autovacuum?", False) == expected
    [body] = openai_server.chat_requests()
    assert system_prompt(body).startswith(CLASSIFY_SYSTEM)
    assert user_data(body)["untrusted_data"] == {"message": "how do I tune autovacuum?", "has_link": False}


def test_classifier_seam_falls_back_to_heuristics(tasks: LLMTasks, openai_server: OpenAIServer) -> None:
    openai_server.reply("ask")
    assert classify("lunch was great today everyone", False, llm=tasks.classify_item) == "ask"
    openai_server.fail(429, retry_after=5)
    assert classify("how do I tune autovacuum on a big table?", False, llm=tasks.classify_item) == "question"
    openai_server.reply("definitely spam")
    assert classify("how do I tune autovacuum on a big table?", False, llm=tasks.classify_item) == "question"


def test_draft_note_is_grounded_short_and_defanged(tasks: LLMTasks, openai_server: OpenAIServer) -> None:
    openai_server.reply(
        "<!channel> Bob, @here this piece on autovacuum https://evil.example/x fits your Postgres work <@U999>. "
        + "More words " * 60,
        when=DRAFT_SYSTEM[:40],
    )
    note = tasks.draft_note(
        ItemBrief(title="Autovacuum tuning", text="Lower the scale factor.", url="https://blog.example/av"),
        giver="Alice",
        recipient="Bob",
        topic="postgres",
    )
    assert note is not None and len(note) <= 300 and note.endswith("…")
    assert "<" not in note and "evil.example" not in note and "@here" not in note
    assert note.startswith("Bob, @\u2060here this piece on autovacuum")
    data = user_data(openai_server.chat_requests()[0])["untrusted_data"]
    assert (
        data["giver"] == "Alice"
        and data["recipient"] == "Bob"
        and data["recipient_cares_about"] == "postgres"
    )


def test_draft_note_failure_is_none(tasks: LLMTasks, openai_server: OpenAIServer) -> None:
    openai_server.fail(500)
    assert tasks.draft_note(ITEMS[0], "Alice", "Bob", None) is None


def test_summary_citing_only_given_permalinks_is_kept(tasks: LLMTasks, openai_server: OpenAIServer) -> None:
    openai_server.reply(
        f"Big tables need a lower autovacuum scale factor <{P1}|item 1>. Postgres 17 adds incremental backups [2]({P2}).",
        when=SUMMARY_SYSTEM[:40],
    )
    summary = tasks.summarise_related("who knows about postgres?", ITEMS)
    assert summary == (
        f"Big tables need a lower autovacuum scale factor {P1}. Postgres 17 adds incremental backups {P2}."
    )
    data = user_data(openai_server.chat_requests()[0])["untrusted_data"]
    assert [i["permalink"] for i in data["items"]] == [P1, P2]
    assert data["question"] == "who knows about postgres?"


@pytest.mark.parametrize(
    "answer",
    [
        f"Tune autovacuum {P1}. See also https://evil.example/phish for more.",  # a URL not given
        "Tune autovacuum on big tables.",  # no citation at all
        f"Tune it {P1.replace('C1', 'C9')}.",  # a look-alike permalink
        "NONE",
        f"Tune autovacuum {P1}. " + "Blah " * 200,  # too long to keep whole
    ],
)
def test_summary_is_dropped_unless_grounded(
    tasks: LLMTasks, openai_server: OpenAIServer, answer: str
) -> None:
    openai_server.reply(answer)
    assert tasks.summarise_related("q", ITEMS) is None


def test_summary_without_permalinks_does_not_call(tasks: LLMTasks, openai_server: OpenAIServer) -> None:
    assert tasks.summarise_related("q", [ItemBrief(title="t", text="x")]) is None
    assert openai_server.requests == []


def test_defang_and_cap() -> None:
    assert defang("hi <!here> <@U1|bob> <#C1|eng> @channel\x00 now") == "hi @\u2060channel now"
    assert cap("one two three four", 10) == "one two…"
    assert cap("short", 10) == "short"
