"""Message shortcuts, by the callback ids in bot/slack/registry.py (MESSAGE_SHORTCUTS)."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.shortcuts import pass_it_on, who_could_help


def register(app: App) -> None:
    app.shortcut("pass_it_on")(pass_it_on.on_pass_it_on)
    app.shortcut("who_could_help")(who_could_help.on_who_could_help)
