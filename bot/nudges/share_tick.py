"""Whether a share-planning tick would do anything, told without running it; and what a skipped tick still
owes the store.

`plan_share_nudges(now)` does four things: it lapses sent Slack nudges nobody answered for a few days, asks
members in back-off whether to continue, plans share nudges of recent articles for the members whose morning
has come, and marks everyone whose morning has come as planned for their local day. A replay ticks it at every
time zone's morning of every day the export spans; over years, and once most members are in back-off, nearly
all of those ticks only mark. The replay's clock asks `has_work` first and skips a tick that would only
mark, writing the marks of the ticks it skipped later, together (`mark_planned`), before anything could read
them: the decisions are the same as ticking every morning.

`has_work` reads the same conditions the planner acts on, and must say yes whenever the planner would write
anything but the marks (tests/nudges/test_share_tick.py replays ticks both ways and pins the two together):

- a lapse is due when a sent, unanswered Slack nudge is older than `UNANSWERED_AFTER` (as `_lapse_unanswered`);
- otherwise only members the planner finds due (`_due`: their morning has come and they were not planned
  today) matter: one in back-off's "ask" state is asked; one ready for nudges may get a share nudge if an
  article is in the window (as `_plan_for`'s items query). Who could be either is read in one query
  (`read_outlook`); when that is more than a few people, the tick simply runs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.nudges import loading
from bot.nudges.planner import ARTICLE_WINDOW, UNANSWERED_AFTER, _due
from bot.policy.caps import backoff_state
from bot.policy.eligibility import ready_for_nudges
from bot.policy.time import local_date, local_time
from bot.store import fastpath
from bot.store.fastpath import plain_rows
from bot.store.models import Item, Member, Nudge

# More people than this who could be nudged or asked: the tick runs rather than check each one.
FEW = 16

_WS: Any = bindparam("ws", type_=Member.workspace_id.type)
_BACKOFF: Any = bindparam("backoff", type_=Member.unanswered.type)
_UNANSWERED = func.coalesce(Member.unanswered, 0)
# Everyone a tick could nudge (`not_held_back`, read at the tick) and everyone it could ask whether to continue
# (back-off's "ask": enough unanswered, not asked yet; the policy decides about each row). A few of each at
# most: more, and the tick runs.
# When the next hold wears off: the ready (`not_held_back`) read before then holds until then.
_NEXT_RELEASE = select(func.min(Member.held_until)).where(
    Member.workspace_id == _WS, Member.held_until > bindparam("now", type_=Member.held_until.type)
)
_TO_ASK = (
    select(*loading.MEMBER_COLUMNS)
    .where(Member.workspace_id == _WS, _UNANSWERED >= _BACKOFF, Member.asked_to_continue_at.is_(None))
    .order_by(Member.id)
    .limit(FEW + 1)
)
# `_lapse_unanswered`'s nudges: the earliest of them decides when the next lapse is due.
_FIRST_UNANSWERED = select(func.min(Nudge.sent_at)).where(
    Nudge.workspace_id == _WS, Nudge.status == "sent", Nudge.channel == "slack", Nudge.acted_at.is_(None)
)
# `_plan_for`'s articles, newest first: the newest decides until when a tick could plan one.
_LAST_ARTICLE = (
    select(Item.posted_at)
    .where(
        Item.workspace_id == _WS,
        Item.kind == "article",
        Item.deleted_at.is_(None),
        Item.closed_at.is_(None),
        Item.is_private.is_(False),
    )
    .order_by(Item.posted_at.desc())
    .limit(1)
)


@dataclass(frozen=True)
class ShareOutlook:
    """What the store says about the ticks to come; it holds until anything else is written. Member rows: None
    when there are more than FEW."""

    first_unanswered: dt.datetime | None  # the earliest sent, unanswered Slack nudge's send time
    last_article: dt.datetime | None  # the latest article share planning could consider
    ready: tuple[Any, ...] | None  # who could get a share nudge (not held back)
    to_ask: tuple[Any, ...] | None = ()  # who would be asked whether to continue
    valid_until: dt.datetime | None = None  # a hold wears off then: read again from that instant on


def read_outlook(session: Session, workspace_id: int, settings: Settings, now: dt.datetime) -> ShareOutlook:
    """The outlook at `now`, for ticks from `now` until `valid_until` (or until anything is written)."""
    caps = loading.caps_from_settings(settings)
    ready = loading.not_held_back(session, workspace_id, caps, now, limit=FEW + 1)
    to_ask = plain_rows(session, _TO_ASK, {"ws": workspace_id, "backoff": caps.backoff_after})
    return ShareOutlook(
        first_unanswered=fastpath.execute(session, _FIRST_UNANSWERED, {"ws": workspace_id}).scalar(),
        last_article=fastpath.execute(session, _LAST_ARTICLE, {"ws": workspace_id}).scalar(),
        ready=tuple(ready) if len(ready) <= FEW else None,
        to_ask=tuple(to_ask) if len(to_ask) <= FEW else None,
        valid_until=fastpath.execute(session, _NEXT_RELEASE, {"ws": workspace_id, "now": now}).scalar(),
    )


def planned_on(ticks: Sequence[dt.datetime], tz: str, morning_hour: int) -> dt.date | None:
    """The local day (in `tz`) the latest of `ticks` marked a member planned on, if any did: a tick marks
    everyone whose morning has come on their local day (`_due`), so the latest such tick decides."""
    for at in reversed(ticks):
        if local_time(tz, at).hour >= morning_hour:
            return local_date(tz, at)
    return None


def has_work(
    outlook: ShareOutlook, now: dt.datetime, settings: Settings, skipped: Sequence[dt.datetime] = ()
) -> bool:
    """Whether `plan_share_nudges(now)` would write anything but marks, given the store's `outlook` and the
    ticks `skipped` since the store's marks were last written (see `mark_planned`)."""
    first = outlook.first_unanswered
    if first is not None and first < now - UNANSWERED_AFTER:
        return True
    last = outlook.last_article
    # Conservative on an article from the future (there is none: the replay stores messages in time order).
    articles = last is not None and last >= now - ARTICLE_WINDOW
    if outlook.to_ask is None or (articles and outlook.ready is None):
        return True
    rows = list(outlook.to_ask) + (list(outlook.ready or ()) if articles else [])
    if not rows:
        return False
    morning = settings.passiton_morning_hour
    caps = loading.caps_from_settings(settings)
    due, _mark = _due([_as_of(row, skipped, morning) for row in rows], now, morning)
    for row in due:
        prefs = loading.prefs_of(row)
        if backoff_state(prefs, caps, now) == "ask":
            return True
        if articles and ready_for_nudges(prefs, caps, now):
            return True
    return False


