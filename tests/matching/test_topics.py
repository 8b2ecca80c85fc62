from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.matching.topics import (
    PHRASE_ALIASES,
    WORD_ALIASES,
    normalise_topic,
    normalised_words,
    parse_topic_list,
    topic_label,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Postgres", "postgres"),
        ("PostgreSQL", "postgres"),
        ("pg", "postgres"),
        ("  K8s ", "kubernetes"),
        ("Kubernetes", "kubernetes"),
        ("analytics", "analytics"),
        ("CSS", "css"),
        ("AWS", "aws"),
        ("Databases", "database"),
        ("libraries", "library"),
        ("Data   Pipelines!", "data pipeline"),
        ("Node.js", "node"),
        ("JS", "javascript"),
        ("ts", "typescript"),
        ("ML", "machine learning"),
        ("machine-learning", "machine learning"),
        ("tf", "terraform"),
        ("C++", "c++"),
        (".NET", "dotnet"),
        ("Ｐｏｓｔｇｒｅｓ", "postgres"),  # full-width letters fold
    ],
)
def test_normalise_topic(raw: str, expected: str) -> None:
    assert normalise_topic(raw) == expected


def test_alias_targets_are_fixed_points() -> None:
    for target in [*WORD_ALIASES.values(), *PHRASE_ALIASES.values()]:
        assert normalise_topic(target) == target, target


@given(st.text(max_size=80))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalise_topic(text)
    assert normalise_topic(once) == once


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz sS.-", max_size=40))
def test_normalised_words_are_lowercase_words(text: str) -> None:
    for word in normalised_words(text):
        assert word and word == word.lower() and " " not in word


def test_parse_topic_list_dedupes_in_order() -> None:
    assert parse_topic_list("Postgres, k8s ,  ML, postgresql, kubernetes,") == [
        "postgres",
        "kubernetes",
        "machine learning",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("postgres,,k8s", "empty"),
        ("x" * 61, "too long"),
        ("!!!", "no letters"),
        ("", "No topics"),
        (" , ", "empty"),
    ],
)
def test_parse_topic_list_rejects_with_clear_message(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_topic_list(raw)


def test_sixty_chars_is_allowed() -> None:
    assert parse_topic_list("a" * 60) == ["a" * 60]


def test_topic_label() -> None:
    assert topic_label("k8s") == "Kubernetes"
    assert topic_label("postgresql tuning") == "Postgres tuning"
