"""pytest fixtures for the Slack emulator. Load with `pytest_plugins = ["tests.support.fixtures"]`
in the root conftest, or import the fixture into a test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture
def slack_emulator() -> Iterator[SlackEmulator]:
    """A started emulator with one team, the app installed, and no members but Slackbot and the bot."""
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def slack_workspace() -> Iterator[SlackEmulator]:
    """A started emulator seeded with `seeds.small`: alice, bob, carol, dana (members), gus (guest),
    olga (deactivated), otherbot; channels #general #eng #help (bot in), #random (bot not in),
    private #leads (alice, dana, bot)."""
    with SlackEmulator() as emu:
        small(emu)
        yield emu
