"""Turn a Stack Exchange `Posts.xml` (public data dump, CC BY-SA) into a Slack export + stated profiles, so
`passiton replay --profiles` can be run on a real community where we know who really answered what.

    python bench/se_export.py /tmp/sedata/coffee.xml OUT [--from 2016-01-01] [--to 2016-12-31]
        [--max-questions 500] [--history 0.2] [--helped 0]

What goes where:
- Each question becomes a top-level channel message by its asker at its creation time: the title, a blank
  line, then the start of the body (HTML stripped, mrkdwn-escaped), never its tags. Each answer becomes a
  thread reply by the answerer at the answer's real time, so `thread_ts`, `reply_count`, `reply_users`,
  `latest_reply` and the legacy `replies` list on the parent look as Slack writes them.
- Channels are the site's most used tags (`--channels`, counted over the whole dump: a workspace's channels
  exist before and after any one question, so this is naming, not peeking at answers). A question goes to
  the channel of its tag with the most questions overall among those top tags, else #general. A channel's
  members are the people who post in it in the export; #general has everybody.
- Posts without an owner (deleted accounts) are left out: nobody can be credited with them; so are the
  posts of the site's Community account (a negative user id), a system account rather than a member.

No peeking at the future: the export covers questions from `--from` (default: the day of the question at
the `--history` fraction of the dump, 0.2) to `--to` (default: the end of the dump), at most
`--max-questions` of them (the earliest). The export ends at the end of the `--to` day (or of the last kept
question's day when `--max-questions` cuts), else at the dump's last post: answers after that are not in it. The profiles are what each member would state when the bot is installed, at the
export's start: only posts from before it count. Expertise = the most frequent tags of the questions they
answered before; interests = the most frequent tags of the questions they asked or answered before; with
`--helped N`, also the titles of the last N questions they answered before (the replay stores those as
observed help). Someone with no post before the start has no profile (and is not opted in).

Users are `U` + the Stack Exchange user id; names are `user<id>` (Posts.xml carries no names); every
member's time zone is UTC (the dump has none). The output is deterministic: the same input and options
write the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from se_data import parse_tags, strip_html

TEAM = "TSTACKEXCH"
BODY_CHARS = 400
ANSWER_CHARS = 400
MAX_TOPICS = 5


@dataclass(frozen=True)
class Post:
    id: str
    kind: str  # question | answer
    at: dt.datetime
    owner: str
    title: str
    body: str
    tags: tuple[str, ...]
    parent: str | None


class SEExportError(Exception):
    pass


def _time(raw: str) -> dt.datetime:
    return dt.datetime.fromisoformat(raw).replace(tzinfo=dt.UTC)


def read_posts(path: Path) -> list[Post]:
    """Questions and answers with an owner, in time order (ties by post id, so the order is stable)."""
    posts: list[Post] = []
    try:
        for _, row in ET.iterparse(path, events=("end",)):
            if row.tag != "row":
                continue
            kind = {"1": "question", "2": "answer"}.get(row.get("PostTypeId", ""))
            owner = row.get("OwnerUserId")
            created = row.get("CreationDate")
            # No owner: a deleted account; a negative id: the site's own Community account (wikis, migrations).
            if kind is None or not owner or owner.startswith("-") or not created:
                row.clear()
                continue
            if kind == "answer" and not row.get("ParentId"):
                row.clear()
                continue
            posts.append(
                Post(
                    id=row.get("Id", ""), kind=kind, at=_time(created), owner=owner,
                    title=row.get("Title", "") or "", body=strip_html(row.get("Body", "") or ""),
                    tags=tuple(parse_tags(row.get("Tags", "") or "")), parent=row.get("ParentId"),
                )
            )  # fmt: skip
            row.clear()
    except ET.ParseError as exc:
        raise SEExportError(f"{path}: not a readable Posts.xml ({exc})") from None
    except ValueError as exc:
        raise SEExportError(f"{path}: bad CreationDate ({exc})") from None
    if not any(p.kind == "question" for p in posts):
        raise SEExportError(f"{path}: no questions with an owner in it")
    posts.sort(key=lambda p: (p.at, int(p.id) if p.id.isdigit() else 0, p.id))
    return posts


def escape(text: str) -> str:
    """Slack stores message text with &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_id(owner: str) -> str:
    return f"U{owner}"


def channel_name(tag: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in tag.lower())[:80]
    return name or "tag"


