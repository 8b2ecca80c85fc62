"""Getting messages out: the outbox, its senders, rate limits, retries and idempotency."""
