"""The HTTP front: signatures, stale timestamps, malformed bodies (400, never 500), health, metrics."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from bot.store.models import Item
from tests.slack.harness import Slack
from tests.support import signing


def _envelope(slack: Slack, text: str = "How do I tune autovacuum on Postgres?") -> str:
    ch, u = slack.emu.channel("help"), slack.emu.user("alice")
    return json.dumps(
        signing.envelope(
            signing.message_event(ch.id, u.id, text), team_id=slack.team_id, bot_user_id=slack.bot_user_id
        )
    )


def test_bad_signature_is_401_and_does_nothing(slack: Slack) -> None:
    resp = slack.post(_envelope(slack), secret="not-the-secret")
    assert resp.status_code == 401
    unsigned = slack.http.post(
        slack.url + "/slack/events", content=_envelope(slack), headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401
    slack.settle()
    with slack.db.session() as s:
        assert s.scalars(select(Item)).first() is None


def test_stale_timestamp_is_401(slack: Slack) -> None:
    resp = slack.post(_envelope(slack), timestamp=int(time.time()) - 6 * 60)
    assert resp.status_code == 401


def test_tampered_body_is_401(slack: Slack) -> None:
    body = _envelope(slack)
    headers = signing.signed_headers(body, slack.emu.signing_secret)
    resp = slack.http.post(
        slack.url + "/slack/events", content=body.replace("Postgres", "MySQL"), headers=headers
    )
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2, 3]",
        '{"type": "event_callback"}',
        '{"type": "event_callback", "team_id": "T1", "event": "text"}',
        '{"type": "mystery"}',
        "payload=%7Bbroken",
        "payload=%5B%5D",
        "payload=" + "%7B%22type%22%3A%22view_submission%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%7D",
        "command=%2Fpassiton&text=help",
        "hello=world",
        "",
        b"\xff\xfe\x00garbage",
    ],
)
def test_signed_but_malformed_is_400_never_500(slack: Slack, body: str | bytes) -> None:
    resp = slack.post(
        body, content_type="application/json" if isinstance(body, str) and body[:1] in "{[" else None
    )
    assert resp.status_code == 400, (body, resp.status_code, resp.text)


def test_url_verification_echoes_the_challenge(slack: Slack) -> None:
    resp = slack.post(json.dumps(signing.url_verification("abc123")))
    assert resp.status_code == 200 and "abc123" in resp.text


def test_healthz_and_metrics(slack: Slack) -> None:
    health = slack.http.get(slack.url + "/healthz")
    assert health.status_code == 200 and health.json() == {"ok": True}
    from tests.jobs.test_metrics import _sample

    def acks(kind: str) -> float:
        return (
            _sample(
                slack.http.get(slack.url + "/metrics").text, "passiton_slack_ack_seconds_count", kind=kind
            )
            or 0
        )

    commands_before = acks("command")
    slack.command("help", "alice")
    assert acks("command") == commands_before + 1  # every acknowledged command is timed
    slack.post("{not json", content_type="application/json")
    metrics = slack.http.get(slack.url + "/metrics").text
    assert 'passiton_slack_commands_total{subcommand="help"}' in metrics
    assert "passiton_http_bad_requests_total" in metrics
    assert "passiton_slack_events_deduped_total" in metrics
