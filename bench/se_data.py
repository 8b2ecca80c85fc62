"""Turn a Stack Exchange `Posts.xml` (public data dump, CC BY-SA) into a who-will-answer task.

Time split: questions in the first `train_fraction` of time are history, the rest are test questions.
Members are everyone active in the history. A member's stated topics are the tags of the questions they
asked or answered in the history (their most frequent `max_topics`), their observed help is the text of
the questions they answered, and their activity is their number of answers. A test question is shown
without its tags; the relevant members are the ones (from the history) who actually answered it.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

_TAG_RE = re.compile(r"<[^>]+>")


def strip_html(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG_RE.sub(" ", text))).strip()


def parse_tags(raw: str) -> list[str]:
    if raw.startswith("|"):  # newer dumps: |a|b|
        return [t for t in raw.split("|") if t]
    return re.findall(r"<([^>]+)>", raw)


def _seconds(date: str) -> float:
    """A dump's CreationDate (UTC, no zone) as POSIX seconds."""
    return dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC).timestamp()


@dataclass
class Member:
    id: str
    topics: list[str]
    helped: list[str]
    activity: int
    # When each helped answer was written (POSIX seconds), in the order of `helped` (most recent first).
    helped_at: list[float] = field(default_factory=list)


@dataclass
class Question:
    id: str
    text: str
    author: str | None
    relevant: set[str]


@dataclass
class Task:
    name: str
    members: list[Member]
    questions: list[Question]
    # The time split (POSIX seconds): history before it, test questions after; the ranker's "now".
    cut: float = 0.0


def load_task(path: Path, train_fraction: float = 0.7, max_topics: int = 8, body_chars: int = 600) -> Task:
    questions: dict[str, dict[str, object]] = {}
    answers: list[tuple[str, str, str]] = []  # (question id, answerer, date)
    for _, row in ET.iterparse(path, events=("end",)):
        if row.tag != "row":
            continue
        kind = row.get("PostTypeId")
        if kind == "1":
            questions[row.get("Id", "")] = {
                "date": row.get("CreationDate", ""),
                "title": row.get("Title", ""),
                "body": strip_html(row.get("Body", ""))[:body_chars],
                "tags": parse_tags(row.get("Tags", "")),
                "owner": row.get("OwnerUserId"),
            }
        elif kind == "2" and row.get("OwnerUserId") and row.get("ParentId"):
            answers.append((row.get("ParentId", ""), row.get("OwnerUserId", ""), row.get("CreationDate", "")))
        row.clear()
    ordered = sorted(questions, key=lambda q: str(questions[q]["date"]))
    cut = str(questions[ordered[int(len(ordered) * train_fraction)]]["date"])
    tags_of: dict[str, Counter[str]] = defaultdict(Counter)
    helped: dict[str, list[str]] = defaultdict(list)
    helped_at: dict[str, list[float]] = defaultdict(list)
    activity: Counter[str] = Counter()
    answered_by: dict[str, set[str]] = defaultdict(set)
    for qid, user, date in sorted(answers, key=lambda a: a[2]):
        q = questions.get(qid)
        if q is None:
            continue
        if date < cut and str(q["date"]) < cut:
            tags_of[user].update(q["tags"])  # type: ignore[arg-type]
            helped[user].append(f"{q['title']}. {q['body']}")
            helped_at[user].append(_seconds(date))
            activity[user] += 1
        elif str(q["date"]) >= cut:
            answered_by[qid].add(user)
    for q in questions.values():
        owner = q["owner"]
        if owner and str(q["date"]) < cut:
            tags_of[str(owner)].update(q["tags"])  # type: ignore[arg-type]
    members = [
        Member(
            id=user,
            topics=[t.replace("-", " ") for t, _ in tags.most_common(max_topics)],
            helped=list(reversed(helped[user])),  # most recent first
            activity=activity[user],
            helped_at=list(reversed(helped_at[user])),
        )
        for user, tags in sorted(tags_of.items())
    ]
    pool = {m.id for m in members}
    test: list[Question] = []
    for qid in ordered:
        q = questions[qid]
        if str(q["date"]) < cut:
            continue
        owner = str(q["owner"]) if q["owner"] else None
        relevant = (answered_by.get(qid, set()) & pool) - {owner}
        if relevant:
            test.append(Question(qid, f"{q['title']}. {q['body']}", owner, relevant))
    return Task(path.stem, members, test, _seconds(cut))
