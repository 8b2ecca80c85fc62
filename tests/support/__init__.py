"""Test support: the Slack Web API emulator and helpers that deliver signed Slack requests."""

from tests.support.slack_emulator import SlackEmulator

__all__ = ["SlackEmulator"]
