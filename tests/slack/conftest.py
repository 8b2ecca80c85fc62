"""One emulator and one `passiton serve` per module; a clean database per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store.db import Database
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.seeds import small
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        small(emulator)
        yield emulator


@pytest.fixture(scope="module")
def served(emu: SlackEmulator, sqlite_url: str) -> Iterator[tuple[str, Database]]:
    ctx = make_context(make_settings(emu, sqlite_url))
    with running_server(create_web_app(ctx)) as url:
        yield url, ctx.db


@pytest.fixture
def slack(emu: SlackEmulator, served: tuple[str, Database], sqlite_db: Database) -> Iterator[Slack]:
    url, db = served
    emu.reset_calls()
    emu.clear_faults()
    driver = Slack(emu, url, db)
    yield driver
    driver.close()
