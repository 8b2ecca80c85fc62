"""The Slack surface: Bolt app, listeners by kind, Block Kit builders."""
