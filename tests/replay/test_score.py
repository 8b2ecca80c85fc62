"""The replay's score against who really answered, on hand-written exports whose right answers are worked out
below; the Stack Exchange converter on a hand-written Posts.xml; the score in the CLI's outputs."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.replay import load_export
from bot.replay.report import score_html
from bot.replay.score import NudgeFact, score_replay
from tests.replay.exports import msg, user, write_export

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import se_export

A, B, C, D, E = "U0A", "U0B", "U0C", "U0D", "U0E"
GEN = "C0GEN"
POSTS = Path(__file__).parent / "data" / "se_posts.xml"
runner = CliRunner()


def at(month: int, day: int, seconds: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def ts(month: int, day: int, seconds: int = 0) -> str:
    return f"{at(month, day, seconds).timestamp():.6f}"


def reply(user_id: str, parent: str, parent_user: str, when: str, text: str = "an answer") -> dict[str, Any]:
    return msg(user_id, text, when, thread_ts=parent, parent_user_id=parent_user)


def question(user_id: str, text: str, when: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if replies:
        extra = {"thread_ts": when, "reply_count": len(replies),
                 "replies": [{"user": r.get("user"), "ts": r["ts"]} for r in replies]}  # fmt: skip
    return msg(user_id, text, when, **extra)


Q1, Q2, Q3, Q4, Q5 = ts(10, 1), ts(10, 2), ts(10, 3), ts(10, 4), ts(10, 5)
ART, CHAT, Q6, Q7 = ts(10, 6), ts(10, 6, 300), ts(10, 7), ts(11, 3)


def threaded_days() -> dict[str, list[Any]]:
    """Seven questions (one only a thread shows to be one), an article and chatter. Right answers:
    - answered: Q1 (B, C), Q2 (C), Q3 (D), Q5 (A's own reply does not count; E), Q6 (C), Q7 (B); not Q4 (a bot
      and the asker replied).
    - top-3 repliers to others' threads before each question, without the asker (ties by id):
      Q1 nobody yet → miss; Q2 (asker B) [C] → C answered, hit; Q3 (asker C) [B] → D answered, miss;
      Q5 (asker A) [C, B, D] → E answered, miss; Q6 (asker E; A replied to the article) [C, A, B] → C, hit;
      Q7 (asker A) [C, B, D] → B, hit (D's and E's replies in their own threads do not count: if they did,
      D and E would push B out). Baseline: 3 of 6.
    """
    r1 = [reply(B, Q1, A, ts(10, 1, 60)), reply(C, Q1, A, ts(10, 1, 120))]
    r2 = [reply(C, Q2, B, ts(10, 2, 60))]
    r3 = [reply(D, Q3, C, ts(10, 3, 60))]
    r4 = [
        msg(None, "I am a bot", ts(10, 4, 60), subtype="bot_message", bot_id="B0BOT", thread_ts=Q4),
        reply(D, Q4, D, ts(10, 4, 90), "anyone?"),
    ]
    r5 = [reply(A, Q5, A, ts(10, 5, 10)), reply(E, Q5, A, ts(10, 5, 100))]
    ra = [reply(A, ART, C, ts(10, 6, 60))]
    r6 = [reply(C, Q6, E, ts(10, 7, 60)), reply(E, Q6, E, ts(10, 7, 90), "thanks")]
    r7 = [reply(B, Q7, A, ts(11, 3, 60))]
    return {
        "general/2026-10-01": [question(A, "How do I tune autovacuum on Postgres?", Q1, r1), *r1],
        "general/2026-10-02": [question(B, "Why does my pod keep getting evicted?", Q2, r2), *r2],
        "general/2026-10-03": [question(C, "Where can I find the terraform docs for modules?", Q3, r3), *r3],
        "general/2026-10-04": [question(D, "Any tips for a first conference talk?", Q4, r4), *r4],
        "general/2026-10-05": [question(A, "How do I rotate TLS certs on the ingress?", Q5, r5), *r5],
        "general/2026-10-06": [
            question(C, "Nice write-up on query plans https://example.org/plans", ART, ra), *ra,
            msg(B, "good morning", CHAT),
        ],
        "general/2026-10-07": [question(E, "The nightly build broke again on main", Q6, r6), *r6],
        "general/2026-11-03": [question(A, "How do I size a Redis cluster?", Q7, r7), *r7],
    }  # fmt: skip


def export_at(root: Path, days: dict[str, list[Any]]) -> Path:
    users = [user(u, u[2:]) for u in (A, B, C, D, E)] + [user("U0BOT", "bot", is_bot=True, bot_id="B0BOT")]
    channels = [{"id": GEN, "name": "general", "created": 1, "members": [A, B, C, D, E]}]
    return write_export(root, days, users=users, channels=channels)


def help_to(recipient: str, q: str, when: dt.datetime) -> NudgeFact:
    return NudgeFact("help", recipient, GEN, q, when, when)


NUDGES = [
    help_to(C, Q1, at(10, 1, 90)),  # C replied at +120: reached
    help_to(D, Q1, at(10, 1, 30)),  # D never replied to Q1
    help_to(B, Q2, at(10, 2, 120)),  # B never replied to Q2
    help_to(D, Q3, at(10, 3, 120)),  # D replied at +60, before the nudge: not reached by it
    help_to(E, Q5, at(10, 5, 50)),  # E replied at +100: reached
    NudgeFact("share", A, GEN, ART, at(10, 6, 400), at(10, 6, 400)),
]


def test_score_on_a_hand_written_export(tmp_path: Path) -> None:
    export = load_export(export_at(tmp_path / "x", threaded_days()))
    score = score_replay(export, NUDGES, at(10, 1), at(11, 3, 60))
    assert score.has_threads
    assert (score.questions, score.answered) == (7, 6)
    assert (score.reached, score.baseline_reached) == (2, 3)
    assert (score.help_sent, score.help_reached, score.share_sent) == (5, 2, 1)
    # The first quarter of 1 Oct 12:00 – 3 Nov 12:01 ends on 9 Oct: only Q7 is later, answered, not nudged.
    assert score.quarter_at is not None and score.quarter_at.date() == dt.date(2026, 10, 9)
    assert (score.later_answered, score.later_covered, score.later_reached, score.later_baseline_reached) == (
        1, 0, 0, 1,
    )  # fmt: skip
    months = {m.month: (m.questions, m.answered, m.help, m.share, m.silent) for m in score.months}
    assert months == {"2026-10": (6, 5, 5, 1, False), "2026-11": (1, 1, 0, 0, True)}
    assert score.silent_months == ["2026-11"]
    assert (score.max_nudges_week, score.max_shares_day) == (2, 1)  # D: two help nudges in one week
    data = score.as_json()
    assert data["reached_answerer_share"] == pytest.approx(2 / 6)
    assert data["baseline_top3_share"] == pytest.approx(3 / 6)
    html = score_html(score)
    assert "<svg" in html and "33.3%" in html and "50.0%" in html and "2026-11" in html


def test_the_span_limits_questions_and_the_baseline_history(tmp_path: Path) -> None:
    """Replaying from 5 Oct: Q1–Q4 and their replies are not part of it, so at Q5 nobody has replied yet and
    the baseline starts from scratch; answers are still read from the whole export."""
    export = load_export(export_at(tmp_path / "x", threaded_days()))
    score = score_replay(export, NUDGES, at(10, 5), at(11, 3, 60))
    assert (score.questions, score.answered) == (3, 3)  # Q5, Q6, Q7
    # Q5: nobody yet; Q6 (asker E): [A, E→excluded] → A only (the article reply, A < E) → C answered: miss;
    # Q7 (asker A): [C, E] (E replied to Q5, C to Q6; A excluded) → B answered: miss.
    assert score.baseline_reached == 0
    assert score.reached == 1  # E on Q5


def test_an_export_without_threads_says_so(tmp_path: Path) -> None:
    days = {"general/2026-10-01": [msg(A, "How do I tune autovacuum on Postgres?", Q1)]}
    export = load_export(export_at(tmp_path / "x", days))
    score = score_replay(export, [help_to(B, Q1, at(10, 1, 60))], at(10, 1), at(10, 1))
    assert not score.has_threads
    assert score.as_json()["reached_answerer_share"] is None
    assert "no thread replies" in score_html(score)
    assert "no thread replies" in score_html(None)


def _replay(export: Path, profiles: dict[str, Any], tmp_path: Path) -> tuple[Any, list[dict[str, Any]], str]:
    prof = tmp_path / "profiles.json"
    prof.write_text(json.dumps(profiles))
    out, jsonl = tmp_path / "r.html", tmp_path / "r.jsonl"
    result = runner.invoke(
        app,
        ["replay", str(export), "--profiles", str(prof), "--out", str(out), "--json", str(jsonl),
         "--embedder", "hashing"],
        catch_exceptions=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()] if jsonl.exists() else []
    return result, lines, out.read_text() if out.exists() else ""


def test_cli_outputs_carry_the_question_and_the_score(tmp_path: Path) -> None:
    """B states Postgres expertise; A asks about Postgres on Wednesday and B answers the next day."""
    q = f"{dt.datetime(2026, 10, 7, 9, tzinfo=dt.UTC).timestamp():.6f}"
    r = reply(
        B, q, A, f"{dt.datetime(2026, 10, 8, 9, tzinfo=dt.UTC).timestamp():.6f}", "Lower the scale factor"
    )
    days = {"general/2026-10-07": [question(A, "How do I tune autovacuum on Postgres tables?", q, [r])],
            "general/2026-10-08": [r]}  # fmt: skip
    export = export_at(tmp_path / "x", days)
    result, lines, html = _replay(
        export, {B: {"expertise": ["postgres"], "interests": ["postgres"]}}, tmp_path
    )
    assert result.exit_code == 0, result.output
    helps = [n for n in lines if n["type"] == "nudge" and n["kind"] == "help"]
    assert helps, result.output
    for n in helps:
        assert (n["item"]["channel_id"], n["item"]["ts"]) == (GEN, q)
        assert "channel" in n["item"] and "posted_at" in n["item"]  # the earlier fields stay
    score = [x for x in lines if x["type"] == "score"]
    assert len(score) == 1 and score[0]["has_threads"]
    assert (score[0]["questions"], score[0]["answered"]) == (1, 1)
    delivered_to_b = any(n["delivered"] and n["recipient"]["id"] == B for n in helps)
    assert score[0]["reached_answerer"] == int(delivered_to_b)
    assert "score against who really answered" in result.output
    assert "<h2>Score</h2>" in html and "<svg" in html and "<script" not in html


def test_cli_on_an_export_without_threads(tmp_path: Path) -> None:
    days = {"general/2026-10-07": [msg(A, "How do I tune autovacuum on Postgres tables?", Q1)]}
    result, lines, html = _replay(export_at(tmp_path / "x", days), {B: {"expertise": ["postgres"]}}, tmp_path)
    assert result.exit_code == 0, result.output
    assert "no thread replies" in result.output and "no thread replies" in html
    assert [x["has_threads"] for x in lines if x["type"] == "score"] == [False]


# -- the Stack Exchange converter ---------------------------------------------------------------------


def _build(**options: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return se_export.build(se_export.read_posts(POSTS), channels=2, **options)


def test_se_export_turns_posts_into_an_export_and_profiles(tmp_path: Path) -> None:
    files, profiles, facts = _build(start=dt.date(2020, 2, 1), end=dt.date(2020, 3, 10))
    # Channels from the two most used tags; the tea question goes to #general; the ownerless one and the
    # Community account's are left out.
    assert facts["channels"] == ["general", "espresso", "grinder"]
    assert facts["questions"] == 3 and facts["answers"] == 2  # the answer of 20 March is after the export
    parent, *rest = files["general/2020-02-01.json"]
    assert rest == []
    assert parent["user"] == "U30" and parent["text"] == "Is green tea good cold?\n\nAsking for the summer."
    assert parent["thread_ts"] == parent["ts"] and parent["reply_count"] == 2
    assert parent["reply_users"] == ["U20", "U10"]
    assert [r["user"] for r in parent["replies"]] == ["U20", "U10"]
    (answer,) = files["general/2020-02-02.json"]
    assert answer["thread_ts"] == parent["ts"] and answer["parent_user_id"] == "U30"
    assert answer["ts"] == f"{dt.datetime(2020, 2, 2, 8, tzinfo=dt.UTC).timestamp():.6f}"
    (ratio,) = files["espresso/2020-02-10.json"]
    assert (
        ratio["text"] == "Espresso at home with x&lt;y ratio?\n\n1:2 &lt; 1:3"
    )  # stripped, escaped, no tags
    assert "thread_ts" not in ratio
    # Profiles from the posts before 1 February only: U30 and U40 had none.
    assert profiles == {
        "U10": {"interests": ["grinder", "espresso"], "expertise": ["grinder"]},
        "U20": {"interests": ["grinder", "espresso"], "expertise": ["espresso", "grinder"]},
    }
    general = next(c for c in files["channels.json"] if c["name"] == "general")
    assert general["members"] == ["U10", "U20", "U30", "U40"]
    # It is a real export: the replay's parser reads it without a problem, and the score sees the thread.
    out = se_export.write(tmp_path, files, profiles)
    export = load_export(out)
    assert export.problems == ()
    replies = [m for m in export.messages if m.is_reply]
    assert [(m.user, m.parent_user_id) for m in replies] == [("U20", "U30"), ("U10", "U30")]
    score = score_replay(export, [], export.messages[0].posted_at, export.messages[-1].posted_at)
    assert (score.questions, score.answered) == (3, 1)


def test_se_export_max_questions_and_helped() -> None:
    files, profiles, facts = _build(start=dt.date(2020, 2, 1), max_questions=2, helped=1)
    # The export ends with the day of its last question (10 February): the late answer is not in it.
    assert (facts["questions"], facts["answers"], facts["to"]) == (2, 2, "2020-02-10")
    assert "espresso/2020-03-01.json" not in files
    assert profiles["U10"]["helped"] == ["Which grinder for a beginner?"]
    # Without --from, the first 20% of questions are history: here the first question.
    _, profiles, facts = _build()
    assert facts["from"] == "2020-01-10" and set(profiles) == {"U10", "U20"}


def test_se_export_is_deterministic_and_rejects_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert se_export.main([str(POSTS), str(tmp_path / "a"), "--from", "2020-02-01"]) == 0
    assert se_export.main([str(POSTS), str(tmp_path / "b"), "--from", "2020-02-01"]) == 0
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert a == b and len(a) > 5
    bad = tmp_path / "bad.xml"
    bad.write_text("<posts><row Id='1'")
    assert se_export.main([str(bad), str(tmp_path / "c")]) == 2
    assert "not a readable Posts.xml" in capsys.readouterr().err
    assert se_export.main([str(POSTS), str(tmp_path / "c"), "--from", "2030-01-01"]) == 2
    assert "no questions between" in capsys.readouterr().err
    assert se_export.main([str(POSTS), str(tmp_path / "c"), "--from", "2020-13-01"]) == 2
    assert not (tmp_path / "c" / "export").exists()
