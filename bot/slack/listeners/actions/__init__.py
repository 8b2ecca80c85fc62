"""Block actions (buttons, menus) in App Home, DMs, in-channel answers and ephemeral replies."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.answers.service import ASK_CLOSE, ASK_THANKS
from bot.messages import nudges as nb
from bot.messages.replies import (
    ANSWER_REMOVE,
    FORGET_CANCEL,
    FORGET_CONFIRM,
    PAUSE_FOR,
    WELCOME_SET_INTERESTS,
)
from bot.slack.blocks import home as home_blocks
from bot.slack.listeners.actions import (
    answer_remove,
    ask_buttons,
    forget_me,
    home_buttons,
    nudge_feedback,
    nudge_pass_on,
    pause_for,
    welcome,
)


def register(app: App) -> None:
    app.action(home_blocks.EDIT_INTERESTS)(home_buttons.on_edit_interests)
    app.action(home_blocks.EDIT_EXPERTISE)(home_buttons.on_edit_expertise)
    app.action(home_blocks.EDIT_MUTED)(home_buttons.on_edit_muted)
    app.action(home_blocks.EDIT_SETTINGS)(home_buttons.on_edit_settings)
    app.action(re.compile(rf"^{home_blocks.UNMUTE}_\d+$"))(home_buttons.on_unmute)
    app.action(home_blocks.CLEAR_LEARNED)(home_buttons.on_clear_learned)
    app.action(home_blocks.PAUSE_WEEK)(home_buttons.on_pause_week)
    app.action(home_blocks.RESUME)(home_buttons.on_resume)

    app.action(FORGET_CONFIRM)(forget_me.on_forget)
    app.action(FORGET_CANCEL)(forget_me.on_forget_cancel)
    app.action(re.compile(rf"^{PAUSE_FOR}_\d+$"))(pause_for.on_pause_for)
    app.action(WELCOME_SET_INTERESTS)(welcome.on_welcome)

    app.action(ANSWER_REMOVE)(answer_remove.on_remove)
    app.action(ASK_CLOSE)(ask_buttons.on_close)
    app.action(ASK_THANKS)(ask_buttons.on_thanks)

    for action_id in nudge_feedback.FEEDBACK_BUTTONS:
        app.action(action_id)(nudge_feedback.on_feedback)
    app.action(nb.MORE)(nudge_feedback.on_more)
    app.action(nb.PASS_ON)(nudge_pass_on.on_pass_on)
    app.action(nb.CONTINUE)(nudge_feedback.on_continue)
    app.action(nb.STOP)(nudge_feedback.on_continue)
