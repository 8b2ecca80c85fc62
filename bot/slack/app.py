"""The Bolt app factory: one App for HTTP (`passiton serve`) and Socket Mode (`passiton run`).

Single-workspace when only SLACK_BOT_TOKEN is set; multi-workspace OAuth (slack_sdk's SQLAlchemy
installation and state stores on DATABASE_URL) when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are.
Listeners ack at once and work afterwards (`process_before_response=False`: Bolt runs them on its
thread pool after answering Slack).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from slack_bolt import App
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import SettingsError
from bot.context import AppContext
from bot.metrics import ERRORS
from bot.slack.listeners import register_listeners
from bot.slack.registry import BOT_SCOPES
from bot.slack.tokens import oauth_enabled

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def authorization_url(api_url: str) -> str:
    """Slack's authorize page sits beside its Web API (`…/api/` -> `…/oauth/v2/authorize`)."""
    root = api_url.rstrip("/")
    root = root[: -len("/api")] if root.endswith("/api") else root
    return root + "/oauth/v2/authorize"


_ENV_LOCK = threading.Lock()


@contextmanager
def _bolt_env_oauth_hidden() -> Iterator[None]:
    """Bolt switches on file-based OAuth by itself when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in
    the environment, even empty. passiton chooses the mode from its settings (which also read .env),
    so the two variables are hidden from Bolt while the App is built; SLACK_BOT_TOKEN too, which Bolt
    would pick up beside the client passiton gives it (and warn about on every start)."""
    names = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN")
    with _ENV_LOCK:
        saved = {name: os.environ.pop(name) for name in names if name in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


def web_client(api_url: str, token: str | None = None) -> WebClient:
    return WebClient(token=token, base_url=api_url if api_url.endswith("/") else api_url + "/")


def create_app(
    ctx: AppContext,
    *,
    token_verification_enabled: bool = True,
    socket_mode: bool = False,
    listener_executor: Any | None = None,
) -> App:
    """Build the Bolt app with every listener registered.

    `token_verification_enabled` calls auth.test at start (single-workspace) to learn the team and bot
    user and to fail fast on a bad token. `socket_mode` skips request signing (Socket Mode has none).
    """
    settings = ctx.settings
    signing_secret = settings.secret("slack_signing_secret")
    if not socket_mode and not signing_secret:
        raise SettingsError("setting SLACK_SIGNING_SECRET: required to receive Slack requests over HTTP")
    common: dict[str, Any] = {
        "signing_secret": signing_secret or "unused-in-socket-mode",
        "request_verification_enabled": not socket_mode,
        "process_before_response": False,
        "name": "passiton",
    }
    if listener_executor is not None:
        common["listener_executor"] = listener_executor
    store = None
    if oauth_enabled(settings):
        from bot.slack.installation import check_token_keys, installation_store, state_store

        assert settings.slack_client_id is not None
        check_token_keys(settings, ctx.db)
        store = installation_store(settings, ctx.db)
        oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.secret("slack_client_secret"),
            scopes=sorted(BOT_SCOPES),
            installation_store=store,
            state_store=state_store(ctx.db.engine),
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            redirect_uri=settings.public_url.rstrip("/") + REDIRECT_PATH,
            authorization_url=authorization_url(settings.slack_api_url),
        )
        with _bolt_env_oauth_hidden():
            app = App(
                client=web_client(settings.slack_api_url),
                installation_store=store,
                oauth_flow=OAuthFlow(client=web_client(settings.slack_api_url), settings=oauth_settings),
                **common,
            )
    else:
        token = settings.secret("slack_bot_token")
        if not token:
            raise SettingsError(
                "setting SLACK_BOT_TOKEN: required (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth installs)"
            )
        client = web_client(settings.slack_api_url, token)
        if token_verification_enabled:
            _register_single_workspace(ctx, client)
        with _bolt_env_oauth_hidden():
            app = App(client=client, token_verification_enabled=token_verification_enabled, **common)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        ERRORS.labels("listener").inc()
        log.error("listener failed", exc_info=error, extra={"request_type": body.get("type")})

    register_listeners(app, ctx, installation_store=store)
    return app


def check_slack_answer(call: Callable[[], Any], *, token_setting: str, api_url: str) -> Any:
    """Run a start-up call to Slack; a refusal or an unreachable API becomes one line naming the setting
    and what Slack said (`invalid_auth`, `token_revoked`…), for the CLI to print before exiting."""
    # slack_sdk logs each failed attempt itself (with the retry); at start-up that would bury the one
    # line that matters, so its client logger is quieted for the call (nothing else runs yet).
    sdk_log = logging.getLogger("slack_sdk.web.base_client")
    level = sdk_log.level
    sdk_log.setLevel(logging.CRITICAL)
    try:
        return call()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        raise SettingsError(f"setting {token_setting}: Slack refused it: {error or exc}") from None
    except (OSError, TimeoutError) as exc:  # URLError, refused, DNS, TLS: Slack is not there
        reason = getattr(exc, "reason", None) or exc
        raise SettingsError(f"setting SLACK_API_URL: can't reach Slack at {api_url}: {reason}") from None
    finally:
        sdk_log.setLevel(level)


def _register_single_workspace(ctx: AppContext, client: WebClient) -> None:
    """auth.test tells which team this token belongs to; a valid token means the app is installed."""
    from bot.nudges.links import domain_of
    from bot.store.models import utcnow
    from bot.store.queries.backfill import DISCOVER, enqueue_backfill
    from bot.store.queries.workspaces import ensure_workspace, get_workspace, reactivate

    auth = check_slack_answer(
        client.auth_test, token_setting="SLACK_BOT_TOKEN", api_url=ctx.settings.slack_api_url
    )
    team_id = str(auth["team_id"])
    with ctx.db.session() as session:
        known = get_workspace(session, team_id)
        first = known is None or not known.active  # the first token for this workspace (or a reinstall)
        workspace = ensure_workspace(
            session, team_id, name=auth.get("team") or None, bot_user_id=auth.get("user_id")
        )
        workspace.domain = domain_of(auth.get("url")) or workspace.domain
        reactivate(workspace)
        if first:  # read the recent history of the channels the bot is already in
            enqueue_backfill(
                session, workspace, DISCOVER, utcnow(), ctx.settings.passiton_backfill_days, "install"
            )
