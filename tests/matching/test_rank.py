from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching.embedders import HashingEmbedder, LocalEmbedder
from bot.matching.rank import (
    Driver,
    ItemMatches,
    Match,
    MemberIndex,
    MemberProfile,
    RankConfig,
    build_member_index,
    match_score,
    named_topics,
    rank,
    rank_items,
)


@pytest.fixture(scope="module")
def local() -> LocalEmbedder:
    return LocalEmbedder()


MEMBERS = [
    MemberProfile("bob", ("databases", "PostgreSQL")),
    MemberProfile("ann", ("k8s", "terraform")),
    MemberProfile("cy", ("baking",), muted=("postgres",)),
    MemberProfile("dee", ("machine learning",), helped=("How do I tune autovacuum on a busy table?",)),
    MemberProfile("eve", ("gardening", "tomatoes")),
]


def test_named_and_similar_topics_rank_first(local: LocalEmbedder) -> None:
    results = rank(
        MEMBERS,
        [
            ("1", "Postgres vacuum tuning guide for large tables", None),
            ("2", "How do I roll out a helm chart to my cluster on kubernetes?", None),
        ],
        local,
        k=3,
    )
    first, second = results
    assert first.matches[0].member_id == "bob"
    assert first.matches[0].topic == "postgres"
    assert first.matches[0].driver == "named"
    assert second.matches[0].member_id == "ann"
    assert second.matches[0].topic == "kubernetes"


def test_author_is_never_ranked(local: LocalEmbedder) -> None:
    (result,) = rank(MEMBERS, [("1", "Postgres vacuum tuning guide", "bob")], local, k=5)
    assert "bob" not in result.member_ids


def test_muted_topic_vetoes(local: LocalEmbedder) -> None:
    members = [MemberProfile("cy", ("databases",), muted=("postgres",)), MemberProfile("bob", ("databases",))]
    (result,) = rank(members, [("1", "PostgreSQL database replication explained", None)], local, k=5)
    assert result.member_ids == ["bob"]


def test_unrelated_item_yields_nothing(local: LocalEmbedder) -> None:
    results = rank(
        MEMBERS,
        [("1", "Parking garage is closed this weekend", None), ("2", "Happy birthday Sam!", None)],
        local,
        k=5,
    )
    assert [r.matches for r in results] == [(), ()]


def test_observed_help_finds_a_member_without_matching_topics(local: LocalEmbedder) -> None:
    members = [
        MemberProfile("dee", ("cooking",), helped=("autovacuum is slow on my big postgres table",) * 1),
        MemberProfile("fay", ("cooking",)),
    ]
    (result,) = rank(members, [("q", "autovacuum runs forever on a big table, why?", None)], local, k=5)
    assert result.member_ids[:1] == ["dee"]
    assert result.matches[0].driver == "helped"


def test_activity_reorders_but_never_creates_a_match(local: LocalEmbedder) -> None:
    members = [
        MemberProfile("quiet", ("postgres",), activity=0),
        MemberProfile("busy", ("postgres",), activity=500),
        MemberProfile("busy-unrelated", ("gardening",), activity=10_000),
    ]
    (result,) = rank(members, [("1", "postgres index bloat", None)], local, k=5)
    assert result.member_ids == ["busy", "quiet"]


def test_exclude_and_k(local: LocalEmbedder) -> None:
    members = [MemberProfile(f"m{i}", ("postgres",)) for i in range(6)]
    index = build_member_index(members, local)
    texts = ["postgres index bloat"]
    out = rank_items(index, ["1"], texts, local.embed(texts), k=3, exclude=[["m0", "m1"]])
    assert len(out[0].matches) == 3
    assert not {"m0", "m1"} & set(out[0].member_ids)


def test_named_topics_multiword() -> None:
    lookup = {"machine learning": 0, "postgres": 1, "data pipeline": 2}
    assert named_topics("Our ML data pipelines on PostgreSQL", lookup, 2) == [0, 1, 2]
    assert named_topics("a machine that is learning", lookup, 2) == []