def _ts(at: dt.datetime, used: set[str]) -> str:
    """Slack's `ts` for `at`; nudged one microsecond on when another message of the channel has it."""
    micros = int(at.timestamp()) * 1_000_000 + at.microsecond
    while True:
        ts = f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
        if ts not in used:
            used.add(ts)
            return ts
        micros += 1


def _profile_users(history: Sequence[Post], by_id: dict[str, Post], helped: int) -> dict[str, dict[str, Any]]:
    asked: dict[str, Counter[str]] = defaultdict(Counter)
    answered: dict[str, Counter[str]] = defaultdict(Counter)
    answered_titles: dict[str, list[str]] = defaultdict(list)
    for p in history:
        if p.kind == "question":
            asked[p.owner].update(p.tags)
            continue
        q = by_id.get(p.parent or "")
        if q is None or q.kind != "question" or q.at > p.at:
            continue
        answered[p.owner].update(q.tags)
        answered_titles[p.owner].append(q.title)
    out: dict[str, dict[str, Any]] = {}
    for owner in sorted(set(asked) | set(answered), key=lambda o: (len(o), o)):
        both = asked[owner] + answered[owner]

        def top(c: Counter[str]) -> list[str]:
            return [
                t.replace("-", " ") for t, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TOPICS]
            ]

        profile: dict[str, Any] = {"interests": top(both), "expertise": top(answered[owner])}
        if helped:
            profile["helped"] = list(reversed(answered_titles[owner][-helped:]))
        out[user_id(owner)] = profile
    return out


def _user(uid: str) -> dict[str, Any]:
    name = f"user{uid[1:]}"
    return {
        "id": uid, "team_id": TEAM, "name": name, "deleted": False, "real_name": name, "tz": "UTC",
        "tz_label": "Coordinated Universal Time", "tz_offset": 0,
        "profile": {"real_name": name, "display_name": name, "team": TEAM},
        "is_admin": False, "is_owner": False, "is_bot": False, "is_app_user": False,
        "is_restricted": False, "is_ultra_restricted": False,
    }  # fmt: skip


