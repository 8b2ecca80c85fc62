"""The lexical signal: BM25 over each member's observed help, computed term-major without loops over pairs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.matching import lexical
from bot.matching.lexical import build_lexical, lexical_scores, tokens

WORDS = [
    "postgres",
    "vacuum",
    "replica",
    "kubernetes",
    "pods",
    "evicted",
    "terraform",
    "helm",
    "chart",
    "lag",
]


def bm25_by_hand(docs: list[list[str]], query: str, k1: float = 1.2, b: float = 0.75) -> list[float]:
    """The textbook formula, one member at a time (the reference the vectorised index must equal)."""
    bags = [[w for text in texts for w in tokens(text)] for texts in docs]
    owned = [bag for bag, texts in zip(bags, docs, strict=True) if texts]
    n, average = len(owned), sum(len(b_) for b_ in owned) / max(len(owned), 1)
    out = []
    for bag, texts in zip(bags, docs, strict=True):
        if not texts:
            continue
        score = 0.0
        for term in set(tokens(query)):
            tf = bag.count(term)
            if not tf:
                continue
            df = sum(1 for other in owned if term in other)
            idf = np.log1p((n - df + 0.5) / (df + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(bag) / max(average, 1.0)))
        out.append(score)
    return out


def test_stopwords_and_single_letters_are_dropped() -> None:
    assert tokens("How do I tune the Postgres autovacuum on a busy table?") == (
        "tune",
        "postgres",
        "autovacuum",
        "busy",
        "table",
    )


def test_the_member_who_answered_the_words_scores_highest() -> None:
    docs = [["How do I vacuum a big postgres table?"], ["Pods evicted under memory pressure"], []]
    index = build_lexical(docs)
    assert index.owners.tolist() == [0, 1]
    scores = lexical_scores(index, ["postgres vacuum keeps running", "why are my pods evicted", "lunch?"])
    assert scores.shape == (2, 3)
    assert scores[0, 0] > 0 == scores[1, 0]
    assert scores[1, 1] > 0 == scores[0, 1]
    assert not scores[:, 2].any()


docs_strategy = st.lists(
    st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join), max_size=4),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    docs=docs_strategy,
    queries=st.lists(st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join), min_size=1),
)
def test_scores_equal_the_formula_whether_dense_or_sparse(docs: list[list[str]], queries: list[str]) -> None:
    expected = np.array([bm25_by_hand(docs, q) for q in queries], dtype=np.float64).T
    sparse = lexical_scores(build_lexical(docs), queries)
    saved = lexical._DENSE_MIN_DF
    lexical._DENSE_MIN_DF = 1  # every word in the dense block
    try:
        dense = lexical_scores(build_lexical(docs), queries)
    finally:
        lexical._DENSE_MIN_DF = saved
    assert np.allclose(sparse, expected.reshape(sparse.shape), atol=1e-4)
    assert np.allclose(dense, expected.reshape(dense.shape), atol=1e-4)