def test_chunking_gives_the_same_answer() -> None:
    embedder = HashingEmbedder(256)
    rng = np.random.default_rng(1)
    words = [
        "postgres",
        "kubernetes",
        "terraform",
        "react",
        "python",
        "rust",
        "go",
        "vacuum",
        "index",
        "cluster",
        "deploy",
        "test",
    ]
    members = [
        MemberProfile(
            f"m{i}", tuple(rng.choice(words, 2)), helped=(" ".join(rng.choice(words, 5)),), activity=i
        )
        for i in range(40)
    ]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(30)]
    vectors = embedder.embed(texts)
    ids = [str(i) for i in range(30)]
    loose = RankConfig(threshold=-100.0)
    index = build_member_index(members, embedder, loose)
    whole = rank_items(index, ids, texts, vectors, k=5, config=loose)
    tiny = RankConfig(threshold=-100.0, chunk_elements=1)  # one item per chunk
    pieces = rank_items(index, ids, texts, vectors, k=5, config=tiny)
    assert [r.member_ids for r in whole] == [r.member_ids for r in pieces]
    assert all(len(r.matches) == 5 for r in whole)


@settings(max_examples=40, deadline=None)
@given(
    authors=st.lists(st.sampled_from(["m0", "m1", "m2", "m3", None]), min_size=1, max_size=6),
    k=st.integers(1, 6),
)
def test_property_author_never_returned_and_scores_sorted(authors: list[str | None], k: int) -> None:
    embedder = HashingEmbedder(128)
    members = [MemberProfile(f"m{i}", ("postgres", "kubernetes"), activity=i) for i in range(4)]
    items = [(str(n), "postgres on kubernetes", a) for n, a in enumerate(authors)]
    for result, (_, _, author) in zip(rank(members, items, embedder, k=k), items, strict=True):
        assert author not in result.member_ids
        assert len(result.matches) <= k
        scores = [m.score for m in result.matches]
        assert scores == sorted(scores, reverse=True)


def test_empty_inputs(local: LocalEmbedder) -> None:
    assert rank([], [("1", "postgres", None)], local)[0].matches == ()
    assert rank(MEMBERS, [], local) == []
    (result,) = rank([MemberProfile("x")], [("1", "postgres", None)], local)
    assert result.matches == ()


@pytest.mark.parametrize("threshold", [-100.0, 3.0, 7.0])
def test_explaining_a_chunk_at_once_equals_one_item_at_a_time(
    threshold: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vectorised `_explain_chunk` picks the same topic and driver as `explain_one` for every match."""
    import bot.matching.rank as rank_module

    embedder = HashingEmbedder(256)
    rng = np.random.default_rng(7)
    words = ["postgres", "kubernetes", "terraform", "react", "python", "vacuum", "index", "cluster", "deploy"]
    members = [
        MemberProfile(
            f"m{i}",
            tuple(rng.choice(words, int(rng.integers(0, 4)))),  # some have no topics, some several
            helped=tuple(" ".join(rng.choice(words, 5)) for _ in range(int(rng.integers(0, 3)))),
            activity=float(i % 5),
        )
        for i in range(30)
    ]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(25)]
    vectors = embedder.embed(texts)
    ids = [str(i) for i in range(25)]
    config = RankConfig(threshold=threshold)
    index = build_member_index(members, embedder, config)
    fast = rank_items(index, ids, texts, vectors, k=8, config=config)

    def one_at_a_time(index, item_ids, top, top_scores, topic_score, named, config):  # type: ignore[no-untyped-def]
        return [
            explain_one(index, item_ids[r], top[r], top_scores[r], topic_score[:, r], named[:, r], config)
            for r in range(len(top))
        ]

    monkeypatch.setattr(rank_module, "_explain_chunk", one_at_a_time)
    slow = rank_items(index, ids, texts, vectors, k=8, config=config)
    assert fast == slow
    assert sum(len(r.matches) for r in fast) > 0


def explain_one(
    index: MemberIndex,
    item_id: str,
    members: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float32],
    topic_score: npt.NDArray[np.float32],
    named: npt.NDArray[np.float32],
    config: RankConfig,
) -> ItemMatches:
    """The explanation of one item's matches, written plainly: the reference `_explain_chunk` must equal."""
    from bot.matching.rank import _NEG

    keep = scores > _NEG / 2
    members, scores = members[keep], scores[keep]
    matches: list[Match] = []
    topics = index.topics
    for member, score in zip(members.tolist(), scores.tolist(), strict=True):
        topic: str | None = None
        driver: Driver = "helped"
        run = index.topic_run(member)
        if run is not None:
            candidates = topics.flat[run[0] : run[1]]
            best = int(candidates[int(np.argmax(topic_score[candidates]))])
            topic = topics.texts[best]
            driver = "named" if named[best] > 0 else "similar"
            if topic_score[best] < config.threshold / 2:
                driver = "helped"
        matches.append(
            Match(index.member_ids[member], round(match_score(float(score), config), 4), topic, driver)
        )
    return ItemMatches(item_id, tuple(matches))
