"""Recording interactions between members (the policy decides what they mean).

Every mention, thread reply and reaction bumps one row, so this is among the hottest writes of the
ingest (a 100,000-message replay makes some 60,000 of them). It runs as plain Core statements on the
relationships table, with no ORM objects: one INSERT ... ON CONFLICT DO NOTHING for a new tie, one
UPDATE for a known one. The session remembers the rows it has read or written (`session.info`), and
every UPDATE is conditional on the row still holding the weight and time the session last saw; when it
does not (a concurrent bump, a rollback, a forgotten member, a reused primary key), the row is read afresh
and bumped from what is really stored. The cache therefore saves reads without ever deciding a stored
value, and two processes bumping one tie at once no longer lose a bump.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from bot.policy.relationships import TALK_KINDS, bumped, pair
from bot.store import fastpath
from bot.store.models import Base
from bot.store.queries.conflicts import insert_ignoring_conflict

_T: Table = Base.metadata.tables["relationships"]
_CACHE = "passiton.relationship_rows"
_INSERT_FIRST = "passiton.relationship_insert_first"
_UNIQUE = ("member_a_id", "member_b_id", "channel_id")

# (member_a_id, member_b_id, channel_id) -> (id, weight, updated_at) as last read or written.
_Key = tuple[int, int, int | None]
_Row = tuple[int, float, dt.datetime]

_PAIR = and_(_T.c.member_a_id == bindparam("a"), _T.c.member_b_id == bindparam("b"))
_READ = {
    False: select(_T.c.id, _T.c.weight, _T.c.updated_at).where(_PAIR, _T.c.channel_id == bindparam("ch")),
    True: select(_T.c.id, _T.c.weight, _T.c.updated_at).where(_PAIR, _T.c.channel_id.is_(None)),
}


def _bump(is_null: bool, talk: bool, *seen: Any) -> Any:
    """The UPDATE of one tie row by id and pair, with `seen` as further conditions. A talk (reply, mention,
    reaction) also stamps `talked_at`; a shared channel leaves it as it was."""
    values: dict[str, Any] = {"weight": bindparam("new_weight"), "updated_at": bindparam("new_at")}
    if talk:
        values["talked_at"] = bindparam("new_at")
    return (
        update(_T)
        .where(
            _T.c.id == bindparam("row_id"),
            _PAIR,
            _T.c.channel_id.is_(None) if is_null else _T.c.channel_id == bindparam("ch"),
            *seen,
        )
        .values(**values)
    )


_VARIANTS = [(is_null, talk) for is_null in (False, True) for talk in (False, True)]
# Compare-and-set: only if the row still holds what this session last saw.
_WRITE = {
    v: _bump(*v, _T.c.weight == bindparam("seen_weight"), _T.c.updated_at == bindparam("seen_at"))
    for v in _VARIANTS
}
# The last attempt writes whatever is stored, as this function always did before it compared: a row whose
# stored time does not compare equal to its own value read back (text written in another format on
# SQLite, say) must still be bumped.
_FORCE = {v: _bump(*v) for v in _VARIANTS}
# Each attempt loses only to a concurrent write of the same row, so a few always suffice.
_ATTEMPTS = 4


def _rows(session: Session) -> dict[_Key, _Row]:
    rows: dict[_Key, _Row] | None = session.info.get(_CACHE)
    if rows is None:
        rows = session.info[_CACHE] = {}
    return rows


def assume_new_ties(session: Session) -> None:
    """Tell `record_interaction` that a tie this session has not seen is most likely new: the session wrote
    the ties the store holds (a replay into an empty database). It then tries the INSERT before reading; a
    conflict still falls back to reading the stored row and bumping it, so the outcome is the same either
    way, one statement cheaper for a new tie and one dearer for a tie the session has not seen."""
    session.info[_INSERT_FIRST] = True


def _read(session: Session, key: _Key) -> _Row | None:
    a, b, channel_id = key
    found = fastpath.execute(session, _READ[channel_id is None], {"a": a, "b": b, "ch": channel_id}).first()
    return (int(found[0]), float(found[1]), found[2]) if found is not None else None


def _read_many(session: Session, channel_id: int, keys: list[_Key]) -> dict[_Key, _Row]:
    """The stored rows of these ties (all in `channel_id`), in one statement."""
    wanted = set(keys)
    found = fastpath.execute(
        session,
        select(_T.c.id, _T.c.member_a_id, _T.c.member_b_id, _T.c.weight, _T.c.updated_at).where(
            _T.c.channel_id == channel_id,
            _T.c.member_a_id.in_({k[0] for k in keys}),
            _T.c.member_b_id.in_({k[1] for k in keys}),
        ),
    )
    return {
        (a, b, channel_id): (int(row_id), float(weight), since)
        for row_id, a, b, weight, since in found
        if (a, b, channel_id) in wanted
    }


def record_interaction(
    session: Session,
    workspace_id: int,
    member_id: int,
    other_id: int,
    channel_id: int | None,
    kind: str,
    at: dt.datetime,
) -> None:
    """Strengthen the tie between two members in a channel. Self-interactions are ignored."""
    if member_id == other_id:
        return
    talk = kind in TALK_KINDS
    a, b = pair(member_id, other_id)
    key: _Key = (a, b, channel_id)
    rows = _rows(session)
    row = rows.pop(key, None)
    read = row is None and not session.info.get(_INSERT_FIRST, False)
    for attempt in range(_ATTEMPTS):
        if row is None and read:
            row = _read(session, key)
        read = True
        if row is None:
            weight = bumped(0.0, at, at, kind)  # a new tie: the bump of an empty one
            values = {"workspace_id": workspace_id, "member_a_id": a, "member_b_id": b,
                      "channel_id": channel_id, "weight": weight, "updated_at": at,
                      "talked_at": at if talk else None}  # fmt: skip
            row_id = fastpath.execute(
                session, insert_ignoring_conflict(session, _T, _UNIQUE), values
            ).scalar()
            if row_id is not None:
                rows[key] = (int(row_id), weight, at)
                return
            continue  # inserted a moment ago by another thread or replica: read theirs and bump it
        row_id, weight, since = row
        new_weight, new_at = bumped(weight, since, at, kind), max(since, at)
        params = {"row_id": row_id, "a": a, "b": b, "ch": channel_id, "seen_weight": weight,
                  "seen_at": since, "new_weight": new_weight, "new_at": new_at}  # fmt: skip
        write = _WRITE if attempt < _ATTEMPTS - 1 else _FORCE
        result = fastpath.execute(session, write[(channel_id is None, talk)], params)
        if result.rowcount == 1:
            rows[key] = (row_id, new_weight, new_at)
            return
        row = None  # not what we last saw (bumped concurrently, rolled back, deleted): read it again
    raise RuntimeError(f"relationship {key} vanished under {_ATTEMPTS} attempts to bump it")


def record_interactions(
    session: Session,
    workspace_id: int,
    pairs: Sequence[tuple[int, int]],
    channel_id: int,
    kind: str,
    at: dt.datetime,
) -> None:
    """`record_interaction` for many distinct pairs in one channel (a membership sync), with one read of
    the ties already there and one multi-row INSERT for the new ones; the rest as single bumps. The
    channel's members are few (see `SHARED_CHANNEL_MAX`), so the pairs fit in one statement each."""
    keys: list[_Key] = []
    for member_id, other_id in pairs:
        if member_id != other_id:
            a, b = pair(member_id, other_id)
            keys.append((a, b, channel_id))
    if len(set(keys)) != len(keys):  # a pair twice: bump it twice, in order
        for member_id, other_id in pairs:
            record_interaction(session, workspace_id, member_id, other_id, channel_id, kind, at)
        return
    rows = _rows(session)
    unknown = [k for k in keys if k not in rows]
    if unknown:
        rows.update(_read_many(session, channel_id, unknown))
    new = [k for k in keys if k not in rows]
    inserted: set[_Key] = set()
    if new:
        weight = bumped(0.0, at, at, kind)
        talked = at if kind in TALK_KINDS else None
        values = [{"workspace_id": workspace_id, "member_a_id": a, "member_b_id": b, "channel_id": channel_id,
                   "weight": weight, "updated_at": at, "talked_at": talked} for a, b, _ in new]  # fmt: skip
        returned = fastpath.execute(
            session,
            insert_ignoring_conflict(session, _T, _UNIQUE).returning(_T.c.member_a_id, _T.c.member_b_id),
            values,
        )
        for row_id, a, b in returned:
            rows[(a, b, channel_id)] = (int(row_id), weight, at)
            inserted.add((a, b, channel_id))
    for a, b, _ in keys:
        if (a, b, channel_id) not in inserted:  # known ties, and new ones another writer inserted first
            record_interaction(session, workspace_id, a, b, channel_id, kind, at)
