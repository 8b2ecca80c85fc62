from __future__ import annotations

import subprocess
import sys

import numpy as np

from bot.matching.embedders import (
    CachedEmbedder,
    Embedder,
    HashingEmbedder,
    LRUEmbeddingCache,
    cache_key,
    make_embedder,
)


def test_local_embedder_loads_offline_with_network_disabled() -> None:
    # A fresh interpreter with the hub offline and every socket connection refused: loading and embedding
    # must still work, i.e. the weights and tokenizer really come from the installed package.
    code = """
import socket
def refuse(*a, **k):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from bot.matching.embedders import LocalEmbedder
e = LocalEmbedder()
v = e.embed(["postgres vacuum", "", "kubernetes"])
import numpy as np
assert v.shape == (3, e.dim) and v.dtype == np.float32
assert abs(float(np.linalg.norm(v[0])) - 1) < 1e-5 and not v[1].any()
print(e.name)
"""
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wordllama/")


def test_local_embedder_semantics() -> None:
    e = make_embedder("local")
    v = e.embed(["tuning postgres autovacuum", "database vacuum settings", "my cat sleeps all day"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_hashing_embedder_is_unit_and_deterministic() -> None:
    e = HashingEmbedder(512)
    assert isinstance(e, Embedder)
    a = e.embed(["Postgres vacuum tuning", "!!!"])
    b = HashingEmbedder(512).embed(["postgresql VACUUM tuning"])
    assert np.allclose(np.linalg.norm(a[0]), 1.0)
    assert not a[1].any()
    assert np.allclose(a[0], b[0])  # same words after normalisation


class Counting:
    def __init__(self) -> None:
        self.inner = HashingEmbedder(64)
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return "counting"

    @property
    def dim(self) -> int:
        return 64

    def embed(self, texts: list[str]) -> np.ndarray:  # type: ignore[type-arg]
        self.calls.append(list(texts))
        return self.inner.embed(texts)


def test_cache_embeds_each_text_once() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner)
    first = cached.embed(["a b", "c d", "a b"])
    second = cached.embed(["c d", "e f"])
    assert inner.calls == [["a b", "c d"], ["e f"]]
    assert np.allclose(first[1], second[0])
    assert cached.misses == 3
    assert cached.embed([]).shape == (0, 64)


def test_cache_key_separates_models() -> None:
    assert cache_key("m1", "x") != cache_key("m2", "x")
    assert cache_key("m1", "x") == cache_key("m1", "x")


def test_lru_evicts_oldest() -> None:
    cache = LRUEmbeddingCache(max_entries=2)
    vec = np.zeros(2, dtype=np.float32)
    cache.put_many({"a": vec, "b": vec})
    cache.get_many(["a"])  # a is now the most recent
    cache.put_many({"c": vec})
    assert set(cache.get_many(["a", "b", "c"])) == {"a", "c"}
    assert len(cache) == 2
