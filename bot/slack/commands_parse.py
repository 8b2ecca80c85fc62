"""`/passiton …` text to a typed command, or a friendly error saying what to type instead.

Pure: no Slack, no database. A parse either yields one complete command or an error, so a command
is applied whole or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.matching.topics import MAX_TOPIC_CHARS, normalise_topic, parse_topic_list
from bot.messages.mrkdwn import escape

TopicKind = Literal["interest", "expertise", "muted"]
MAX_PAUSE_DAYS = 26 * 7
MAX_ASK_CHARS = 2000


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListTopics:
    kind: TopicKind


@dataclass(frozen=True)
class ChangeTopics:
    kind: TopicKind
    op: Literal["add", "remove"]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class ExpertiseVisibility:
    """Consent (or its withdrawal) to be named in channel for some of one's expertise."""

    public: bool
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Pause:
    days: int


@dataclass(frozen=True)
class AskPause:
    """`pause` or `snooze` without a duration: the reply asks how long, with buttons."""


@dataclass(frozen=True)
class Mute:
    """`mute …`/`unmute …`: people (mentions, or a name that matches a member when applied) and topics.

    Whether a bare word names a person is only known against the workspace's members, so the split
    happens when the command is applied; `topics_only`/`people_only` come from `mute topic …` /
    `mute person …`, which say it outright."""

    undo: bool
    user_ids: tuple[str, ...]  # from <@U…> mentions
    words: tuple[str, ...]  # everything else, as typed (trimmed)
    topics_only: bool = False
    people_only: bool = False


@dataclass(frozen=True)
class ChannelAnswers:
    """`answers off|on`, said in a channel: in-channel "who knows" answers there."""

    enabled: bool


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Quiet:
    """Quiet hours as minutes after local midnight; both None turns them off."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class Via:
    delivery: Literal["slack", "email", "both", "off"]


@dataclass(frozen=True)
class Digest:
    frequency: Literal["daily", "weekly"]


@dataclass(frozen=True)
class WhoKnows:
    topic: str


@dataclass(frozen=True)
class Ask:
    text: str


@dataclass(frozen=True)
class Export:
    pass


@dataclass(frozen=True)
class ForgetMe:
    pass


Command = (
    Help
    | ListTopics
    | ChangeTopics
    | ExpertiseVisibility
    | Pause
    | AskPause
    | Mute
    | ChannelAnswers
    | Resume
    | Quiet
    | Via
    | Digest
    | WhoKnows
    | Ask
    | Export
    | ForgetMe
)


class ParseError(ValueError):
    """The member typed something we can't act on; `str(error)` is the reply to show them."""


_TOPIC_WORDS: dict[str, TopicKind] = {
    "interests": "interest",
    "interest": "interest",
    "expertise": "expertise",
}
_STOP_WORDS = ("stop", "off", "unsubscribe")
_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>")
_DURATION_RE = re.compile(r"^(\d{1,3})\s*(d|day|days|w|wk|wks|week|weeks)$")
_TIME_RE = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*(am|pm)?$")


