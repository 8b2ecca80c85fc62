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


@pytest.mark.parametrize(
    "text",
    [
        "Visualising circuits in Qiskit\n\nI am trying to draw a circuit and the latex step fails with an error",
        "Kraus decomposition\n\nI would like to understand how the tensor product gives this decomposition.",
        "Confusion regarding projection operators\n\nSuppose we have a qutrit in some state",
        "our staging deploy keeps timing out, I can't figure out which service is slow",
        "I'm not sure how to rotate the kube token without downtime",
        "Composing circuits\n\nI was wondering if there is a way to compose two programs",
    ],
)
def test_help_requests_without_a_question_mark_are_questions(text: str) -> None:
    """Real help requests are often statements ("I am trying to ... and it fails"): a fifth of the answered
    questions of a Stack Exchange site had no "?" in the title or the start of the body."""
    assert heuristic_kind(text, False) == "question"


@pytest.mark.parametrize(
    "text",
    [
        "We shipped the new onboarding flow today, thanks all for the reviews",
        "Reminder: the office is closed on Monday for the holiday",
        "Trying out the new coffee machine on the 3rd floor, it is great",
    ],
)
def test_statements_that_ask_nothing_stay_chatter(text: str) -> None:
    assert heuristic_kind(text, False) == "chatter"
