"""Ready-made workspaces for the emulator, and the JSON workspace description format.

Description (all keys but `teams[].id`/`users[].name`/`channels[].name` optional):

    {"signing_secret": "...", "oauth": {"client_id": "...", "client_secret": "..."},
     "teams": [{"id": "T1", "name": "Acme", "domain": "acme", "bot_token": "xoxb-...",
                "install": true,
                "users": [{"name": "alice", "tz": "Europe/Paris", "tz_offset": 3600, ...}],
                "channels": [{"name": "eng", "private": false, "members": ["alice"],
                              "bot_member": true}],
                "messages": [{"channel": "eng", "user": "alice", "text": "hi"}]}]}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.slack_emulator import SlackEmulator

TZ = [
    ("America/Los_Angeles", "Pacific Standard Time", -28800),
    ("America/New_York", "Eastern Standard Time", -18000),
    ("Europe/London", "Greenwich Mean Time", 0),
    ("Europe/Berlin", "Central European Time", 3600),
    ("Asia/Kolkata", "India Standard Time", 19800),
    ("Asia/Tokyo", "Japan Standard Time", 32400),
]


def _tz(i: int) -> dict[str, Any]:
    tz, label, offset = TZ[i % len(TZ)]
    return {"tz": tz, "tz_label": label, "tz_offset": offset}


def small(emu: SlackEmulator) -> None:
    """Six kinds of member (incl. a guest, a deactivated user and another bot), three channels."""
    people = ["alice", "bob", "carol", "dana"]
    for i, name in enumerate(people):
        emu.add_user(name, **_tz(i))
    emu.add_user("gus", is_restricted=True, **_tz(4))
    emu.add_user("olga", deleted=True)
    emu.add_user("otherbot", is_bot=True, bot_id="B0OTHERBOT", email=None)
    emu.add_channel("general", members=[*people, "gus"], is_general=True)
    emu.add_channel("eng", members=["alice", "bob", "carol"])
    emu.add_channel("help", members=people)
    emu.add_channel("random", members=people, bot_member=False)
    emu.add_channel("leads", private=True, members=["alice", "dana"])


def sized(emu: SlackEmulator, users: int, channels: int, members_per_channel: int = 50) -> None:
    """A large synthetic workspace for benchmarks (deterministic)."""
    ids = [emu.add_user(f"user{i:05d}", **_tz(i)).id for i in range(users)]
    for c in range(channels):
        start = (c * members_per_channel) % max(1, users)
        members = [ids[(start + k) % users] for k in range(min(members_per_channel, users))]
        emu.add_channel(f"channel-{c:04d}", members=members, private=(c % 10 == 9))


def seed(emu: SlackEmulator, spec: str) -> None:
    """`small`, `empty`, or `users=N,channels=M[,members=K]`."""
    if spec in ("", "empty", "none"):
        return
    if spec == "small":
        small(emu)
        return
    opts = dict(part.split("=", 1) for part in spec.split(","))
    sized(emu, int(opts.get("users", 100)), int(opts.get("channels", 10)), int(opts.get("members", 50)))


def load_workspace(emu: SlackEmulator, desc: dict[str, Any]) -> None:
    oauth = desc.get("oauth")
    if oauth:
        emu.configure_oauth(oauth["client_id"], oauth["client_secret"])
    for t in desc.get("teams", []):
        team = emu.add_team(
            id=t.get("id"), name=t.get("name"), domain=t.get("domain"), bot_token=t.get("bot_token"),
            install=t.get("install", True),
        )  # fmt: skip
        for u in t.get("users", []):
            u = dict(u)
            emu.add_user(u.pop("name"), team_id=team.id, **u)
        for c in t.get("channels", []):
            c = dict(c)
            emu.add_channel(c.pop("name"), team_id=team.id, **c)
        for m in t.get("messages", []):
            m = dict(m)
            emu.post_as_user(m.pop("channel"), m.pop("user"), m.pop("text"), team_id=team.id, **m)
