"""Lexical evidence: BM25 of an item against each member's observed help (the questions they answered).

Embeddings that average word vectors blur the domain words that decide who can answer ("autovacuum",
"OOMKilled", a grape variety); exact word overlap with what a member answered before keeps them. Measured on
the Stack Exchange bench, BM25 over a member's helped questions is the best single text signal and adds to the
activity prior and embedding similarity (bench/RESULTS.md).

A member is one document: the concatenation of their (deduplicated) helped texts. The postings are stored
term-major (CSR), so scoring a chunk of items touches only the postings of the items' own words, with one
`np.bincount` per chunk and no Python loop over members or pairs. IDF depends on the whole member set, so
lexical scores are only ever used to order candidates, never to decide whether someone is one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from bot.matching.topics import normalised_words

# Function words carry no evidence of expertise; dropping them also keeps the postings scanned per item short.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "me",
        "my",
        "your",
        "our",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "not",
        "no",
        "so",
        "than",
        "then",
        "there",
        "here",
        "just",
        "also",
        "any",
        "some",
        "all",
        "each",
        "more",
        "most",
        "other",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "s",
        "t",
        "don",
        "about",
        "into",
        "over",
        "under",
        "again",
        "further",
        "once",
        "up",
        "down",
        "out",
        "off",
        "am",
        "get",
        "got",
        "like",
        "use",
        "using",
        "one",
    ]
)
_MAX_ITEM_WORDS = 600


@lru_cache(maxsize=200_000)
def tokens(text: str) -> tuple[str, ...]:
    """Normalised content words of `text` (a helped question is tokenised once, however often it is indexed)."""
    return tuple(w for w in normalised_words(text) if w not in STOPWORDS and len(w) > 1)


# Frequent words have long postings: scattering them costs more than a matrix product. Words in at least
# `_DENSE_MIN_DF` documents go into a dense (words x members) block of at most `_DENSE_BUDGET` elements, most
# frequent first; the rest stay postings. Both give the same sums.
_DENSE_MIN_DF = 32
_DENSE_BUDGET = 4_000_000


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 weights per (term, member). `owners` are the members with a document (positions in the member
    index); scores are computed for them alone. Frequent terms sit in `dense` (one row per term, `slot`
    says which), the others in term-major postings (CSR) that name rows of `owners`."""

    vocab: dict[str, int]
    ptr: npt.NDArray[np.int64]  # term t's postings are [ptr[t], ptr[t+1]) (empty for a dense term)
    rows: npt.NDArray[np.int64]  # per posting, the row in `owners`
    weights: npt.NDArray[np.float32]
    owners: npt.NDArray[np.int64]
    slot: npt.NDArray[np.int64]  # per term, its row in `dense`, or -1
    dense: npt.NDArray[np.float32]  # dense terms x owners

    @property
    def empty(self) -> bool:
        return len(self.owners) == 0


def build_lexical(docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
    """Index one document per member, given as that member's texts (empty for members without any)."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    terms: list[int] = []
    counts: list[int] = []
    lengths = np.zeros(len(docs), dtype=np.float64)
    for member, texts in enumerate(docs):
        if not texts:
            continue
        bag: Counter[str] = Counter()
        for text in texts:
            bag.update(tokens(text))
        lengths[member] = sum(bag.values())
        for term, count in bag.items():
            rows.append(member)
            terms.append(vocab.setdefault(term, len(vocab)))
            counts.append(count)
    if not rows:
        empty = np.zeros(0, np.int64)
        return LexicalIndex(
            {},
            np.zeros(1, np.int64),
            empty,
            np.zeros(0, np.float32),
            empty,
            empty,
            np.zeros((0, 0), np.float32),
        )
    row_arr = np.asarray(rows, dtype=np.int64)
    owners = np.flatnonzero(lengths > 0).astype(np.int64)
    owner_row = np.zeros(len(docs), dtype=np.int64)
    owner_row[owners] = np.arange(len(owners))
    term_arr = np.asarray(terms, dtype=np.int64)
    tf = np.asarray(counts, dtype=np.float64)
    n_docs = len(owners)
    df_count = np.bincount(term_arr, minlength=len(vocab))
    df = df_count.astype(np.float64)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    average = float(lengths[owners].mean())
    norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[row_arr] / max(average, 1.0)))
    weights = (norm * idf[term_arr]).astype(np.float32)
    frequent = np.argsort(-df_count, kind="stable")
    frequent = frequent[df_count[frequent] >= _DENSE_MIN_DF][: _DENSE_BUDGET // n_docs]
    slot = np.full(len(vocab), -1, dtype=np.int64)
    slot[frequent] = np.arange(len(frequent))
    dense = np.zeros((len(frequent), n_docs), dtype=np.float32)
    in_dense = slot[term_arr] >= 0
    dense[slot[term_arr[in_dense]], owner_row[row_arr[in_dense]]] = weights[in_dense]
    sparse_terms = term_arr[~in_dense]
    order = np.argsort(sparse_terms, kind="stable")
    ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(sparse_terms, minlength=len(vocab)), out=ptr[1:])
    return LexicalIndex(
        vocab,
        ptr,
        owner_row[row_arr[~in_dense]][order],
        weights[~in_dense][order],
        owners,
        slot,
        dense,
    )


def lexical_scores(index: LexicalIndex, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """(owners x items) BM25 scores; each distinct word of an item counts once (as a query term)."""
    n_owners = len(index.owners)
    out = np.zeros((n_owners, len(texts)), dtype=np.float32)
    if index.empty or not texts:
        return out
    starts: list[int] = []
    ends: list[int] = []
    columns: list[int] = []
    query = np.zeros((len(index.dense), len(texts)), dtype=np.float32)
    for column, text in enumerate(texts):
        seen = {index.vocab.get(w) for w in tokens(text)[:_MAX_ITEM_WORDS]}
        seen.discard(None)
        for term in seen:
            assert term is not None
            row = int(index.slot[term])
            if row >= 0:
                query[row, column] = 1.0
            else:
                starts.append(int(index.ptr[term]))
                ends.append(int(index.ptr[term + 1]))
                columns.append(column)
    if len(index.dense):
        out += index.dense.T @ query
    if not starts:
        return out
    start_arr = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(ends, dtype=np.int64) - start_arr
    total = int(lengths.sum())
    if not total:
        return out
    # Positions of every posting of every (item, term) pair, built without a Python loop over postings.
    offsets = np.repeat(start_arr - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    positions = np.arange(total, dtype=np.int64) + offsets
    cols = np.repeat(np.asarray(columns, dtype=np.int64), lengths)
    flat = index.rows[positions] * len(texts) + cols
    summed = np.bincount(flat, weights=index.weights[positions], minlength=n_owners * len(texts))
    out += summed.reshape(n_owners, len(texts)).astype(np.float32)
    return out
