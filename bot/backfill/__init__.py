"""Warm start from history: read a channel's recent messages into the same ingest the live events use.

- `fetch`: the Slack side — cursor-paginated conversations.history / conversations.replies, paced
  below the workspace's limits, Retry-After honoured, lost tokens and lost channel access told apart.
- `store`: one page of history into the message pipeline, with no nudges planned about old messages.
- `runner`: claims jobs (bot.store.queries.backfill), pages through each channel and records progress
  with every page, so a restart goes on from the last page stored.
"""
