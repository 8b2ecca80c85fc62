"""Links a nudge DM carries so that one click reaches the message it is about."""

from __future__ import annotations

from urllib.parse import urlsplit


def domain_of(team_url: str | None) -> str | None:
    """The team's subdomain from auth.test's `url` ("https://acme.slack.com/" -> "acme")."""
    if not team_url:
        return None
    host = urlsplit(team_url).hostname or ""
    name, _, rest = host.partition(".")
    return name or None if rest == "slack.com" else None


def archives_url(domain: str | None, channel_id: str, ts: str) -> str:
    """Slack's archive link to one message: the permalink's own shape, built from channel and ts. Without
    the team's domain, slack.com's archive path (Slack sends a signed-in member on to their workspace)."""
    host = f"{domain}.slack.com" if domain else "slack.com"
    return f"https://{host}/archives/{channel_id}/p{ts.replace('.', '')}"