def build(
    posts: Sequence[Post],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    max_questions: int | None = None,
    history: float = 0.2,
    channels: int = 8,
    helped: int = 0,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """(files by relative path → JSON value, profiles, facts about the cut). Pure: no I/O."""
    questions = [p for p in posts if p.kind == "question"]
    if start is None:
        start = questions[min(int(len(questions) * history), len(questions) - 1)].at.date()
    begin = dt.datetime.combine(start, dt.time(), dt.UTC)
    finish = (
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
        if end is not None
        else posts[-1].at
    )
    kept = [q for q in questions if begin <= q.at < finish] if end is not None else [
        q for q in questions if begin <= q.at
    ]  # fmt: skip
    if max_questions is not None and len(kept) > max_questions:
        kept = kept[:max_questions]
        # An export taken when the last kept question was asked: answers after that day are not in it yet.
        finish = min(
            finish, dt.datetime.combine(kept[-1].at.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        )
    if not kept:
        raise SEExportError(f"no questions between {start} and {end or 'the end of the dump'}")
    by_id = {p.id: p for p in posts}
    kept_ids = {q.id for q in kept}
    answers: dict[str, list[Post]] = defaultdict(list)
    for p in posts:
        if p.kind == "answer" and p.parent in kept_ids and p.at <= finish and p.at >= by_id[p.parent].at:
            answers[p.parent].append(p)

    tag_counts = Counter(t for q in questions for t in q.tags)
    top = [t for t, _ in sorted(tag_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:channels]]
    rank = {t: i for i, t in enumerate(top)}
    names = ["general"] + [channel_name(t) for t in top if channel_name(t) != "general"]
    ids = {name: f"C{i:08d}" for i, name in enumerate(names)}

    def channel_of(q: Post) -> str:
        mine = [t for t in q.tags if t in rank]
        return channel_name(min(mine, key=lambda t: rank[t])) if mine else "general"

    days: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    members: dict[str, set[str]] = defaultdict(set)
    used: dict[str, set[str]] = defaultdict(set)
    everyone: set[str] = set()
    for q in kept:
        name = channel_of(q)
        asker = user_id(q.owner)
        ts = _ts(q.at, used[name])
        body = q.body[:BODY_CHARS] + ("…" if len(q.body) > BODY_CHARS else "")
        parent: dict[str, Any] = {
            "type": "message", "user": asker, "text": escape(f"{q.title}\n\n{body}".strip()), "ts": ts,
            "team": TEAM,
        }  # fmt: skip
        replies: list[dict[str, Any]] = []
        for a in answers.get(q.id, []):
            answerer = user_id(a.owner)
            rts = _ts(a.at, used[name])
            text = a.body[:ANSWER_CHARS] + ("…" if len(a.body) > ANSWER_CHARS else "")
            reply = {"type": "message", "user": answerer, "text": escape(text or "(answer)"), "ts": rts,
                     "thread_ts": ts, "parent_user_id": asker, "team": TEAM}  # fmt: skip
            replies.append(reply)
            members[name].add(answerer)
            days[(name, a.at.date().isoformat())].append(reply)
        if replies:
            users = list(dict.fromkeys(r["user"] for r in replies))
            parent.update(
                thread_ts=ts, reply_count=len(replies), reply_users_count=len(users),
                latest_reply=replies[-1]["ts"], reply_users=users,
                replies=[{"user": r["user"], "ts": r["ts"]} for r in replies], is_locked=False, subscribed=False,
            )  # fmt: skip
        members[name].add(asker)
        days[(name, q.at.date().isoformat())].append(parent)
    for m in members.values():
        everyone |= m

    history_posts = [p for p in posts if p.at < begin]
    profiles = _profile_users(history_posts, by_id, helped)
    people = sorted(everyone | set(profiles), key=lambda u: (len(u), u))
    created = int(min(begin, posts[0].at).timestamp())
    channel_list = [
        {
            "id": ids[name], "name": name, "created": created, "creator": people[0] if people else "",
            "is_archived": False, "is_general": name == "general",
            "members": people if name == "general" else sorted(members.get(name, ()), key=lambda u: (len(u), u)),
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": f"questions tagged {name}" if name != "general" else "everything else",
                        "creator": "", "last_set": 0},
        }
        for name in names
    ]  # fmt: skip
    files: dict[str, Any] = {"users.json": [_user(u) for u in people], "channels.json": channel_list}
    for (name, day), messages in sorted(days.items()):
        files[f"{name}/{day}.json"] = sorted(messages, key=lambda m: float(m["ts"]))
    facts = {
        "from": start.isoformat(), "to": (finish - dt.timedelta(microseconds=1)).date().isoformat(), "questions": len(kept),
        "answers": sum(len(v) for v in answers.values()), "users": len(people), "profiles": len(profiles),
        "channels": names, "history_posts": len(history_posts),
    }  # fmt: skip
    return files, profiles, facts


def write(out: Path, files: dict[str, Any], profiles: dict[str, dict[str, Any]]) -> Path:
    """The export folder `out/export` and `out/profiles.json`; written beside and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".export.part"
    shutil.rmtree(tmp, ignore_errors=True)
    for rel, value in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    final = out / "export"
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    (out / "profiles.json").write_text(
        json.dumps(profiles, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return final


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise SEExportError(f"{value!r}: expected a date as YYYY-MM-DD") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posts", type=Path, help="a Stack Exchange Posts.xml")
    parser.add_argument("out", type=Path, help="folder for export/ and profiles.json")
    parser.add_argument("--from", dest="start", help="first day of questions (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", help="last day (YYYY-MM-DD); the export ends with it")
    parser.add_argument("--max-questions", type=int, help="at most this many questions, the earliest")
    parser.add_argument(
        "--history", type=float, default=0.2, help="without --from: share of questions before"
    )
    parser.add_argument("--channels", type=int, default=8, help="channels from this many top tags")
    parser.add_argument(
        "--helped", type=int, default=0, help="per profile, titles of N questions answered before"
    )
    args = parser.parse_args(argv)
    try:
        start, end = _date(args.start), _date(args.end)
        if start and end and start > end:
            raise SEExportError(f"--from {start} is after --to {end}")
        if args.max_questions is not None and args.max_questions < 1:
            raise SEExportError("--max-questions: give a positive number")
        if not 0 <= args.history < 1:
            raise SEExportError("--history: give a fraction from 0 up to (not including) 1")
        if not args.posts.is_file():
            raise SEExportError(f"{args.posts}: no such file")
        files, profiles, facts = build(
            read_posts(args.posts), start=start, end=end, max_questions=args.max_questions,
            history=args.history, channels=args.channels, helped=args.helped,
        )  # fmt: skip
        where = write(args.out, files, profiles)
    except SEExportError as exc:
        print(f"se_export: {exc}", file=sys.stderr)
        return 2
    print(f"{where}: {json.dumps(facts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
