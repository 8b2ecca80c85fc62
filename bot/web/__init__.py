"""The HTTP face of passiton: Slack requests, OAuth install, health, metrics, and the email routes."""
