"""Parse a standard Slack workspace export (a .zip or a folder) into `bot.replay.model` records.

Layout (Slack's "How to read Slack data exports"): `users.json` (`org_users.json` on Enterprise
Grid), `channels.json`, and when the export covers them `groups.json` (private channels), `dms.json`,
`mpims.json`; `integration_logs.json`, `canvases.json` and the like are not conversations and are
ignored. Each conversation has a folder — named after the channel for channels, private channels
and group DMs, after the id for DMs — holding one `YYYY-MM-DD.json` list of messages per day.

Fatal problems raise `ExportError` naming the file. With `strict=True` (the default) a malformed
day file is fatal too; with `strict=False` it is skipped and counted. Anything else odd is counted
in `problems` and skipped. The parser never raises anything but `ExportError` on bad input.
"""

from __future__ import annotations

import heapq
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType, TracebackType
from typing import Any

from bot.replay.model import (
    SLACKBOT_ID,
    Attachment,
    Edited,
    Export,
    ExportChannel,
    ExportError,
    ExportFile,
    ExportMessage,
    ExportUser,
    Problem,
    Reaction,
    Reply,
)
from bot.replay.source import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_TOTAL_BYTES, ExportSource, open_source
from bot.replay.text import Extracted, extract_blocks, parse_mrkdwn, unique

# Subtypes Slack documents for messages; anything else is counted as a problem and skipped.
KNOWN_SUBTYPES = frozenset(
    {
        "bot_message", "me_message", "thread_broadcast", "file_share", "file_comment", "file_mention",
        "message_changed", "message_deleted", "message_replied", "tombstone",
        "channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
        "channel_archive", "channel_unarchive", "channel_convert_to_private", "channel_convert_to_public",
        "channel_posting_permissions", "group_join", "group_leave", "group_topic", "group_purpose",
        "group_name", "group_archive", "group_unarchive", "pinned_item", "unpinned_item",
        "reminder_add", "slackbot_response", "bot_add", "bot_remove", "bot_enable", "bot_disable",
        "ekm_access_denied", "sh_room_created", "huddle_thread", "assistant_app_thread",
        "joiner_notification", "joiner_notification_for_inviter",
    }
)  # fmt: skip
DELETED_SUBTYPES = frozenset({"tombstone", "message_deleted"})

_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.json$")
# A day file is named for a calendar day in some time zone; UTC-14..UTC+12 bounds how far its
# messages' UTC times can stray from that day, which lets messages stream out in global order.
_EARLIEST_OFFSET = timedelta(hours=14)
_NOT_CONVERSATIONS = frozenset(
    {"integration_logs.json", "canvases.json", "content_flags.json", "huddle_transcripts.json", "lists.json"}
)


class _Problems:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def add(self, file: str, what: str, count: int = 1) -> None:
        key = (file, what)
        self._counts[key] = self._counts.get(key, 0) + count

    def snapshot(self) -> tuple[Problem, ...]:
        return tuple(Problem(f, w, n) for (f, w), n in sorted(self._counts.items()))


class _Malformed(Exception):
    """A defect that makes a day file malformed (fatal when strict)."""


# -- small coercions: JSON from an export may hold any type anywhere -----------------------------


