"""Signs of engagement end a back-off at once, through the real server: any /passiton command (even a
malformed one), opening App Home, a nudge button. Silence is not a "no"; these are a "yes"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select

from bot.store.models import Member, utcnow
from tests.slack.harness import Slack


def _hold(slack: Slack, name: str) -> None:
    """Put a known member into a long hold, as three lapses and an unanswered question would."""
    slack.command("interests add kubernetes", name)
    now = utcnow()
    with slack.db.session() as s:
        m = s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(name).id)).one()
        m.unanswered, m.asked_to_continue_at, m.holds = 5, now - dt.timedelta(days=20), 2
        m.held_until, m.last_engaged_at = now + dt.timedelta(weeks=4), None


def _released(slack: Slack, name: str) -> Callable[[], bool]:
    def check() -> bool:
        with slack.db.session() as s:
            m = s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(name).id)).one()
            return m.held_until is None and m.unanswered == 0 and m.last_engaged_at is not None

    return check


def test_any_command_even_a_malformed_one_ends_a_hold(slack: Slack) -> None:
    _hold(slack, "bob")
    assert not _released(slack, "bob")()
    slack.command("frobnicate the widgets", "bob")
    slack.wait(_released(slack, "bob"), what="released by a command")


def test_opening_app_home_ends_a_hold(slack: Slack) -> None:
    _hold(slack, "carol")
    slack.event(
        {
            "type": "app_home_opened",
            "user": slack.emu.user("carol").id,
            "channel": "D1",
            "tab": "home",
            "event_ts": "1.0",
        }
    )
    slack.wait(_released(slack, "carol"), what="released by App Home")
