"""Who-will-answer quality on real Stack Exchange data: passiton's ranker vs popularity, BM25 and TF-IDF.

    .venv/bin/python bench/match_quality.py PATH/TO/site1/Posts.xml [more Posts.xml ...] [--embedder local]
    .venv/bin/python bench/match_quality.py --tune DEV1.xml DEV2.xml     # grid search on development sites

The data is not in the repository (see bench/README.md for how to get a site's Posts.xml). Every method sees
the same history (stated topics = tags a member asked/answered, observed help = questions they answered,
activity = number of answers) and the same test questions (after the time split, without tags). The author
is excluded for every method. Metrics are computed over the top 100, with passiton's threshold disabled (it
would otherwise return fewer); "coverage" is the share of test questions that get any suggestion at the
default threshold. The "-active" rows drop the 10% most active members from the pool and from the answers.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import bm25_scores, metrics, rankings_from_scores, tfidf_scores
from se_data import Member, Question, Task, load_task

from bot.matching.embedders import CachedEmbedder, Embedder, LRUEmbeddingCache
from bot.matching.rank import MemberProfile, RankConfig, build_member_index, rank_items

DEPTH = 100
OFF = -1e8


def get_embedder(name: str) -> Embedder:
    if name == "minilm":
        from embedders import MiniLMEmbedder  # bench-only: needs sentence-transformers + torch

        return MiniLMEmbedder()
    from bot.matching.embedders import make_embedder

    return make_embedder(name).inner


def profiles(members: list[Member], with_history: bool = True) -> list[MemberProfile]:
    return [
        MemberProfile(
            m.id,
            tuple(m.topics),
            tuple(m.helped) if with_history else (),
            float(m.activity) if with_history else 0.0,
        )
        for m in members
    ]


def passiton_rankings(
    embedder: Embedder,
    members: list[Member],
    questions: list[Question],
    config: RankConfig,
    history: bool = True,
) -> list[list[str]]:
    index = build_member_index(profiles(members, history), embedder, config)
    texts = [q.text for q in questions]
    out = rank_items(
        index,
        [q.id for q in questions],
        texts,
        embedder.embed(texts),
        authors=[q.author for q in questions],
        k=DEPTH,
        config=replace(config, threshold=OFF),
    )
    return [r.member_ids for r in out]


def coverage(
    embedder: Embedder, members: list[Member], questions: list[Question], config: RankConfig
) -> float:
    index = build_member_index(profiles(members), embedder, config)
    texts = [q.text for q in questions]
    out = rank_items(
        index,
        [q.id for q in questions],
        texts,
        embedder.embed(texts),
        authors=[q.author for q in questions],
        k=5,
        config=config,
    )
    return float(np.mean([bool(r.matches) for r in out]))


def member_doc(m: Member) -> str:
    return " ".join(m.topics) + " " + " ".join(m.helped)


def evaluate(
    embedder: Embedder, members: list[Member], questions: list[Question], config: RankConfig
) -> dict[str, dict[str, float]]:
    ids = [m.id for m in members]
    authors = [q.author for q in questions]
    relevant = [q.relevant for q in questions]
    texts = [q.text for q in questions]
    docs = [member_doc(m) for m in members]
    popularity = np.tile(np.array([m.activity for m in members], dtype=np.float32), (len(questions), 1))
    results = {
        "popularity": metrics(rankings_from_scores(popularity, ids, authors, DEPTH), relevant),
        "BM25": metrics(rankings_from_scores(bm25_scores(docs, texts), ids, authors, DEPTH), relevant),
        "TF-IDF": metrics(rankings_from_scores(tfidf_scores(docs, texts), ids, authors, DEPTH), relevant),
        "passiton (stated topics only)": metrics(
            passiton_rankings(embedder, members, questions, config, False), relevant
        ),
        "passiton": metrics(passiton_rankings(embedder, members, questions, config), relevant),
    }
    return results


def without_most_active(task: Task, share: float = 0.1) -> tuple[list[Member], list[Question]]:
    cut = max(1, int(len(task.members) * share))
    top = {m.id for m in sorted(task.members, key=lambda m: -m.activity)[:cut]}
    members = [m for m in task.members if m.id not in top]
    questions = [replace(q, relevant=q.relevant - top) for q in task.questions]
    return members, [q for q in questions if q.relevant]


def table(rows: dict[str, dict[str, float]]) -> str:
    cols = ["recall@1", "recall@5", "MRR", "nDCG@10"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    lines += [f"| {name} | " + " | ".join(f"{v[c]:.3f}" for c in cols) + " |" for name, v in rows.items()]
    return "\n".join(lines)


def pooled(per_task: list[tuple[int, dict[str, dict[str, float]]]]) -> dict[str, dict[str, float]]:
    """Question-weighted mean over sites."""
    total = sum(n for n, _ in per_task)
    names = per_task[0][1].keys()
    return {
        name: {c: sum(n * r[name][c] for n, r in per_task) / total for c in per_task[0][1][name]}
        for name in names
    }


GRID = {
    "w_named": [0.5, 1.5],
    "w_similar": [0.25, 0.5, 1.0],
    "w_helped": [0.25, 0.5, 1.0, 2.0],
    "help_sharpness": [0.5, 1.0, 2.0],
    "w_activity": [1.0, 2.0, 3.0],
}


def tune(embedder: Embedder, tasks: list[Task]) -> RankConfig:
    best: tuple[float, RankConfig] | None = None
    for values in itertools.product(*GRID.values()):
        config = RankConfig(**dict(zip(GRID, values, strict=True)))  # type: ignore[arg-type]
        score = 0.0
        for task in tasks:
            for members, questions in ((task.members, task.questions), without_most_active(task)):
                m = metrics(
                    passiton_rankings(embedder, members, questions, config), [q.relevant for q in questions]
                )
                score += m["recall@5"] + m["MRR"]
        print(f"{score:.4f} {values}", flush=True)
        if best is None or score > best[0]:
            best = (score, config)
    assert best is not None
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("posts", nargs="+", type=Path, help="Stack Exchange Posts.xml files (one per site)")
    parser.add_argument("--embedder", default="local", help="local | hashing | minilm (bench venv only)")
    parser.add_argument(
        "--tune", action="store_true", help="grid-search RankConfig on these (development) sites"
    )
    args = parser.parse_args()
    embedder = CachedEmbedder(get_embedder(args.embedder), LRUEmbeddingCache(1_000_000))
    tasks = [load_task(p) for p in args.posts]
    if args.tune:
        print("best:", tune(embedder, tasks))
        return
    config = RankConfig()
    overall: list[tuple[int, dict[str, dict[str, float]]]] = []
    reduced: list[tuple[int, dict[str, dict[str, float]]]] = []
    for task in tasks:
        start = time.perf_counter()
        full = evaluate(embedder, task.members, task.questions, config)
        members, questions = without_most_active(task)
        less = evaluate(embedder, members, questions, config)
        cov = coverage(embedder, task.members, task.questions, config)
        print(
            f"\n### {task.name}: {len(task.members)} members, {len(task.questions)} test questions "
            f"({len(questions)} with the 10% most active removed); coverage at threshold {cov:.2f}; "
            f"{time.perf_counter() - start:.1f}s\n"
        )
        print(table(full))
        print("\nWith the 10% most active members removed:\n")
        print(table(less))
        overall.append((len(task.questions), full))
        reduced.append((len(questions), less))
    if len(tasks) > 1:
        # Calibration: questions from another site are unrelated to these members; they should match nobody.
        rates = [
            coverage(embedder, a.members, b.questions, config) for a in tasks for b in tasks if a is not b
        ]
        print(
            f"\nUnrelated items (each site's questions against every other site's members): "
            f"{np.mean(rates):.2f} get any suggestion at the default threshold (same-site: "
            f"{np.mean([coverage(embedder, t.members, t.questions, config) for t in tasks]):.2f})"
        )
        print(f"\n### All {len(tasks)} sites, question-weighted ({args.embedder} embedder)\n")
        print(table(pooled(overall)))
        print("\nWith the 10% most active members removed:\n")
        print(table(pooled(reduced)))


if __name__ == "__main__":
    main()
