"""Block Kit for the Slack-only surfaces (App Home, modals, `/passiton help`); built from `bot.messages`."""
