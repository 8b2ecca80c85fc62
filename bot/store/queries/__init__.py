"""Queries by subject. Every function takes the workspace (or a row of it) and stays inside it."""
