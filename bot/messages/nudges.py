"""The nudge DM: the item, why you, and a few ways to answer. Pure Block Kit; member text is escaped.

Nothing here shows a score, a count or a streak: a nudge is a suggestion with its reason, nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.messages import Block, actions, button, context, section
from bot.messages.mrkdwn import escape, link, quote

PASS_ON = "nudge_pass_on"
TAKE_LOOK = "nudge_take_look"
NOT_NOW = "nudge_not_now"
NOT_MY_AREA = "nudge_not_my_area"
MUTE_TOPIC = "nudge_mute_topic"
MUTE_PERSON = "nudge_mute_person"
CONTINUE = "nudge_continue"
STOP = "nudge_stop"
ACTION_IDS = (PASS_ON, TAKE_LOOK, NOT_NOW, NOT_MY_AREA, MUTE_TOPIC, MUTE_PERSON, CONTINUE, STOP)
# Action id -> the feedback kind it records.
FEEDBACK_OF = {
    PASS_ON: "shared",
    TAKE_LOOK: "helped",
    NOT_NOW: "not_now",
    NOT_MY_AREA: "not_my_area",
    MUTE_TOPIC: "mute_topic",
    MUTE_PERSON: "mute_person",
    CONTINUE: "continue",
    STOP: "stop",
}
ACTIONS_BLOCK = "nudge_actions"
MORE = "nudge_more"  # the overflow menu; each option's value is "<action id>:<nudge id>"
MORE_ACTIONS = (NOT_MY_AREA, MUTE_TOPIC, MUTE_PERSON)


@dataclass(frozen=True)
class NudgeView:
    """What a nudge DM shows. `url` is where the item lives (Slack permalink, else the shared link)."""

    nudge_id: int
    kind: str  # share | help
    reason: str
    title: str = ""
    url: str | None = None
    channel_name: str | None = None
    text: str = ""
    topic_label: str | None = None
    target_name: str | None = None
    asker_name: str | None = None
    # The Slack message a help nudge is about: the sender swaps `url` (an archive link built from these)
    # for chat.getPermalink's answer at send time.
    slack_channel: str | None = None
    slack_ts: str | None = None


def _where(view: NudgeView) -> str:
    return f"#{escape(view.channel_name)}" if view.channel_name else "a conversation"


def _item_line(view: NudgeView) -> str:
    title = view.title.strip() or view.text.strip()[:120] or "a message"
    return link(view.url, title) if view.url else escape(title)


def nudge_text(view: NudgeView) -> str:
    """The notification / fallback text (plain words; still escaped since Slack parses it as mrkdwn)."""
    if view.kind == "help":
        return f"{escape(view.asker_name or 'Someone')} asked in {_where(view)}: could you help?"
    return (
        f"Pass it on? {escape(view.target_name or 'Someone')} might like something shared in {_where(view)}."
    )


def _buttons(view: NudgeView) -> Block:
    value = str(view.nudge_id)
    elements: list[Block] = []
    if view.kind == "help":
        take = button("I'll take a look", TAKE_LOOK, value, style="primary")
        if view.url:
            take["url"] = view.url
        elements.append(take)
    else:
        elements.append(button("Pass it on", PASS_ON, value, style="primary"))
    elements.append(button("Not now", NOT_NOW, value))
    # Two buttons, the rest in the "…" menu: five buttons on every DM were a wall to read past.
    more = [("Not my area", NOT_MY_AREA)]
    if view.topic_label:
        more.append((f"Don't suggest {view.topic_label}", MUTE_TOPIC))
    if _person(view):
        more.append((f"Don't suggest {_person(view)}", MUTE_PERSON))
    if len(more) >= 2:  # Slack's overflow menu holds 2 to 5 options
        elements.append(overflow(MORE, [(text, f"{action_id}:{value}") for text, action_id in more]))
    else:
        elements += [button(text, action_id, value) for text, action_id in more]
    return actions(*elements, block_id=ACTIONS_BLOCK)


def _person(view: NudgeView) -> str | None:
    """Whom "Don't suggest …" is about: the target of a share, the asker of a help request."""
    return view.target_name if view.kind == "share" else view.asker_name


def overflow(action_id: str, options: list[tuple[str, str]]) -> Block:
    """Slack's "…" menu: (label, value) options, labels as plain text (at most 75 characters)."""
    return {
        "type": "overflow",
        "action_id": action_id,
        "options": [{"text": {"type": "plain_text", "text": t[:75]}, "value": v[:150]} for t, v in options],
    }


def overflow_choice(value: str) -> tuple[str, int] | None:
    """A "…" menu pick ("nudge_not_my_area:42") as (action id, nudge id); None for anything else."""
    action_id, _, nudge = value.partition(":")
    if action_id not in MORE_ACTIONS or not nudge.isdigit():
        return None
    return action_id, int(nudge)


def _body(view: NudgeView) -> list[Block]:
    if view.kind == "help":
        asker = escape(view.asker_name or "Someone")
        lines = [f"*{asker} asked in {_where(view)}*", quote(view.text or view.title, 500)]
        if view.url:
            lines.append(link(view.url, "Open the thread"))
        return [section("\n".join(lines))]
    return [section(f"*Pass it on?* Shared in {_where(view)}: {_item_line(view)}")]


def nudge_blocks(view: NudgeView) -> list[Block]:
    """The DM as first sent: the item, the reason (why you), the buttons."""
    return [*_body(view), context(escape(view.reason)), _buttons(view)]


_OUTCOMES = {
    "shared": "Thank you for passing it on.",
    "helped": "Thanks for taking a look.",
    "not_now": "Got it: not now. I'll hold off for a few days.",
    "not_my_area": "Got it: not your area. You'll see fewer like this.",
}


def outcome_text(feedback: str, view: NudgeView) -> str:
    if feedback == "mute_topic":
        return f"Done: no more suggestions about {escape(view.topic_label or 'this topic')}."
    if feedback == "mute_person":
        return f"Done: I won't suggest {escape(_person(view) or 'this person')} again."
    return _OUTCOMES.get(feedback, "Noted.")


def resolved_blocks(view: NudgeView, feedback: str) -> list[Block]:
    """The DM after a button press: the same item and reason, the buttons replaced by what happened."""
    return [*_body(view), context(escape(view.reason)), context(outcome_text(feedback, view))]


def passed_on_text(names: list[str]) -> str:
    """ "Passed on to Ben ✓" (names escaped: they are Slack display names, member text)."""
    shown = [escape(n) for n in names if n] or ["them"]
    who = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return f"Passed on to {who} ✓"


def passed_on_blocks(view: NudgeView, names: list[str]) -> list[Block]:
    """The share nudge once the member passed it on: the item and reason stay, the buttons go."""
    return [*_body(view), context(escape(view.reason)), context(passed_on_text(names))]


def continue_blocks(question: str) -> list[Block]:
    """The one question asked after several nudges went unanswered."""
    return [
        section(escape(question)),
        actions(
            button("Keep them coming", CONTINUE, "continue", style="primary"),
            button("Stop for now", STOP, "stop"),
            block_id=ACTIONS_BLOCK,
        ),
    ]


def continue_answered_blocks(keep_going: bool) -> list[Block]:
    if keep_going:
        return [section("Great, I'll keep suggesting the occasional thing.")]
    return [section("Okay, I've stopped. Turn suggestions back on any time with `/passiton via slack`.")]


def strip_actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks of a message without its buttons (for updating a message we no longer render)."""
    return [b for b in blocks if b.get("type") != "actions"]
