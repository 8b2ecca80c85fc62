"""The App Home tab: the member's own settings, each with a button to change it. No counts anywhere."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.matching.topics import topic_label
from bot.messages import Block, actions, button, context, divider, header, plain, section
from bot.messages.mrkdwn import escape
from bot.slack.commands_parse import format_clock
from bot.slack.member_settings import MemberState

# action ids (registered in listeners/actions/__init__.py)
EDIT_INTERESTS = "home_edit_interests"
EDIT_EXPERTISE = "home_edit_expertise"
EDIT_MUTED = "home_edit_muted"
EDIT_SETTINGS = "home_edit_settings"
PAUSE_WEEK = "home_pause_week"
RESUME = "home_resume"
UNMUTE = "home_unmute"  # + "_<n>": one button per muted person or topic; value "person:<id>" / "topic:<name>"
MAX_UNDO_BUTTONS = 24  # Slack allows 25 elements in an actions block
CLEAR_LEARNED = "home_clear_learned"
HOME_ACTIONS = (EDIT_INTERESTS, EDIT_EXPERTISE, EDIT_MUTED, EDIT_SETTINGS, PAUSE_WEEK, RESUME, CLEAR_LEARNED)

DELIVERY_TEXT = {
    "slack": "as Slack messages",
    "email": "in an email digest",
    "both": "in Slack and in an email digest",
    "off": "nowhere — suggestions are off",
}


def _topic_list(topics: list[str], empty: str) -> str:
    if not topics:
        return f"_{empty}_"
    return ", ".join(escape(topic_label(t)) for t in topics)


def _expertise_list(items: list[tuple[str, bool]]) -> str:
    if not items:
        return "_Nothing yet. What could you help someone with?_"
    return ", ".join(
        escape(topic_label(t)) + (" (named in channels)" if public else "") for t, public in items
    )


def rhythm_text(state: MemberState, now: dt.datetime) -> str:
    lines = [f"*Suggestions arrive* {DELIVERY_TEXT.get(state.delivery, state.delivery)}"]
    if state.delivery in ("email", "both"):
        lines[0] += f", {state.digest}"
    if state.is_paused(now):
        assert state.paused_until is not None
        lines.append(f"*Paused* until {state.paused_until.strftime('%A %d %B')} — it ends by itself")
    if state.quiet_start is not None and state.quiet_end is not None:
        lines.append(
            f"*Quiet hours* {format_clock(state.quiet_start)}–{format_clock(state.quiet_end)} ({escape(state.tz)})"
        )
    else:
        lines.append("*Quiet hours* none")
    lines.append("*Weekends* " + ("off — nothing on Saturdays and Sundays" if state.weekends_off else "on"))
    return "\n".join(lines)


def _undo_buttons(state: MemberState) -> list[Block]:
    """An undo for every mute, people first ("Don't suggest Ben" pressed in a DM is undone here)."""
    entries = [(f"Unmute {name}", f"person:{mid}") for mid, name in state.muted_people]
    entries += [(f"Unmute topic {topic_label(t)}", f"topic:{t}") for t in state.muted]
    if not entries:
        return []
    shown = entries[:MAX_UNDO_BUTTONS]
    blocks: list[Block] = [
        actions(*(button(text, f"{UNMUTE}_{i}", value) for i, (text, value) in enumerate(shown)))
    ]
    if len(entries) > len(shown):
        blocks.append(
            context(
                f"{len(entries) - len(shown)} more: `/passiton mute` lists them, `/passiton unmute …` undoes."
            )
        )
    return blocks


def learned_text(state: MemberState) -> str | None:
    """ "You've answered questions about X, Y" from observed help; None when nothing was learned."""
    if state.learned_topics:
        about = ", ".join(escape(topic_label(t)) for t in state.learned_topics)
        return f"*What I've learned*\nYou've answered questions about {about}."
    if state.learned_channels:
        where = ", ".join("#" + escape(c) for c in state.learned_channels[:5])
        return f"*What I've learned*\nYou've answered questions in {where}."
    return None


def clear_learned_button() -> Block:
    el = button("Clear this", CLEAR_LEARNED)
    el["confirm"] = {
        "title": plain("Clear what I learned?"),
        "text": plain("I'll forget which questions you answered. Your topics and settings stay."),
        "confirm": plain("Clear"),
        "deny": plain("Keep"),
    }
    return el


def home_view(state: MemberState, now: dt.datetime) -> dict[str, Any]:
    pause_button = (
        button("Resume now", RESUME, style="primary")
        if state.is_paused(now)
        else button("Pause for a week", PAUSE_WEEK)
    )
    blocks: list[Block] = [
        header("passiton"),
        section(
            "Now and then I'll suggest someone you could pass an article to, or a question you could help with. "
            "Always your choice, always with the reason."
        ),
        divider(),
        section(
            "*What you'd like to hear about*\n"
            + _topic_list(state.interests, "Nothing yet — add a few interests to start."),
            button("Edit interests", EDIT_INTERESTS),
        ),
        section(
            "*What you can help with*\n" + _expertise_list(state.expertise),
            button("Edit expertise", EDIT_EXPERTISE),
        ),
        section(
            "*Never suggested*\nTopics: "
            + _topic_list(state.muted, "none")
            + "\nPeople: "
            + (", ".join(escape(name) for _, name in state.muted_people) or "_none_"),
            button("Edit muted topics", EDIT_MUTED),
        ),
        *_undo_buttons(state),
    ]
    learned = learned_text(state)
    if learned is not None:
        blocks += [
            section(learned, clear_learned_button()),
            context(
                "From your replies in threads, here and in the channels' recent history. Only you see this."
            ),
        ]
    blocks += [
        divider(),
        section(rhythm_text(state, now), button("Change", EDIT_SETTINGS)),
        actions(pause_button),
        context(
            "`/passiton help` lists every command · `/passiton export` sends you your data · `/passiton forget-me` deletes it."
        ),
    ]
    return {"type": "home", "blocks": blocks}
