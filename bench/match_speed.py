"""Speed of the matching core on this machine (medians of repeated runs).

    .venv/bin/python bench/match_speed.py [--items 5000] [--members 20000] [--repeats 3]

1. Embedding throughput of short texts (local WordLlama default, and the hashing baseline).
2. Ranking ITEMS x MEMBERS with `rank_items` (5 stated topics per member drawn from 3,000 distinct topics,
   10 helped questions for one member in five), peak memory of the ranking call (tracemalloc).
3. The same scoring as a straightforward per-pair Python loop (np.dot per (item, topic) pair, max per member)
   timed on a subsample of items and extrapolated to all items, stated as such; the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.matching.embedders import HashingEmbedder, LocalEmbedder
from bot.matching.rank import MemberProfile, RankConfig, build_member_index, rank_items

WORDS = [
    "postgres",
    "kubernetes",
    "terraform",
    "react",
    "python",
    "rust",
    "golang",
    "vacuum",
    "index",
    "cluster",
    "deploy",
    "testing",
    "latency",
    "cache",
    "queue",
    "kafka",
    "redis",
    "design",
    "hiring",
    "onboarding",
    "security",
    "oauth",
    "billing",
    "analytics",
    "dashboard",
    "pipeline",
    "spark",
    "airflow",
    "docker",
    "helm",
    "grafana",
    "alerting",
    "incident",
    "review",
    "roadmap",
    "pricing",
    "marketing",
    "seo",
    "accessibility",
    "mobile",
    "android",
    "ios",
    "swift",
    "kotlin",
    "graphql",
    "rest",
    "api",
    "gateway",
    "migration",
    "schema",
    "backup",
    "replication",
    "sharding",
    "search",
    "elasticsearch",
    "embeddings",
    "llm",
    "prompt",
    "evaluation",
    "fairness",
    "privacy",
    "gdpr",
    "compliance",
    "audit",
    "budget",
    "forecast",
]


def texts(rng: random.Random, n: int, lo: int, hi: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=rng.randint(lo, hi))) for _ in range(n)]


def median_time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop-items", type=int, default=3, help="items timed in the per-pair Python loop")
    args = parser.parse_args()
    rng = random.Random(7)
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        from threadpoolctl import threadpool_info

        blas = [
            (i.get("internal_api"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()
        ]
        print(f"BLAS: {blas}")
    except ImportError:
        pass

    short = texts(rng, 20_000, 4, 12)
    local = LocalEmbedder()
    local.embed(short[:100])  # warm up
    for name, embedder in (("local (wordllama)", local), ("hashing", HashingEmbedder())):
        seconds = median_time(lambda e=embedder: e.embed(short), args.repeats)
        print(
            f"embed {len(short)} short texts, {name}: {seconds:.2f} s median = {len(short) / seconds:,.0f} texts/s"
        )

    topics_pool = list(dict.fromkeys(" ".join(rng.sample(WORDS, rng.randint(1, 2))) for _ in range(6000)))[
        :3000
    ]
    helped_pool = texts(rng, 20_000, 6, 14)
    members = [
        MemberProfile(
            f"m{i}",
            tuple(rng.sample(topics_pool, 5)),
            tuple(rng.sample(helped_pool, 10)) if i % 5 == 0 else (),
            float(rng.randint(0, 50)),
        )
        for i in range(args.members)
    ]
    items = texts(rng, args.items, 8, 30)
    config = RankConfig()
    start = time.perf_counter()
    index = build_member_index(members, local, config)
    print(
        f"member index: {len(index.topics.texts)} distinct topics, {len(index.helped.texts)} distinct helped texts, "
        f"built in {time.perf_counter() - start:.2f} s (embedding included)"
    )
    vectors = local.embed(items)
    ids = [str(i) for i in range(len(items))]
    authors = [f"m{i}" for i in range(len(items))]

    def run() -> None:
        rank_items(index, ids, items, vectors, authors=authors, k=10, config=config)

    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cpu_start = time.process_time()
    seconds = median_time(run, args.repeats)
    cpu = (time.process_time() - cpu_start) / args.repeats
    print(
        f"rank {args.items} items x {args.members} members: {seconds:.2f} s median wall, {cpu:.2f} s CPU per run "
        f"(peak memory during ranking {peak / 2**20:.0f} MiB, chunked)"
    )

    # The same ranking without the ordering signals (activity prior, BM25 and embedding similarity over observed
    # help, stated topics): candidacy alone, as the ranker was before the fusion; the ratio is what they cost.
    plain = replace(config, w_recent=0.0, w_lexical=0.0, w_embedded=0.0, w_topics=0.0)
    cpu_start = time.process_time()
    plain_seconds = median_time(
        lambda: rank_items(index, ids, items, vectors, authors=authors, k=10, config=plain), args.repeats
    )
    plain_cpu = (time.process_time() - cpu_start) / args.repeats
    print(
        f"  without the ordering signals: {plain_seconds:.2f} s median wall, {plain_cpu:.2f} s CPU per run; "
        f"with them {seconds / plain_seconds:.2f}x the wall time, {cpu / plain_cpu:.2f}x the CPU"
    )

    # Straightforward per-pair loop: for each item and member, the best calibrated similarity over their topics.
    from bot.matching.topics import normalise_topic

    topic_vectors = dict(zip(index.topics.texts, index.topics.vectors, strict=True))
    mean = dict(zip(index.topics.texts, index.topics.mean, strict=True))
    scale = dict(zip(index.topics.texts, index.topics.scale, strict=True))
    sample = vectors[: args.loop_items]

    def loop() -> None:
        for item in sample:
            scores = []
            for member in members:
                best = -1e9
                for raw in member.topics:
                    topic = normalise_topic(raw)
                    best = max(best, (float(np.dot(item, topic_vectors[topic])) - mean[topic]) / scale[topic])
                scores.append(best)
            sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:10]

    loop_seconds = median_time(loop, args.repeats) / len(sample) * args.items
    print(
        f"per-pair Python loop (stated topics only, no helped texts): timed on {len(sample)} items, "
        f"extrapolated to {args.items}: {loop_seconds:.0f} s; vectorised ranker (all signals) is "
        f"{loop_seconds / seconds:,.0f}x faster"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"peak memory of the whole process (ru_maxrss, model and {args.members} profiles included): {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
