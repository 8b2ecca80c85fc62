"""The scaled-out deployment, with real processes on the real PostgreSQL: three `passiton serve`, two
`passiton jobs`, the Slack emulator. A stream of signed question events is spread over the replicas,
some delivered twice the way Slack retries (same event id, another replica, at once or later), and the
scheduler leader is killed with SIGKILL while direct messages are going out.

Afterwards: every event is exactly one item, every planned nudge reached Slack exactly once (the
emulator counts chat.postMessage by the idempotency key in the message metadata), nothing was planned
twice, the standby took the lead, and every process that was not killed stops cleanly on SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from bot.store.models import Item, Nudge, OutboxMessage, ProcessedEvent
from tests.deploy.cluster import Cluster, Emulator, Proc, fresh_database, pg_available, sign

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

TEAM = "T0SCALE01"
HELPERS = 24
ASKERS = 6
QUESTIONS = 36
TOPICS = ["postgres", "kubernetes", "terraform"]
QUESTION_TEXT = {
    "postgres": "How do I tune autovacuum on a busy postgres table? ({n})",
    "kubernetes": "Why does my kubernetes pod keep getting OOMKilled? ({n})",
    "terraform": "How do I stop terraform plan from showing the same diff every run? ({n})",
}


def awake_zone(now: dt.datetime) -> str:
    """A fixed-offset zone where it is early afternoon now, so help may be sent at once, any day."""
    offset = (14 - now.hour) % 24
    if offset > 12:
        offset -= 24  # Etc/GMT zones run from -14 to +12, with the sign inverted
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def workspace(zone: str) -> dict[str, Any]:
    helpers = [f"helper{i:02d}" for i in range(HELPERS)]
    askers = [f"asker{i}" for i in range(ASKERS)]
    return {
        "teams": [
            {
                "id": TEAM,
                "name": "Scale",
                "domain": "scale",
                "users": [{"name": n, "tz": zone} for n in helpers + askers],
                "channels": [{"name": "help", "members": helpers + askers}],
            }
        ]
    }


def seed_helpers(database_url: str, emu: Emulator, zone: str) -> None:
    """Members who said what they can help with, opted in, reachable now (weekends on)."""
    from bot.matching.topics import normalise_topic
    from bot.store.db import Database
    from bot.store.queries.members import add_member_topics, ensure_member
    from bot.store.queries.workspaces import ensure_workspace

    db = Database(database_url)
    with db.session() as session:
        ws = ensure_workspace(session, TEAM, name="Scale", bot_user_id=emu.team["bot_user_id"])
        for i in range(HELPERS):
            name = f"helper{i:02d}"
            member = ensure_member(
                session, ws, emu.user_id(name), display_name=name, tz=zone, opted_in=True, weekends_off=False
            )
            add_member_topics(session, ws, member, "expertise", [normalise_topic(TOPICS[i % len(TOPICS)])])
    db.engine.dispose()


def question_events(emu: Emulator) -> list[tuple[str, bytes]]:
    """(source key, signed-ready body) per question, each also put into the channel's history."""
    from tests.support.signing import envelope, message_event

    channel = emu.channel_id("help")
    out = []
    for n in range(QUESTIONS):
        user = emu.user_id(f"asker{n % ASKERS}")
        text = QUESTION_TEXT[TOPICS[n % len(TOPICS)]].format(n=n)
        posted = emu.post("post", {"channel": channel, "user": user, "text": text})["message"]
        event = message_event(channel, user, text, ts=posted["ts"], team=TEAM)
        body = envelope(
            event, team_id=TEAM, bot_user_id=emu.team["bot_user_id"], api_app_id=emu.info["app_id"]
        )
        out.append((f"{channel}:{posted['ts']}", json.dumps(body).encode()))
    return out


def leaders(cluster: Cluster, jobs: list[Proc]) -> list[Proc]:
    """Processes whose last leadership line says they lead."""
    out = []
    for proc in jobs:
        state = None
        for rec in cluster.log_lines(proc):
            if rec.get("msg") in ("jobs leader acquired", "jobs leader lost"):
                state = rec["msg"]
        if state == "jobs leader acquired":
            out.append(proc)
    return out


