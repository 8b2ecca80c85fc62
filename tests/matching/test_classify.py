from __future__ import annotations

import pytest

from bot.matching.classify import Kind, classify, heuristic_kind


@pytest.mark.parametrize(
    ("text", "has_link", "kind"),
    [
        ("thanks!", False, "chatter"),
        ("Thank you so much :)", False, "chatter"),
        ("Happy friday everyone!", False, "chatter"),
        ("lunch at 12", False, "chatter"),
        ("We shipped the release today, nice work team", False, "chatter"),
        ("Does anyone know how to tune autovacuum on a busy table?", False, "question"),
        ("how do I roll back a helm release", False, "question"),
        ("What's the best way to learn Rust", False, "question"),
        ("Our deploys fail with a 502 after the LB change, any idea why?", False, "question"),
        ("Looking for someone to review my first conference talk", False, "ask"),
        ("I need help with our Terraform state, it is a mess", False, "ask"),
        ("Can anyone help me set up SSO for the staging env?", False, "ask"),
        ("<https://example.com/postgres-vacuum|Postgres vacuum explained>", True, "article"),
        ("Great read on incident reviews <https://example.com/a>", True, "article"),
    ],
)
def test_heuristics(text: str, has_link: bool, kind: Kind) -> None:
    assert heuristic_kind(text, has_link) == kind


def test_llm_hook_wins_when_it_answers() -> None:
    calls: list[tuple[str, bool]] = []

    def llm(text: str, has_link: bool) -> Kind | None:
        calls.append((text, has_link))
        return "ask"

    assert classify("thanks!", False, llm=llm) == "ask"
    assert calls == [("thanks!", False)]


@pytest.mark.parametrize("answer", [None, "nonsense", RuntimeError("timeout")])
def test_llm_failure_falls_back_to_heuristics(answer: object) -> None:
    def llm(text: str, has_link: bool) -> Kind | None:
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[return-value]

    assert classify("how do I roll back a helm release", False, llm=llm) == "question"
