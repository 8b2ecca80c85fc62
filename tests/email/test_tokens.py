from __future__ import annotations

import datetime as dt

import pytest

from bot.email import tokens

NOW = dt.datetime(2024, 6, 3, 9, 0, tzinfo=dt.UTC)
SECRET = "k1"


def make(**kw: object) -> str:
    args: dict[str, object] = {
        "workspace_id": 1,
        "member_id": 2,
        "action": "share",
        "nudge_id": 3,
        "now": NOW,
    }
    args.update(kw)
    return tokens.sign(SECRET, **args)  # type: ignore[arg-type]


def test_round_trip_binds_workspace_member_action_and_nudge() -> None:
    claims = tokens.verify(SECRET, make(), now=NOW + dt.timedelta(days=29))
    assert (claims.workspace_id, claims.member_id, claims.action, claims.nudge_id) == (1, 2, "share", 3)
    unsub = tokens.verify(SECRET, make(action="unsubscribe", nudge_id=None), now=NOW + dt.timedelta(days=300))
    assert unsub.action == "unsubscribe" and unsub.nudge_id is None


def test_expiry() -> None:
    with pytest.raises(tokens.ExpiredToken) as info:
        tokens.verify(SECRET, make(), now=NOW + tokens.ACTION_TTL)
    assert info.value.kind == "expired"
    short = make(ttl=dt.timedelta(seconds=5))
    tokens.verify(SECRET, short, now=NOW + dt.timedelta(seconds=4))
    with pytest.raises(tokens.ExpiredToken):
        tokens.verify(SECRET, short, now=NOW + dt.timedelta(seconds=5))


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: _flip(t, 5),  # payload changed (e.g. another member id)
        lambda t: _flip(t, len(t) - 3),  # signature changed
        lambda t: t.rsplit(".", 1)[0],  # signature cut off
        lambda t: t + "x",
        lambda t: "v2" + t[2:],
        lambda t: "",
        lambda t: "v1..",
        lambda t: "v1.%%%.%%%",
        lambda t: "x" * 5000,
    ],
)
def test_tampered_tokens_are_bad(mangle: object) -> None:
    token = mangle(make())  # type: ignore[operator]
    with pytest.raises(tokens.BadToken) as info:
        tokens.verify(SECRET, token, now=NOW)
    assert info.value.kind == "bad"


def test_another_key_or_a_forged_payload_is_bad() -> None:
    with pytest.raises(tokens.BadToken):
        tokens.verify("other key", make(), now=NOW)
    # A payload signed with another key, spliced onto our version prefix, still fails.
    forged = tokens.sign("attacker", workspace_id=1, member_id=99, action="unsubscribe", now=NOW)
    with pytest.raises(tokens.BadToken):
        tokens.verify(SECRET, forged, now=NOW)


def test_signing_needs_a_key_and_a_nudge_for_nudge_actions() -> None:
    with pytest.raises(ValueError):
        tokens.sign("", workspace_id=1, member_id=2, action="unsubscribe", now=NOW)
    with pytest.raises(ValueError):
        make(nudge_id=None)
    with pytest.raises(ValueError):
        make(action="delete_everything")