def wait_for(predicate: Any, timeout: float, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.tails()}")
        time.sleep(0.2)


@dataclass
class Outcome:
    """What one run of the scenario left behind, for the tests below to judge."""

    event_keys: list[str]
    answers: Counter[int]
    items: list[Item]
    nudges: list[Nudge]
    outbox: list[OutboxMessage]
    posted: Counter[str | None]
    delivered: Counter[str]
    killed: str
    survivor_leads: bool
    exit_codes: dict[str, int | None]
    serve_finished: dict[str, bool]
    phases: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """Run the scenario once (about a minute) and hand every test the same outcome."""
    if not pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL not reachable")
        pytest.skip("PostgreSQL not reachable")
    with fresh_database() as url, Cluster(tmp_path_factory.mktemp("scale"), url) as cluster:
        yield run_scenario(cluster)


def run_scenario(cluster: Cluster) -> Outcome:
    t0 = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - t0, 1)

    now = dt.datetime.now(dt.UTC)
    zone = awake_zone(now)
    emu = cluster.start_emulator(workspace(zone))
    seed_helpers(cluster.database_url, emu, zone)
    # Every DM takes a little while, so the kill below lands while sends are in flight; a claim left
    # behind by the dead process is retaken after the (shortened) lease and checked against history.
    emu.post("fail", {"method": "chat.postMessage", "error": None, "delay": 0.1, "times": -1})
    # Help waits PASSITON_HELP_GRACE_MINUTES for the channel to answer first; this test is about sending
    # across replicas, so the helpers are asked at once.
    env = {"PASSITON_OUTBOX_LEASE_SECONDS": "5", "PASSITON_HELP_GRACE_MINUTES": "0"}
    serves = cluster.start_serve(3, **env)
    jobs = cluster.start_jobs(2, **env)
    cluster.wait_healthy(serves)
    wait_for(lambda: len(leaders(cluster, jobs)) == 1, 30, "one jobs leader", cluster)
    phase("started")

    events = question_events(emu)
    urls = [p.url + "/slack/events" for p in serves]
    answers: Counter[int] = Counter()
    lock = threading.Lock()

    def deliver(body: bytes, replica: int, retry: int | None) -> None:
        headers = sign(cluster.signing_secret, body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        response = httpx.post(urls[replica % len(urls)], content=body, headers=headers, timeout=10)
        with lock:
            answers[response.status_code] += 1

    killed: Proc | None = None
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = []
        for i, (_key, body) in enumerate(events):
            futures.append(pool.submit(deliver, body, i, None))
            if i % 4 == 0:  # Slack retried at once: the same event reaches another replica concurrently
                futures.append(pool.submit(deliver, body, i + 1, 1))
            if i % 5 == 0 and i >= 10:  # ... or a while later
                futures.append(pool.submit(deliver, events[i - 10][1], i + 2, 2))
            time.sleep(0.03)
            if i == QUESTIONS // 2:
                # Kill the leader mid-run, once direct messages are actually going out.
                wait_for(lambda: len(emu.calls("chat.postMessage")) >= 3, 30, "first DMs", cluster)
                [killed] = leaders(cluster, jobs)
                cluster.kill(killed)
        for f in futures:
            f.result()
    assert killed is not None
    survivor = next(p for p in jobs if p is not killed)
    phase("streamed")

    engine = create_engine(cluster.database_url)

    def settled() -> bool:
        with Session(engine) as s:
            handled = s.scalar(select(func.count()).select_from(ProcessedEvent))
            waiting = s.scalar(
                select(func.count()).select_from(Nudge).where(Nudge.status.in_(["planned", "queued"]))
            )
            unsent = s.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
            )
        return handled == QUESTIONS and waiting == 0 and unsent == 0

    # Rows the dead leader had claimed wait out the lease; the survivor sends alone within Slack's limits.
    wait_for(settled, 90, "every event handled and every nudge sent", cluster)
    phase("settled")
    deadline = time.monotonic() + 30
    while leaders(cluster, [survivor]) != [survivor] and time.monotonic() < deadline:
        time.sleep(0.2)
    phase("failed over")

    with Session(engine, expire_on_commit=False) as s:
        items = list(s.scalars(select(Item)))
        nudges = list(s.scalars(select(Nudge)))
        outbox = list(s.scalars(select(OutboxMessage)))
        s.expunge_all()
    engine.dispose()
    posted: Counter[str | None] = Counter(
        ((c["args"].get("metadata") or {}).get("event_payload") or {}).get("idempotency_key")
        for c in emu.calls("chat.postMessage")
    )
    delivered: Counter[str] = Counter()
    for name in (f"helper{i:02d}" for i in range(HELPERS)):
        for m in emu.get("dms", user=emu.user_id(name))["messages"]:
            delivered[m["metadata"]["event_payload"]["idempotency_key"]] += 1

    survivor_leads = leaders(cluster, [survivor]) == [survivor]
    codes = cluster.stop([*serves, survivor])
    finished = {
        p.name: any(str(r.get("msg", "")).startswith("Finished server process") for r in cluster.log_lines(p))
        for p in serves
    }
    phase("stopped")
    print(f"scale-out scenario phases (s): {phases}; nudges {len(nudges)}, items {len(items)}")
    return Outcome(
        event_keys=[key for key, _ in events], answers=answers, items=items, nudges=nudges, outbox=outbox,
        posted=posted, delivered=delivered, killed=killed.name, survivor_leads=survivor_leads,
        exit_codes=codes, serve_finished=finished, phases=phases,
    )  # fmt: skip


