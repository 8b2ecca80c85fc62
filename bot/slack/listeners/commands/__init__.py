"""Slash commands: `/passiton` (bot/slack/listeners/commands/passiton.py)."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.commands.passiton import on_command
from bot.slack.registry import COMMAND


def register(app: App) -> None:
    app.command(COMMAND)(on_command)
