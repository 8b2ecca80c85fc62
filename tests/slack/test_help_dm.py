"""Help DMs end to end: a signed question event to the real server, the planned nudge, the real drain and
Slack sender posting to the emulator. The DM waits the grace period, links to the question and names the
asker and the channel; an answer in the channel within the grace period cancels it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.nudges.links import archives_url, domain_of
from bot.runtime import build_drainer
from bot.slack.blocks import home as home_ids
from bot.store.models import Member, Nudge, utcnow
from bot.store.queries.workspaces import ensure_workspace
from tests.slack.harness import Slack, make_settings
from tests.slack.test_modals import _last_modal, _settings_values
from tests.support.slack_emulator import SlackEmulator

ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Asia/Kolkata"]
QUESTION = "why does kubernetes keep evicting our pods under memory pressure?"


def _daytime_zone() -> str:
    """A zone where it is late morning or afternoon now, so the helper is awake whenever the test runs."""
    now = utcnow()
    for name in ZONES:
        if 10 <= now.astimezone(ZoneInfo(name)).hour <= 18:
            return name
    return "Pacific/Auckland" if now.hour < 12 else "Pacific/Honolulu"  # pragma: no cover


def _helper(slack: Slack, name: str) -> str:
    """A member in a daytime zone who states kubernetes expertise and allows weekends (by modal)."""
    try:
        slack.emu.user(name)
    except KeyError:
        slack.emu.add_user(name, tz=_daytime_zone())
    slack.command("expertise add kubernetes", name)
    before = len(slack.emu.opened_views(name))
    slack.click(home_ids.EDIT_SETTINGS, name)
    slack.submit(_last_modal(slack, name, before), _settings_values(weekends_off=False), name)
    slack.wait(lambda: not _member(slack, name).weekends_off, what="weekends on")
    return name


def _member(slack: Slack, name: str) -> Member:
    with slack.db.session() as s:
        return s.scalars(select(Member).where(Member.slack_user_id == slack.emu.user(name).id)).one()


def _help_nudges(slack: Slack) -> list[Nudge]:
    with slack.db.session() as s:
        return list(s.scalars(select(Nudge).where(Nudge.kind == "help").order_by(Nudge.id)))


def _dms_to(emu: SlackEmulator, name: str) -> list[dict[str, Any]]:
    """The help DMs the app posted to `name` (not the welcome DM or other notices)."""
    return [m for m in emu.dms_to(name) if "could you help" in str(m.get("text"))]


def test_a_clear_kubernetes_question_reaches_the_one_kubernetes_expert(slack: Slack) -> None:
    """The issue's report: one member with stated kubernetes expertise, a clear question in #help, no DM."""
    _helper(slack, "kate")
    slack.message("help", "dana", QUESTION)
    [nudge] = slack.wait(lambda: _help_nudges(slack), timeout=20, what="help nudge")
    assert nudge.recipient_id == _member(slack, "kate").id


def test_the_help_dm_waits_the_grace_period_then_links_to_the_question(slack: Slack, sqlite_url: str) -> None:
    _helper(slack, "kate")
    posted, _ = slack.message("help", "dana", QUESTION)
    asked_at = dt.datetime.fromtimestamp(float(posted["ts"]), dt.UTC)
    [nudge] = slack.wait(lambda: _help_nudges(slack), timeout=20, what="help nudge")
    assert nudge.send_after >= asked_at + dt.timedelta(minutes=45) - dt.timedelta(seconds=5)

    settings = make_settings(slack.emu, sqlite_url)
    drainer = build_drainer(slack.db, settings)
    before = len(_dms_to(slack.emu, "kate"))  # the emulator lives for the module
    drainer.drain(utcnow())
    assert len(_dms_to(slack.emu, "kate")) == before, "nothing before the grace period is over"
    drainer.drain(nudge.send_after + dt.timedelta(seconds=1))
    dm = slack.wait(lambda: _dms_to(slack.emu, "kate")[before:], what="help DM")[-1]
    blob = json.dumps(dm.get("blocks")) + str(dm.get("text"))
    help_id = slack.emu.channel("help").id
    # One click: the question's own permalink (from chat.getPermalink at send time).
    assert f"/archives/{help_id}/p{posted['ts'].replace('.', '')}" in blob
    assert slack.emu.calls("chat.getPermalink", ok=True)
    dana = slack.emu.user("dana")
    assert (dana.display_name or dana.real_name) in blob and "#help" in blob
    assert "<@" not in blob and "<!" not in blob


def test_an_answer_in_the_channel_within_the_grace_period_cancels_the_dm(
    slack: Slack, sqlite_url: str
) -> None:
    _helper(slack, "kate")
    before = len(_dms_to(slack.emu, "kate"))  # the emulator lives for the module
    posted, _ = slack.message("help", "dana", QUESTION)
    [nudge] = slack.wait(lambda: _help_nudges(slack), timeout=20, what="help nudge")
    slack.message(
        "help", "carol", "Check the memory limits on the pods, they get OOM-evicted", thread_ts=posted["ts"]
    )
    slack.wait(lambda: [n.status for n in _help_nudges(slack)] == ["cancelled"], what="cancelled")
    settings = make_settings(slack.emu, sqlite_url)
    build_drainer(slack.db, settings).drain(nudge.send_after + dt.timedelta(minutes=1))
    assert len(_dms_to(slack.emu, "kate")) == before


def test_without_a_permalink_the_dm_links_to_the_archive_url_of_the_question(
    slack: Slack, sqlite_url: str
) -> None:
    _helper(slack, "kate")
    # The app learns the team's domain from auth.test when it starts; the per-test clean database lost it.
    with slack.db.session() as s:
        ensure_workspace(s, slack.emu.team.id).domain = domain_of(
            f"https://{slack.emu.team.domain}.slack.com/"
        )
    posted, _ = slack.message("help", "dana", QUESTION)
    [nudge] = slack.wait(lambda: _help_nudges(slack), timeout=20, what="help nudge")
    before = len(_dms_to(slack.emu, "kate"))
    slack.emu.fail_next("chat.getPermalink", "internal_error")
    build_drainer(slack.db, make_settings(slack.emu, sqlite_url)).drain(nudge.send_after)
    dm = slack.wait(lambda: _dms_to(slack.emu, "kate")[before:], what="help DM")[-1]
    expected = f"https://{slack.emu.team.domain}.slack.com/archives/{slack.emu.channel('help').id}/p"
    assert expected + posted["ts"].replace(".", "") in json.dumps(dm["blocks"])


def test_archive_links_are_built_from_channel_and_ts() -> None:
    assert domain_of("https://acme.slack.com/") == "acme"
    assert domain_of("https://acme.enterprise.slack.com/") is None and domain_of(None) is None
    assert (
        archives_url("acme", "C1", "1712345678.000100")
        == "https://acme.slack.com/archives/C1/p1712345678000100"
    )
    assert archives_url(None, "C1", "1.2") == "https://slack.com/archives/C1/p12"