def test_every_event_became_exactly_one_item(outcome: Outcome) -> None:
    assert set(outcome.answers) == {200}, outcome.answers
    keys = Counter(i.source_key for i in outcome.items)
    assert set(keys) == set(outcome.event_keys), set(outcome.event_keys) - set(keys)
    assert max(keys.values()) == 1, "a retried or concurrent duplicate became a second item"
    assert {i.kind for i in outcome.items} == {"question"}


def test_nothing_was_planned_twice(outcome: Outcome) -> None:
    nudges = outcome.nudges
    assert nudges, "no help nudge was planned: the scenario would prove nothing"
    assert len({(n.item_id, n.recipient_id, n.kind) for n in nudges}) == len(nudges)
    assert len({n.dedupe_key for n in nudges}) == len(nudges)
    per_nudge = Counter(o.nudge_id for o in outcome.outbox)
    assert set(per_nudge) == {n.id for n in nudges}
    assert max(per_nudge.values()) == 1, "a nudge was queued twice"
    assert len({o.idempotency_key for o in outcome.outbox}) == len(outcome.outbox)


def test_every_planned_nudge_reached_slack_exactly_once(outcome: Outcome) -> None:
    assert all(n.status == "sent" for n in outcome.nudges), Counter(n.status for n in outcome.nudges)
    assert all(o.status == "sent" for o in outcome.outbox)
    expected: Counter[str | None] = Counter({o.idempotency_key: 1 for o in outcome.outbox})
    assert outcome.posted == expected, outcome.posted - expected
    assert outcome.delivered == expected


def test_the_standby_took_the_lead_and_the_rest_stop_cleanly(outcome: Outcome) -> None:
    assert outcome.survivor_leads, f"{outcome.killed} was killed and nobody leads"
    codes = dict(outcome.exit_codes)
    survivor = next(name for name in codes if name.startswith("jobs"))
    assert codes.pop(survivor) == 0, outcome.exit_codes
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: a serve replica ends "by
    # SIGTERM" after logging that it finished.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), outcome.exit_codes
    assert all(outcome.serve_finished.values()), outcome.serve_finished


def test_no_helper_is_asked_twice_within_the_help_recency(outcome: Outcome) -> None:
    per_helper = Counter(n.recipient_id for n in outcome.nudges if n.kind == "help")
    assert max(per_helper.values()) == 1, per_helper.most_common(3)
