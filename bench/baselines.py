"""Baselines and metrics for the who-will-answer task: popularity, BM25, TF-IDF (numpy, no extra deps)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bot.matching.lexical import tokens as lexical_tokens


def tokens(text: str) -> list[str]:
    """The ranker's own tokenisation (stopwords dropped), so the baselines compare like with like."""
    return list(lexical_tokens(text))


class _Vocab:
    def __init__(self, docs: Sequence[list[str]]) -> None:
        self.index: dict[str, int] = {}
        for doc in docs:
            for w in doc:
                self.index.setdefault(w, len(self.index))

    def counts(self, docs: Sequence[list[str]]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(docs), len(self.index)), dtype=np.float32)
        for row, doc in enumerate(docs):
            for w, c in Counter(doc).items():
                col = self.index.get(w)
                if col is not None:
                    out[row, col] = c
        return out


def bm25_scores(
    member_docs: Sequence[str], queries: Sequence[str], k1: float = 1.2, b: float = 0.75
) -> npt.NDArray[np.float32]:
    docs = [tokens(d) for d in member_docs]
    vocab = _Vocab(docs)
    tf = vocab.counts(docs)
    df = (tf > 0).sum(axis=0)
    n = len(docs)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    lengths = tf.sum(axis=1, keepdims=True)
    norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / max(float(lengths.mean()), 1.0)))
    weights = norm * idf
    q = (vocab.counts([tokens(x) for x in queries]) > 0).astype(np.float32)
    return q @ weights.T


def tfidf_scores(member_docs: Sequence[str], queries: Sequence[str]) -> npt.NDArray[np.float32]:
    docs = [tokens(d) for d in member_docs]
    vocab = _Vocab(docs)
    tf = vocab.counts(docs)
    n = len(docs)
    idf = (np.log((1 + n) / (1 + (tf > 0).sum(axis=0))) + 1).astype(np.float32)

    def weigh(m: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        w = np.log1p(m) * idf
        norms = np.linalg.norm(w, axis=1, keepdims=True)
        return np.divide(w, norms, out=np.zeros_like(w), where=norms > 0)

    return weigh(vocab.counts([tokens(x) for x in queries])) @ weigh(tf).T


def rankings_from_scores(
    scores: npt.NDArray[np.float32], member_ids: Sequence[str], authors: Sequence[str | None], k: int
) -> list[list[str]]:
    position = {m: i for i, m in enumerate(member_ids)}
    scores = scores.copy()
    for row, author in enumerate(authors):
        if author in position:
            scores[row, position[author]] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return [[member_ids[j] for j in row] for row in top]


def metrics(ranked: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, float]:
    r1, r5, mrr, ndcg = [], [], [], []
    for ranking, rel in zip(ranked, relevant, strict=True):
        r1.append(len(set(ranking[:1]) & rel) / len(rel))
        r5.append(len(set(ranking[:5]) & rel) / len(rel))
        first = next((i for i, m in enumerate(ranking) if m in rel), None)
        mrr.append(0.0 if first is None else 1.0 / (first + 1))
        dcg = sum(1.0 / np.log2(i + 2) for i, m in enumerate(ranking[:10]) if m in rel)
        ideal = sum(1.0 / np.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg.append(dcg / ideal)
    return {
        "recall@1": float(np.mean(r1)),
        "recall@5": float(np.mean(r5)),
        "MRR": float(np.mean(mrr)),
        "nDCG@10": float(np.mean(ndcg)),
    }
