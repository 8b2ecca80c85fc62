"""How fast `passiton replay` goes through a large export (default 100,000 messages).

    .venv/bin/python bench/replay.py [--messages 100000] [--runs 3] [--embedder local|hashing] [--keep DIR]

Writes a synthetic export — 400 people in 8 time zones, 28 channels (3 private), two months of chatter,
questions on a dozen topics answered in threads, articles with link unfurls, mentions, reactions, rich-text
blocks, bot messages, joins — and a profiles file for 60% of the people (in a temporary folder, or in DIR with
`--keep`, reused by the next run with the same size). Then runs, each as its own process, `--runs` times:

- the baseline: a process that imports passiton and parses the export (`load_export`), the part of a replay
  that cannot be avoided;
- the command a user runs: `passiton replay EXPORT --profiles P --out report.html --json report.jsonl`, which
  includes interpreter start, imports, the model load, the migrated temporary database, the replay, the
  summary and writing both reports;

and prints the median wall time and CPU time (user + system of the child, threads included) of each, their
ratio, the nudges and answers the command produced (from its JSON lines) and its peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ZONES = [
    ("America/Los_Angeles", -25200), ("America/New_York", -14400), ("Europe/London", 3600),
    ("Europe/Berlin", 7200), ("Asia/Kolkata", 19800), ("Asia/Tokyo", 32400), ("Australia/Sydney", 39600),
    ("America/Sao_Paulo", -10800),
]  # fmt: skip
TOPICS = {
    "postgres": ["vacuum", "index", "replica", "query plan", "autovacuum", "partitioning"],
    "kubernetes": ["pod", "node", "ingress", "helm chart", "eviction", "operator"],
    "terraform": ["module", "state file", "provider", "plan output", "workspace", "drift"],
    "react": ["hook", "render", "suspense", "state", "context", "memo"],
    "css": ["grid", "flexbox", "container query", "layout", "cascade", "selector"],
    "python packaging": ["wheel", "pyproject", "lock file", "venv", "sdist", "entry point"],
    "machine learning": ["training run", "embedding", "fine-tune", "eval set", "model drift", "features"],
    "observability": ["trace", "alert", "dashboard", "metric", "span", "log volume"],
    "security": ["token", "secret", "cve", "rotation", "sso", "audit log"],
    "data pipelines": ["backfill", "dbt model", "airflow dag", "late data", "schema change", "partition"],
    "design systems": ["token", "component", "figma", "spacing", "theme", "variant"],
    "public speaking": ["talk", "slides", "cfp", "rehearsal", "abstract", "meetup"],
}
CHATTER = [
    "morning all", "lunch anyone?", "that demo was great", "I'll be late to standup", "thanks!",
    "shipping the fix now", "can we move the sync to 3pm", "nice work on the release", "back from leave today",
    "the coffee machine is fixed", "reviewing your PR after lunch", "happy friday", "heads down on the migration",
]  # fmt: skip


def _user(i: int, rng: random.Random) -> dict[str, Any]:
    tz, offset = ZONES[i % len(ZONES)]
    name = f"person{i:03d}"
    return {
        "id": f"U{i:08d}", "name": name, "real_name": f"Person {i}", "tz": tz, "tz_offset": offset,
        "deleted": rng.random() < 0.01, "is_bot": False,
        "profile": {"real_name": f"Person {i}", "display_name": f"P{i}", "email": f"{name}@example.org"},
    }  # fmt: skip


def _blocks(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def build(root: Path, messages: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    people = 400
    users = [_user(i, rng) for i in range(people)]
    users.append({"id": "U0DEPLOYBOT", "name": "deploybot", "is_bot": True, "deleted": False,
                  "profile": {"bot_id": "B0DEPLOY", "real_name": "deploybot"}})  # fmt: skip
    ids = [u["id"] for u in users[:people]]
    expertise = {uid: rng.sample(sorted(TOPICS), rng.randint(1, 2)) for uid in ids}
    interests = {uid: rng.sample(sorted(TOPICS), rng.randint(1, 3)) for uid in ids}
    channels: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    for c in range(28):
        private = c >= 25
        size = rng.randint(8, 40) if private else rng.randint(30, 220)
        cid = f"{'G' if private else 'C'}{c:08d}"
        who = rng.sample(ids, size)
        members[cid] = who
        entry = {"id": cid, "name": f"team-{c}", "created": 1, "members": who, "is_private": private}
        (groups if private else channels).append(entry)
    names = {c["id"]: c["name"] for c in channels + groups}
    days = max(1, round(messages / 1700))
    start = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    per_day: dict[tuple[str, str], list[dict[str, Any]]] = {}
    count = 0
    n = 0

    def put(cid: str, msg: dict[str, Any]) -> None:
        nonlocal count
        day = datetime.fromtimestamp(float(msg["ts"]), UTC).strftime("%Y-%m-%d")
        per_day.setdefault((names[cid], day), []).append(msg)
        count += 1

    while count < messages:
        n += 1
        t = start + rng.uniform(0, days * 86400)
        cid = rng.choice(list(members))
        author = rng.choice(members[cid])
        ts = f"{t:.6f}"
        roll = rng.random()
        if roll < 0.12:  # a question, answered in its thread by people who know the topic (or not)
            topic = rng.choice(sorted(TOPICS))
            detail = rng.choice(TOPICS[topic])
            lead = "Does anyone know" if rng.random() < 0.1 else "How do I deal with"
            text = f"{lead} {topic} {detail} issues? our {detail} keeps failing after the deploy"
            helpers = [u for u in members[cid] if topic in expertise[u] and u != author]
            repliers = rng.sample(helpers, min(len(helpers), rng.randint(0, 2))) + rng.sample(members[cid], 1)
            parent = {"type": "message", "user": author, "text": text, "ts": ts, "blocks": _blocks(text),
                      "thread_ts": ts, "reply_count": len(repliers)}  # fmt: skip
            put(cid, parent)
            for k, r in enumerate(repliers):
                rt = f"{t + 300 * (k + 1) + rng.uniform(0, 3600):.6f}"
                body = f"try checking the {detail}; we had the same with {topic} last month"
                put(cid, {"type": "message", "user": r, "text": body, "ts": rt, "thread_ts": ts,
                          "parent_user_id": author})  # fmt: skip
        elif roll < 0.19:  # an article with its unfurl
            topic = rng.choice(sorted(TOPICS))
            url = f"https://blog{n % 40}.example.org/{topic.replace(' ', '-')}/{n}"
            text = f"good read on {topic} <{url}>"
            put(cid, {"type": "message", "user": author, "text": text, "ts": ts, "blocks": _blocks(text),
                      "attachments": [{"from_url": url, "original_url": url, "service_name": f"blog{n % 40}",
                                       "title": f"What we learned about {topic} {rng.choice(TOPICS[topic])}",
                                       "text": f"A long look at {topic} in production."}],
                      "reactions": [{"name": "eyes", "users": rng.sample(members[cid], 2), "count": 2}]})  # fmt: skip
        elif roll < 0.23:
            put(cid, {"type": "message", "subtype": "bot_message", "bot_id": "B0DEPLOY", "username": "deploybot",
                      "text": f"deployed build {n}", "ts": ts})  # fmt: skip
        elif roll < 0.24:
            put(cid, {"type": "message", "subtype": "channel_join", "user": author,
                      "text": f"<@{author}> has joined the channel", "ts": ts})  # fmt: skip
        else:  # chatter, sometimes mentioning someone, sometimes in a thread
            text = rng.choice(CHATTER)
            msg: dict[str, Any] = {"type": "message", "user": author, "text": text, "ts": ts}
            if rng.random() < 0.15:
                other = rng.choice(members[cid])
                msg["text"] = f"<@{other}> {text}"
            if rng.random() < 0.1:
                msg["reactions"] = [{"name": "+1", "users": rng.sample(members[cid], 1), "count": 1}]
            put(cid, msg)
    for (folder, day), msgs in per_day.items():
        path = root / folder / f"{day}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(sorted(msgs, key=lambda m: float(m["ts"]))))
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps(channels))
    (root / "groups.json").write_text(json.dumps(groups))
    profiles = {
        uid: {"interests": interests[uid], "expertise": expertise[uid]} for uid in ids if rng.random() < 0.6
    }
    profiles_path = root.parent / "profiles.json"
    profiles_path.write_text(json.dumps(profiles))
    return root, profiles_path


def run_child(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one child process, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss // 1024


def produced(jsonl: Path) -> tuple[int, int]:
    nudges = answers = 0
    for line in jsonl.read_text().splitlines():
        kind = json.loads(line).get("type")
        nudges += kind == "nudge" and bool(json.loads(line).get("delivered"))
        answers += kind == "answer"
    return nudges, answers


def prepare(folder: Path, messages: int) -> tuple[Path, Path]:
    """The export and profiles for `messages`, built once per folder and size."""
    export_dir, profiles_path = folder / "export", folder / "profiles.json"
    stamp = folder / "messages.txt"
    if not (stamp.exists() and stamp.read_text() == str(messages) and profiles_path.exists()):
        if export_dir.exists():
            shutil.rmtree(export_dir)
        folder.mkdir(parents=True, exist_ok=True)
        build(export_dir, messages)
        stamp.write_text(str(messages))
    return export_dir, profiles_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--embedder", default="local", choices=("local", "hashing"))
    parser.add_argument("--keep", type=Path, help="build the export here and reuse it next time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="passiton-bench-replay-") as tmp:
        root = Path(tmp)
        export_dir, profiles_path = prepare(args.keep or root / "data", args.messages)
        parse = [
            sys.executable,
            "-c",
            f"from bot.replay import load_export; load_export({str(export_dir)!r})",
        ]
        command = [
            str(Path(sys.executable).with_name("passiton")), "replay", str(export_dir), "--profiles", str(profiles_path),
            "--out", str(root / "report.html"), "--json", str(root / "report.jsonl"), "--embedder", args.embedder,
        ]  # fmt: skip
        base: list[tuple[float, float, int]] = []
        full: list[tuple[float, float, int]] = []
        for _ in range(args.runs):
            base.append(run_child(parse))
            full.append(run_child(command))
        nudges, answers = produced(root / "report.jsonl")
    bw, bc = statistics.median(b[0] for b in base), statistics.median(b[1] for b in base)
    fw, fc = statistics.median(f[0] for f in full), statistics.median(f[1] for f in full)
    print(f"export: {args.messages:,} messages, embedder {args.embedder}, {args.runs} runs (medians)")
    print(f"baseline (import + parse):  wall {bw:6.1f} s   cpu {bc:6.1f} s")
    print(
        f"passiton replay (command):  wall {fw:6.1f} s   cpu {fc:6.1f} s   ({fw / bw:.1f}x / {fc / bc:.1f}x the baseline)"
    )
    print(
        f"per message: {fc / max(args.messages, 1) * 1e6:.0f} µs cpu; produced {nudges:,} nudges, {answers:,} answers"
    )
    print(f"peak memory of the replay process: {max(f[2] for f in full):.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
