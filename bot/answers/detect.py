"""Is a channel message asking who knows about something, and about what? Pure: text in, topics out.

Two ways in: the wording ("who knows about X?", "does anyone know X", "anyone have experience with X",
"who here is familiar with X"), or a question that mentions the bot. The phrase after the wording is the
topic as asked; `resolve_topics` then finds the workspace's known topics in the phrase and in the rest of
the message, through the same normalisation as stated topics ("PostgreSQL" finds "postgres").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.classify import heuristic_kind
from bot.matching.items import clean_slack_text
from bot.matching.topics import normalise_topic, normalised_words

MAX_PHRASE_WORDS = 5

_SOMEONE = r"(?:anyone|anybody|someone|somebody|any\s?one)"
_HERE = r"(?:\s+(?:here|else|around|in here))?"
_MUCH = r"(?:\s+(?:much|anything|a lot|a bit|a thing|something|well|enough|stuff))?"
_ABOUT = r"(?:\s+(?:about|of|on|regarding|re))?"
_EXPERIENCE = (
    r"(?:any\s+|some\s+|real\s+|much\s+|prior\s+|previous\s+)?(?:experience|exp)\s+(?:with|in|of|using|on)"
)
_FAMILIAR = r"(?:familiar|experienced|comfortable|good|an expert|expert|knowledgeable|an authority)\s+(?:with|in|on|at)"

_TRIGGERS = [
    rf"\bwho{_HERE}\s+(?:knows|knew|understands){_MUCH}{_ABOUT}\s+",
    rf"\bwho{_HERE}\s+(?:has|have|'s got|has got){_HERE}\s+{_EXPERIENCE}\s+",
    rf"\bwho{_HERE}\s+(?:is|'s|are){_HERE}\s+{_FAMILIAR}\s+",
    rf"\bwho{_HERE}\s+(?:can|could)\s+help\s+(?:me\s+|us\s+)?(?:with|on)\s+",
    rf"\b(?:does|do|did)\s+{_SOMEONE}{_HERE}\s+know{_MUCH}{_ABOUT}\s+",
    rf"\b{_SOMEONE}{_HERE}\s+knows?{_MUCH}{_ABOUT}\s+",
    rf"\b(?:does|do)?\s*{_SOMEONE}{_HERE}\s+(?:have|has|got){_HERE}\s+{_EXPERIENCE}\s+",
    rf"\b(?:is\s+there\s+)?{_SOMEONE}{_HERE}\s+(?:who\s+is\s+|who's\s+|that\s+is\s+)?{_FAMILIAR}\s+",
    rf"\b(?:has|have)\s+{_SOMEONE}{_HERE}\s+(?:worked|played)\s+(?:with|on)\s+",
]
_TRIGGER_RE = re.compile("|".join(f"(?:{t})" for t in _TRIGGERS), re.IGNORECASE)
# Where the phrase asked about stops.
_PHRASE_END_RE = re.compile(
    r"[?!\n;,:(]|\.(?:\s|$)|\s[-–—]\s|\s(?:and|or|but|because|since|so|for|to|in prod)\s"
)
_LEADING_RE = re.compile(r"^(?:(?:a|an|the|using|working with|running|our|my|this|these)\s+)+", re.IGNORECASE)
_TRAILING_RE = re.compile(
    r"(?:\s+(?:here|at all|by any chance|please|pls|already|well|stuff|things|things like that|or similar|"
    r"and such|in general|lately|these days|yet))+$",
    re.IGNORECASE,
)
# A clause ("how to...", "whether...") is not a topic: the known topics in it are found by resolve_topics.
_HOW_RE = re.compile(r"^how\b", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"[?!\n]|\.(?:\s|$)")
_CLAUSE_RE = re.compile(
    r"^(?:how|what|why|when|where|which|whether|if|who|that|is|are|can|should)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class Detected:
    """A message that asks who can help. `phrase` is the normalised topic as asked, when there is one."""

    text: str  # the message as plain text (mentions and link markup removed)
    phrase: str | None
    phrase_label: str | None  # the phrase as typed, for display
    via_mention: bool
    # The asking sentence from the phrase on ("how to tune autovacuum in pg", "a good intro to k8s
    # networking"), where known topics are looked for when the phrase names none; never other sentences.
    scope: str | None = None


def _phrase(after: str) -> tuple[str | None, str | None, str | None]:
    """(topic, label, scope): the phrase asked about as a topic, or the words to look for topics in.
    A clause other than "how …" ("who knows what design wants this week") asks about no skill: all None."""
    end = _PHRASE_END_RE.search(after)
    raw = (after[: end.start()] if end else after).strip()
    raw = _TRAILING_RE.sub("", _LEADING_RE.sub("", raw)).strip(" '\"`*_")
    if not raw:
        return None, None, None
    if _CLAUSE_RE.match(raw):
        # "how to tune autovacuum in pg": a skill, named inside the clause (up to the end of the sentence).
        if not _HOW_RE.match(raw):
            return None, None, None
        sentence = _SENTENCE_END_RE.split(after, maxsplit=1)[0]
        return None, None, sentence.strip()
    # The rest of the asking sentence: "a good intro to Kubernetes networking?" stops the phrase at "to",
    # yet asks about what follows it.
    sentence = _SENTENCE_END_RE.split(after, maxsplit=1)[0].strip()
    if len(raw.split()) > MAX_PHRASE_WORDS:
        return None, None, sentence
    topic = normalise_topic(raw)
    return (topic or None), (raw if topic else None), sentence


def mentions_bot(text: str, bot_user_id: str | None) -> bool:
    return (
        bool(bot_user_id) and re.search(rf"<@{re.escape(bot_user_id or '')}(?:\|[^>]*)?>", text) is not None
    )


# "cc <@U123> who knows this better than me": a "who" right after a person is about that person (a relative
# clause), not a question to the channel. Only the mention and the "who" are looked at, so "hey <@U123>, who
# knows about X?" is still a question.
_MENTION_WHO_RE = re.compile(r"(<@[UW][A-Z0-9]+(?:\|[^>]*)?>)\s+who\b", re.IGNORECASE)


def detect(text: str, bot_user_id: str | None = None) -> Detected | None:
    """The who-knows question in a raw Slack message text, or None when it is not one."""
    mentioned = mentions_bot(text, bot_user_id)
    plain = clean_slack_text(text)
    # Searched with relative clauses neutralised; the question keeps its own words.
    probe = clean_slack_text(_MENTION_WHO_RE.sub(r"\1 that", text)) if "<@" in text else plain
    match = _TRIGGER_RE.search(probe)
    if match is not None:
        phrase, label, scope = _phrase(probe[match.end() :])
        if phrase or scope:
            return Detected(text=plain, phrase=phrase, phrase_label=label, via_mention=mentioned, scope=scope)
    if mentioned and plain and ("?" in plain or heuristic_kind(plain, False) in ("question", "ask")):
        return Detected(text=plain, phrase=None, phrase_label=None, via_mention=True)
    return None


# Texts longer than this are normalised every time rather than kept: bounds the cache to ~16 MB.
CACHED_TEXT_CHARS = 8000


def padded_words(text: str) -> str:
    """The normalised words of `text` between spaces, so a topic is found as " topic ".

    Cached by the text itself (normalisation is a pure function of it, so nothing another process writes
    can make an entry wrong): an in-channel answer looks through the same few hundred recent items for every
    question, and normalising their texts again was most of its time.
    """
    return _padded_cached(text) if len(text) <= CACHED_TEXT_CHARS else _padded(text)


def _padded(text: str) -> str:
    return f" {' '.join(normalised_words(text))} "


_padded_cached = functools.lru_cache(maxsize=2048)(_padded)


def find_topics(text: str, known_topics: Iterable[str]) -> list[str]:
    """Known (normalised) topics that occur in `text` as whole words, longest first, then by position."""
    padded = padded_words(text)
    hits: list[tuple[int, int, str]] = []
    for topic in set(known_topics):
        if not topic:
            continue
        at = padded.find(f" {topic} ")
        if at >= 0:
            hits.append((-len(topic.split()), at, topic))
    hits.sort()
    # A shorter topic inside a longer hit ("learning" in "machine learning") adds nothing.
    chosen: list[str] = []
    for _, _, topic in hits:
        if not any(f" {topic} " in f" {longer} " for longer in chosen):
            chosen.append(topic)
    return chosen


def resolve_topics(detected: Detected, known_topics: Iterable[str], limit: int = 2) -> list[str]:
    """The topics to answer for: what was asked about, never a word elsewhere in the message ("lol who knows
    what design wants" names nobody for design). The phrase when someone stated it, else known topics in
    the phrase, else the phrase itself (nobody stated it; related items may still match); without a phrase,
    known topics in the words asked about; a question to the bot, known topics anywhere in it."""
    known = set(known_topics)
    if detected.phrase:
        if detected.phrase in known:
            return [detected.phrase]
        inside = find_topics(detected.phrase, known) or find_topics(detected.scope or "", known)
        return inside[:limit] or [detected.phrase]
    if detected.scope:
        return find_topics(detected.scope, known)[:limit]
    if detected.via_mention:
        return find_topics(detected.text, known)[:limit]
    return []
