"""How long one share-planning tick takes on a large workspace (SQLite file, local embedder).

    .venv/bin/python bench/plan_shares.py [--members 20000] [--items 5000] [--due all|tz]

Prints the cold tick (every text embedded once and stored), warm ticks (vectors from the store, member
index rebuilt), and hot ticks (member index reused in-process), medians of `--repeat` runs, plus the
number of nudges planned, CPU time beside wall time (the machine is shared) and the process's peak
memory (ru_maxrss). `--due all` plans every member at once: a whole day of share nudges in one tick.
Numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update

from bot.config import load_settings
from bot.matching.embedders import CachedEmbedder, LocalEmbedder
from bot.nudges.member_index import MemberIndexes
from bot.nudges.planner import plan_share_nudges
from bot.store.db import Database
from bot.store.migrate import upgrade
from bot.store.models import (
    Channel,
    ChannelMember,
    Item,
    Member,
    MemberTopic,
    Nudge,
    OutboxMessage,
    Relationship,
    Topic,
    Workspace,
)

WORDS = [
    "postgres",
    "kubernetes",
    "rust",
    "design",
    "hiring",
    "security",
    "observability",
    "testing",
    "python",
    "golang",
    "react",
    "typescript",
    "accessibility",
    "devops",
    "terraform",
    "ansible",
    "machine-learning",
    "statistics",
    "product-management",
    "leadership",
    "writing",
    "public-speaking",
    "mentoring",
    "career",
    "databases",
    "caching",
    "networking",
    "linux",
    "compilers",
    "embedded",
    "mobile",
    "android",
    "ios",
    "swift",
    "kotlin",
    "graphql",
    "grpc",
    "kafka",
    "spark",
    "analytics",
    "privacy",
    "ethics",
    "negotiation",
    "ux",
    "research",
    "onboarding",
    "documentation",
    "incident-response",
    "performance",
    "frontend",
    "backend",
    "cloud",
    "aws",
    "gcp",
]
ZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Kolkata",
         "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"]  # fmt: skip
NOW = dt.datetime(2025, 6, 4, 8, 30, tzinfo=dt.UTC)


def build(db: Database, members: int, items: int, rng: random.Random) -> Workspace:
    with db.session() as s:
        ws = Workspace(team_id="TBENCH", name="bench")
        s.add(ws)
        s.flush()
        topics = []
        for i in range(400):
            name = f"{rng.choice(WORDS)} {rng.choice(WORDS)}" if i >= len(WORDS) else WORDS[i]
            topics.append(
                {"workspace_id": ws.id, "name": f"{name} {i}" if i >= len(WORDS) else name, "label": name}
            )
        s.execute(insert(Topic), topics)
        topic_ids = list(range(1, len(topics) + 1))
        s.execute(insert(Member), [
            {"workspace_id": ws.id, "slack_user_id": f"U{i:07d}", "display_name": f"user{i}", "tz": ZONES[i % len(ZONES)],
             "opted_in": i % 5 != 0, "weekends_off": True, "delivery": "slack"}
            for i in range(members)
        ])  # fmt: skip
        member_ids = list(range(1, members + 1))
        s.execute(insert(MemberTopic), [
            {"workspace_id": ws.id, "member_id": m, "topic_id": t, "kind": "interest"}
            for m in member_ids for t in rng.sample(topic_ids, 3)
        ])  # fmt: skip
        n_channels = max(members // 100, 5)
        s.execute(insert(Channel), [
            {"workspace_id": ws.id, "slack_channel_id": f"C{c:06d}", "name": f"chan-{c}", "is_private": c % 10 == 9}
            for c in range(n_channels)
        ])  # fmt: skip
        memberships = {(rng.randrange(1, n_channels + 1), m) for m in member_ids for _ in range(3)}
        s.execute(insert(ChannelMember), [
            {"workspace_id": ws.id, "channel_id": c, "member_id": m} for c, m in memberships
        ])  # fmt: skip
        pairs = {tuple(sorted(rng.sample(member_ids, 2))) for _ in range(members * 3)}
        s.execute(insert(Relationship), [
            {"workspace_id": ws.id, "member_a_id": a, "member_b_id": b, "channel_id": rng.randrange(1, n_channels + 1),
             "weight": rng.random() * 3, "updated_at": NOW - dt.timedelta(days=rng.randrange(60))}
            for a, b in pairs
        ])  # fmt: skip
        s.execute(insert(Item), [
            {"workspace_id": ws.id, "source_key": f"C:{i}", "kind": "article", "channel_id": rng.randrange(1, n_channels + 1),
             "author_id": rng.choice(member_ids), "url": f"https://example.com/{i}",
             "title": f"A practical guide to {rng.choice(WORDS)} and {rng.choice(WORDS)}",
             "text": f"Notes on {rng.choice(WORDS)} for {rng.choice(WORDS)} teams",
             "posted_at": NOW - dt.timedelta(minutes=rng.randrange(3 * 24 * 60 - 1))}
            for i in range(items)
        ])  # fmt: skip
        return ws


def tick(db: Database, embedder: CachedEmbedder, due_all: bool, indexes: MemberIndexes) -> tuple[float, int]:
    settings = load_settings(database_url="sqlite://")
    with db.session() as s:
        s.execute(update(Member).values(last_planned_on=None))
        from sqlalchemy import delete

        s.execute(delete(OutboxMessage))
        s.execute(delete(Nudge))
    with db.session() as s:
        ws = s.get(Workspace, 1)
        assert ws is not None
        when = NOW if not due_all else NOW.replace(hour=23)  # 23:30 UTC: morning has come nearly everywhere
        start, cpu = time.perf_counter(), time.process_time()
        planned = plan_share_nudges(s, ws, when, settings, embedder, indexes=indexes)
        CPU.append(time.process_time() - cpu)
        return time.perf_counter() - start, len(planned)


CPU: list[float] = []  # CPU seconds of each tick, in order


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--due", choices=["tz", "all"], default="tz")
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        t0 = time.perf_counter()
        build(db, args.members, args.items, rng)
        print(f"built {args.members} members x {args.items} items in {time.perf_counter() - t0:.1f}s")
        inner = LocalEmbedder()
        due_all = args.due == "all"
        cold, n = tick(db, CachedEmbedder(inner), due_all, MemberIndexes())
        print(f"cold tick (embed + store vectors): {cold:.2f}s wall, {CPU[0]:.2f}s CPU, {n} nudges")
        warm = []
        for _ in range(args.repeat):
            # A fresh member index cache: the index is rebuilt (from stored vectors).
            warm.append(tick(db, CachedEmbedder(inner), due_all, MemberIndexes())[0])
        print(
            f"warm tick (vectors from the store, index rebuilt): median {statistics.median(warm):.2f}s wall, "
            f"{statistics.median(CPU[1:]):.2f}s CPU"
        )
        emb = CachedEmbedder(inner)
        kept = MemberIndexes()  # one cache across the hot ticks, as a running process keeps it
        tick(db, emb, due_all, kept)
        hot = [tick(db, emb, due_all, kept)[0] for _ in range(args.repeat)]
        print(f"hot tick (index reused in-process): median {statistics.median(hot):.2f}s")
        print(f"hot tick CPU time: median {statistics.median(CPU[-len(hot) :]):.2f}s")
        hot_cpu = statistics.median(CPU[-len(hot) :])
        print(f"ratio cold/hot: {cold / statistics.median(hot):.1f}x wall, {CPU[0] / hot_cpu:.1f}x CPU")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        print(f"peak memory (ru_maxrss, whole process incl. model): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
