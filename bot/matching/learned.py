"""What observed help says a member knows about, for them to see on App Home (pure).

Topics are looked up in the questions a member answered in threads, with the same word pipeline stated
topics go through, against the workspace's own topic vocabulary (what members stated). Ordered by how
many of those questions mention each topic, but only the names are ever shown: no counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from bot.matching.topics import normalised_words

MAX_TOPICS = 6


def answered_topics(texts: Iterable[str], vocabulary: Iterable[str], limit: int = MAX_TOPICS) -> list[str]:
    """The vocabulary topics (normalised names) the answered questions are about, most frequent first."""
    topics = sorted({t for t in vocabulary if t})
    counts: Counter[str] = Counter()
    for text in texts:
        words = " " + " ".join(normalised_words(text)) + " "
        counts.update(t for t in topics if f" {t} " in words)
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
