"""Prometheus counters for the outbox. Reasons are Slack/SMTP error codes: a bounded set of labels."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

SENT = Counter("passiton_outbox_sent_total", "Outbox messages delivered", ["kind"])
DEDUPLICATED = Counter(
    "passiton_outbox_deduplicated_total",
    "Resends that found the message already delivered (metadata in history) and did not post again",
    ["kind"],
)
RETRIED = Counter(
    "passiton_outbox_retried_total", "Messages rescheduled after a transient error", ["kind", "reason"]
)
DEFERRED = Counter("passiton_outbox_deferred_total", "Messages rescheduled by a rate limit", ["kind"])
FAILED = Counter("passiton_outbox_failed_total", "Messages given up on", ["kind", "reason"])
CANCELLED = Counter("passiton_outbox_cancelled_total", "Messages no longer worth sending", ["kind", "reason"])
RECLAIMED = Counter(
    "passiton_outbox_reclaimed_total", "Messages taken over from a sender that died", ["kind"]
)
IS_LEADER = Gauge("passiton_jobs_leader", "1 while this process is the scheduler leader")
SEND_SECONDS = Histogram(
    "passiton_outbox_send_seconds",
    "Time one send took (a Slack Web API call or an SMTP delivery), whatever its outcome",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
BACKLOG = Gauge(
    "passiton_outbox_backlog",
    "Outbox messages not finished: pending (waiting or due) and sending (claimed by a sender)",
    ["status"],
)
OLDEST_DUE_SECONDS = Gauge(
    "passiton_outbox_oldest_due_seconds",
    "How long the longest-waiting due pending message has been due (0 when none is): senders falling behind",
)


def reason_label(reason: str) -> str:
    """The error code part of a reason ("chat.postMessage:internal_error" -> "internal_error")."""
    return reason.rsplit(":", 1)[-1][:64] if reason else "unknown"
