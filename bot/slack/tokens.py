"""The bot token for a workspace, whichever way the app was installed."""

from __future__ import annotations

from bot.config import Settings
from bot.store.db import Database
from bot.store.queries.workspaces import get_workspace


def oauth_enabled(settings: Settings) -> bool:
    """Multi-workspace mode: OAuth client credentials configured (they win over SLACK_BOT_TOKEN)."""
    return bool(settings.slack_client_id and settings.secret("slack_client_secret"))


def bot_token_for(db: Database, settings: Settings, team_id: str) -> str | None:
    """SLACK_BOT_TOKEN in single-workspace mode, else the latest bot token the OAuth flow stored.

    None when the workspace is known and deactivated (uninstalled, tokens revoked) or no token exists:
    senders then skip the message instead of calling Slack with a dead token.
    """
    with db.session() as session:
        workspace = get_workspace(session, team_id)
        if workspace is not None and not workspace.active:
            return None
        enterprise_id = workspace.enterprise_id if workspace is not None else None
    if not oauth_enabled(settings):
        return settings.secret("slack_bot_token")
    from bot.slack.installation import installation_store

    store = installation_store(settings, db)
    bot = store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
    if bot is None and enterprise_id is not None:  # org-wide install: the bot is stored without a team
        bot = store.find_bot(enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True)
    return bot.bot_token if bot is not None else None
