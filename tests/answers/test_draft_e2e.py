"""The pass-it-on modal gets an editable LLM draft after it opened, only when an LLM is configured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.messages import nudges as nb
from bot.store.db import Database
from bot.web.app import create_web_app
from tests.nudges.test_nudge_actions import _plan_and_send, _press
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support.openai_server import OpenAIServer, user_data
from tests.support.slack_emulator import SlackEmulator


@pytest.fixture(scope="module")
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_user("alice", tz="America/New_York")
        emulator.add_user("bob", tz="Europe/Berlin")
        emulator.add_user("carol", tz="Europe/London")
        emulator.add_channel("eng", members=["alice", "carol"])
        emulator.add_channel("infra", members=["bob", "carol"])
        yield emulator


@pytest.fixture(scope="module")
def llm_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-test") as server:
        yield server


@pytest.fixture(scope="module", params=["no-llm", "llm"])
def served(
    request: pytest.FixtureRequest, emu: SlackEmulator, sqlite_url: str, llm_server: OpenAIServer
) -> Iterator[tuple[str, Any]]:
    extra: dict[str, Any] = {}
    if request.param == "llm":
        extra = {
            "openai_api_key": "sk-test",
            "openai_base_url": llm_server.url,
            "openai_timeout_seconds": 2.0,
        }
    ctx = make_context(make_settings(emu, sqlite_url, **extra))
    with running_server(create_web_app(ctx)) as url:
        yield url, ctx


@pytest.fixture
def slack(
    emu: SlackEmulator, served: tuple[str, Any], sqlite_db: Database, llm_server: OpenAIServer
) -> Iterator[Slack]:
    url, ctx = served
    emu.reset_calls()
    llm_server.clear()
    driver = Slack(emu, url, ctx.db)
    yield driver
    driver.settle(0.2)
    driver.close()


def test_draft_follows_into_the_open_modal(
    slack: Slack, served: tuple[str, Any], llm_server: OpenAIServer
) -> None:
    configured = served[1].settings.openai_api_key is not None
    llm_server.reply(
        "Bob, this <!channel> deep dive on autovacuum fits your Postgres work.", when="pass an item on"
    )
    _plan_and_send(slack, served)
    dm = slack.emu.dms_to("carol")[-1]
    _press(slack, "carol", nb.PASS_ON, dm)
    slack.wait(lambda: slack.emu.calls("views.open", ok=True), what="modal opened")
    if not configured:
        slack.settle(0.5)
        assert slack.emu.calls("views.update") == [] and llm_server.requests == []
        return
    [update] = slack.wait(lambda: slack.emu.calls("views.update", ok=True), what="draft added")
    view = json.loads(update.args["view"]) if isinstance(update.args["view"], str) else update.args["view"]
    [note] = [b for b in view["blocks"] if b.get("block_id") == "note"]
    assert note["element"]["initial_value"] == "Bob, this deep dive on autovacuum fits your Postgres work."
    recipients = [b for b in view["blocks"] if b.get("block_id") == "recipients"]
    assert recipients[0]["element"]["initial_users"] == [slack.emu.user("bob").id]  # the model chose nobody
    [request] = llm_server.chat_requests()
    data = user_data(request)["untrusted_data"]
    assert data["giver"] == "carol" and data["recipient"] == "bob" and data["recipient_cares_about"]
    assert "<!channel>" in data["item"]["title"]  # the item's text went as data, unescaped, never as prompt
