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


Posts = tuple[dict[str, dict[str, object]], list[tuple[str, str, str]]]


def parse_posts(path: Path, body_chars: int = 600) -> Posts:
    """Questions by id (date, title, body, tags, owner) and answers as (question id, answerer, date)."""
    questions: dict[str, dict[str, object]] = {}
    answers: list[tuple[str, str, str]] = []
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
    answers.sort(key=lambda a: a[2])
    return questions, answers


def load_task(path: Path, train_fraction: float = 0.7, max_topics: int = 8, body_chars: int = 600) -> Task:
    """The static split: history before the `train_fraction` quantile of question dates, every later
    question a test question, ranked with the history as of the split."""
    questions, answers = parse_posts(path, body_chars)
    ordered = sorted(questions, key=lambda q: str(questions[q]["date"]))
    cut = str(questions[ordered[int(len(ordered) * train_fraction)]]["date"])
    return task_at(path.stem, questions, answers, cut, "\uffff", max_topics)


def load_rolling(
    path: Path, train_fraction: float = 0.7, block: int = 20, max_topics: int = 8, body_chars: int = 600
) -> list[Task]:
    """The same test questions, in blocks of `block` consecutive questions, each ranked with the history up
    to the block's first question (as the live bot, which reads the store anew every day, would rank them)."""
    questions, answers = parse_posts(path, body_chars)
    ordered = sorted(questions, key=lambda q: str(questions[q]["date"]))
    test = ordered[int(len(ordered) * train_fraction) :]
    out = []
    for start in range(0, len(test), block):
        cut = str(questions[test[start]]["date"])
        end = str(questions[test[start + block]]["date"]) if start + block < len(test) else "\uffff"
        task = task_at(path.stem, questions, answers, cut, end, max_topics)
        if task.questions:
            out.append(task)
    return out


def task_at(
    name: str,
    questions: dict[str, dict[str, object]],
    answers: list[tuple[str, str, str]],
    cut: str,
    end: str,
    max_topics: int = 8,
) -> Task:
    """Members from the history before `cut`; test questions asked in [cut, end) that a member answered."""
    tags_of: dict[str, Counter[str]] = defaultdict(Counter)
    helped: dict[str, list[str]] = defaultdict(list)
    helped_at: dict[str, list[float]] = defaultdict(list)
    activity: Counter[str] = Counter()
    answered_by: dict[str, set[str]] = defaultdict(set)
    for qid, user, date in answers:
        q = questions.get(qid)
        if q is None:
            continue
        if date < cut and str(q["date"]) < cut:
            tags_of[user].update(q["tags"])  # type: ignore[arg-type]
            helped[user].append(f"{q['title']}. {q['body']}")
            helped_at[user].append(_seconds(date))
            activity[user] += 1
        elif cut <= str(q["date"]) < end:
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
    for qid in sorted(answered_by, key=lambda q: (str(questions[q]["date"]), q)):
        q = questions[qid]
        owner = str(q["owner"]) if q["owner"] else None
        relevant = (answered_by[qid] & pool) - {owner}
        if relevant:
            test.append(Question(qid, f"{q['title']}. {q['body']}", owner, relevant))
    return Task(name, members, test, _seconds(cut))
