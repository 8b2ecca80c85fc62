"""Small Slack exports written by the tests themselves (folder or zip)."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ALICE, BOB, CAROL, GONE = "U0ALICE", "U0BOB", "U0CAROL", "U0GONE"
GENERAL, SECRET = "C0GENERAL", "G0SECRET"


def ts(day: int, seconds: int = 0) -> str:
    """A Slack ts on 2026-10-`day` at 12:00 UTC plus `seconds`."""
    return f"{datetime(2026, 10, day, 12, tzinfo=UTC).timestamp() + seconds:.6f}"


def user(uid: str, name: str, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": uid,
        "name": name.lower(),
        "real_name": name,
        "tz": "Europe/Berlin",
        "tz_offset": 7200,
        "deleted": False,
        "is_bot": False,
        "profile": {"real_name": name, "display_name": name, "email": f"{name.lower()}@example.org"},
    }
    entry.update(extra)
    return entry


USERS = [
    user(ALICE, "Alice"),
    user(BOB, "Bob"),
    user(CAROL, "Carol", is_restricted=True),
    user(GONE, "Gone", deleted=True, tz=None),
]
CHANNELS = [{"id": GENERAL, "name": "general", "created": 1, "members": [ALICE, BOB, CAROL]}]


def msg(user_id: str | None, text: str, when: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "message", "text": text, "ts": when}
    if user_id:
        out["user"] = user_id
    out.update(extra)
    return out


def write_export(
    root: Path,
    days: dict[str, list[Any]] | None = None,
    *,
    users: Any = USERS,
    channels: Any = CHANNELS,
    extra: dict[str, Any] | None = None,
    raw: dict[str, bytes] | None = None,
) -> Path:
    """Write an export folder. `days` maps "folder/YYYY-MM-DD" to the day's message list."""
    files: dict[str, Any] = {}
    if users is not None:
        files["users.json"] = users
    if channels is not None:
        files["channels.json"] = channels
    for key, messages in (days or {}).items():
        files[f"{key}.json"] = messages
    files.update(extra or {})
    for rel, value in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    for rel, data in (raw or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zip_folder(folder: Path, out: Path, prefix: str = "", extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.writestr(prefix + path.relative_to(folder).as_posix(), path.read_bytes())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out
