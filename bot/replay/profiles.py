"""Stated interests and expertise for `passiton replay --profiles`, from CSV or JSON.

JSON: an object keyed by Slack user id or email, each value `{"interests": [...], "expertise": [...],
"helped": [...], "public": true, "opted_in": true}`; or a list of such objects carrying a `"user"` (or
`"id"`) or `"email"` key. Topic fields may be lists or one string separated by `;` or `,`.

CSV: a header row with `user`, `email`, `interests`, `expertise` and optionally `helped`, `public` and
`opted_in`; topics are `;`-separated (commas work too), helped questions `|`-separated, `public` and
`opted_in` are yes/no (true/false, 1/0, empty for no). A row needs a user id or an email.

`helped` are questions the member answered before the export begins: the replay stores them as observed help,
the evidence the live bot collects from thread replies. `public` is the member's consent to be named in
in-channel answers for their stated expertise (`/passiton expertise public` in the live bot); without it
nobody is named there. `opted_in` says the member opted in without stating a topic (the welcome DM's
"count me in"): what they can help with is then learned from their thread replies as the replay goes.

Topics go through `bot.matching.topics.parse_topic_list`, so "PostgreSQL" and "Postgres" are one topic.
Malformed input raises `ProfileError` naming the file and line; entries that cannot be tied to a
member of the export are skipped and reported as problems.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matching.topics import parse_topic_list
from bot.replay.model import ExportUser, Problem

_SPLIT = re.compile(r"[;,\n]")
MAX_HELPED = 200


class ProfileError(Exception):
    def __init__(self, file: str, line: int | None, reason: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Profile:
    """Normalised topics (see `bot.matching.topics`) and the questions a member is known to have answered."""

    interests: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()
    helped: tuple[str, ...] = ()
    public: bool = False
    # Opted in without stating a topic (the welcome DM's "count me in"); stating a topic opts in anyway.
    opted_in: bool = False

    def merged(self, other: Profile) -> Profile:
        return Profile(
            interests=tuple(dict.fromkeys(self.interests + other.interests)),
            expertise=tuple(dict.fromkeys(self.expertise + other.expertise)),
            helped=tuple(dict.fromkeys(self.helped + other.helped)),
            public=self.public or other.public,
            opted_in=self.opted_in or other.opted_in,
        )


@dataclass(frozen=True, slots=True)
class LoadedProfiles:
    by_user: dict[str, Profile]
    problems: tuple[Problem, ...]


def _topics(value: object, field: str, file: str, line: int | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        entries = _SPLIT.split(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        entries = list(value)
    else:
        raise ProfileError(file, line, f"'{field}' must be a list of strings or one ';'-separated string")
    entries = [e.strip() for e in entries if e.strip()]
    if not entries:
        return ()
    try:
        return tuple(parse_topic_list(entries))
    except ValueError as exc:
        raise ProfileError(file, line, f"'{field}': {exc}") from None


def _helped(value: object, file: str, line: int | None, sep: str = "|") -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        entries = value.split(sep)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        entries = list(value)
    else:
        raise ProfileError(file, line, "'helped' must be a list of question texts")
    texts = tuple(dict.fromkeys(e.strip() for e in entries if e.strip()))
    return texts[:MAX_HELPED]


_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0", ""})


def _public(value: object, file: str, line: int | None, field: str = "public") -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    raise ProfileError(file, line, f"'{field}' must be true or false (yes/no in CSV)")


def _json_entries(text: str, file: str) -> Iterator[tuple[str, int, Any]]:
    """(key, line, value) for each profile in a JSON file, keyed or listed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(file, exc.lineno, f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise ProfileError(file, None, "invalid JSON (nested too deeply)") from None
    if isinstance(data, dict):
        for key, value in data.items():
            # The key's first occurrence is a good enough pointer for a person fixing the file.
            pos = text.find(json.dumps(key, ensure_ascii=False))
            if pos < 0:
                pos = text.find(json.dumps(key))
            yield key, text.count("\n", 0, max(pos, 0)) + 1, value
    elif isinstance(data, list):
        for line, value in _array_lines(text, data):
            if not isinstance(value, dict):
                raise ProfileError(file, line, "each profile must be an object")
            key = value.get("user", value.get("id")) or value.get("email")
            if not isinstance(key, str) or not key.strip():
                raise ProfileError(file, line, "profile has neither 'user' nor 'email'")
            yield key, line, value
    else:
        raise ProfileError(file, 1, "expected an object keyed by user id or email, or a list of profiles")


def _array_lines(text: str, data: list[Any]) -> list[tuple[int, Any]]:
    """Pair each element of a top-level array with the line it starts on."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    out: list[tuple[int, Any]] = []
    for value in data:
        while text[pos] in " \t\r\n,":
            pos += 1
        _, end = decoder.raw_decode(text, pos)
        out.append((text.count("\n", 0, pos) + 1, value))
        pos = end
    return out


def _csv_entries(text: str, file: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "user" not in header and "email" not in header:
        raise ProfileError(
            file, 1, "the header needs a 'user' or an 'email' column (user,email,interests,expertise)"
        )
    if "interests" not in header and "expertise" not in header:
        raise ProfileError(file, 1, "the header needs an 'interests' or an 'expertise' column")
    reader.fieldnames = header
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise ProfileError(file, line, f"more fields than the header has ({len(header)})")
            user = (row.get("user") or "").strip()
            email = (row.get("email") or "").strip()
            if not user and not email:
                if not any((v or "").strip() for v in row.values()):
                    continue  # a blank line
                raise ProfileError(file, line, "row has neither a user id nor an email")
            yield (
                user or email,
                line,
                {
                    "interests": row.get("interests") or "",
                    "expertise": row.get("expertise") or "",
                    "helped": row.get("helped") or "",
                    "public": row.get("public") or "",
                    "opted_in": row.get("opted_in") or "",
                    "email": email,
                },
            )
    except csv.Error as exc:
        raise ProfileError(file, reader.line_num, f"malformed CSV ({exc})") from None


def load_profiles(
    path: str | os.PathLike[str], users: Mapping[str, ExportUser] | None = None
) -> LoadedProfiles:
    """Profiles keyed by Slack user id. With `users` (from the export), emails are resolved to ids and
    entries for people not in the export are skipped as problems; without it, email keys are skipped."""
    p = Path(path)
    file = p.name
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProfileError(str(p), None, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(p), None, f"cannot be read ({type(exc).__name__})") from None
    is_json = p.suffix.lower() == ".json" or (p.suffix.lower() != ".csv" and text.lstrip()[:1] in ("{", "["))
    entries = _json_entries(text, file) if is_json else _csv_entries(text, file)

    by_email = {u.email.lower(): u.id for u in (users or {}).values() if u.email}
    problems: list[Problem] = []
    out: dict[str, Profile] = {}
    for key, line, value in entries:
        if not isinstance(value, dict):
            raise ProfileError(file, line, f"profile for {key!r} must be an object with interests/expertise")
        profile = Profile(
            interests=_topics(value.get("interests"), "interests", file, line),
            expertise=_topics(value.get("expertise"), "expertise", file, line),
            helped=_helped(value.get("helped"), file, line),
            public=_public(value.get("public"), file, line),
            opted_in=_public(value.get("opted_in"), file, line, "opted_in"),
        )
        key = key.strip()
        if "@" in key:
            user_id = by_email.get(key.lower())
            if user_id is None:
                what = (
                    "email not found in users.json; skipped"
                    if users is not None
                    else "email keys need the export"
                )
                problems.append(Problem(f"{file}:{line}", what))
                continue
        else:
            user_id = key
            if users is not None and user_id not in users:
                problems.append(Problem(f"{file}:{line}", f"user {user_id} not in users.json; skipped"))
                continue
        if user_id in out:
            problems.append(Problem(f"{file}:{line}", f"second profile for {user_id}; merged"))
            profile = out[user_id].merged(profile)
        out[user_id] = profile
    return LoadedProfiles(by_user=out, problems=tuple(problems))
