"""The Slack surface: the Bolt app, its listeners by kind, and the Block Kit of Slack-only views (App Home,
modals, help). It is a caller of the rest, never called by it: the message pipeline, the jobs, the email side
and the replay do not import it; the Block Kit they share lives in `bot.messages`, the runtime in `bot.runtime`."""