def parse_command(text: str) -> Command:
    """Parse the text after `/passiton`. Raises ParseError with a message fit for the member."""
    text = " ".join(text.split())
    if not text:
        return Help()
    head, _, rest = text.partition(" ")
    word = head.lower()
    if word in ("help", "?", "-h", "--help"):
        return Help()
    if word in _TOPIC_WORDS:
        return _parse_topics(_TOPIC_WORDS[word], word, rest)
    if word == "mute":
        return ListTopics("muted") if not rest else _mute(rest, undo=False)
    if word == "unmute":
        if not rest:
            raise ParseError("Say what to unmute, e.g. `/passiton unmute crypto` or `/passiton unmute @ben`.")
        return _mute(rest, undo=True)
    if word == "answers":
        choice = rest.lower()
        if choice not in ("off", "on"):
            raise ParseError(
                "In a channel, `/passiton answers off` stops my replies to “who knows …” questions there; "
                "`/passiton answers on` brings them back."
            )
        return ChannelAnswers(choice == "on")
    if word in _STOP_WORDS:
        # Members reach for these words to make it stop; "I don't know `stop`" would be the worst answer.
        _no_args(word, rest)
        return Via("off")
    if word in ("pause", "snooze"):
        return AskPause() if not rest else Pause(_duration(rest, word))
    if word in ("resume", "unpause"):
        _no_args(word, rest)
        return Resume()
    if word == "quiet":
        return _quiet(rest)
    if word == "via":
        choice = rest.lower()
        if choice not in ("slack", "email", "both", "off"):
            raise ParseError(
                "Choose how suggestions reach you: `/passiton via slack`, `email`, `both` or `off`."
            )
        return Via(choice)  # type: ignore[arg-type]
    if word == "digest":
        choice = rest.lower()
        if choice not in ("daily", "weekly"):
            raise ParseError("Choose a digest rhythm: `/passiton digest daily` or `/passiton digest weekly`.")
        return Digest(choice)  # type: ignore[arg-type]
    if word == "who":
        return _who_knows(rest)
    if word == "ask":
        if not rest:
            raise ParseError(
                "Say what you need, e.g. `/passiton ask looking for someone to review my first conference talk`."
            )
        if len(rest) > MAX_ASK_CHARS:
            raise ParseError(f"That ask is long: keep it under {MAX_ASK_CHARS} characters.")
        return Ask(rest)
    if word == "export":
        _no_args(word, rest)
        return Export()
    if word in ("forget-me", "forgetme", "forget"):
        if word == "forget" and rest.lower() != "me":
            raise ParseError("To delete everything passiton holds about you, type `/passiton forget-me`.")
        if word != "forget":
            _no_args(word, rest)
        return ForgetMe()
    raise ParseError(f"I don't know `{_shown(head)}`. Type `/passiton help` to see what I can do.")


def _parse_topics(kind: TopicKind, word: str, rest: str) -> Command:
    verb, _, topics_text = rest.partition(" ")
    verb = verb.lower()
    if verb in ("", "list", "ls", "show"):
        if topics_text:
            raise ParseError(f"`/passiton {word} list` takes nothing after it.")
        return ListTopics(kind)
    if verb in ("add", "remove", "rm", "delete"):
        if not topics_text:
            raise ParseError(f"Say which topics, e.g. `/passiton {word} {verb} postgres, kubernetes`.")
        op: Literal["add", "remove"] = "add" if verb == "add" else "remove"
        return ChangeTopics(kind, op, _topics(topics_text, f"{word} {verb}"))
    if kind == "expertise" and verb in ("public", "private"):
        if not topics_text:
            raise ParseError(
                f"Say which of your expertise topics, e.g. `/passiton expertise {verb} postgres`."
            )
        return ExpertiseVisibility(verb == "public", _topics(topics_text, f"expertise {verb}"))
    verbs = (
        "add`, `remove`, `list`, `public` or `private" if kind == "expertise" else "add`, `remove` or `list"
    )
    raise ParseError(
        f"After `{word}` say `{verbs}`, e.g. `/passiton {word} add {_shown(rest) or 'postgres'}`."
    )


def _topics(text: str, usage: str) -> tuple[str, ...]:
    try:
        return tuple(parse_topic_list(text))
    except ValueError as exc:
        # The matcher echoes the offending entry; it is member text going into mrkdwn.
        raise ParseError(f"{escape(str(exc))} (usage: `/passiton {usage} postgres, k8s`)") from None


