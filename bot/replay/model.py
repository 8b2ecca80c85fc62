"""Plain, frozen records for what a Slack workspace export holds.

The parser (`bot.replay.export`) builds these and nothing else; replay, matching and the report
read them. No field is a raw dict from the export, so downstream code never has to guess types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

# Slackbot is listed in users.json as a plain user (`is_bot: false`), but it never asks questions.
SLACKBOT_ID = "USLACKBOT"


class ExportError(Exception):
    """The export cannot be read. `file` names the file at fault (or the export itself)."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Problem:
    """A skippable defect: replay goes on without the part named here."""

    file: str
    what: str
    count: int = 1

    def __str__(self) -> str:
        times = f" (x{self.count})" if self.count > 1 else ""
        return f"{self.file}: {self.what}{times}"


@dataclass(frozen=True, slots=True)
class ExportUser:
    id: str
    name: str
    real_name: str
    display_name: str
    email: str | None
    tz: str | None
    tz_offset: int | None  # seconds east of UTC at export time, as Slack reports it
    is_bot: bool
    deleted: bool
    is_restricted: bool  # multi-channel guest
    is_ultra_restricted: bool = False  # single-channel guest
    is_app_user: bool = False
    bot_id: str | None = None  # for bot users: the B… id their bot_message events carry

    @property
    def is_guest(self) -> bool:
        return self.is_restricted or self.is_ultra_restricted

    @property
    def label(self) -> str:
        """The name people see in Slack: display name, else real name, else handle."""
        return self.display_name or self.real_name or self.name or self.id


@dataclass(frozen=True, slots=True)
class ExportChannel:
    id: str
    name: str
    is_private: bool
    members: tuple[str, ...]
    created: int  # unix seconds
    kind: str = "channel"  # channel | group (private channel) | im | mpim
    is_archived: bool = False
    topic: str = ""
    purpose: str = ""
    creator: str | None = None
    folder: str = ""  # the folder holding its day files inside the export


@dataclass(frozen=True, slots=True)
class Edited:
    user: str | None
    ts: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One entry of a thread parent's legacy `replies` list."""

    user: str | None
    ts: str


@dataclass(frozen=True, slots=True)
class Reaction:
    name: str
    users: tuple[str, ...]
    count: int


@dataclass(frozen=True, slots=True)
class ExportFile:
    id: str
    name: str
    title: str
    filetype: str
    mimetype: str
    size: int | None
    permalink: str | None
    is_deleted: bool  # `mode: tombstone` (file deleted) or hidden by plan limits


@dataclass(frozen=True, slots=True)
class Attachment:
    """A legacy attachment: most often a link unfurl, sometimes a bot's card or a shared message."""

    title: str
    text: str
    url: str | None  # from_url, else original_url, else title_link
    service_name: str
    fallback: str = ""
    pretext: str = ""
    is_unfurl: bool = False  # Slack made it from a link in the message (from_url / original_url)


@dataclass(frozen=True, slots=True)
class ExportMessage:
    channel_id: str
    ts: str  # Slack's id for the message within its channel, kept verbatim
    time: float  # ts as seconds since the epoch
    user: str | None
    text: str  # mrkdwn as exported ("" for a deleted message)
    plain: str  # readable text: rich-text blocks if any, else `text` with entities resolved
    subtype: str | None = None
    thread_ts: str | None = None
    parent_user_id: str | None = None
    reply_count: int = 0
    reply_users: tuple[str, ...] = ()
    replies: tuple[Reply, ...] = ()
    edited: Edited | None = None
    files: tuple[ExportFile, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    mentions: tuple[str, ...] = ()  # user ids mentioned, in order of first mention
    channel_mentions: tuple[str, ...] = ()
    broadcast: str | None = None  # "here" | "channel" | "everyone"
    links: tuple[str, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    bot_id: str | None = None
    username: str | None = None  # a bot_message's display name
    is_bot: bool = False
    is_deleted: bool = False
    target_ts: str | None = None  # message_changed / message_deleted: the message they act on
    file: str = field(default="", compare=False)  # the day file it came from, for reports

    @property
    def posted_at(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)

    @property
    def is_reply(self) -> bool:
        """A reply inside a thread (broadcast replies included), not the thread's parent."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def is_thread_parent(self) -> bool:
        return self.thread_ts == self.ts or self.reply_count > 0 or bool(self.replies)


@dataclass(frozen=True, slots=True)
class Export:
    users: Mapping[str, ExportUser]
    channels: Mapping[str, ExportChannel]
    messages: tuple[ExportMessage, ...]  # every conversation, sorted by (time, channel_id)
    problems: tuple[Problem, ...]

    def messages_by_day(self, tz: tzinfo = UTC) -> Iterator[tuple[date, tuple[ExportMessage, ...]]]:
        """Consecutive (day, messages) groups, days taken in `tz`."""
        day: date | None = None
        batch: list[ExportMessage] = []
        for message in self.messages:
            d = datetime.fromtimestamp(message.time, tz).date()
            if d != day and batch:
                assert day is not None
                yield day, tuple(batch)
                batch = []
            day = d
            batch.append(message)
        if batch and day is not None:
            yield day, tuple(batch)

    def user_by_email(self) -> dict[str, ExportUser]:
        return {u.email.lower(): u for u in self.users.values() if u.email}
