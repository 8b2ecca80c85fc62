"""The optional LLM layer: a fail-soft client and the tasks built on it. Nothing here runs without a key."""
