"""Text embedders: one protocol, a local default that needs no network, OpenAI, and a hashing baseline.

Every embedder returns float32 rows of unit length (a text with nothing to embed gives a zero row, which is
similar to nothing), so a dot product is a cosine similarity. `CachedEmbedder` keys vectors by model name
and the text's sha256, so re-planning never re-embeds the same topic or item.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from bot.matching.topics import normalised_words

Matrix = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length float32 rows of a fixed width."""

    @property
    def name(self) -> str:
        """Identifies the model; part of every cache key, so two models never share vectors."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Matrix: ...


def l2_normalise(matrix: npt.NDArray[Any]) -> Matrix:
    """Rows scaled to unit length; all-zero rows stay zero instead of becoming NaN."""
    out = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


class LocalEmbedder:
    """WordLlama static token embeddings (weights ship inside the wheel; numpy only, no network).

    WordLlama's loader looks for its tokenizer file in a folder named `tokenizer/` beside the package while
    the wheel ships it in `tokenizers/`, and on a miss it downloads. Passing the package's own folder as the
    cache directory makes the lookup `<package>/tokenizers/<file>`, which exists; `disable_download=True`
    turns any remaining miss into an error instead of a network call.
    """

    def __init__(self, config: str = "l2_supercat", dim: int = 256, batch_size: int = 256) -> None:
        import wordllama

        package_dir = Path(wordllama.__file__).resolve().parent
        self._model = wordllama.WordLlama.load(
            config=config, dim=dim, cache_dir=package_dir, disable_download=True
        )
        self._dim = dim
        self._name = f"wordllama/{config}-{dim}"
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        # WordLlama pads a batch to its longest text; capping length keeps one long page from costing a lot.
        clipped = [t[:4000] for t in texts]
        raw = self._model.embed(clipped, norm=False, batch_size=self._batch_size)
        return l2_normalise(raw)


class HashingEmbedder:
    """Bag of normalised words and word pairs hashed into a fixed width (signed), sublinear counts.

    No model, no fit: a lexical baseline and a fast, deterministic embedder for tests.
    """

    def __init__(self, dim: int = 2048) -> None:
        self._dim = dim

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def _features(self, text: str) -> list[str]:
        words = normalised_words(text)
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]

    def embed(self, texts: Sequence[str]) -> Matrix:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self._dim] += 1.0 if (value >> 63) & 1 else -1.0
        out = np.sign(out) * np.log1p(np.abs(out))
        return l2_normalise(out)


_OPENAI_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """Embeddings from `/v1/embeddings` through the official client; any OpenAI-compatible server works.

    Texts go in batches (the API caps inputs per request); empty texts are not sent (the API rejects them)
    and come back as zero rows. The client retries transient failures itself (`max_retries`).
    """

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 8.0,
        max_retries: int = 2,
        batch_size: int = 256,
        dimensions: int | None = None,
        client: Any | None = None,
    ) -> None:
        if client is None:
            import openai

            # A placeholder key lets a keyless local OpenAI-compatible server work; the real API refuses it.
            client = openai.OpenAI(
                api_key=api_key or "unset", base_url=base_url, timeout=timeout, max_retries=max_retries
            )
        self._client = client
        self._model = model
        self._batch_size = batch_size
        self._dimensions = dimensions
        self._dim: int | None = dimensions or _OPENAI_DIMS.get(model)

    @property
    def name(self) -> str:
        return f"openai/{self._model}" + (f"-{self._dimensions}" if self._dimensions else "")

    @property
    def dim(self) -> int:
        if self._dim is None:  # unknown model on a compatible server: ask once
            self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def _request(self, batch: list[str]) -> Matrix:
        kwargs: dict[str, Any] = {"model": self._model, "input": batch}
        if self._dimensions:
            kwargs["dimensions"] = self._dimensions
        response = self._client.embeddings.create(**kwargs)
        rows = sorted(response.data, key=lambda d: d.index)
        if len(rows) != len(batch):
            raise RuntimeError(f"embeddings server returned {len(rows)} vectors for {len(batch)} texts")
        return np.asarray([r.embedding for r in rows], dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> Matrix:
        wanted = [i for i, t in enumerate(texts) if t.strip()]
        chunks: list[Matrix] = []
        for start in range(0, len(wanted), self._batch_size):
            batch = [texts[i][:8000] for i in wanted[start : start + self._batch_size]]
            chunks.append(self._request(batch))
        if chunks:
            self._dim = int(chunks[0].shape[1])
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if chunks:
            out[wanted] = np.concatenate(chunks)
        return l2_normalise(out)


class EmbeddingCache(Protocol):
    """Where cached vectors live. The store provides a database-backed one; `LRUEmbeddingCache` is in memory."""

    def get_many(self, keys: Sequence[str]) -> Mapping[str, Matrix]: ...

    def put_many(self, items: Mapping[str, Matrix]) -> None: ...


def cache_key(model_name: str, text: str) -> str:
    """`<model name>:<sha256 of the text>`: stable across processes, and no text is kept in the key."""
    return f"{model_name}:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


class LRUEmbeddingCache:
    """A bounded in-memory cache (least recently used out first); thread-safe."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._data: OrderedDict[str, Matrix] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get_many(self, keys: Sequence[str]) -> dict[str, Matrix]:
        found: dict[str, Matrix] = {}
        with self._lock:
            for key in keys:
                vector = self._data.get(key)
                if vector is not None:
                    self._data.move_to_end(key)
                    found[key] = vector
        return found

    def put_many(self, items: Mapping[str, Matrix]) -> None:
        with self._lock:
            for key, vector in items.items():
                self._data[key] = vector
                self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)


