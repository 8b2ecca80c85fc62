"""The ranker's ordering: a recency-weighted activity prior fused with text signals over observed help."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.embedders import HashingEmbedder
from bot.matching.rank import (
    MemberProfile,
    RankConfig,
    activity_prior,
    build_member_index,
    match_score,
    rank_items,
)

DAY = 86_400.0
NOW = 1_700_000_000.0


def test_prior_halves_per_half_life_and_counts_every_reply() -> None:
    members = [
        MemberProfile("fresh", replied_at=(NOW,)),
        MemberProfile("week-old", replied_at=(NOW - 7 * DAY,)),
        MemberProfile("two-fresh", replied_at=(NOW, NOW - 1.0)),
        MemberProfile("untimed", activity=3.0),
        MemberProfile("future", replied_at=(NOW + DAY,)),
    ]
    prior = activity_prior(members, half_life_days=7.0, now=NOW)
    assert np.allclose(np.expm1(prior), [1.0, 0.5, 2.0, 3.0, 1.0], atol=1e-4)
    # Without `now`, ages are measured from the latest reply given: a pure function of the profiles.
    assert np.allclose(activity_prior(members[:3], 7.0), activity_prior(members[:3], 7.0, now=NOW))


def test_all_time_share_mixes_the_plain_count_with_the_decayed_one() -> None:
    members = [
        MemberProfile("regular-on-a-quiet-week", replied_at=(NOW - 70 * DAY,) * 15),
        MemberProfile("newcomer", replied_at=(NOW,) * 2),
        MemberProfile("untimed", activity=3.0),
    ]
    decayed = activity_prior(members, 7.0, now=NOW)
    plain = activity_prior(members, 7.0, now=NOW, all_time=1.0)
    mixed = activity_prior(members, 7.0, now=NOW, all_time=0.5)
    assert np.allclose(np.expm1(plain), [15.0, 2.0, 3.0], atol=1e-4)
    assert np.allclose(mixed, (decayed + plain) / 2, atol=1e-6)
    # Decayed alone, ten half-lives make the regular a stranger; with the all-time count they lead again.
    assert decayed[0] < decayed[1] and plain[0] > plain[1]
    # Out-of-range shares are clamped rather than extrapolated.
    assert np.allclose(activity_prior(members, 7.0, now=NOW, all_time=3.0), plain)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=400), min_size=1, max_size=20), st.floats(1, 100))
def test_prior_never_grows_with_age(ages: list[float], half_life: float) -> None:
    young = MemberProfile("a", replied_at=tuple(NOW - a * DAY for a in ages))
    old = MemberProfile("b", replied_at=tuple(NOW - (a + 1) * DAY for a in ages))
    p = activity_prior([young, old], half_life, now=NOW)
    assert p[0] >= p[1]


@pytest.fixture(scope="module")
def hashing() -> HashingEmbedder:
    return HashingEmbedder()


def _rank(members: list[MemberProfile], text: str, embedder: HashingEmbedder, **config: float) -> list[str]:
    cfg = RankConfig(threshold=-1e6, **config)  # type: ignore[arg-type]
    index = build_member_index(members, embedder, cfg, now=NOW)
    [out] = rank_items(index, ["q"], [text], embedder.embed([text]), k=len(members), config=cfg)
    return out.member_ids


def test_who_helps_now_outranks_who_helped_long_ago(hashing: HashingEmbedder) -> None:
    text = "postgres autovacuum settings for a busy table"
    members = [
        MemberProfile(
            "veteran", ("postgres",), ("postgres vacuum question",), replied_at=(NOW - 200 * DAY,) * 40
        ),
        MemberProfile("current", ("postgres",), ("postgres vacuum question",), replied_at=(NOW - DAY,) * 10),
    ]
    assert _rank(members, text, hashing)[0] == "current"
    assert _rank(members, text, hashing, prior_all_time=0.0)[0] == "current"
    # Without decay, or with the all-time count alone, the veteran's 40 replies win again: recency moved them.
    assert _rank(members, text, hashing, half_life_days=1e9)[0] == "veteran"
    assert _rank(members, text, hashing, prior_all_time=1.0)[0] == "veteran"


def test_a_regular_on_a_quiet_stretch_is_not_a_stranger(hashing: HashingEmbedder) -> None:
    """The all-time half of the prior: 40 replies two months ago still outweigh 3 from yesterday, which the
    decayed count alone (a 7-day half-life) would reverse."""
    text = "postgres autovacuum settings for a busy table"
    members = [
        MemberProfile(
            "regular", ("postgres",), ("postgres vacuum question",), replied_at=(NOW - 60 * DAY,) * 40
        ),
        MemberProfile("newcomer", ("postgres",), ("postgres vacuum question",), replied_at=(NOW - DAY,) * 3),
    ]
    assert _rank(members, text, hashing)[0] == "regular"
    assert _rank(members, text, hashing, prior_all_time=0.0)[0] == "newcomer"


def test_words_of_past_help_decide_between_equally_active_members(hashing: HashingEmbedder) -> None:
    members = [
        MemberProfile("pods", helped=("kubernetes pods evicted memory pressure",), replied_at=(NOW,)),
        MemberProfile("vacuum", helped=("postgres autovacuum tuning busy table",), replied_at=(NOW,)),
    ]
    assert _rank(members, "why are my kubernetes pods evicted", hashing)[0] == "pods"
    assert _rank(members, "autovacuum on a busy postgres table", hashing)[0] == "vacuum"


def test_without_observed_help_stated_topics_order_alone_on_the_usual_scale(hashing: HashingEmbedder) -> None:
    """Share nudges have no observed help: the topic weight is then the whole weight, not a tie-breaker."""
    members = [MemberProfile("db", ("postgres",)), MemberProfile("k8s", ("kubernetes",))]
    cfg = RankConfig(threshold=-100.0)  # both candidates, to see both scores
    index = build_member_index(members, hashing, cfg)
    text = "A long read on postgres"
    [out] = rank_items(index, ["a"], [text], hashing.embed([text]), k=2, config=cfg)
    assert out.member_ids[0] == "db"
    # z-scored over two members: the better one sits one standard deviation above the mean, the other one
    # below, and both stay above the threshold (the policy must not drop a candidate the ranker accepted).
    assert out.matches[0].score == pytest.approx(match_score(1.0, cfg), abs=1e-3)
    assert out.matches[1].score == pytest.approx(match_score(-1.0, cfg), abs=1e-3)
    assert out.matches[1].score > cfg.threshold


@settings(max_examples=100, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50))
def test_match_score_keeps_the_order_and_the_threshold(a: float, b: float) -> None:
    cfg = RankConfig()
    assert match_score(a, cfg) >= cfg.threshold  # never below: the policy keeps it
    if a < b:
        assert match_score(a, cfg) <= match_score(b, cfg)