def _as_of(row: Any, skipped: Sequence[dt.datetime], morning_hour: int) -> Any:
    """`row` with the mark the `skipped` ticks gave it, if later than its stored one."""
    marked = planned_on(skipped, row.tz or "UTC", morning_hour) if skipped else None
    if marked is None or (row.last_planned_on is not None and row.last_planned_on >= marked):
        return row
    return SimpleNamespace(**{**row._asdict(), "last_planned_on": marked})


# The members `_due` considers at all (prefs: opted in, reachable, delivery not off), in SQL.
_PLANNABLE = (
    Member.opted_in.is_(True),
    func.coalesce(Member.is_bot, False).is_(False),
    func.coalesce(Member.is_deleted, False).is_(False),
    or_(func.coalesce(Member.slack_user_id, "") != "", func.coalesce(Member.email, "") != ""),
    func.coalesce(Member.delivery, "") != "off",
)
_ZONE = func.coalesce(func.nullif(Member.tz, ""), "UTC")
_ZONES = select(_ZONE).where(Member.workspace_id == _WS, *_PLANNABLE).distinct()
_DAY: Any = bindparam("day", type_=Member.last_planned_on.type)
# On the table, run as Core: the ORM's bulk update (and its session synchronisation) cost ten times the
# statement. The session's Member objects keep a stale last_planned_on; only the planner reads it, as rows.
_MARK = (
    update(cast(Table, Member.__table__))
    .where(
        Member.workspace_id == _WS,
        *_PLANNABLE,
        _ZONE.in_(bindparam("zones", expanding=True)),
        or_(Member.last_planned_on.is_(None), Member.last_planned_on < _DAY),
    )
    .values(last_planned_on=_DAY)
)


def mark_planned(
    session: Session, workspace_id: int, skipped: Sequence[dt.datetime], morning_hour: int
) -> None:
    """Write the marks the `skipped` ticks would have written: each plannable member planned on the local day
    of the latest of them at which their morning had come, unless already planned on that day or later."""
    if not skipped:
        return
    by_day: dict[dt.date, list[str]] = defaultdict(list)
    for tz in fastpath.execute(session, _ZONES, {"ws": workspace_id}).scalars():
        day = planned_on(skipped, tz, morning_hour)
        if day is not None:
            by_day[day].append(tz)
    for day, names in sorted(by_day.items()):
        fastpath.execute(session, _MARK, {"ws": workspace_id, "zones": names, "day": day})
