from __future__ import annotations

import pytest

from bot.answers.detect import detect, find_topics, resolve_topics

KNOWN = ["postgres", "terraform", "kubernetes", "machine learning", "rust", "graphql"]


@pytest.mark.parametrize(
    ("text", "phrase", "topics"),
    [
        ("who knows about postgres?", "postgres", ["postgres"]),
        ("Who here knows anything about Terraform modules?", "terraform module", ["terraform"]),
        ("does anyone know PostgreSQL well?", "postgres", ["postgres"]),
        ("Does anybody know k8s", "kubernetes", ["kubernetes"]),
        ("anyone have experience with k8s operators?", "kubernetes operator", ["kubernetes"]),
        ("Anyone got any experience in ML? asking for a friend", "machine learning", ["machine learning"]),
        ("who has experience with <https://www.rust-lang.org|Rust>?", "rust", ["rust"]),
        ("is there anyone familiar with GraphQL federation?", "graphql federation", ["graphql"]),
        ("who is an expert on the new design system, or similar", "new design system", ["new design system"]),
        ("Does anyone know how to tune autovacuum in pg?", None, ["postgres"]),
    ],
)
def test_who_knows_questions(text: str, phrase: str | None, topics: list[str]) -> None:
    detected = detect(text, "UBOT")
    assert detected is not None and not detected.via_mention
    assert detected.phrase == phrase
    assert resolve_topics(detected, KNOWN) == topics


@pytest.mark.parametrize(
    "text",
    [
        "I know postgres pretty well",
        "lunch anyone?",
        "who wants coffee",
        "we should know about terraform",
        "thanks everyone!",
        "hey <@UBOT>",
        "<@UOTHER> how do I tune autovacuum?",
        "Use partial indexes for that. cc <@U07ARJUN> who knows this better than me",
        "ask <@U07ARJUN|arjun> who knows about postgres more than anyone",
        "lol who knows what design wants this week",
        "who knows why the build is red again, terraform maybe",
        "anyone know where the postgres slides went?",
    ],
)
def test_other_messages_are_not_questions(text: str) -> None:
    assert detect(text, "UBOT") is None


def test_a_question_to_the_bot_finds_known_topics_anywhere() -> None:
    detected = detect("<@UBOT> how do we size a Kubernetes cluster for Postgres?", "UBOT")
    assert detected is not None and detected.via_mention and detected.phrase is None
    assert detected.text == "how do we size a Kubernetes cluster for Postgres?"
    assert resolve_topics(detected, KNOWN) == ["kubernetes", "postgres"]
    assert resolve_topics(detected, []) == []


def test_the_asked_phrase_is_the_topic_not_a_word_elsewhere() -> None:
    detected = detect("who knows about the new billing flow? it touches postgres", "UBOT")
    assert detected is not None and detected.phrase == "new billing flow"
    assert resolve_topics(detected, KNOWN) == ["new billing flow"]  # not postgres, said after the question
    intro = detect("Anyone know a good intro to Kubernetes networking? Services are magic to me", "UBOT")
    assert intro is not None and resolve_topics(intro, KNOWN) == ["kubernetes"]  # the rest of the sentence
    long = detect("who knows about the old postgres replication setup we ran last year?", "UBOT")
    assert long is not None and long.phrase is None
    assert resolve_topics(long, KNOWN) == ["postgres"]  # found inside what was asked


def test_find_topics_prefers_longer_and_whole_words() -> None:
    assert find_topics("intro to machine learning with rust", ["learning", "machine learning", "rust"]) == [
        "machine learning",
        "rust",
    ]
    assert find_topics("trusty old tools", ["rust"]) == []
    assert find_topics("PostgreSQL 17 notes", ["postgres"]) == ["postgres"]


def test_find_topics_gives_the_same_from_the_cache_as_cold() -> None:
    from bot.answers.detect import CACHED_TEXT_CHARS, _padded, padded_words

    texts = [
        "Intro to Machine Learning with Rust",
        "PostgreSQL on k8s",
        "x " * CACHED_TEXT_CHARS + " postgres",
    ]
    for text in texts:
        cold = _padded(text)
        assert padded_words(text) == cold and padded_words(text) == cold  # miss, then hit
    assert find_topics(texts[1], KNOWN) == ["postgres", "kubernetes"] == find_topics(texts[1], KNOWN)
    assert find_topics(texts[2], KNOWN) == ["postgres"]


def test_a_question_after_greeting_someone_is_still_a_question() -> None:
    found = detect("hey <@U07ARJUN>, who knows about postgres?", "UBOT")
    assert found is not None and found.phrase == "postgres"