def _s(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None


def _bool(value: object) -> bool:
    return value is True


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strs(value: object) -> tuple[str, ...]:
    if not value or not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _label(value: object) -> str:
    """A short, safe rendering of an unexpected value for a problem message."""
    return repr(value[:40]) if isinstance(value, str) else f"<{type(value).__name__}>"


def _ts(value: object) -> tuple[str, float] | None:
    """Slack ts ("1696160000.000100"); some tools write a number. None if not a finite time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = f"{value:.6f}"
    elif isinstance(value, str) and 0 < len(value) <= 32:
        text = value
    else:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0 or seconds > 32503680000:  # before year 3000
        return None
    return text, seconds


def _ts_str(value: object) -> str | None:
    parsed = _ts(value)
    return parsed[0] if parsed else None


def _load_json(source: ExportSource, name: str) -> object:
    data = source.read(name)
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise ExportError(name, "is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ExportError(
            name, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ExportError(name, f"is not valid JSON ({type(exc).__name__})") from None


# -- users and conversations ------------------------------------------------------------------------


def parse_users(raw: object, file: str, problems: _Problems) -> dict[str, ExportUser]:
    if not isinstance(raw, list):
        raise ExportError(file, "should hold a JSON list of users")
    users: dict[str, ExportUser] = {}
    for entry in raw:
        uid = _s(entry.get("id")) if isinstance(entry, dict) else None
        if not uid or not isinstance(entry, dict):
            problems.add(file, "user entry without an id skipped")
            continue
        profile = _dict(entry.get("profile"))
        real_name = _text(entry.get("real_name")) or _text(profile.get("real_name"))
        email = _s(profile.get("email")) or _s(entry.get("email"))
        users[uid] = ExportUser(
            id=uid,
            name=_text(entry.get("name")),
            real_name=real_name,
            display_name=_text(profile.get("display_name")),
            email=email.strip() if email else None,
            tz=_s(entry.get("tz")),
            tz_offset=_int(entry.get("tz_offset")),
            is_bot=_bool(entry.get("is_bot")) or uid == SLACKBOT_ID,
            deleted=_bool(entry.get("deleted")),
            is_restricted=_bool(entry.get("is_restricted")),
            is_ultra_restricted=_bool(entry.get("is_ultra_restricted")),
            is_app_user=_bool(entry.get("is_app_user")),
            bot_id=_s(profile.get("bot_id")),
        )
    return users


def parse_conversations(raw: object, file: str, kind: str, problems: _Problems) -> list[ExportChannel]:
    if not isinstance(raw, list):
        raise ExportError(file, "should hold a JSON list of conversations")
    out: list[ExportChannel] = []
    for entry in raw:
        cid = _s(entry.get("id")) if isinstance(entry, dict) else None
        if not cid or not isinstance(entry, dict):
            problems.add(file, "conversation entry without an id skipped")
            continue
        name = _s(entry.get("name")) or cid
        # DM folders are named by id; every other kind by name.
        folder = cid if kind == "im" else name
        is_private = kind != "channel" or _bool(entry.get("is_private"))
        out.append(
            ExportChannel(
                id=cid,
                name=name,
                is_private=is_private,
                members=_strs(entry.get("members")),
                created=_int(entry.get("created")) or 0,
                kind=kind,
                is_archived=_bool(entry.get("is_archived")),
                topic=_text(_dict(entry.get("topic")).get("value")),
                purpose=_text(_dict(entry.get("purpose")).get("value")),
                creator=_s(entry.get("creator")),
                folder=folder,
            )
        )
    return out


# -- messages -------------------------------------------------------------------------------------


class _MessageParser:
    def __init__(
        self, users: Mapping[str, ExportUser], channels: Mapping[str, ExportChannel], problems: _Problems
    ):
        self.users = users
        self.problems = problems
        by_bot_id = {u.bot_id: u for u in users.values() if u.bot_id}
        self._bot_users = by_bot_id
        names = {c.id: c.name for c in channels.values()}
        self.user_name: Callable[[str], str | None] = lambda uid: u.label if (u := users.get(uid)) else None
        self.channel_name: Callable[[str], str | None] = names.get

    def parse(self, raw: object, index: int, channel: ExportChannel, file: str) -> ExportMessage | None:
        if not isinstance(raw, dict):
            raise _Malformed(f"message #{index} is not a JSON object")
        stamp = _ts(raw.get("ts"))
        if stamp is None:
            raise _Malformed(f"message #{index} has no valid ts")
        ts, seconds = stamp
        kind = raw.get("type", "message")
        if kind != "message":
            self.problems.add(channel.folder + "/", f"entry of type {_label(kind)} skipped")
            return None
        subtype = raw.get("subtype")
        if subtype is not None and (not isinstance(subtype, str) or subtype not in KNOWN_SUBTYPES):
            self.problems.add(channel.folder + "/", f"unknown message subtype {_label(subtype)} skipped")
            return None

        body = raw
        target_ts: str | None = None
        if subtype == "message_changed":
            body = _dict(raw.get("message"))
            target_ts = _ts_str(body.get("ts"))
        elif subtype == "message_deleted":
            body = _dict(raw.get("previous_message"))
            target_ts = _ts_str(raw.get("deleted_ts")) or _ts_str(body.get("ts"))

        get = body.get
        user = _s(get("user")) or _s(raw.get("user"))
        bot_id = _s(get("bot_id"))
        is_deleted = subtype in DELETED_SUBTYPES
        text = "" if is_deleted else _text(get("text"))

        found = Extracted()
        if text:
            parse_mrkdwn(text, self.user_name, self.channel_name, found)
        text_plain = found.text
        blocks = None if is_deleted else get("blocks")
        if blocks:
            extract_blocks(blocks, self.user_name, self.channel_name, found)
        plain = (found.text if blocks else "") or text_plain

        record = self.users.get(user) if user else None
        if record is None and user is None and bot_id:
            record = self._bot_users.get(bot_id)
        is_bot = (
            subtype == "bot_message"
            or (record is not None and record.is_bot)
            or user == SLACKBOT_ID
            or (bot_id is not None and record is None)
        )
        if user and record is None and not is_bot:
            self.problems.add(channel.folder + "/", "messages from a user not in users.json kept")

        thread_ts = get("thread_ts")
        if thread_ts is None and body is not raw:
            thread_ts = raw.get("thread_ts")
        reply_count = get("reply_count")
        replies = get("replies")
        edited = get("edited")
        edited_ts = _ts_str(edited.get("ts")) if isinstance(edited, dict) else None
        files = get("files")
        attachments = get("attachments")
        reactions = get("reactions")
        # Positional: keyword binding of 26 fields costs more than the rest of the parse.
        return ExportMessage(
            channel.id,
            ts,
            seconds,
            user,
            text,
            plain,
            subtype,
            _ts_str(thread_ts) if thread_ts is not None else None,
            _s(get("parent_user_id")),
            max(_int(reply_count) or 0, 0) if reply_count is not None else 0,
            _strs(get("reply_users")),
            self._replies(replies) if replies else (),
            Edited(_s(edited.get("user")), edited_ts) if edited_ts and isinstance(edited, dict) else None,
            self._files(files) if files else (),
            self._attachments(attachments) if attachments else (),
            unique(found.mentions) if found.mentions else (),
            unique(found.channels) if found.channels else (),
            found.broadcast,
            unique(found.links) if found.links else (),
            self._reactions(reactions) if reactions else (),
            bot_id,
            _s(get("username")),
            is_bot,
            is_deleted,
            target_ts,
            file,
        )

    @staticmethod
    def _replies(raw: object) -> tuple[Reply, ...]:
        out = []
        for r in _list(raw):
            if isinstance(r, dict) and (t := _ts_str(r.get("ts"))):
                out.append(Reply(_s(r.get("user")), t))
        return tuple(out)

    @staticmethod
    def _files(raw: object) -> tuple[ExportFile, ...]:
        out = []
        for f in _list(raw):
            if not isinstance(f, dict):
                continue
            mode = _s(f.get("mode"))
            out.append(
                ExportFile(
                    id=_text(f.get("id")),
                    name=_text(f.get("name")),
                    title=_text(f.get("title")),
                    filetype=_text(f.get("filetype")),
                    mimetype=_text(f.get("mimetype")),
                    size=_int(f.get("size")),
                    permalink=_s(f.get("permalink")),
                    is_deleted=mode in ("tombstone", "hidden_by_limit"),
                )
            )
        return tuple(out)

    @staticmethod
    def _attachments(raw: object) -> tuple[Attachment, ...]:
        out = []
        for a in _list(raw):
            if not isinstance(a, dict):
                continue
            unfurl_url = _s(a.get("from_url")) or _s(a.get("original_url"))
            out.append(
                Attachment(
                    title=_text(a.get("title")),
                    text=_text(a.get("text")),
                    url=unfurl_url or _s(a.get("title_link")),
                    service_name=_text(a.get("service_name")),
                    fallback=_text(a.get("fallback")),
                    pretext=_text(a.get("pretext")),
                    is_unfurl=unfurl_url is not None,
                )
            )
        return tuple(out)

    @staticmethod
    def _reactions(raw: object) -> tuple[Reaction, ...]:
        out = []
        for r in _list(raw):
            name = _s(r.get("name")) if isinstance(r, dict) else None
            if name and isinstance(r, dict):
                users = _strs(r.get("users"))
                count = _int(r.get("count"))
                out.append(Reaction(name=name, users=users, count=count if count is not None else len(users)))
        return tuple(out)


# -- the reader -----------------------------------------------------------------------------------


class ExportReader:
    """An open export: users and conversations read at once, messages streamed day by day.

    Use as a context manager, or call `close()`. `problems` grows while messages are iterated.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        strict: bool = True,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    ) -> None:
        self.strict = strict
        self._problems = _Problems()
        self._source = open_source(path, self._problems, max_file_bytes, max_total_bytes)
        try:
            self._read_metadata()
        except BaseException:
            self._source.close()
            raise

    def _read_metadata(self) -> None:
        names = set(self._source.names)
        users_file = "users.json" if "users.json" in names else "org_users.json"
        if users_file not in names:
            raise ExportError("users.json", "is missing: not a Slack export, or an incomplete one")
        if "channels.json" not in names:
            raise ExportError("channels.json", "is missing: not a Slack export, or an incomplete one")
        self.users: Mapping[str, ExportUser] = MappingProxyType(
            parse_users(_load_json(self._source, users_file), users_file, self._problems)
        )
        channels: dict[str, ExportChannel] = {}
        by_folder: dict[str, ExportChannel] = {}
        for file, kind in (
            ("channels.json", "channel"),
            ("groups.json", "group"),
            ("mpims.json", "mpim"),
            ("dms.json", "im"),
        ):
            if file not in names:
                continue  # optional: a public-channels-only export has none of the last three
            for conv in parse_conversations(_load_json(self._source, file), file, kind, self._problems):
                if conv.id in channels:
                    self._problems.add(file, "conversation listed twice; first kept")
                    continue
                channels[conv.id] = conv
                by_folder.setdefault(conv.folder, conv)
        for conv in channels.values():
            by_folder.setdefault(conv.id, conv)
        self.channels: Mapping[str, ExportChannel] = MappingProxyType(channels)

        self._day_files: dict[date, list[tuple[ExportChannel, str]]] = {}
        unlisted: dict[str, int] = {}
        for name in self._source.names:
            if "/" not in name:
                if name.endswith(".json") and name not in _NOT_CONVERSATIONS and name not in (
                    users_file, "users.json", "channels.json", "groups.json", "mpims.json", "dms.json",
                ):  # fmt: skip
                    self._problems.add(name, "unexpected top-level file ignored")
                continue
            folder, _, rest = name.partition("/")
            if "/" in rest:
                continue  # attachments or canvases some exporters store beside the day files
            match = _DAY_FILE.match(rest)
            day = _parse_date(match.group(1)) if match else None
            if day is None:
                self._problems.add(name, "not a YYYY-MM-DD.json day file; ignored")
                continue
            owner = by_folder.get(folder)
            if owner is None:
                unlisted[folder] = unlisted.get(folder, 0) + 1
                continue
            self._day_files.setdefault(day, []).append((owner, name))
        for folder, n in sorted(unlisted.items()):
            # Never guess: a folder we cannot tie to a conversation might be private.
            self._problems.add(
                folder + "/",
                f"folder not listed in channels.json/groups.json/mpims.json/dms.json; {n} day files skipped",
                1,
            )
        self._parser = _MessageParser(self.users, self.channels, self._problems)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self._problems.snapshot()

    @property
    def days(self) -> list[date]:
        return sorted(self._day_files)

    @property
    def day_file_count(self) -> int:
        return sum(len(v) for v in self._day_files.values())

    def _read_day_file(self, conv: ExportChannel, name: str) -> list[ExportMessage]:
        try:
            raw = _load_json(self._source, name)
            if not isinstance(raw, list):
                raise _Malformed("should hold a JSON list of messages")
            out = []
            for index, item in enumerate(raw):
                message = self._parser.parse(item, index, conv, name)
                if message is not None:
                    out.append(message)
            return out
        except _Malformed as exc:
            if self.strict:
                raise ExportError(name, str(exc)) from None
            self._problems.add(name, f"malformed day file skipped ({exc})")
        except ExportError as exc:
            if self.strict or exc.file != name:
                raise
            self._problems.add(name, f"malformed day file skipped ({exc.reason})")
        return []

    def iter_messages(self, on_file: Callable[[str], None] | None = None) -> Iterator[ExportMessage]:
        """Every message of every conversation in order of time (then channel id), read lazily.

        Only about two days of messages are held at once. `on_file` is called after each day file
        is read (for a progress bar: there are `day_file_count` of them).
        """
        heap: list[tuple[float, str, str, int, ExportMessage]] = []
        seen: set[tuple[str, str]] = set()
        seq = 0
        last = -math.inf
        days = self.days
        for i, day in enumerate(days):
            for conv, name in sorted(self._day_files[day], key=lambda cn: cn[1]):
                for message in self._read_day_file(conv, name):
                    key = (message.channel_id, message.ts)
                    if key in seen:
                        self._problems.add(name, "duplicate message (same channel and ts) skipped")
                        continue
                    seen.add(key)
                    seq += 1
                    heapq.heappush(heap, (message.time, message.channel_id, message.ts, seq, message))
                if on_file is not None:
                    on_file(name)
            watermark = (
                (datetime.combine(days[i + 1], datetime.min.time(), UTC) - _EARLIEST_OFFSET).timestamp()
                if i + 1 < len(days)
                else math.inf
            )
            while heap and heap[0][0] < watermark:
                message = heapq.heappop(heap)[4]
                if message.time < last:
                    self._problems.add(
                        message.file, "message far outside its day file; delivered out of order"
                    )
                last = max(last, message.time)
                yield message

    def load(self) -> Export:
        # Everything is held anyway, so one sort at the end replaces the streaming merge.
        messages: list[ExportMessage] = []
        seen: set[tuple[str, str]] = set()
        for day in self.days:
            for conv, name in sorted(self._day_files[day], key=lambda cn: cn[1]):
                for message in self._read_day_file(conv, name):
                    key = (message.channel_id, message.ts)
                    if key in seen:
                        self._problems.add(name, "duplicate message (same channel and ts) skipped")
                        continue
                    seen.add(key)
                    messages.append(message)
        messages.sort(key=lambda m: (m.time, m.channel_id, m.ts))
        return Export(
            users=self.users, channels=self.channels, messages=tuple(messages), problems=self.problems
        )

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> ExportReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def open_export(
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> ExportReader:
    """Open an export for streaming; raises `ExportError` if its metadata cannot be read."""
    return ExportReader(path, strict=strict, max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes)


def load_export(
    path: str | os.PathLike[str],
    *,
    strict: bool = True,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> Export:
    """Read a whole export into memory (fine for 100k messages: a few hundred MB at most)."""
    with open_export(
        path, strict=strict, max_file_bytes=max_file_bytes, max_total_bytes=max_total_bytes
    ) as reader:
        return reader.load()
