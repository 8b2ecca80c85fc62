"""A light, decaying graph of who interacts with whom."""

from __future__ import annotations

import datetime as dt
import math

HALF_LIFE_DAYS = 30.0

# How much one observed interaction counts. A thread reply or a mention is a conversation; a
# reaction is a lighter touch; sharing a channel is counted once when membership is synced.
INTERACTION_WEIGHTS = {"reply": 1.0, "mention": 1.0, "reaction": 0.4, "shared_channel": 0.1}
# The kinds that are two people actually talking: only these make a reason say "you two often talk".
TALK_KINDS = frozenset({"reply", "mention", "reaction"})


def decayed(
    weight: float, since: dt.datetime, now: dt.datetime, half_life_days: float = HALF_LIFE_DAYS
) -> float:
    """The weight as of `now`, halving every `half_life_days`; time running backwards decays nothing."""
    days = max((now - since).total_seconds() / 86400.0, 0.0)
    return weight * math.pow(0.5, days / half_life_days)


def bumped(weight: float, since: dt.datetime, now: dt.datetime, kind: str) -> float:
    """The new stored weight, as of the later of `since` and `now`, after one more interaction of `kind` at
    `now`. An interaction older than the stored one (a backfill reads history newest first) counts as
    decayed to the stored moment, so the weight does not depend on the order interactions are read in."""
    at = max(since, now)
    return decayed(weight, since, at) + INTERACTION_WEIGHTS[kind] * decayed(1.0, now, at)


def pair(a: int, b: int) -> tuple[int, int]:
    """The stored orientation of an unordered pair."""
    return (a, b) if a < b else (b, a)
