"""A member's own settings: read them for display, apply a parsed command or modal to them.

Each `apply_*` validates everything first and writes only when all of it is acceptable, so a
command is applied whole or not at all. Replies are mrkdwn with member text escaped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.matching.topics import parse_topic_list, topic_label
from bot.messages.mrkdwn import escape
from bot.slack import commands_parse as cp
from bot.store.models import Member, MemberTopic, Topic, Workspace
from bot.store.queries.members import (
    add_member_topics,
    ensure_member,
    remove_member_topics,
    set_public_expertise,
)
from bot.store.queries.mutes import members_named, mute_person, muted_people, unmute_person

KIND_NAMES = {"interest": "interests", "expertise": "expertise", "muted": "muted topics"}


class SettingsRefused(ValueError):
    """The change can't be made as asked; the message says why and what to do instead."""


@dataclass
class MemberState:
    """Everything the Home tab and the settings modals show. No counts: nothing here keeps score."""

    interests: list[str] = field(default_factory=list)
    expertise: list[tuple[str, bool]] = field(default_factory=list)  # (topic, named in channels)
    muted: list[str] = field(default_factory=list)
    muted_people: list[tuple[int, str]] = field(default_factory=list)  # (member id, name shown)
    delivery: str = "slack"
    digest: str = "daily"
    paused_until: dt.datetime | None = None
    quiet_start: int | None = None
    quiet_end: int | None = None
    weekends_off: bool = True
    tz: str = "UTC"
    has_email: bool = False
    # What observed help (thread replies to questions, live or from history) says they answer about:
    # topics, or where they answer when no stated topic matches. Shown to them alone, clearable.
    learned_topics: list[str] = field(default_factory=list)
    learned_channels: list[str] = field(default_factory=list)

    def is_paused(self, now: dt.datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now


def load_state(session: Session, member: Member) -> MemberState:
    rows = session.execute(
        select(MemberTopic.kind, Topic.name, MemberTopic.public)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id == member.id)
        .order_by(Topic.name)
    ).all()
    state = MemberState(
        delivery=member.delivery,
        digest=member.digest,
        paused_until=member.paused_until,
        quiet_start=member.quiet_start,
        quiet_end=member.quiet_end,
        weekends_off=member.weekends_off,
        tz=member.tz,
        has_email=bool(member.email),
    )
    for kind, name, public in rows:
        if kind == "interest":
            state.interests.append(name)
        elif kind == "expertise":
            state.expertise.append((name, bool(public)))
        elif kind == "muted":
            state.muted.append(name)
    state.muted_people = [
        (m.id, m.display_name or m.real_name or m.slack_user_id or "someone")
        for m in muted_people(session, member)
    ]
    return state


def labels(topics: list[str] | tuple[str, ...]) -> str:
    """Topics as shown back to the member: labelled, escaped, comma-separated."""
    return ", ".join(f"*{escape(topic_label(t))}*" for t in topics)


def current_topics(session: Session, member: Member, kind: str) -> list[str]:
    return list(
        session.scalars(
            select(Topic.name)
            .join(MemberTopic, MemberTopic.topic_id == Topic.id)
            .where(MemberTopic.member_id == member.id, MemberTopic.kind == kind)
            .order_by(Topic.name)
        )
    )


def list_topics(session: Session, member: Member, kind: str) -> str:
    topics = current_topics(session, member, kind)
    if kind == "muted":
        people = ", ".join(f"*{_person_name(m)}*" for m in muted_people(session, member))
        if not topics and not people:
            return "Nothing muted. `/passiton mute crypto` mutes a topic, `/passiton mute @ben` a person."
        lines = [
            f"Muted topics: {labels(topics) if topics else 'none'}.",
            f"Muted people: {people or 'none'}.",
        ]
        return " ".join(lines) + " `/passiton unmute …` or the Home tab undoes any of them."
    if kind == "expertise":
        public = {name for name, is_public in load_state(session, member).expertise if is_public}
        if not topics:
            return "You haven't listed any expertise yet. Add some with `/passiton expertise add terraform, postgres`."
        shown = ", ".join(
            f"*{escape(topic_label(t))}*" + (" (you may be named in channels)" if t in public else "")
            for t in topics
        )
        return f"Your expertise: {shown}."
    if not topics:
        hint = {
            "interest": "Add some with `/passiton interests add postgres, design`.",
            "muted": "Mute one with `/passiton mute crypto`.",
        }[kind]
        return f"You have no {KIND_NAMES[kind]} yet. {hint}"
    return f"Your {KIND_NAMES[kind]}: {labels(topics)}."


