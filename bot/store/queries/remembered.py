"""Rows a session has already looked up by a natural key, found again without SQL.

The ingest asks for the same few rows over and over: the author of every message, the question a thread
reply belongs to. The session's identity map already holds those objects, but only weakly: an object
nobody references is dropped after its flush, and the next lookup by natural key (or even by primary key)
goes back to the database. A `Remembered` keeps, for one session (`session.info`), natural key -> the
object, holding it so that `session.get` by its primary key is an identity-map hit.

What it returns is what a query would have returned: `session.get` refreshes an expired object and gives
None for one deleted or rolled back; a member or item deleted in this session but not yet flushed is not
returned; and the object must still carry the key (SQLite reuses the primary key of a rolled-back insert),
else the caller queries afresh. Live sessions last one event; a long-lived session (the replay) is the
only writer of these rows, as the identity map already assumes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

T = TypeVar("T")


class Remembered(Generic[T]):
    """Natural key -> mapped object of `model`, per session; at most `limit` at once (then it starts over)."""

    def __init__(self, name: str, model: type[T], limit: int = 20_000) -> None:
        self.name = f"passiton.remembered.{name}"
        self.model = model
        self.limit = limit

    def _entries(self, session: Session) -> dict[Hashable, tuple[Any, T]]:
        entries: dict[Hashable, tuple[Any, T]] | None = session.info.get(self.name)
        if entries is None:
            entries = session.info[self.name] = {}
        return entries

    def get(self, session: Session, key: Hashable, carries_key: Callable[[T], bool]) -> T | None:
        """The remembered object for `key`, or None when there is none or it no longer stands."""
        entries = self._entries(session)
        entry = entries.get(key)
        if entry is None:
            return None
        found: T | None = entry[1]
        state = instance_state(found)
        if not (state.persistent and state.session is session and not state.expired_attributes):
            # Expunged, deleted, rolled back or expired: let session.get tell (it refreshes an expired
            # object, and answers None for one whose row is gone). Otherwise it would return this object.
            found = session.get(self.model, entry[0])
        if found is None or (session.deleted and found in session.deleted) or not carries_key(found):
            del entries[key]
            return None
        return found

    def remember(self, session: Session, key: Hashable, obj: T) -> None:
        entries = self._entries(session)
        if len(entries) >= self.limit:
            entries.clear()
        entries[key] = (inspect(obj).identity, obj)

    def forget(self, session: Session, key: Hashable) -> None:
        self._entries(session).pop(key, None)
