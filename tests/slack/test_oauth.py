"""Multi-workspace: install through /slack/install + /slack/oauth_redirect, then serve that workspace
with the token the SQLAlchemy installation store holds; app_uninstalled drops it. On both engines."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, text

from bot.slack.tokens import bot_token_for
from bot.store.db import Database
from bot.store.models import Workspace
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator

TEAM2 = "T0EMU0002"


@pytest.fixture
def oauth_emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        emu.add_team(TEAM2, "Second", "second", install=False)
        emu.add_user("zed", team_id=TEAM2, tz="Europe/Berlin")
        emu.add_channel("lobby", members=["zed"], team_id=TEAM2)
        yield emu


def test_oauth_install_serve_and_uninstall(oauth_emu: SlackEmulator, db: Database) -> None:
    emu = oauth_emu
    client_id, client_secret = emu.oauth_client
    settings = make_settings(
        emu, str(db.engine.url.render_as_string(hide_password=False)),
        slack_bot_token=None, slack_client_id=client_id, slack_client_secret=client_secret,
    )  # fmt: skip
    ctx = make_context(settings)
    with running_server(create_web_app(ctx)) as url, httpx.Client(timeout=10) as http:
        page = http.get(url + "/slack/install")
        assert page.status_code == 200
        state = re.search(r"state=([^&\"']+)", page.text)
        assert state is not None and "oauth/v2/authorize" in page.text
        cookie = page.headers["set-cookie"].split(";", 1)[0]
        code = emu.issue_oauth_code(TEAM2, "zed")
        done = http.get(
            url + "/slack/oauth_redirect",
            params={"code": code, "state": state.group(1)},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text
        token = bot_token_for(db, settings, TEAM2)
        assert token is not None and token == emu.bot_token_for(TEAM2)
        with db.session() as s:
            ws = s.scalars(select(Workspace).where(Workspace.team_id == TEAM2)).one()
            assert ws.active and ws.bot_user_id == emu.bot_user_for(TEAM2).id

        # A replayed callback (same code and state) installs nothing new.
        again = http.get(
            url + "/slack/oauth_redirect",
            params={"code": code, "state": state.group(1)},
            headers={"Cookie": cookie},
        )
        assert 400 <= again.status_code < 500  # the state was consumed: refused, never a 500

        slack = Slack(emu, url, db)
        slack.team_id, slack.bot_user_id = TEAM2, emu.bot_user_for(TEAM2).id
        zed = emu.user("zed", TEAM2)
        body = signing.slash_command_body(
            "interests add rust", user_id=zed.id, team_id=TEAM2, channel_id=emu.channel("lobby", TEAM2).id
        )
        reply = slack.post(body)
        assert reply.status_code == 200 and "Rust" in reply.json()["text"]
        slack.wait(lambda: emu.published_views("zed", TEAM2), what="home in the second workspace")

        slack.event(signing.app_uninstalled_event())

        def deactivated() -> bool:  # the last step of the uninstall, after the tokens are deleted
            with db.session() as s:
                return not s.scalars(select(Workspace).where(Workspace.team_id == TEAM2)).one().active

        slack.wait(deactivated, what="workspace deactivated")
        assert bot_token_for(db, settings, TEAM2) is None
        with db.engine.connect() as conn:
            assert conn.execute(text("select count(*) from slack_bots")).scalar() == 0
            assert conn.execute(text("select count(*) from slack_installations")).scalar() == 0
        slack.close()
        with db.engine.begin() as conn:
            conn.execute(text("delete from slack_oauth_states"))


def test_single_workspace_mode_has_no_install_route(emu: SlackEmulator, slack: Slack) -> None:
    assert slack.http.get(slack.url + "/slack/install").status_code == 404
