"""Ephemeral command replies, the forget-me confirmation, the welcome DM."""

from __future__ import annotations

from bot.messages import Block, actions, button, context, section

FORGET_CONFIRM = "forget_me_confirm"
FORGET_CANCEL = "forget_me_cancel"
WELCOME_SET_INTERESTS = "welcome_set_interests"


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
