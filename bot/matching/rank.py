"""Who should see this item: a vectorised ranker over plain data.

Two questions, answered separately:

1. **Is this member a candidate at all?** Per (item, member) the evidence is
     topical = max over the member's stated topics of  w_named * [topic named in the item]
                                                      + w_similar * z(item, topic)
     helped  = soft maximum (log-mean-exp, sharpness `help_sharpness`) over the questions the member replied
               to of z(item, question)
     evidence = topical + w_helped * helped
   and a member is a candidate only when evidence >= threshold or one of their stated topics is named in the
   item. z is a cosine similarity calibrated against `BACKGROUND_TEXTS` per vector (see background.py), which
   gives the threshold the same meaning for every topic and embedder, and makes a member's candidacy depend on
   nothing but that member (an index of a few people decides it exactly as the workspace's index does).

2. **In which order?** Candidates are ordered by a linear fusion of four signals, each z-scored per item
   across the index's members so that the weights (tuned on the development sites of bench/match_quality.py)
   mean the same whatever each signal's scale:
     order = w_recent  * z(activity prior: all-time and recency-weighted counts of observed help, mixed)
           + w_lexical * z(BM25 of the item against the member's helped questions)   (lexical.py)
           + w_embedded* z(helped)                                             embedding similarity
           + w_topics  * z(topical)                                            stated topics
   divided by the sum of the weights of the signals the index has (so without observed help, e.g. for
   share nudges, stated topics order the candidates alone).
   The activity prior mixes log1p of the all-time count of replies with log1p of a count where each reply
   weighs 2^(-age / half_life_days) (`prior_all_time` is the all-time share): who helps *now* moves up, and a
   regular's quiet fortnight does not make them a stranger. On real Q&A sites this is what beats "ask the most active members": popularity alone is
   strong, and the text signals decide among the many members it cannot tell apart (bench/RESULTS.md).
   `Match.score` is `threshold + softplus(order)` (`match_score`): never below the threshold for a candidate,
   in the same order, on a scale where one unit is about one standard deviation of a signal (the policy's load
   and feedback penalties are on that scale). The prior only reorders candidates; it never creates one, and
   spreading the load is the policy's job, not the ranker's.

Muted topics named in the item, or clearly similar to it, veto the member; the author is never ranked.

All scoring is matrix products over chunks of items with a bounded working set: topics and helped texts are
deduplicated across members, per-member maxima come from `np.maximum.reduceat` over a flat member-sorted
index, never a Python loop over pairs.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from bot.matching.background import BACKGROUND_TEXTS
from bot.matching.embedders import Embedder, Matrix
from bot.matching.lexical import LexicalIndex, build_lexical, lexical_scores
from bot.matching.topics import normalise_topic, normalised_words

Driver = Literal["named", "similar", "helped"]
_NEG = np.float32(-1e9)
_MAX_NGRAM = 6
_MAX_RUNS = 16_384
_MAX_NAMED_SEEN = 50_000  # remembered (lookup, text) -> named topics per index before it starts afresh  # remembered per-member entry lists in a TextMemo before it starts afresh
_MAX_ITEM_WORDS = 600


@dataclass(frozen=True)
class MemberProfile:
    """One member as the ranker sees them, for one field (interests for shares, expertise for help).

    `topics` are the member's stated topics (normalised here again, so raw input is fine). `helped` are texts
    of questions they replied to before (observed help), most recent first. `replied_at` are the times (POSIX
    seconds) of all their observed help replies, which the activity prior weighs by age; without them the
    prior is `activity`, a plain count such as replies in the last 90 days. `muted` topics veto an item that
    names them or is clearly about them.
    """

    id: str
    topics: tuple[str, ...] = ()
    helped: tuple[str, ...] = ()
    activity: float = 0.0
    muted: tuple[str, ...] = ()
    replied_at: tuple[float, ...] = ()


@dataclass(frozen=True)
class RankConfig:
    """The candidacy evidence and threshold (calibrated on short Slack questions, bench/match_sample.py), and
    the ordering weights (tuned on development sites of real Q&A data, bench/match_quality.py --tune)."""

    w_named: float = 2.0
    w_similar: float = 1.0
    w_helped: float = 1.0
    help_sharpness: float = 2.0
    threshold: float = 7.0
    # Ordering: weights of the per-item z-scores (see the module docstring).
    w_recent: float = 1.0
    w_lexical: float = 0.1
    w_embedded: float = 0.25
    # Tuned to 0 on the bench (stated tags add nothing once observed help is known); kept small but non-zero
    # so that stated topics still order candidates where nothing else does (shares, cold start).
    w_topics: float = 0.05
    half_life_days: float = 7.0
    # Help only: the `helped_top` members with observed help (replies to others' questions in the activity
    # window) who come first in the fused order are candidates too, whatever the similarity of their past
    # questions. On real Q&A sites the people who answer are mostly the recently active helpers, whose past
    # questions are often not close enough to clear the threshold (bench/help_diagnosis.py: the answerer
    # was in the top 3 of the order but no candidate). Only the first few: everyone who ever replied in a
    # thread is not a match for every question. This one rule makes candidacy depend on the others in the
    # index (a small index finds a superset, which is all `anyone_to_ask` needs). The index only holds
    # opted-in members, so consent still comes first.
    helped_top: int = 0
    # Share of the activity prior that is the all-time count (the rest is the decayed count): who is generally
    # active still counts on a quiet week or after a long gap, and who helps now still moves up.
    prior_all_time: float = 0.5
    mute_z: float = 5.0
    max_helped_per_member: int = 50
    chunk_elements: int = 8_000_000


@dataclass(frozen=True)
class Match:
    """One suggested member. `topic` is the stated topic that drove the match (the "why you" to quote);
    `driver` says whether it was named in the item, similar to it, or the evidence came mostly from the
    member's past help (then `topic` is still their closest stated topic, or None if they stated none)."""

    member_id: str
    score: float
    topic: str | None
    driver: Driver


