"""Slack events to rows: items, thread replies, relationships, channels, members.

`pipeline` is the one path a posted message takes (understand, store, plan), called by the live handler
(`events`), the replay and a history backfill. `slack_sync` is the only part that calls Slack
(conversations.info / members, users.info); the rest works on a session and plain event dicts, so it is
tested without any network.
"""
