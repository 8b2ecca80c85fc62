"""Scheduled work: share-nudge planning, email digests, retention (leader only) and the outbox drain."""