def change_topics(
    session: Session,
    workspace: Workspace,
    member: Member,
    kind: str,
    op: str,
    topics: tuple[str, ...] | list[str],
) -> str:
    if op == "add":
        added = add_member_topics(session, workspace, member, kind, topics)
        already = [t for t in topics if t not in added]
        parts = []
        if added:
            verb = "Muted, as topics" if kind == "muted" else f"Added to your {KIND_NAMES[kind]}"
            parts.append(f"{verb}: {labels(added)}.")
        if already:
            parts.append(f"Already there: {labels(already)}.")
        if kind == "expertise" and added:
            parts.append(
                "Nobody will see your name for these in channels unless you say `/passiton expertise public …`."
            )
        return " ".join(parts)
    removed = remove_member_topics(session, member, kind, topics)
    missing = [t for t in topics if t not in removed]
    parts = []
    if removed:
        verb = "Unmuted, as topics" if kind == "muted" else f"Removed from your {KIND_NAMES[kind]}"
        parts.append(f"{verb}: {labels(removed)}.")
    if missing:
        parts.append(f"Not in your {KIND_NAMES[kind]}: {labels(missing)}.")
    return " ".join(parts)


def set_visibility(
    session: Session, member: Member, public: bool, topics: tuple[str, ...] | list[str]
) -> str:
    have = set(current_topics(session, member, "expertise"))
    missing = [t for t in topics if t not in have]
    if missing:
        raise SettingsRefused(
            f"{labels(missing)} {'is' if len(missing) == 1 else 'are'} not in your expertise, so nothing changed. "
            f"Add first: `/passiton expertise add {escape(', '.join(missing))}`."
        )
    changed = set_public_expertise(session, member, topics, public)
    if public:
        return f"You may now be named in channel answers for {labels(changed)}. Nobody is @-mentioned by passiton."
    return f"You will no longer be named in channels for {labels(changed)}."


def replace_topics(
    session: Session, workspace: Workspace, member: Member, kind: str, topics: list[str]
) -> None:
    """Make the member's topics of `kind` exactly `topics` (used by the Home modals)."""
    have = set(current_topics(session, member, kind))
    want = set(topics)
    if have - want:
        remove_member_topics(session, member, kind, sorted(have - want))
    if want - have:
        add_member_topics(session, workspace, member, kind, [t for t in topics if t not in have])


def pause(member: Member, days: int, now: dt.datetime) -> str:
    member.paused_until = now + dt.timedelta(days=days)
    until = member.paused_until.strftime("%d %b")
    return f"Paused until {until}. Nothing will reach you until then, and it ends by itself. `/passiton resume` to end it sooner."


def resume(member: Member, now: dt.datetime) -> str:
    was = member.paused_until is not None and member.paused_until > now
    member.paused_until = None
    return "Welcome back: suggestions are on again." if was else "You weren't paused; suggestions are on."


def set_quiet(member: Member, start: int | None, end: int | None) -> str:
    member.quiet_start, member.quiet_end = start, end
    if start is None or end is None:
        return "Quiet hours are off."
    return (
        f"Quiet hours set: {cp.format_clock(start)}–{cp.format_clock(end)} in your time zone "
        f"({escape(member.tz)}). Nothing arrives in that window."
    )


def set_delivery(member: Member, delivery: str) -> str:
    if delivery in ("email", "both") and not member.email:
        raise SettingsRefused(
            "I don't know an email address for you (Slack didn't share one), so suggestions can't go by email. "
            "Keep `/passiton via slack`, or ask an admin to add your address."
        )
    member.delivery = delivery
    return {
        "slack": "Suggestions will come as Slack messages.",
        "email": "Suggestions will come in an email digest.",
        "both": "Suggestions will come in Slack and in an email digest (never the same one twice).",
        "off": "Suggestions are off. `/passiton via slack` turns them back on.",
    }[delivery]


