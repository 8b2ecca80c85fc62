"""Ephemeral command replies, the forget-me confirmation, the welcome DM."""

from __future__ import annotations

from bot.messages import Block, actions, button, context, section

FORGET_CONFIRM = "forget_me_confirm"
FORGET_CANCEL = "forget_me_cancel"
WELCOME_SET_INTERESTS = "welcome_set_interests"
ANSWER_REMOVE = "answer_remove"  # value: the asker's Slack user id
PAUSE_FOR = "pause_for"  # value: days
PAUSE_CHOICES = ((1, "1 day"), (7, "1 week"), (14, "2 weeks"), (28, "4 weeks"))


def reply(text: str) -> list[Block]:
    return [section(text)]


def error(text: str) -> list[Block]:
    return [section(f":warning: {text}")]


def forget_confirm_blocks() -> list[Block]:
    return [
        section(
            "*Delete everything passiton holds about you?* Your topics, settings, suggestions and the items you "
            "posted go, for good. Your Slack messages themselves stay where they are."
        ),
        actions(
            button("Yes, forget me", FORGET_CONFIRM, value="confirm", style="danger"),
            button("Cancel", FORGET_CANCEL, value="cancel"),
        ),
    ]


WELCOME_TEXT = (
    "Hi, and welcome! I'm passiton. Now and then I suggest an article worth passing to someone you know, "
    "or a question you could help with — only if you want, and never more than a few a week.\n"
    "Nothing happens until you tell me what you care about: `/passiton interests add design, postgres` "
    "or the button below. `/passiton help` shows the rest."
)


def welcome_blocks() -> list[Block]:
    return [
        section(WELCOME_TEXT),
        actions(button("Count me in: pick interests", WELCOME_SET_INTERESTS, style="primary")),
        context("This is the only message you'll get from me unless you opt in."),
    ]


def pause_choice_blocks() -> list[Block]:
    """`/passiton pause` said without how long: ask, with one button per usual length."""
    return [
        section("*Pause for how long?* Nothing reaches you while paused, and it ends by itself."),
        actions(*(button(label, f"{PAUSE_FOR}_{days}", value=str(days)) for days, label in PAUSE_CHOICES)),
        context(
            "Or type it: `/passiton pause 3d`. `/passiton stop` turns suggestions off until you turn them on."
        ),
    ]


def remove_button(asker_user_id: str) -> Block:
    """Under an in-channel answer: the asker may take it away (a message's buttons are seen by all, so
    the press is checked against the asker)."""
    return actions(button("Remove", ANSWER_REMOVE, value=asker_user_id), block_id="answer_remove")


INTRO_TEXT = (
    "Hi, I'm passiton. Now and then I suggest to people who asked for it an article from here worth passing "
    "to a colleague, or a question here they could help with; and when someone asks “who knows …?”, I "
    "reply in the thread with who agreed to be named. Nothing happens to anyone until they opt in."
)


def channel_intro_blocks() -> list[Block]:
    """The one card posted when the bot is invited to a channel."""
    return [
        section(INTRO_TEXT),
        actions(button("Count me in: pick interests", WELCOME_SET_INTERESTS, style="primary")),
        context(
            "I won't post this again. `/passiton help` shows everything; `/passiton answers off` here stops "
            "my thread replies in this channel."
        ),
    ]
