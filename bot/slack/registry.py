"""Everything the app registers with Slack, named once.

The listeners register from these constants and `deploy/slack-manifest.yml` must list exactly the
same events, command and shortcuts (a test compares them), so the manifest cannot drift from code.
"""

from __future__ import annotations

COMMAND = "/passiton"

# Bot events the app subscribes to (Slack's event type names).
BOT_EVENTS: tuple[str, ...] = (
    "message.channels",
    "message.groups",
    # Only so that a member's message to passiton itself is read as a command (bot/slack/direct_messages.py).
    # No message.mpim: the only group DMs passiton is in are the pass-it-on conversations it opens
    # between a giver and a recipient, and what they say there is theirs.
    "message.im",
    "app_mention",
    "app_home_opened",
    "member_joined_channel",
    "member_left_channel",
    "channel_left",
    "group_left",
    "team_join",
    "user_change",
    "reaction_added",
    "app_uninstalled",
    "tokens_revoked",
)

# Message shortcuts: callback id -> name shown in Slack's message menu.
MESSAGE_SHORTCUTS: dict[str, str] = {
    "pass_it_on": "Pass it on…",
    "who_could_help": "Who could help with this?",
}

# Bot scopes, each with the code that needs it (kept here so the manifest test can check them).
BOT_SCOPES: dict[str, str] = {
    "app_mentions:read": "app_mention events: a question that mentions the bot gets an in-channel answer",
    "channels:history": "message.channels events: articles and questions in public channels it is in",
    "channels:read": "conversations.info / conversations.members on public channels; member_joined_channel",
    "groups:history": "message.groups events: the same in private channels it is invited to",
    "groups:read": "conversations.info / conversations.members on private channels",
    "im:history": "message.im events (a DM to the bot is read as a command); conversations.history on its "
    "DMs, to find a nudge an interrupted send already posted",
    "im:read": "conversations.info on DMs",
    "im:write": "conversations.open for DMs (welcome, nudges, export)",
    "mpim:read": "conversations.info on group DMs (pass it on from a group DM keeps it among its members)",
    "mpim:write": "conversations.open with giver and recipient (pass it on)",
    "chat:write": "chat.postMessage / chat.update: nudges, answers, the shared message, redrawing a nudge",
    "commands": "the /passiton slash command and message shortcuts",
    "reactions:read": "reaction_added events: who engaged with an article",
    "users:read": "users.info (time zones, bots, guests, deactivation), team_join, user_change",
    "users:read.email": "users.info email, for the email side",
}

# Slack event types as they arrive in payloads (the `message.*` subscriptions all deliver `message`).
EVENT_TYPES: frozenset[str] = frozenset(e.split(".", 1)[0] for e in BOT_EVENTS)

# The subset of scopes the Web API calls in bot/ need, by method (the manifest test checks they are
# all requested).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.members": ("channels:read", "groups:read"),
    "conversations.open": ("im:write", "mpim:write"),
    "chat.postMessage": ("chat:write",),
    "chat.getPermalink": (),
    "users.info": ("users:read", "users:read.email"),
    # The backfill after an install: which channels is the bot already in?
    "users.conversations": ("channels:read", "groups:read"),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    # The outbox sender reads DM history to spot a message it already posted before a crash; the
    # backfill reads the recent history of the channels the bot is in (bot/backfill: public and
    # private channels, never group DMs).
    "conversations.history": ("channels:history", "groups:history", "im:history"),
    "conversations.replies": ("channels:history", "groups:history", "im:history"),
    "views.publish": (),
    "views.open": (),
    # The pass-it-on modal gets its LLM draft after it opened (issue 7).
    "views.update": (),
    "auth.test": (),
}

# The scope each event subscription needs (an empty tuple: none beyond installing the app).
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
    "app_mention": ("app_mentions:read",),
    "app_home_opened": (),
    "member_joined_channel": ("channels:read", "groups:read"),
    "member_left_channel": ("channels:read", "groups:read"),
    "channel_left": ("channels:read",),
    "group_left": ("groups:read",),
    "team_join": ("users:read",),
    "user_change": ("users:read",),
    "reaction_added": ("reactions:read",),
    "app_uninstalled": (),
    "tokens_revoked": (),
}
