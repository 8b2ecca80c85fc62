from __future__ import annotations

import datetime as dt

from bot.policy.caps import Budget, backoff_state, within_caps
from bot.policy.feedback import summarise
from bot.policy.model import CapConfig, FeedbackEvent, MemberPrefs, PastNudge

NOW = dt.datetime(2025, 6, 4, 12, tzinfo=dt.UTC)


def test_daily_share_cap_is_per_local_day() -> None:
    # 23:30 UTC on the 3rd is already the 4th in Berlin: yesterday's UTC share counts against today there.
    prefs = MemberPrefs(id=1, tz="Europe/Berlin")
    history = [PastNudge(1, "share", dt.datetime(2025, 6, 3, 23, 30, tzinfo=dt.UTC))]
    assert not within_caps(prefs, history, "share", NOW, CapConfig())
    assert within_caps(MemberPrefs(id=1, tz="America/New_York"), history, "share", NOW, CapConfig())


def test_weekly_cap_counts_every_kind_and_ignores_cancelled() -> None:
    prefs = MemberPrefs(id=1)
    history = [PastNudge(1, "help", NOW - dt.timedelta(hours=h)) for h in range(1, 5)]
    caps = CapConfig(nudges_per_week=5, help_per_week=5)
    assert Budget(prefs, history, caps).allows("help", NOW)
    assert not Budget(prefs, [*history, PastNudge(1, "share", NOW)], caps).allows("help", NOW)
    assert Budget(prefs, [*history, PastNudge(1, "share", NOW, status="cancelled")], caps).allows("help", NOW)


def test_shares_and_help_each_have_their_own_weekly_budget() -> None:
    # A week full of help nudges leaves the shares' part of the budget alone, and the reverse.
    prefs = MemberPrefs(id=1)
    caps = CapConfig(nudges_per_week=5, share_per_week=3, help_per_week=3)
    helps = [PastNudge(1, "help", NOW - dt.timedelta(hours=h)) for h in range(1, 4)]
    assert not Budget(prefs, helps, caps).allows("help", NOW)
    assert Budget(prefs, helps, caps).allows("share", NOW)
    days = [NOW - dt.timedelta(days=d) for d in (1, 2)]  # Monday and Tuesday of the same ISO week
    shares = [PastNudge(1, "share", at) for at in days] + [PastNudge(1, "share", NOW - dt.timedelta(hours=1))]
    assert not Budget(prefs, shares, caps).allows("share", NOW + dt.timedelta(days=1))
    assert Budget(prefs, shares, caps).allows("help", NOW)
    # The overall cap still binds: 3 help + 2 shares is 5.
    both = helps + [PastNudge(1, "share", at) for at in days]
    assert not Budget(prefs, both, caps).allows("share", NOW + dt.timedelta(days=1))


def test_backoff_asks_once_then_holds() -> None:
    caps = CapConfig(backoff_after=3)
    assert backoff_state(MemberPrefs(id=1, unanswered=2), caps, NOW) == "ok"
    assert backoff_state(MemberPrefs(id=1, unanswered=3), caps, NOW) == "ask"
    held = MemberPrefs(
        id=1, unanswered=3, asked_to_continue_at=NOW, holds=1, held_until=NOW + dt.timedelta(weeks=2)
    )
    assert backoff_state(held, caps, NOW) == "hold"


def test_not_my_area_outweighs_not_now_and_fades() -> None:
    events = [
        FeedbackEvent(1, "not_my_area", NOW, topic="rust", nudge_kind="help"),
        FeedbackEvent(1, "not_now", NOW, topic="go", nudge_kind="help"),
    ]
    view = summarise(events, NOW)
    assert view.penalty("help", "rust") > view.penalty("help", "go") > 0
    later = summarise(events, NOW + dt.timedelta(days=180))
    assert 0 < later.penalty("help", "rust") < view.penalty("help", "rust")
    assert view.is_snoozed("help", NOW + dt.timedelta(days=1))
    assert not view.is_snoozed("help", NOW + dt.timedelta(days=4))
    assert not view.is_snoozed("share", NOW)
