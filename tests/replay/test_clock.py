"""The replay's event-driven clock decides what ticking every morning decides: a synthetic export over five
months with a long quiet stretch, replayed both ways, gives the same JSON lines and the same nudges."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import load_settings
from bot.matching.embedders import make_embedder
from bot.replay import load_export
from bot.replay.profiles import load_profiles
from bot.replay.report import write_outputs
from bot.replay.results import collect
from bot.replay.runner import Replayer, ReplayOptions, ReplayStats, span_days, temporary_database
from bot.store.models import Member, Nudge, OutboxMessage
from tests.replay.exports import user, write_export

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]
TOPICS = {"postgres": "vacuum", "kubernetes": "ingress", "terraform": "state file", "css": "grid layout"}
START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 150
QUIET = range(40, 110)  # two quiet months: a message now and then


def _export(root: Path) -> tuple[Path, Path]:
    rng = random.Random(3)
    people = [f"U{n:04d}" for n in range(30)]
    users = [user(uid, f"P{n}", tz=ZONES[n % len(ZONES)]) for n, uid in enumerate(people)]
    channels = [
        {"id": f"C{c:04d}", "name": f"team-{c}", "created": 1, "members": rng.sample(people, 14)}
        for c in range(4)
    ]
    days: dict[str, list[Any]] = {}
    for d in range(DAYS):
        count = (1 if rng.random() < 0.1 else 0) if d in QUIET else rng.randint(2, 6)
        for _ in range(count):
            ch = rng.choice(channels)
            author = rng.choice(ch["members"])
            when = START + timedelta(days=d, seconds=rng.randint(0, 86_399))
            ts = f"{when.timestamp():.6f}"
            topic = rng.choice(sorted(TOPICS))
            roll = rng.random()
            msgs: list[dict[str, Any]]
            if roll < 0.3:
                text = f"How do I fix {topic} {TOPICS[topic]} problems? ours keeps failing"
                replier = rng.choice([p for p in ch["members"] if p != author])
                reply_ts = f"{when.timestamp() + 900:.6f}"
                msgs = [
                    {"type": "message", "user": author, "text": text, "ts": ts, "thread_ts": ts, "reply_count": 1},
                    {"type": "message", "user": replier, "text": f"check the {TOPICS[topic]}", "ts": reply_ts,
                     "thread_ts": ts, "parent_user_id": author},
                ]  # fmt: skip
            elif roll < 0.55:
                url = f"https://blog.example.org/{topic}/{d}-{rng.randint(0, 999)}"
                msgs = [{"type": "message", "user": author, "text": f"good read on {topic} <{url}>", "ts": ts,
                         "attachments": [{"from_url": url, "original_url": url, "title": f"{topic} in production",
                                          "text": f"What we learned running {topic}."}]}]  # fmt: skip
            else:
                msgs = [{"type": "message", "user": author, "text": "thanks, see you at standup", "ts": ts}]
            for m in msgs:
                day = datetime.fromtimestamp(float(m["ts"]), UTC).strftime("%Y-%m-%d")
                days.setdefault(f"{ch['name']}/{day}", []).append(m)
    for msgs in days.values():
        msgs.sort(key=lambda m: float(m["ts"]))
    folder = write_export(root / "export", days, users=users, channels=channels)
    profiles = {
        uid: {"interests": rng.sample(sorted(TOPICS), 2), "expertise": rng.sample(sorted(TOPICS), 1)}
        for uid in people
        if rng.random() < 0.7
    }
    path = root / "profiles.json"
    path.write_text(json.dumps(profiles))
    return folder, path


def _replay(folder: Path, profiles: Path, out: Path, *, every_tick: bool) -> tuple[ReplayStats, list[Any]]:
    export = load_export(folder)
    settings = load_settings(database_url="sqlite://")
    with temporary_database() as db:
        replayer = Replayer(
            export, db, settings, make_embedder("hashing"), profiles=load_profiles(profiles, export.users),
            options=ReplayOptions(every_tick=every_tick),
        )  # fmt: skip
        run = replayer.run()
        write_outputs(collect(run, "synthetic", {}), out.with_suffix(".html"), out)
        with db.session() as s:
            rows: list[Any] = sorted(
                map(
                    tuple,
                    s.execute(select(Nudge.kind, Nudge.status, Nudge.recipient_id, Nudge.item_id)).all(),
                )
            )
            rows += sorted(map(tuple, s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))))
            rows += sorted(
                map(tuple, s.execute(select(Member.id, Member.unanswered, Member.asked_to_continue_at)))
            )
    return run.stats, rows


def test_event_driven_ticks_decide_what_ticking_every_morning_decides(tmp_path: Path) -> None:
    folder, profiles = _export(tmp_path)
    every_stats, every_rows = _replay(folder, profiles, tmp_path / "every.jsonl", every_tick=True)
    driven_stats, driven_rows = _replay(folder, profiles, tmp_path / "driven.jsonl", every_tick=False)
    every_lines = (tmp_path / "every.jsonl").read_text()
    assert (tmp_path / "driven.jsonl").read_text() == every_lines
    assert driven_rows == every_rows
    # Not vacuous: nudges were planned and sent, and a large share of ticks was skipped (the quiet months
    # among them). Since any thread answer ends a back-off (issue 15), more members stay ready and more
    # ticks have work: 293 of 603 skipped on this export, where it was over half before.
    kinds = [json.loads(line).get("type") for line in every_lines.splitlines()]
    assert kinds.count("nudge") >= 5
    assert every_stats.ticks_skipped == 0
    assert driven_stats.ticks + driven_stats.ticks_skipped == every_stats.ticks
    assert driven_stats.ticks_skipped > every_stats.ticks // 3


def test_span_days_counts_calendar_days(tmp_path: Path) -> None:
    folder, _profiles = _export(tmp_path)
    messages = load_export(folder).messages
    assert span_days(messages) == (messages[-1].posted_at.date() - messages[0].posted_at.date()).days + 1
    assert span_days(messages) >= DAYS - 2
    assert span_days(()) == 0
