"""Who may be nudged at all, and who may be named as the subject of a share. Shared by share and help."""

from __future__ import annotations

import datetime as dt

from bot.policy.model import MemberPrefs
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
    """Only opted-in people are suggested as someone to pass things to, and not while they pause."""
    return prefs is not None and prefs.opted_in and prefs.reachable and not is_paused(prefs, at)
