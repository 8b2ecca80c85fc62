"""A database-backed vector cache for the matching core's `CachedEmbedder`, one per workspace.

Keys are the matching core's `<model name>:<sha256 hex>`; vectors are stored as raw float32 bytes. Rows
are never updated: a text's vector under one model does not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.store.models import EmbeddingCache

Vector = npt.NDArray[np.float32]
_CHUNK = 500


def _split(key: str) -> tuple[str, str]:
    model, _, digest = key.rpartition(":")
    if not model or len(digest) != 64:
        raise ValueError(f"not an embedding cache key: {key!r}")
    return model, digest


class StoreEmbeddingCache:
    """`get_many`/`put_many` over the `embedding_cache` table, within the caller's session."""

    def __init__(self, session: Session, workspace_id: int) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]:
        wanted = {_split(k): k for k in keys}
        found: dict[str, Vector] = {}
        pairs = list(wanted)
        for start in range(0, len(pairs), _CHUNK):
            chunk = pairs[start : start + _CHUNK]
            rows = self.session.execute(
                select(EmbeddingCache.model, EmbeddingCache.text_hash, EmbeddingCache.vector).where(
                    EmbeddingCache.workspace_id == self.workspace_id,
                    tuple_(EmbeddingCache.model, EmbeddingCache.text_hash).in_(chunk),
                )
            )
            for model, digest, blob in rows:
                found[wanted[(model, digest)]] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def put_many(self, items: Mapping[str, Vector]) -> None:
        if not items:
            return
        rows = []
        for key, vector in items.items():
            model, digest = _split(key)
            blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
            rows.append(
                {"workspace_id": self.workspace_id, "model": model, "text_hash": digest, "vector": blob}
            )
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        for start in range(0, len(rows), _CHUNK):
            statement = insert(EmbeddingCache).values(rows[start : start + _CHUNK])
            # Another planner may have embedded the same text a moment ago; its vector is as good as ours.
            self.session.execute(
                statement.on_conflict_do_nothing(index_elements=["workspace_id", "model", "text_hash"])
            )
