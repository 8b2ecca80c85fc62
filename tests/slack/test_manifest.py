"""deploy/slack-manifest.yml names exactly what the app registers, and every scope the code needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App

from bot.config import load_settings
from bot.context import AppContext
from bot.slack.listeners import register_listeners
from bot.slack.registry import BOT_EVENTS, BOT_SCOPES, COMMAND, EVENT_SCOPES, MESSAGE_SHORTCUTS, METHOD_SCOPES
from bot.store.db import Database

ROOT = Path(__file__).resolve().parents[2]
FILE_SUFFIXES = {"json", "csv", "txt", "py", "yml", "yaml", "html", "db"}
MANIFEST = yaml.safe_load((ROOT / "deploy" / "slack-manifest.yml").read_text())


@pytest.fixture(scope="module")
def registered() -> dict[str, set[str]]:
    """What the listener modules register on a real Bolt app (recorded as they call it)."""
    app = App(token="xoxb-manifest-test", signing_secret="s", token_verification_enabled=False)
    seen: dict[str, set[str]] = {"event": set(), "command": set(), "shortcut": set()}

    def recorder(kind: str) -> Any:
        original = getattr(app, kind)

        def wrapper(constraint: Any, *args: Any, **kwargs: Any) -> Any:
            seen[kind].add(constraint if isinstance(constraint, str) else str(constraint))
            return original(constraint, *args, **kwargs)

        return wrapper

    for kind in seen:
        setattr(app, kind, recorder(kind))
    settings = load_settings(database_url="sqlite:///:memory:")
    register_listeners(app, AppContext(db=Database("sqlite:///:memory:"), settings=settings))
    return seen


def test_events_match_the_listeners(registered: dict[str, set[str]]) -> None:
    subscribed = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert subscribed == set(BOT_EVENTS)
    assert {e.split(".", 1)[0] for e in subscribed} == registered["event"]


def test_command_and_shortcuts_match(registered: dict[str, set[str]]) -> None:
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert commands == registered["command"] == {COMMAND}
    shortcuts = {s["callback_id"]: s for s in MANIFEST["features"]["shortcuts"]}
    assert set(shortcuts) == registered["shortcut"] == set(MESSAGE_SHORTCUTS)
    for callback_id, shortcut in shortcuts.items():
        assert shortcut["type"] == "message" and shortcut["name"] == MESSAGE_SHORTCUTS[callback_id]
        assert len(shortcut["description"]) <= 80


def test_requested_scopes_are_exactly_the_needed_ones() -> None:
    requested = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert requested == set(BOT_SCOPES)
    for event in BOT_EVENTS:
        assert event in EVENT_SCOPES, f"{event}: say which scope it needs in EVENT_SCOPES"
        assert set(EVENT_SCOPES[event]) <= requested, event


def _methods_called_in(code_dir: Path) -> set[str]:
    methods: set[str] = set()
    for path in code_dir.rglob("*.py"):
        text = path.read_text()
        for family, name in re.findall(
            r"client\.(conversations|chat|users|views|auth|team|reactions|files|bots)_([A-Za-z]+)\(", text
        ):
            methods.add(f"{family}.{name}")
        for method in re.findall(r'"((?:conversations|chat|users|views|reactions|files)\.[A-Za-z]+)"', text):
            if method.rsplit(".", 1)[1] not in FILE_SUFFIXES:  # "users.json" is a file, not a method
                methods.add(method)
    return methods


def test_every_web_api_method_the_code_calls_has_its_scope_requested() -> None:
    requested = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = _methods_called_in(ROOT / "bot") | _methods_called_in(ROOT / "jobs")
    assert {"conversations.open", "chat.postMessage", "views.publish"} <= called  # the scan works
    for method in sorted(called):
        assert method in METHOD_SCOPES, f"{method} is called: list the scopes it needs in METHOD_SCOPES"
        needs = METHOD_SCOPES[method]
        assert not needs or set(needs) & requested, f"{method} needs one of {needs}"
    # Commands and shortcuts need `commands`; interactivity and the redirect point at the app's routes.
    assert "commands" in requested
    assert MANIFEST["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert MANIFEST["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")


def test_no_scope_is_requested_that_nothing_uses() -> None:
    """An admin reads the scope list before installing; each one must be needed by an event the app
    subscribes to or a method the code calls (`team:read` for an unused team.info was refused)."""
    requested = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = _methods_called_in(ROOT / "bot") | _methods_called_in(ROOT / "jobs")
    used = {"commands"} | {s for e in BOT_EVENTS for s in EVENT_SCOPES[e]}
    used |= {s for m in called for s in METHOD_SCOPES.get(m, ())}
    assert requested - used == set(), "requested but unused"
    # The pass-it-on group DMs are the bot's own creation: it does not listen in on them.
    assert "message.mpim" not in MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert "mpim:history" not in requested


def test_readme_names_every_scope_and_agrees_on_socket_mode() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Slack scopes", 1)[1].split("\n## ", 1)[0]
    for scope in BOT_SCOPES:
        assert f"`{scope}`" in table, f"README's scopes table does not say what {scope} is for"
    socket = MANIFEST["settings"]["socket_mode_enabled"]
    assert f"`socket_mode_enabled: {'true' if socket else 'false'}`" in table