@dataclass(frozen=True)
class ItemMatches:
    item_id: str
    matches: tuple[Match, ...]

    @property
    def member_ids(self) -> list[str]:
        return [m.member_id for m in self.matches]


@dataclass(frozen=True)
class _FlatIndex:
    """Unique vectors plus, per member, which of them are theirs (sorted by member for reduceat)."""

    texts: list[str]
    vectors: Matrix  # unique x dim, unit rows
    mean: npt.NDArray[np.float32]  # per unique vector: mean cosine to the background texts
    scale: npt.NDArray[np.float32]  # per unique vector: std of those cosines (floored)
    flat: npt.NDArray[np.int64]  # unique-vector index for each (member, entry) pair, member-sorted
    owners: npt.NDArray[np.int64]  # members that have at least one entry, ascending
    starts: npt.NDArray[np.int64]  # start offset in `flat` of each owner's run
    # Owners grouped by entry count (1, 2, 3-4, 5-8, ...): (owners, table of unique indices padded with -1)
    buckets: tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], ...] = ()
    bucket_owners: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    # The members' non-empty entry lists in member order, kept so a rebuild can tell it is unchanged.
    entries: tuple[tuple[str, ...], ...] | None = None

    @property
    def empty(self) -> bool:
        return len(self.flat) == 0


@dataclass
class MemberIndex:
    """Everything about the members that does not depend on the items: build once, rank many batches."""

    member_ids: list[str]
    topics: _FlatIndex
    helped: _FlatIndex
    muted: _FlatIndex
    log_activity: npt.NDArray[np.float32]  # the activity prior per member (log1p of a decayed count)
    log_helped_count: npt.NDArray[np.float32]
    lexical: LexicalIndex
    no_evidence: npt.NDArray[np.int64]  # members with neither stated topics nor helped questions
    topic_lookup: dict[str, int] = field(default_factory=dict)
    muted_lookup: dict[str, int] = field(default_factory=dict)
    max_topic_words: int = 1
    # CSR from unique topic to the members who stated it (for the named-topic eligibility, which is sparse).
    topic_member_ptr: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))
    topic_members: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    # Filled while ranking: which (lookup, text) pairs name which topics (a share run ranks the same articles
    # on every tick while the index is reused), and each topic owner's run in the flat topic index.
    named_seen: dict[tuple[str, str], list[int]] = field(default_factory=dict, repr=False, compare=False)
    _topic_runs: dict[int, tuple[int, int]] | None = field(default=None, repr=False, compare=False)
    _topic_table: npt.NDArray[np.int64] | None = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.member_ids)

    def topic_table(self) -> npt.NDArray[np.int64]:
        """Per member, the unique-topic indices of their stated topics in order, padded with -1."""
        if self._topic_table is None:
            topics = self.topics
            counts = np.diff(np.append(topics.starts, len(topics.flat))).astype(np.int64)
            width = int(counts.max()) if len(counts) else 0
            table = np.full((self.size, max(width, 1)), -1, dtype=np.int64)
            if len(counts):
                offsets = np.arange(width)
                mask = offsets[None, :] < counts[:, None]
                positions = topics.starts[:, None] + offsets[None, :]
                table[topics.owners[:, None].repeat(width, axis=1)[mask], np.nonzero(mask)[1]] = topics.flat[
                    positions[mask]
                ]
            self._topic_table = table
        return self._topic_table

    def topic_run(self, member: int) -> tuple[int, int] | None:
        """Start and end in `topics.flat` of a member's stated topics, or None without any."""
        if self._topic_runs is None:
            topics = self.topics
            ends = [*topics.starts.tolist()[1:], len(topics.flat)]
            self._topic_runs = dict(
                zip(topics.owners.tolist(), zip(topics.starts.tolist(), ends, strict=True), strict=True)
            )
        return self._topic_runs.get(member)


