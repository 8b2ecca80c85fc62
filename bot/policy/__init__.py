"""Who gets which nudge, and when. Pure functions over plain data: no Slack, SMTP or database."""
