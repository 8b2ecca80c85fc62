"""Matching core: topics, embedders, item understanding, classification and ranking (pure, no I/O but fetch.py)."""
