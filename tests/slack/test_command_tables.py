"""The `/passiton` and DM dispatchers are tables keyed by the parsed command's type: a command type the
parser can return but no table names would only fail when a member typed it."""

from __future__ import annotations

from typing import get_args

from bot.slack import commands_parse as cp
from bot.slack.direct_messages import HANDLERS as DM_HANDLERS
from bot.slack.listeners.commands.passiton import HANDLERS as SLASH_HANDLERS


def test_every_parsed_command_has_a_slash_handler() -> None:
    assert set(SLASH_HANDLERS) == set(get_args(cp.Command))


def test_a_dm_handles_every_command_but_a_channels_own_setting() -> None:
    # `answers off|on` switches answers in the channel it is said in; a DM is no channel.
    assert set(DM_HANDLERS) == set(get_args(cp.Command)) - {cp.ChannelAnswers}
