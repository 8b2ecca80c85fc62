"""Modal submissions: validate, answer `response_action: errors` for bad input, else apply."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.answers import ASK_THANKS_MODAL
from bot.slack.blocks.modals import EDIT_SETTINGS, EDIT_TOPICS, PASS_IT_ON
from bot.slack.listeners.views import ask_thanks, edit_settings, edit_topics, pass_it_on


def register(app: App) -> None:
    app.view(EDIT_TOPICS)(edit_topics.on_topics)
    app.view(EDIT_SETTINGS)(edit_settings.on_settings)
    app.view(PASS_IT_ON)(pass_it_on.on_pass_it_on)
    app.view(ASK_THANKS_MODAL)(ask_thanks.on_thanks_sent)
