"""Prometheus counters of the Slack surface, the web front and ingest, in one module every layer may import
(it imports nothing of the project), so counting an item never ties ingest to the Slack package. Labels come
from fixed sets (event types, subcommands)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("passiton_slack_events_total", "Slack events received", ["type"])
EVENTS_DEDUPED = Counter(
    "passiton_slack_events_deduped_total", "Slack events skipped because their event_id was already handled"
)
COMMANDS = Counter("passiton_slack_commands_total", "Slash commands handled", ["subcommand"])
ACTIONS = Counter(
    "passiton_slack_actions_total", "Buttons, shortcuts and modal submissions handled", ["action"]
)
ERRORS = Counter("passiton_slack_errors_total", "Errors while handling Slack requests", ["where"])
BAD_REQUESTS = Counter(
    "passiton_http_bad_requests_total", "Requests refused before reaching Bolt", ["reason"]
)
ITEMS = Counter("passiton_items_ingested_total", "Items created from Slack messages", ["kind"])
ACK_SECONDS = Histogram(
    "passiton_slack_ack_seconds",
    "Time from receiving a Slack request to acknowledging it (Slack's deadline is 3 s)",
    ["kind"],  # event, command, interaction (HTTP and Socket Mode alike)
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)
# check_body's kinds (HTTP) and Socket Mode envelope types -> the histogram's label.
ACK_KINDS = {
    "event": "event",
    "command": "command",
    "interactive": "interaction",
    "events_api": "event",
    "slash_commands": "command",
}
