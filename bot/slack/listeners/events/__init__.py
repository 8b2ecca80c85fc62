"""Events API listeners. Bolt acks events before these run; the work happens after the ack, on the
event pool, and rides out a database restart (`retry_transient`): an acked event is one Slack will not
send again."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners.events import app_home_opened, lifecycle, membership, message, reactions, users


def register(app: App) -> None:
    app.event("message")(message.on_message)
    app.event("app_mention")(message.on_mention)
    app.event("member_joined_channel")(membership.on_joined)
    app.event("member_left_channel")(membership.on_left)
    # The bot was removed from a public (channel_left) or private (group_left) channel.
    app.event("channel_left")(membership.on_bot_left)
    app.event("group_left")(membership.on_bot_left)
    app.event("team_join")(users.on_team_join)
    app.event("user_change")(users.on_user_change)
    app.event("reaction_added")(reactions.on_reaction)
    app.event("app_uninstalled")(lifecycle.on_uninstalled)
    app.event("tokens_revoked")(lifecycle.on_tokens_revoked)
    app.event("app_home_opened")(app_home_opened.on_home_opened)