class CachedEmbedder:
    """Wraps an embedder: looks every text up by (model, sha256) first and embeds only the misses."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache | None = None) -> None:
        self.inner = inner
        self.cache: EmbeddingCache = cache if cache is not None else LRUEmbeddingCache()
        self.misses = 0  # texts actually embedded; useful to check that re-planning re-embeds nothing

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Matrix:
        keys = [cache_key(self.inner.name, t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            vectors = self.inner.embed([text_of[k] for k in missing])
            self.misses += len(missing)
            fresh = {k: vectors[i] for i, k in enumerate(missing)}
            self.cache.put_many(fresh)
            found = {**found, **fresh}
        if not texts:
            return np.zeros((0, self.inner.dim), dtype=np.float32)
        return np.stack([np.asarray(found[k], dtype=np.float32) for k in keys])


def make_embedder(
    kind: str = "local",
    *,
    openai_api_key: str | None = None,
    openai_base_url: str | None = None,
    openai_embedding_model: str = "text-embedding-3-small",
    openai_timeout_seconds: float = 8.0,
    cache: EmbeddingCache | None = None,
) -> CachedEmbedder:
    """Build the configured embedder, wrapped in a cache. `kind` is "local", "openai" or "hashing"."""
    inner: Embedder
    if kind == "local":
        inner = LocalEmbedder()
    elif kind == "openai":
        inner = OpenAIEmbedder(
            openai_embedding_model,
            api_key=openai_api_key,
            base_url=openai_base_url,
            timeout=openai_timeout_seconds,
        )
    elif kind == "hashing":
        inner = HashingEmbedder()
    else:
        raise ValueError(f"unknown embedder {kind!r}: use local, openai or hashing")
    return CachedEmbedder(inner, cache)


def embedder_from_settings(settings: Any, cache: EmbeddingCache | None = None) -> CachedEmbedder:
    """`make_embedder` from a Settings-like object (passiton_embedder, openai_* attributes)."""
    key = getattr(settings, "openai_api_key", None)
    if key is not None and hasattr(key, "get_secret_value"):
        key = key.get_secret_value()
    return make_embedder(
        getattr(settings, "passiton_embedder", "local"),
        openai_api_key=key,
        openai_base_url=getattr(settings, "openai_base_url", None),
        openai_embedding_model=getattr(settings, "openai_embedding_model", "text-embedding-3-small"),
        openai_timeout_seconds=getattr(settings, "openai_timeout_seconds", 8.0),
        cache=cache,
    )
