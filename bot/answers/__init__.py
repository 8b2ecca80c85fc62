"""Expertise answers in channel, `/passiton who knows`, and asks."""