def _mute(rest: str, *, undo: bool) -> Mute:
    verb = "unmute" if undo else "mute"
    head, _, tail = rest.partition(" ")
    topics_only = head.lower() in ("topic", "topics")
    people_only = head.lower() in ("person", "people", "user")
    if topics_only or people_only:
        rest = tail.strip()
        if not rest:
            raise ParseError(
                f"Say which, e.g. `/passiton {verb} {head.lower()} {'crypto' if topics_only else '@ben'}`."
            )
    user_ids = tuple(dict.fromkeys(_MENTION_RE.findall(rest)))
    remaining = _MENTION_RE.sub(",", rest)
    if "<" in remaining or ">" in remaining:  # a channel, a link or @here: nothing that can be muted
        raise ParseError(
            f"Mute a person by mentioning them or a topic by name, e.g. `/passiton {verb} @ben, crypto`."
        )
    words = tuple(
        dict.fromkeys(
            w.strip().lstrip("@").strip() for w in remaining.split(",") if w.strip().lstrip("@").strip()
        )
    )
    if topics_only and user_ids:
        raise ParseError(
            f"`/passiton {verb} topic …` takes topics; mention people with `/passiton {verb} @ben`."
        )
    if words and not people_only:
        _topics(", ".join(words), verb)  # what can't be a topic is refused here, before anything applies
    for w in words:
        if len(w) > MAX_TOPIC_CHARS:
            raise ParseError(f"That is long for a name or topic: keep it under {MAX_TOPIC_CHARS} characters.")
    if not user_ids and not words:
        raise ParseError(f"Say what to {verb}, e.g. `/passiton {verb} crypto` or `/passiton {verb} @ben`.")
    return Mute(undo, user_ids, words, topics_only, people_only)


def _duration(text: str, word: str = "pause") -> int:
    usage = f"Say how long, e.g. `/passiton {word} 2w` (weeks) or `/passiton {word} 3d` (days)."
    match = _DURATION_RE.match(text.lower().strip())
    if not match:
        raise ParseError(usage)
    number = int(match.group(1))
    days = number * (7 if match.group(2).startswith("w") else 1)
    if days < 1:
        raise ParseError(usage)
    if days > MAX_PAUSE_DAYS:
        raise ParseError("The longest pause is 26 weeks; for longer, use `/passiton via off`.")
    return days


def parse_clock(text: str) -> int:
    """ "19:00", "7pm", "0730" -> minutes after midnight. Raises ValueError."""
    match = _TIME_RE.match(text.strip().lower())
    if not match:
        raise ValueError(text)
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = match.group(3)
    if suffix:
        if not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(text)
    return hour * 60 + minute


def parse_quiet(rest: str) -> Quiet:
    """Quiet hours from "19:00-08:00" (or "off"); the Home modal shares this with the command."""
    return _quiet(rest)


def _quiet(rest: str) -> Quiet:
    usage = (
        "Give quiet hours as a range in your time zone, e.g. `/passiton quiet 19:00-08:00` (or `quiet off`)."
    )
    if rest.lower() in ("off", "none", "clear"):
        return Quiet(None, None)
    parts = re.split(r"\s*(?:-|–|to)\s*", rest.strip())
    if len(parts) != 2:
        raise ParseError(usage)
    try:
        start, end = parse_clock(parts[0]), parse_clock(parts[1])
    except ValueError:
        raise ParseError(usage) from None
    if start == end:
        raise ParseError("Quiet hours need a start and an end that differ, e.g. `19:00-08:00`.")
    return Quiet(start, end)


def _who_knows(rest: str) -> WhoKnows:
    usage = "Ask like this: `/passiton who knows terraform`."
    words = rest.split(" ", 1)
    if not words or words[0].lower() != "knows" or len(words) < 2:
        raise ParseError(usage)
    topic_text = words[1].strip().rstrip("?").strip()
    if topic_text.lower().startswith("about "):
        topic_text = topic_text[6:]
    topic = normalise_topic(topic_text)
    if not topic:
        raise ParseError(usage)
    if len(topic) > MAX_TOPIC_CHARS:  # the same bound as a stated topic: nothing longer can match one
        raise ParseError(f"That topic is long: keep it under {MAX_TOPIC_CHARS} characters. {usage}")
    return WhoKnows(topic)


def _no_args(word: str, rest: str) -> None:
    if rest:
        raise ParseError(f"`/passiton {word}` takes nothing after it.")


def _shown(text: str) -> str:
    """Echo member text inside backticks without letting it close them or run on."""
    return escape(text.replace("`", "'")[:40])


def format_clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