def set_digest(member: Member, frequency: str) -> str:
    member.digest = frequency
    note = (
        ""
        if member.delivery in ("email", "both")
        else " (it applies when suggestions come by email: `/passiton via email`)"
    )
    return f"Your digest will be {frequency}{note}."


def _person_name(member: Member) -> str:
    return escape(member.display_name or member.real_name or member.slack_user_id or "someone")


def apply_mute(session: Session, workspace: Workspace, me: Member, command: cp.Mute, now: dt.datetime) -> str:
    """Mute or unmute people and topics, saying which each word was taken as.

    A word names a person when it is a mention, or when it matches exactly one member's display,
    full or first name; a word matching several people is refused (nothing applied) so the member
    can mention the one they mean; anything else is a topic. `mute topic …` / `mute person …` decide."""
    people: list[Member] = []
    for uid in command.user_ids:
        if uid == me.slack_user_id:
            raise SettingsRefused("You can't mute yourself.")
        people.append(ensure_member(session, workspace, uid))
    topics: list[str] = []
    for word in command.words:
        found = [] if command.topics_only else members_named(session, workspace, word, exclude=me.id)
        if len(found) > 1:
            names = ", ".join(_person_name(m) for m in found[:5])
            raise SettingsRefused(
                f"Several people match *{escape(word)}*: {names}. Mention the one you mean, "
                f"e.g. `/passiton {'unmute' if command.undo else 'mute'} @name`; "
                f"for the topic, `/passiton {'unmute' if command.undo else 'mute'} topic {escape(word)}`."
            )
        if found:
            people.append(found[0])
        elif command.people_only:
            raise SettingsRefused(f"I don't know anyone called *{escape(word)}*. Mention them: `@name`.")
        else:
            topics.extend(parse_topic_list(word))
    parts: list[str] = []
    people = list({m.id: m for m in people}.values())
    if command.undo:
        undone = [m for m in people if unmute_person(session, me, m)]
        not_muted = [m for m in people if m not in undone]
        if undone:
            parts.append("Unmuted, as people: " + ", ".join(_person_name(m) for m in undone) + ".")
        if not_muted:
            parts.append("Not muted: " + ", ".join(_person_name(m) for m in not_muted) + ".")
    else:
        for m in people:
            mute_person(session, workspace, me, m, now)
        if people:
            parts.append(
                "Muted, as people: "
                + ", ".join(_person_name(m) for m in people)
                + ". I won't suggest them to you, or you to them."
            )
    if topics:
        parts.append(
            change_topics(session, workspace, me, "muted", "remove" if command.undo else "add", topics)
        )
        if not command.topics_only and not command.undo:
            # A bare word that matched nobody became a topic: say how to mean a person instead.
            parts.append("Meant a person? Mention them: `/passiton mute @name`.")
    parts.append("`/passiton mute` lists everything muted; the Home tab has an undo for each.")
    return " ".join(parts)


def apply_command(
    session: Session, workspace: Workspace, member: Member, command: cp.Command, now: dt.datetime
) -> str:
    """Apply a settings command; raises SettingsRefused (nothing applied) when it can't be done."""
    match command:
        case cp.ListTopics(kind=kind):
            return list_topics(session, member, kind)
        case cp.ChangeTopics(kind=kind, op=op, topics=topics):
            return change_topics(session, workspace, member, kind, op, topics)
        case cp.ExpertiseVisibility(public=public, topics=topics):
            return set_visibility(session, member, public, topics)
        case cp.Mute():
            return apply_mute(session, workspace, member, command, now)
        case cp.Pause(days=days):
            return pause(member, days, now)
        case cp.Resume():
            return resume(member, now)
        case cp.Quiet(start=start, end=end):
            return set_quiet(member, start, end)
        case cp.Via(delivery=delivery):
            return set_delivery(member, delivery)
        case cp.Digest(frequency=frequency):
            return set_digest(member, frequency)
    raise TypeError(f"not a settings command: {command!r}")