class TextMemo:
    """Per text, its vector and its calibration against the background texts, for one embedder.

    The calibration is computed one text at a time (an elementwise product summed along each row), so a
    text's mean and scale never depend on which other texts were embedded with it or where its row sits:
    an index assembled from remembered texts equals one built from scratch. A matrix product would not
    promise that (BLAS blocking changes the last bits with the row's position).
    """

    def __init__(self, embedder_name: str) -> None:
        self.embedder_name = embedder_name
        self.slot: dict[str, int] = {}
        self.texts: list[str] = []
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._mean = np.zeros(0, np.float32)
        self._scale = np.zeros(0, np.float32)
        self._runs: dict[tuple[str, ...], npt.NDArray[np.int64]] = {}  # a member's entries -> their slots
        self._background: Matrix | None = None
        self._lock = threading.Lock()  # planners of several workspaces may share one memo

    def background(self, embedder: Embedder) -> Matrix:
        """The background texts' vectors (the same for every build with this embedder)."""
        if self._background is None:
            self._background = embedder.embed(list(BACKGROUND_TEXTS))
        return self._background

    def runs(
        self, per_member: Sequence[tuple[str, ...]], embedder: Embedder, background: Matrix
    ) -> list[npt.NDArray[np.int64]]:
        """Slots of each member's entries; the entries not seen before are embedded in one call."""
        with self._lock:
            if len(self._runs) > _MAX_RUNS:
                self._runs.clear()
            new = [e for e in per_member if e not in self._runs]
            if new:
                self._slots([t for e in new for t in e], embedder, background)
                for e in new:
                    self._runs[e] = np.asarray([self.slot[t] for t in e], dtype=np.int64)
            return [self._runs[e] for e in per_member]

    def __len__(self) -> int:
        return len(self.texts)

    def slots(self, texts: Sequence[str], embedder: Embedder, background: Matrix) -> list[int]:
        """Slot of each text, embedding and calibrating the ones not seen before in one call."""
        if embedder.name != self.embedder_name:
            raise ValueError("a text memo serves one embedder")
        with self._lock:
            return self._slots(texts, embedder, background)

    def _slots(self, texts: Sequence[str], embedder: Embedder, background: Matrix) -> list[int]:
        new = [t for t in dict.fromkeys(texts) if t not in self.slot]
        if new:
            vectors = np.ascontiguousarray(embedder.embed(new), dtype=np.float32)
            mean, scale = calibration(vectors, background)
            start = len(self.texts)
            if start == 0:
                self._vectors, self._mean, self._scale = vectors, mean, scale
            else:
                self._vectors = np.concatenate([self._vectors, vectors])
                self._mean = np.concatenate([self._mean, mean])
                self._scale = np.concatenate([self._scale, scale])
            for offset, text in enumerate(new):
                self.slot[text] = start + offset
            self.texts.extend(new)
        return [self.slot[t] for t in texts]

    def take(
        self, slots: npt.NDArray[np.int64]
    ) -> tuple[Matrix, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        return self._vectors[slots], self._mean[slots], self._scale[slots]

    def compacted(self, keep: Sequence[str]) -> TextMemo:
        """A memo holding only `keep` (same numbers: rows are copied, not recomputed)."""
        out = TextMemo(self.embedder_name)
        kept = [t for t in dict.fromkeys(keep) if t in self.slot]
        if kept:
            rows = np.asarray([self.slot[t] for t in kept], dtype=np.int64)
            out._vectors, out._mean, out._scale = self.take(rows)
            out._background = self._background
            out.texts = kept
            out.slot = {t: i for i, t in enumerate(kept)}
        return out


def calibration(
    vectors: Matrix, background: Matrix
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Per row of `vectors`: mean and (floored) std of its cosines to the background texts, row by row."""
    n = len(vectors)
    sims = np.empty((n, len(background)), dtype=np.float32)
    step = 64
    for lo in range(0, n, step):
        part = vectors[lo : lo + step]
        np.sum(part[:, None, :] * background[None, :, :], axis=2, out=sims[lo : lo + len(part)])
    if not n:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    mean = sims.mean(axis=1).astype(np.float32)
    scale = np.maximum(sims.std(axis=1), 0.05).astype(np.float32)
    return mean, scale


def _memo_flat_index(
    per_member: Sequence[Sequence[str]], embedder: Embedder, background: Matrix, memo: TextMemo
) -> _FlatIndex:
    """`_flat_index`'s layout (unique texts in order of first appearance, members in order), with the
    vectors and calibration taken from `memo`; no Python loop over the entries."""
    lengths = np.fromiter((len(e) for e in per_member), dtype=np.int64, count=len(per_member))
    owners = np.flatnonzero(lengths)
    runs = memo.runs([tuple(e) for e in per_member if e], embedder, background)
    if not runs:
        return _FlatIndex(
            texts=[],
            vectors=np.zeros((0, embedder.dim), dtype=np.float32),
            mean=np.zeros(0, np.float32),
            scale=np.zeros(0, np.float32),
            flat=np.zeros(0, np.int64),
            owners=np.zeros(0, np.int64),
            starts=np.zeros(0, np.int64),
        )
    slots = np.concatenate(runs)
    unique, first, inverse = np.unique(slots, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # unique slots in order of first appearance
    position = np.empty(len(unique), dtype=np.int64)
    position[order] = np.arange(len(unique), dtype=np.int64)
    flat = position[inverse.reshape(-1)]
    in_order = unique[order]
    vectors, mean, scale = memo.take(in_order)
    starts = np.concatenate([[0], np.cumsum(lengths[owners])[:-1]]).astype(np.int64)
    buckets = _buckets(owners.astype(np.int64), flat, starts)
    return _FlatIndex(
        texts=[memo.texts[i] for i in in_order.tolist()],
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        mean=mean,
        scale=scale,
        flat=flat,
        owners=owners.astype(np.int64),
        starts=starts,
        buckets=buckets,
        bucket_owners=np.concatenate([o for o, _ in buckets]) if buckets else np.zeros(0, np.int64),
    )


def _reowned(previous: _FlatIndex, per_member: Sequence[Sequence[str]]) -> _FlatIndex | None:
    """`previous` for members whose non-empty entries are the same, in the same order, only at other
    positions (someone without entries joined or left): same texts, vectors and flat index, new owners."""
    owners = [i for i, entries in enumerate(per_member) if entries]
    if previous.entries is None or len(owners) != len(previous.entries):
        return None
    if any(tuple(per_member[i]) != e for i, e in zip(owners, previous.entries, strict=True)):
        return None
    owners_arr = np.asarray(owners, dtype=np.int64)
    buckets = _buckets(owners_arr, previous.flat, previous.starts)
    return _FlatIndex(
        texts=previous.texts,
        vectors=previous.vectors,
        mean=previous.mean,
        scale=previous.scale,
        flat=previous.flat,
        owners=owners_arr,
        starts=previous.starts,
        buckets=buckets,
        bucket_owners=np.concatenate([o for o, _ in buckets]) if buckets else np.zeros(0, np.int64),
        entries=previous.entries,
    )


def _flat_index(per_member: Sequence[Sequence[str]], embedder: Embedder, background: Matrix) -> _FlatIndex:
    unique: dict[str, int] = {}
    flat: list[int] = []
    owners: list[int] = []
    starts: list[int] = []
    for member, entries in enumerate(per_member):
        if not entries:
            continue
        owners.append(member)
        starts.append(len(flat))
        for text in entries:
            flat.append(unique.setdefault(text, len(unique)))
    texts = list(unique)
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
    sims = vectors @ background.T
    mean = sims.mean(axis=1).astype(np.float32) if len(texts) else np.zeros(0, np.float32)
    # The floor keeps a vector that is equally far from every background text from turning noise into z=10.
    scale = np.maximum(sims.std(axis=1), 0.05).astype(np.float32) if len(texts) else np.zeros(0, np.float32)
    flat_arr = np.asarray(flat, dtype=np.int64)
    starts_arr = np.asarray(starts, dtype=np.int64)
    buckets = _buckets(np.asarray(owners, dtype=np.int64), flat_arr, starts_arr)
    return _FlatIndex(
        texts=texts,
        vectors=np.ascontiguousarray(vectors, dtype=np.float32),
        mean=mean,
        scale=scale,
        flat=flat_arr,
        owners=np.asarray(owners, dtype=np.int64),
        starts=starts_arr,
        buckets=buckets,
        bucket_owners=np.concatenate([o for o, _ in buckets]) if buckets else np.zeros(0, np.int64),
        entries=tuple(tuple(e) for e in per_member if e),
    )


def _buckets(
    owners: npt.NDArray[np.int64], flat: npt.NDArray[np.int64], starts: npt.NDArray[np.int64]
) -> tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], ...]:
    """Owners grouped by their exact number of entries, each group as a (owners, entries) index table."""
    if not len(owners):
        return ()
    counts = np.diff(np.append(starts, len(flat)))
    widths = counts
    out = []
    for width in np.unique(widths).tolist():
        rows = np.flatnonzero(widths == width)
        table = np.full((len(rows), width), -1, dtype=np.int64)
        offsets = np.arange(width)
        mask = offsets[None, :] < counts[rows, None]
        positions = starts[rows, None] + offsets[None, :]
        table[mask] = flat[positions[mask]]
        out.append((owners[rows], table))
    return tuple(out)


@lru_cache(maxsize=65536)
def _dedupe_topics(raw: tuple[str, ...]) -> tuple[str, ...]:
    # Members' topic lists repeat from build to build: normalising them once is enough.
    return tuple(dict.fromkeys(t for t in (normalise_topic(x) for x in raw) if t))


class _ByIdentity:
    """Results of pure functions of tuples, found by the tuple's identity: profiles reused from build to
    build hand over the very same tuples, and hashing a long tuple again costs as much as the function.
    The tuple is held with its result, so its id cannot be reused by another object meanwhile."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: dict[tuple[int, int], tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def get(
        self, raw: Sequence[str], extra: int, compute: Callable[[tuple[str, ...]], tuple[str, ...]]
    ) -> tuple[str, ...]:
        key = (id(raw), extra)
        hit = self._seen.get(key)
        if hit is not None and hit[0] is raw:
            return hit[1]
        value = compute(raw if isinstance(raw, tuple) else tuple(raw))
        if isinstance(raw, tuple):
            if len(self._seen) > self._size:
                self._seen.clear()
            self._seen[key] = (raw, value)
        return value


_SEEN = _ByIdentity(200_000)


@lru_cache(maxsize=65536)
def _dedupe_helped(raw: tuple[str, ...], limit: int) -> tuple[str, ...]:
    # A member's helped list is the same from build to build until they help again.
    return tuple(dict.fromkeys(h for h in raw if h.strip()))[:limit]


def build_member_index(
    members: Sequence[MemberProfile],
    embedder: Embedder,
    config: RankConfig | None = None,
    *,
    memo: TextMemo | None = None,
    previous: MemberIndex | None = None,
    now: float | None = None,
) -> MemberIndex:
    """Embed every member's topics, helped questions and muted topics (deduplicated across members).

    `now` (POSIX seconds) is when the activity prior's ages are measured from; by default the latest reply
    time among the members, so the index is a pure function of the profiles.

    `memo` remembers helped questions' vectors and calibration between builds (one is made for this build
    when not given); `previous`, an index built before with the same embedder, lends its topic and muted
    arrays when those entries did not change. Either way the index is the one built from scratch.
    """
    config = config or RankConfig()
    memo = memo if memo is not None else TextMemo(embedder.name)
    background = memo.background(embedder)
    limit = config.max_helped_per_member
    topics = [_SEEN.get(m.topics, 0, _dedupe_topics) for m in members]
    muted = [_SEEN.get(m.muted, 0, _dedupe_topics) for m in members]
    helped = [_SEEN.get(m.helped, limit, lambda raw: _dedupe_helped(raw, limit)) for m in members]
    topic_index = (previous is not None and _reowned(previous.topics, topics)) or _flat_index(
        topics, embedder, background
    )
    muted_index = (previous is not None and _reowned(previous.muted, muted)) or _flat_index(
        muted, embedder, background
    )
    max_words = max((len(t.split()) for t in topic_index.texts + muted_index.texts), default=1)
    helped_count = np.array([len(h) for h in helped], dtype=np.float32)
    pair_members = np.repeat(
        topic_index.owners, np.diff(np.append(topic_index.starts, len(topic_index.flat)))
    )
    order = np.argsort(topic_index.flat, kind="stable")
    topic_member_ptr = np.zeros(len(topic_index.texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(topic_index.flat, minlength=len(topic_index.texts)), out=topic_member_ptr[1:])
    return MemberIndex(
        member_ids=[m.id for m in members],
        log_helped_count=np.log(np.maximum(helped_count, 1.0)),
        no_evidence=np.flatnonzero((helped_count == 0) & np.array([not t for t in topics], dtype=bool)),
        topics=topic_index,
        helped=_memo_flat_index(helped, embedder, background, memo),
        muted=muted_index,
        log_activity=activity_prior(members, config.half_life_days, now, config.prior_all_time),
        lexical=build_lexical(helped),
        topic_lookup={t: i for i, t in enumerate(topic_index.texts)},
        muted_lookup={t: i for i, t in enumerate(muted_index.texts)},
        max_topic_words=min(max_words, _MAX_NGRAM),
        topic_member_ptr=topic_member_ptr,
        topic_members=pair_members[order].astype(np.int64),
    )


def activity_prior(
    members: Sequence[MemberProfile], half_life_days: float, now: float | None = None, all_time: float = 0.0
) -> npt.NDArray[np.float32]:
    """Per member, (1 - all_time) * log1p(decayed count) + all_time * log1p(all-time count).

    The decayed count weighs each observed help reply 2^(-age / half life); the all-time count is the number
    of replies given. On Q&A sites spanning years a short half-life alone forgets who is generally active (a
    regular's quiet fortnight makes them a stranger), and a plain count alone never notices who is helping
    now; the mix keeps both (bench/match_quality.py --tune chose the share on the development sites).
    `activity` (an undecayed count) stands for both for members given without reply times. Replies after
    `now` count as new.
    """
    if not members:
        return np.zeros(0, np.float32)
    counts = np.maximum(np.asarray([m.activity for m in members], dtype=np.float64), 0.0)
    totals = counts.copy()
    timed = [i for i, m in enumerate(members) if m.replied_at]
    if timed:
        times = [np.asarray(members[i].replied_at, dtype=np.float64) for i in timed]
        lengths = np.asarray([len(t) for t in times], dtype=np.int64)
        flat = np.concatenate(times)
        reference = float(flat.max()) if now is None else now
        ages = np.maximum(reference - flat, 0.0) / 86_400.0
        weights = np.exp2(-ages / max(half_life_days, 1e-9))
        owner = np.repeat(np.arange(len(timed)), lengths)
        counts[timed] = np.bincount(owner, weights=weights, minlength=len(timed))
        totals[timed] = lengths
    share = min(max(all_time, 0.0), 1.0)
    prior = np.log1p(counts)
    if share:
        prior = (1.0 - share) * prior + share * np.log1p(totals)
    return prior.astype(np.float32)


def named_topics(text: str, lookup: dict[str, int], max_words: int) -> list[int]:
    """Indices of the topics in `lookup` that appear literally (after normalisation) in `text`."""
    words = normalised_words(text)[:_MAX_ITEM_WORDS]
    found: set[int] = set()
    for n in range(1, max_words + 1):
        for start in range(len(words) - n + 1):
            hit = lookup.get(" ".join(words[start : start + n]))
            if hit is not None:
                found.add(hit)
    return sorted(found)


def _named_matrix(
    texts: Sequence[str],
    lookup: dict[str, int],
    size: int,
    max_words: int,
    seen: tuple[dict[tuple[str, str], list[int]], str] | None = None,
) -> Matrix:
    """(unique topics x items): 1 where the topic is named in the item. `seen` (the index's memo and
    which lookup this is) remembers the answer per text."""
    out = np.zeros((size, len(texts)), dtype=np.float32)
    if size:
        for col, text in enumerate(texts):
            if seen is None:
                hits = named_topics(text, lookup, max_words)
            else:
                memo, which = seen
                found = memo.get((which, text))
                if found is None:
                    if len(memo) > _MAX_NAMED_SEEN:
                        memo.clear()
                    found = memo[(which, text)] = named_topics(text, lookup, max_words)
                hits = found
            if hits:
                out[hits, col] = 1.0
    return out


def _reduce_owners(
    values: Matrix, index: _FlatIndex, reduce: np.ufunc
) -> tuple[npt.NDArray[np.int64], Matrix]:
    """Reduce (unique x chunk) values over each owner's entries: (owner member indices, owners x chunk).

    Owners are grouped by how many entries they have; per group an index table gathers whole contiguous
    rows and the ufunc folds them column by column. No Python loop over members or pairs.
    """
    out = np.empty((len(index.bucket_owners), values.shape[1]), dtype=np.float32)
    row = 0
    for owners, table in index.buckets:
        acc = out[row : row + len(owners)]
        np.take(values, table[:, 0], axis=0, out=acc)
        for column in range(1, table.shape[1]):
            reduce(acc, values[table[:, column]], out=acc)
        row += len(owners)
    return index.bucket_owners, out


def _per_member(values: Matrix, index: _FlatIndex, n_members: int, reduce: np.ufunc, fill: float) -> Matrix:
    """`_reduce_owners` spread to (members x chunk), `fill` for members without entries."""
    if index.empty:
        return np.full((n_members, values.shape[1]), fill, dtype=np.float32)
    owners, reduced = _reduce_owners(values, index, reduce)
    if len(owners) == n_members:
        out = np.empty((n_members, values.shape[1]), dtype=np.float32)
    else:
        out = np.full((n_members, values.shape[1]), fill, dtype=np.float32)
    out[owners] = reduced
    return out


def _calibrated_similarity(item_vectors: Matrix, index: _FlatIndex) -> Matrix:
    """(unique x items) calibrated similarities."""
    sims = index.vectors @ item_vectors.T
    sims -= index.mean[:, None]
    sims /= index.scale[:, None]
    return sims


def rank_items(
    index: MemberIndex,
    item_ids: Sequence[str],
    item_texts: Sequence[str],
    item_vectors: Matrix,
    *,
    authors: Sequence[str | None] | None = None,
    k: int = 10,
    config: RankConfig | None = None,
    exclude: Sequence[Sequence[str]] | None = None,
) -> list[ItemMatches]:
    """Rank members for each item; at most `k` per item, none when nothing clears the threshold.

    `item_vectors` are the items' embeddings from the same embedder that built `index`. `exclude` optionally
    lists, per item, further member ids never to return (e.g. people already in the channel).
    """
    config = config or RankConfig()
    n_items, n_members = len(item_ids), index.size
    if not (len(item_texts) == n_items == item_vectors.shape[0]):
        raise ValueError("item_ids, item_texts and item_vectors must have the same length")
    if n_members == 0 or n_items == 0 or k <= 0:
        return [ItemMatches(i, ()) for i in item_ids]
    position = {member_id: i for i, member_id in enumerate(index.member_ids)}
    # Every per-chunk array is (members or unique vectors) x chunk: size the chunk to the widest of those.
    widest = max(n_members, len(index.topics.texts), len(index.helped.texts), len(index.muted.texts), 1)
    chunk = int(np.clip(config.chunk_elements // widest, 1, 1024))
    k = min(k, n_members)
    recent = _standardised(index.log_activity)

    def one_chunk(lo: int) -> list[ItemMatches]:
        hi = min(lo + chunk, n_items)
        vectors = np.ascontiguousarray(item_vectors[lo:hi], dtype=np.float32)
        texts = item_texts[lo:hi]
        # Topic evidence per (unique topic, item); the member's best topic is both score and "why you".
        # Arrays are (members or unique vectors) x (items in this chunk).
        topic_z = _calibrated_similarity(vectors, index.topics)
        named = _named_matrix(
            texts,
            index.topic_lookup,
            len(index.topics.texts),
            index.max_topic_words,
            (index.named_seen, "topics"),
        )
        topic_score = config.w_similar * topic_z + config.w_named * named
        topical = _per_member(topic_score, index.topics, n_members, np.maximum, float(_NEG))
        evidence = topical
        embedded: tuple[npt.NDArray[np.int64], Matrix] | None = None
        if not index.helped.empty and (config.w_helped or config.w_embedded):
            beta = config.help_sharpness
            help_z = _calibrated_similarity(vectors, index.helped)
            np.multiply(help_z, beta, out=help_z)
            np.clip(help_z, -60.0, 60.0, out=help_z)
            np.exp(help_z, out=help_z)
            # log-mean-exp: a soft maximum that does not grow with the number of questions answered (that
            # is what the activity prior is for, and it must not create a match on its own).
            owners, helped = _reduce_owners(help_z, index.helped, np.add)
            np.log(helped, out=helped)
            helped -= index.log_helped_count[owners][:, None]
            helped /= np.float32(beta)
            embedded = owners, helped
            if config.w_helped:
                # Members without stated topics count 0 there and live on help alone; with neither, none.
                evidence = np.maximum(topical, np.float32(0.0))
                evidence[owners] += np.maximum(helped * np.float32(config.w_helped), np.float32(0.0))
                if len(index.no_evidence):
                    evidence[index.no_evidence] = _NEG
        final = _order(index, texts, topical, embedded, recent, config)
        eligible = evidence >= config.threshold
        if config.helped_top > 0 and not index.helped.empty:
            helpers = index.helped.owners
            n = min(config.helped_top, len(helpers))
            best = np.argpartition(-final[helpers], n - 1, axis=0)[:n]  # n x items, rows of `helpers`
            eligible[helpers[best], np.arange(final.shape[1])[None, :]] = True
        # A stated topic named in the item is a match by itself (lexical evidence); hits are few.
        for topic, column in zip(*np.nonzero(named), strict=True):
            lo_ptr, hi_ptr = index.topic_member_ptr[topic], index.topic_member_ptr[topic + 1]
            eligible[index.topic_members[lo_ptr:hi_ptr], column] = True
        final[~eligible] = _NEG
        if not index.muted.empty:
            muted_named = _named_matrix(
                texts,
                index.muted_lookup,
                len(index.muted.texts),
                index.max_topic_words,
                (index.named_seen, "muted"),
            )
            veto = (
                np.maximum(muted_named * 1e3, _calibrated_similarity(vectors, index.muted)) >= config.mute_z
            )
            vetoed = _per_member(veto.astype(np.float32), index.muted, n_members, np.maximum, 0.0)
            final[vetoed > 0] = _NEG
        final = np.ascontiguousarray(final.T)  # items x members for the per-item top k
        for row in range(hi - lo):
            removed = []
            if authors is not None and authors[lo + row] is not None:
                removed.append(authors[lo + row])
            if exclude is not None:
                removed.extend(exclude[lo + row])
            for member_id in removed:
                col = position.get(member_id)  # type: ignore[arg-type]
                if col is not None:
                    final[row, col] = _NEG
        if k < n_members:
            top = np.argpartition(-final, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(n_members), (hi - lo, 1))
        top_scores = np.take_along_axis(final, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        return _explain_chunk(index, item_ids[lo:hi], top, top_scores, topic_score, named, config)

    return [match for lo in range(0, n_items, chunk) for match in one_chunk(lo)]


def match_score(order: float, config: RankConfig) -> float:
    """A candidate's `Match.score`: the threshold plus softplus(order), which keeps the ordering and never
    falls below the threshold. The policy compares a candidate's score minus feedback penalties with the threshold
    (one threshold: a candidate the ranker accepted is dropped only when feedback pushes them under it), and
    subtracts its load penalty on this scale, where one unit is about one standard deviation of a signal."""
    return config.threshold + (
        order + math.log1p(math.exp(-abs(order))) if order > 0 else math.log1p(math.exp(order))
    )


# Fill values for members without a signal when it is standardised: below nearly every member who has it.
_NO_TOPIC = -5.0
_NO_HELP = -3.0


def _standardised(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """`values` minus their mean over their standard deviation (0 where all are equal)."""
    if not len(values):
        return values
    std = float(values.std())
    return ((values - values.mean()) / std if std > 1e-6 else np.zeros_like(values)).astype(np.float32)


def _column_stats(
    values: Matrix, fill: float, n_members: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Per column, the mean and 1/std over `n_members` members: `values` rows for those who have the signal,
    `fill` for the rest (counted, not materialised). 1/std is 0 for a column where everyone is equal."""
    others = n_members - values.shape[0]
    total = values.sum(axis=0, dtype=np.float64) + fill * others
    squares = np.einsum("ij,ij->j", values, values, dtype=np.float64) + fill * fill * others
    mean = total / n_members
    std = np.sqrt(np.maximum(squares / n_members - mean * mean, 0.0))
    inverse = np.divide(1.0, std, out=np.zeros_like(std), where=std > 1e-6)
    return mean.astype(np.float32), inverse.astype(np.float32)


def _add_standardised(
    out: Matrix,
    weight: float,
    values: Matrix,
    rows: npt.NDArray[np.int64] | None,
    fill: float,
    owned: bool = False,
) -> None:
    """out += weight * z(signal), per column over all members; `values` are the rows `rows` (None: all).
    `owned`: `values` is a scratch array this may overwrite."""
    n_members = out.shape[0]
    mean, inverse = _column_stats(values, fill, n_members)
    scale = np.float32(weight) * inverse
    if rows is None:
        centred = np.subtract(values, mean, out=values if owned else None)
        centred *= scale
        out += centred
        return
    out += (np.float32(fill) - mean) * scale  # everyone as if without the signal ...
    out[rows] += (values - np.float32(fill)) * scale  # ... then those with it


def _order(
    index: MemberIndex,
    texts: Sequence[str],
    topical: Matrix,
    embedded: tuple[npt.NDArray[np.int64], Matrix] | None,
    recent: npt.NDArray[np.float32],
    config: RankConfig,
) -> Matrix:
    """(members x items) the fused ordering score (see the module docstring), 0 for an average member."""
    n_members = index.size
    out = np.zeros((n_members, len(texts)), dtype=np.float32)
    # Each weight is a share of the weights of the signals this index has: without observed help (share
    # nudges, a workspace's first days) the stated topics order the candidates alone, on the same scale.
    present = 0.0
    if config.w_recent and recent.any():
        out += (np.float32(config.w_recent) * recent)[:, None]
        present += config.w_recent
    if config.w_topics and len(index.topics.texts):
        floored = np.maximum(topical, np.float32(_NO_TOPIC))
        _add_standardised(out, config.w_topics, floored, None, _NO_TOPIC, owned=True)
        present += config.w_topics
    if config.w_embedded and embedded is not None:
        owners, helped = embedded
        _add_standardised(out, config.w_embedded, helped, owners, _NO_HELP)
        present += config.w_embedded
    if config.w_lexical and not index.lexical.empty:
        scores = lexical_scores(index.lexical, texts)
        _add_standardised(out, config.w_lexical, scores, index.lexical.owners, 0.0)
        present += config.w_lexical
    if present > 0:
        out *= np.float32(1.0 / present)
    return out


def _explain_chunk(
    index: MemberIndex,
    item_ids: Sequence[str],
    top: npt.NDArray[np.int64],
    top_scores: Matrix,
    topic_score: Matrix,
    named: Matrix,
    config: RankConfig,
) -> list[ItemMatches]:
    """The explanation (tests/matching/test_rank.py keeps the one-item reference) for every item of a chunk at once: each match's best stated topic (the first of the
    member's topics with the highest score, as argmax picks it) is found with array operations."""
    n_rows = len(top)
    keep = top_scores > _NEG / 2
    if len(index.topics.texts):
        candidates = index.topic_table()[top]  # rows x k x widest
        valid = candidates >= 0
        rows = np.arange(n_rows)[:, None, None]
        values = np.where(valid, topic_score[np.where(valid, candidates, 0), rows], -np.inf)
        best = np.take_along_axis(candidates, values.argmax(axis=2)[..., None], axis=2)[..., 0]
        has_topic = valid[..., 0]
        safe = np.where(has_topic, best, 0)
        best_score = topic_score[safe, np.arange(n_rows)[:, None]]
        best_named = named[safe, np.arange(n_rows)[:, None]] > 0
    else:
        has_topic = best_named = np.zeros(top.shape, dtype=bool)
        best = np.zeros(top.shape, dtype=np.int64)
        best_score = np.zeros(top.shape, dtype=np.float32)
    texts = index.topics.texts
    # Compared as the per-item code compared numpy scalars (a Python float meets float32 as float32).
    below_half = best_score < config.threshold / 2
    # Plain lists: indexing numpy arrays one element at a time costs more than the rest of the loop.
    keep_l, top_l, scores_l = keep.tolist(), top.tolist(), top_scores.tolist()
    has_l, best_l, named_l, below_l = (
        has_topic.tolist(),
        best.tolist(),
        best_named.tolist(),
        below_half.tolist(),
    )
    ids = index.member_ids
    out = []
    for row in range(n_rows):
        matches: list[Match] = []
        for col, kept in enumerate(keep_l[row]):
            if not kept:
                continue
            topic: str | None = None
            driver: Driver = "helped"
            if has_l[row][col]:
                topic = texts[best_l[row][col]]
                driver = "helped" if below_l[row][col] else "named" if named_l[row][col] else "similar"
            score = match_score(scores_l[row][col], config)
            matches.append(Match(ids[top_l[row][col]], round(score, 4), topic, driver))
        out.append(ItemMatches(item_ids[row], tuple(matches)))
    return out


def rank(
    members: Sequence[MemberProfile],
    items: Sequence[tuple[str, str, str | None]],
    embedder: Embedder,
    *,
    k: int = 10,
    config: RankConfig | None = None,
) -> list[ItemMatches]:
    """Convenience: build the index and rank `(item id, text, author id)` triples in one call."""
    index = build_member_index(members, embedder, config)
    texts = [text for _, text, _ in items]
    vectors = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
    return rank_items(
        index, [i for i, _, _ in items], texts, vectors, authors=[a for _, _, a in items], k=k, config=config
    )
