"""The expertise answer as a thread reply (or a private one): pure composition over plain data.

Two rules the reply keeps whatever it is given:

- People are named, never mentioned: names are plain escaped text, so nobody is pinged by a bot and the
  asker chooses whom to contact. Only members who consented to be named for the topic are passed in.
- A related item is shown only when every member of the audience can already read the channel it came
  from: the same channel; or a public channel, when no guest of the audience is outside it; or any channel
  whose members include the whole audience. A Slack Connect channel (shared with another organisation)
  counts as private here: its items are shown only to audiences wholly inside it. An audience whose
  membership is unknown sees only items from its own channel. Members of other organisations count as
  guests here, and are never named (the expert query leaves them out).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.llm.tasks import defang, trailing_url
from bot.matching.topics import topic_label

MAX_RELATED = 3
MAX_NAMES = 8
MAX_TITLE = 90

Block = dict[str, Any]


@dataclass(frozen=True)
class Expert:
    member_id: int
    name: str
    slack_user_id: str | None = None  # with the team id: a link to their profile, which pings nobody


@dataclass(frozen=True)
class ChannelAccess:
    """Who can read a channel. `member_ids` is None when its membership was never synced."""

    channel_id: int
    name: str
    is_private: bool
    member_ids: frozenset[int] | None
    is_ext_shared: bool = False  # Slack Connect: shown only to audiences wholly inside it


@dataclass(frozen=True)
class Audience:
    """Who will see the reply: the members of the channel it is posted in, or one member privately."""

    channel_id: int | None
    member_ids: frozenset[int] | None  # None: unknown
    guest_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RelatedCandidate:
    item_id: int
    title: str
    text: str
    permalink: str | None
    channel_id: int | None
    is_private: bool  # the item itself came from a private place (DM, private channel)
    score: float = 0.0
    answered: bool = False  # a question someone answered: linked to its thread, where the answer is


@dataclass(frozen=True)
class Reply:
    text: str  # notification fallback
    blocks: list[Block]
    expert_ids: tuple[int, ...] = ()
    item_ids: tuple[int, ...] = ()
    summarised: bool = False


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str) -> str:
    """Member-written text made safe for mrkdwn: defanged (no control sequences, no broadcasts) and escaped."""
    return escape(defang(text))


def link(url: str, label: str) -> str:
    if not re.fullmatch(r"https?://[^\s<>|]+", url):
        return plain(label)
    return f"<{url.replace('&', '&amp;')}|{plain(label.replace('|', '¦'))[: MAX_TITLE * 2]}>"


def readable_by_all(channel: ChannelAccess | None, item: RelatedCandidate, audience: Audience) -> bool:
    """Can every member of the audience already read the channel the item was posted in?"""
    if item.channel_id is None or channel is None or channel.channel_id != item.channel_id:
        return False
    if audience.channel_id is not None and audience.channel_id == item.channel_id:
        return True
    if audience.member_ids is None or not audience.member_ids:
        return False
    inside = channel.member_ids or frozenset()
    if not channel.is_private and not item.is_private and not channel.is_ext_shared:
        # Guests read only the channels they were added to.
        return all(g in inside for g in audience.guest_ids & audience.member_ids)
    return channel.member_ids is not None and audience.member_ids <= channel.member_ids


def pick_related(
    candidates: Iterable[RelatedCandidate],
    channels: Mapping[int, ChannelAccess],
    audience: Audience,
    limit: int = MAX_RELATED,
    resolve: Callable[[RelatedCandidate], str | None] | None = None,
) -> list[RelatedCandidate]:
    """The best `limit` candidates that the whole audience may see and that have a permalink.

    `resolve` may supply a missing permalink; it is only called for candidates that passed visibility.
    """
    ordered = sorted(candidates, key=lambda c: (-c.score, -c.item_id))
    picked: list[RelatedCandidate] = []
    for cand in ordered:
        if cand.channel_id is None or (not cand.permalink and resolve is None):
            continue  # nothing to link to: whether the audience may read it does not matter
        if not readable_by_all(channels.get(cand.channel_id), cand, audience):
            continue
        permalink = cand.permalink or (resolve(cand) if resolve is not None else None)
        if not permalink:
            continue
        picked.append(replace(cand, permalink=permalink))
        if len(picked) == limit:
            break
    return picked


def item_label(cand: RelatedCandidate) -> str:
    label = " ".join((cand.title or cand.text or "a post").split())
    return label if len(label) <= MAX_TITLE else label[: MAX_TITLE - 1].rstrip() + "…"


def render_summary(summary: str, related: Sequence[RelatedCandidate]) -> str:
    """The summary in mrkdwn: its text escaped, each cited permalink turned into a numbered link."""
    number = {c.permalink: i for i, c in enumerate(related, 1) if c.permalink}
    summary = defang(summary)
    out: list[str] = []
    pos = 0
    for match in re.finditer(r"https?://[^\s<>|()\[\]\"'`]+", summary):
        url = trailing_url(match.group(0))
        out.append(escape(summary[pos : match.start()]))
        out.append(f"<{url.replace('&', '&amp;')}|[{number.get(url, '?')}]>")
        pos = match.start() + len(url)
    out.append(escape(summary[pos:]))
    return "".join(out).strip()


_PERMALINK_RE = re.compile(r"^(https://[^/\s<>|]+/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6}))(\?[^\s<>|]*)?$")


def thread_permalink(permalink: str) -> str:
    """A message's permalink opened on its thread (where the answers to a question are)."""
    match = _PERMALINK_RE.match(permalink)
    if match is None or "thread_ts=" in (match.group(5) or ""):
        return permalink
    base, channel, secs, micros = match.group(1), match.group(2), match.group(3), match.group(4)
    return f"{base}?thread_ts={secs}.{micros}&cid={channel}"


