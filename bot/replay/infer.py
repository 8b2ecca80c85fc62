"""Topics inferred from what each member wrote in the export (`passiton replay --infer-interests`).

Pure: export messages in, topic names out. A member's expertise is what the questions they answered in
threads were about; their interests are what they themselves shared or asked about. Only topics seen at
least `MIN_HITS` times count, at most `MAX_TOPICS` of each. In the live bot such topics are only ever
proposed to the member to confirm; the replay marks them "inferred" everywhere it shows them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.matching.classify import heuristic_kind
from bot.matching.rank import named_topics
from bot.matching.topics import normalise_topic
from bot.replay.model import ExportMessage

MIN_HITS = 2
MAX_TOPICS = 5

# Common topics of a technical workspace, looked for beside whatever the profiles file states.
COMMON_TOPICS = (
    "postgres", "mysql", "sql", "database", "kubernetes", "docker", "terraform", "aws", "google cloud",
    "azure", "linux", "python", "python packaging", "javascript", "typescript", "react", "css", "html",
    "accessibility", "go", "rust", "java", "graphql", "security", "observability", "monitoring",
    "prometheus", "machine learning", "embeddings", "data pipelines", "airflow", "dbt", "analytics",
    "design systems", "ux design", "product management", "roadmaps", "mentoring", "public speaking",
    "conference talks", "hiring", "testing", "continuous integration", "performance", "caching", "redis",
)  # fmt: skip


@dataclass(frozen=True)
class Inferred:
    interests: tuple[str, ...]
    expertise: tuple[str, ...]


def vocabulary(extra: Iterable[str] = ()) -> list[str]:
    """Normalised candidate topics: the common ones plus `extra` (e.g. every topic stated in the profiles)."""
    out = {normalise_topic(t) for t in COMMON_TOPICS}
    out.update(normalise_topic(t) for t in extra)
    return sorted(t for t in out if t)


def infer_topics(
    messages: Iterable[ExportMessage], topics: Iterable[str], skip_users: Iterable[str] = ()
) -> dict[str, Inferred]:
    """Inferred topics by Slack user id, for people who posted (bots and `skip_users` left out)."""
    ordered = sorted(set(topics))
    if not ordered:
        return {}
    lookup = {t: i for i, t in enumerate(ordered)}
    max_words = max(len(t.split()) for t in ordered)
    skip = set(skip_users)
    found: dict[tuple[str, str], list[int]] = {}  # (channel, ts) -> topic indexes of a question
    authors: dict[tuple[str, str], str | None] = {}
    interests: dict[str, Counter[int]] = defaultdict(Counter)
    expertise: dict[str, Counter[int]] = defaultdict(Counter)
    for m in messages:
        if (
            m.is_bot
            or m.is_deleted
            or not m.user
            or m.subtype not in (None, "thread_broadcast", "file_share")
        ):
            continue
        if m.is_reply:
            parent = (m.channel_id, m.thread_ts or "")
            if authors.get(parent) not in (None, m.user):
                expertise[m.user].update(found.get(parent, ()))
            continue
        text = " ".join([m.plain or m.text, *(a.title for a in m.attachments)])
        hits = named_topics(text, lookup, max_words)
        if not hits:
            continue
        key = (m.channel_id, m.ts)
        authors[key] = m.user
        if heuristic_kind(m.plain or m.text, bool(m.links)) in ("question", "ask"):
            found[key] = hits
        interests[m.user].update(hits)
    out: dict[str, Inferred] = {}
    for user in sorted(set(interests) | set(expertise)):
        if user in skip:
            continue
        exp = _top(expertise.get(user, Counter()), ordered)
        ints = tuple(t for t in _top(interests.get(user, Counter()), ordered) if t not in exp)
        if exp or ints:
            out[user] = Inferred(interests=ints, expertise=exp)
    return out


def _top(counts: Mapping[int, int], ordered: list[str]) -> tuple[str, ...]:
    best = sorted((-n, ordered[i]) for i, n in counts.items() if n >= MIN_HITS)
    return tuple(name for _, name in best[:MAX_TOPICS])
