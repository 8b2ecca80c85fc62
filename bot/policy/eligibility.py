"""Who may be nudged at all, and who may be named as the subject of a share. Shared by share and help."""

from __future__ import annotations

import datetime as dt

from bot.policy.backoff import backoff_state
from bot.policy.model import CapConfig, MemberPrefs
from bot.policy.time import is_paused


def may_receive(prefs: MemberPrefs | None, at: dt.datetime) -> bool:
    """Opted in, a real person, wants messages, not paused right now."""
    return (
        prefs is not None
        and prefs.opted_in
        and prefs.reachable
        and prefs.delivery != "off"
        and not is_paused(prefs, at)
    )


def may_be_target(prefs: MemberPrefs | None, at: dt.datetime) -> bool:
    """Only opted-in people are suggested as someone to pass things to, and not while they pause. Never a
    guest: a share target is by definition outside the item's channel, and a guest (or a member of another
    organisation) is never handed an item from a channel they are not in."""
    return (
        prefs is not None
        and prefs.opted_in
        and prefs.reachable
        and not prefs.guest
        and not is_paused(prefs, at)
    )


def ready_for_nudges(prefs: MemberPrefs | None, caps: CapConfig, at: dt.datetime) -> bool:
    """What every nudge asks of its recipient, whatever the item: may receive one now and is not held back
    after nudges went unanswered. When nobody a planner could nudge is ready, it has nothing to plan."""
    return prefs is not None and may_receive(prefs, at) and backoff_state(prefs, caps, at) == "ok"


def ready_to_help(prefs: MemberPrefs | None, caps: CapConfig, at: dt.datetime) -> bool:
    """`ready_for_nudges`, and has not said they are unavailable for questions this week."""
    return prefs is not None and prefs.available and ready_for_nudges(prefs, caps, at)