def profile_link(team_id: str | None, expert: Expert) -> str:
    """The name, linking to the member's profile (Slack's `slack://user` deep link): a link, not a
    mention, so nobody is notified; the asker chooses whom to contact."""
    name = plain(expert.name.replace("|", "¦"))
    if not team_id or not expert.slack_user_id:
        return name
    if not re.fullmatch(r"[TE][A-Z0-9]+", team_id) or not re.fullmatch(
        r"[UW][A-Z0-9]+", expert.slack_user_id
    ):
        return name
    return f"<slack://user?team={team_id}&id={expert.slack_user_id}|{name}>"


def _names(experts: Sequence[Expert], team_id: str | None = None) -> str:
    shown = [profile_link(team_id, e) for e in experts[:MAX_NAMES]]
    more = len(experts) - len(shown)
    if more > 0:
        shown.append(f"{more} more")
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def _topics_text(topics: Sequence[str]) -> str:
    labels = [f"*{plain(topic_label(t) or t)}*" for t in topics]
    return " and ".join(labels) if labels else "this"


def compose_answer(
    topics: Sequence[str],
    experts: Sequence[Expert],
    related: Sequence[RelatedCandidate],
    channel_names: Mapping[int, str],
    *,
    summary: str | None = None,
    private: bool = False,
    team_id: str | None = None,
) -> Reply | None:
    """The reply, or None when there is nobody to name and nothing to point to (then the bot stays quiet).

    `experts` and `related` are already filtered (consent, visibility); this only renders them.
    """
    related = list(related[:MAX_RELATED])
    if not experts and not related:
        return None
    about = _topics_text(topics)
    blocks: list[Block] = []
    lines: list[str] = []
    if experts:
        verb = "is" if len(experts) == 1 else "are"
        line = f"{_names(experts, team_id)} {verb} happy to be asked about {about}."
        lines.append(line)
        blocks.append(_section(line))
    if related:
        items = []
        for cand in related:
            assert cand.permalink is not None
            where = channel_names.get(cand.channel_id or 0)
            suffix = f" in #{plain(where)}" if where else ""
            if cand.answered:
                items.append(
                    f"• {link(thread_permalink(cand.permalink), item_label(cand))}{suffix} (answered)"
                )
            else:
                items.append(f"• {link(cand.permalink, item_label(cand))}{suffix}")
        heading = "Shared before:" if experts else f"Shared before about {about}:"
        text = heading + "\n" + "\n".join(items)
        lines.append(text)
        blocks.append(_section(text))
    used_summary = False
    if summary and related:
        rendered = render_summary(summary, related)
        if rendered:
            blocks.append(_section(f"_In short:_ {rendered}"))
            lines.append(rendered)
            used_summary = True
    hint = (
        "Names only, nobody was notified: reach out to whoever you like."
        if experts and not private
        else "Names only: reach out to whoever you like."
        if experts
        else "Nobody has offered to be named for this yet."
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hint}]})
    return Reply(
        text="\n".join(lines),
        blocks=blocks,
        expert_ids=tuple(e.member_id for e in experts),
        item_ids=tuple(c.item_id for c in related),
        summarised=used_summary,
    )


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
