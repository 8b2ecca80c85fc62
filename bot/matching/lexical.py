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

import threading
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
# frequent first; the rest stay postings. Both sum in float64, where adding a few dozen float32 weights is
# exact, so a score does not depend on the order its terms are added in (nor on the words' ids).
_DENSE_MIN_DF = 32
_DENSE_BUDGET = 4_000_000

# Words get a process-wide id the first time they are seen, and each member's bag of words is remembered as
# arrays of those ids: the index is rebuilt whenever someone helps again, and re-counting every member's words
# each time was most of the rebuild. Both start afresh together when the vocabulary grows too large.
_MAX_WORDS = 2_000_000
_word_ids: dict[str, int] = {}
_lock = threading.Lock()


def _word_id(word: str) -> int:
    found = _word_ids.get(word)
    if found is None:
        found = _word_ids[word] = len(_word_ids)
    return found


@lru_cache(maxsize=100_000)
def _bag(texts: tuple[str, ...]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One member's document as (word ids, counts)."""
    bag: Counter[str] = Counter()
    for text in texts:
        bag.update(tokens(text))
    ids = np.fromiter((_word_id(w) for w in bag), dtype=np.int64, count=len(bag))
    counts = np.fromiter(bag.values(), dtype=np.float64, count=len(bag))
    return ids, counts


@dataclass(frozen=True)
class LexicalIndex:
    """BM25 weights per (term, member). `owners` are the members with a document (positions in the member
    index); scores are computed for them alone. `terms` are the process-wide ids of the index's words,
    ascending (a word's position there is its term number). Frequent terms sit in `dense` (one row per term,
    `slot` says which), the others in term-major postings (CSR) that name rows of `owners`."""

    terms: npt.NDArray[np.int64]
    ptr: npt.NDArray[np.int64]  # term t's postings are [ptr[t], ptr[t+1]) (empty for a dense term)
    rows: npt.NDArray[np.int64]  # per posting, the row in `owners`
    weights: npt.NDArray[np.float64]
    owners: npt.NDArray[np.int64]
    slot: npt.NDArray[np.int64]  # per term, its row in `dense`, or -1
    dense: npt.NDArray[np.float64]  # dense terms x owners

    @property
    def empty(self) -> bool:
        return len(self.owners) == 0


def build_lexical(docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
    """Index one document per member, given as that member's texts (empty for members without any)."""
    with _lock:
        if len(_word_ids) > _MAX_WORDS:
            _word_ids.clear()
            _bag.cache_clear()
        with_texts = [member for member, texts in enumerate(docs) if texts]
        all_bags = [_bag(tuple(docs[member])) for member in with_texts]
    # A member is a document when their texts have at least one word.
    bags = [bag for bag in all_bags if len(bag[0])]
    owners = np.asarray(
        [m for m, bag in zip(with_texts, all_bags, strict=True) if len(bag[0])], dtype=np.int64
    )
    sizes = np.fromiter((len(ids) for ids, _ in bags), dtype=np.int64, count=len(bags))
    if not len(bags):
        empty = np.zeros(0, np.int64)
        return LexicalIndex(
            empty, np.zeros(1, np.int64), empty, np.zeros(0), owners, empty, np.zeros((0, len(owners)))
        )
    words = np.concatenate([ids for ids, _ in bags])
    tf = np.concatenate([counts for _, counts in bags])
    row_arr = np.repeat(np.arange(len(owners), dtype=np.int64), sizes)
    terms, term_arr = np.unique(words, return_inverse=True)
    term_arr = term_arr.reshape(-1).astype(np.int64)
    lengths = np.bincount(row_arr, weights=tf, minlength=len(owners))
    n_docs = len(owners)
    df_count = np.bincount(term_arr, minlength=len(terms))
    df = df_count.astype(np.float64)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    average = float(lengths.mean())
    norm = tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[row_arr] / max(average, 1.0)))
    # Rounded to float32 (what a weight needs), summed in float64 (exact, see above).
    weights = (norm * idf[term_arr]).astype(np.float32).astype(np.float64)
    frequent = np.argsort(-df_count, kind="stable")
    frequent = frequent[df_count[frequent] >= _DENSE_MIN_DF][: _DENSE_BUDGET // n_docs]
    slot = np.full(len(terms), -1, dtype=np.int64)
    slot[frequent] = np.arange(len(frequent))
    dense = np.zeros((len(frequent), n_docs), dtype=np.float64)
    in_dense = slot[term_arr] >= 0
    dense[slot[term_arr[in_dense]], row_arr[in_dense]] = weights[in_dense]
    sparse_terms = term_arr[~in_dense]
    order = np.argsort(sparse_terms, kind="stable")
    ptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(sparse_terms, minlength=len(terms)), out=ptr[1:])
    return LexicalIndex(terms, ptr, row_arr[~in_dense][order], weights[~in_dense][order], owners, slot, dense)


def _term_numbers(index: LexicalIndex, text: str) -> list[int]:
    """The index's term numbers of the distinct words of `text` that it knows."""
    found_ids = (_word_ids.get(w) for w in tokens(text)[:_MAX_ITEM_WORDS])
    ids = {i for i in found_ids if i is not None}
    if not ids:
        return []
    wanted = np.fromiter(ids, dtype=np.int64, count=len(ids))
    at = np.searchsorted(index.terms, wanted)
    known = at < len(index.terms)
    at, wanted = at[known], wanted[known]
    found: list[int] = at[index.terms[at] == wanted].tolist()
    return found


def lexical_scores(index: LexicalIndex, texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """(owners x items) BM25 scores; each distinct word of an item counts once (as a query term)."""
    n_owners = len(index.owners)
    if index.empty or not texts or not len(index.terms):
        return np.zeros((n_owners, len(texts)), dtype=np.float32)
    starts: list[int] = []
    ends: list[int] = []
    columns: list[int] = []
    query = np.zeros((len(index.dense), len(texts)), dtype=np.float64)
    for column, text in enumerate(texts):
        for term in _term_numbers(index, text):
            row = int(index.slot[term])
            if row >= 0:
                query[row, column] = 1.0
            else:
                starts.append(int(index.ptr[term]))
                ends.append(int(index.ptr[term + 1]))
                columns.append(column)
    out = index.dense.T @ query if len(index.dense) else np.zeros((n_owners, len(texts)))
    if starts:
        start_arr = np.asarray(starts, dtype=np.int64)
        lengths = np.asarray(ends, dtype=np.int64) - start_arr
        total = int(lengths.sum())
        if total:
            # Positions of every posting of every (item, term) pair, without a Python loop over postings.
            offsets = np.repeat(start_arr - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
            positions = np.arange(total, dtype=np.int64) + offsets
            cols = np.repeat(np.asarray(columns, dtype=np.int64), lengths)
            flat = index.rows[positions] * len(texts) + cols
            out += np.bincount(
                flat, weights=index.weights[positions], minlength=n_owners * len(texts)
            ).reshape(n_owners, len(texts))
    return out.astype(np.float32)
