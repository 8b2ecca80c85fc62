"""Replay Stack Exchange sites as Slack exports and print, per site, how often passiton's help nudges would have
reached someone who really answered, beside "DM the 3 most active repliers so far" from the same export.

    nice -n 5 python bench/se_replay.py /tmp/sedata/*.xml [--max-questions N] [--from D] [--to D]

Each site is converted by bench/se_export.py (same options; the export and profiles are cached in a temporary
folder keyed by the dump and the options), replayed with `passiton replay --profiles`, and its score read
from the replay's JSON lines (the `"type": "score"` line; definitions in bot/replay/score.py). Reports and
JSON lines stay in the cache folder for a closer look.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXPORTER = Path(__file__).resolve().parent / "se_export.py"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _cache(posts: Path, options: list[str]) -> Path:
    stat = posts.stat()
    # The converter's own source is part of the key: a changed converter never reads a stale export.
    exporter = hashlib.sha256(EXPORTER.read_bytes()).hexdigest()
    key = hashlib.sha256(
        json.dumps([str(posts.resolve()), stat.st_size, stat.st_mtime_ns, options, exporter]).encode()
    ).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "passiton-se-replay" / f"{posts.stem}-{key}"


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def site(posts: Path, options: list[str], embedder: str, reuse: bool = False) -> dict[str, Any]:
    folder = _cache(posts, options)
    export, profiles = folder / "export", folder / "profiles.json"
    if not (export / "users.json").is_file() or not profiles.is_file():
        done = _run([sys.executable, str(EXPORTER), str(posts), str(folder), *options])
        if done.returncode != 0:
            raise SystemExit(f"se_replay: {posts}: {done.stderr.strip() or done.stdout.strip()}")
        (folder / "facts.json").write_text(done.stdout.split(": ", 1)[1])
    facts = json.loads((folder / "facts.json").read_text())
    jsonl = folder / f"replay-{embedder}.jsonl"
    seconds_file = folder / f"replay-{embedder}.seconds"
    if reuse and jsonl.is_file() and seconds_file.is_file():
        return _row(posts, folder, facts, jsonl, float(seconds_file.read_text()))
    began = time.monotonic()
    done = _run([
        sys.executable, "-m", "bot.cli", "replay", str(export), "--profiles", str(profiles),
        "--out", str(folder / f"replay-{embedder}.html"), "--json", str(jsonl), "--embedder", embedder,
    ])  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"se_replay: replay of {posts.stem} failed: {done.stderr.strip()[-2000:]}")
    seconds = time.monotonic() - began
    seconds_file.write_text(f"{seconds:.1f}")
    return _row(posts, folder, facts, jsonl, seconds)


def _row(posts: Path, folder: Path, facts: dict[str, Any], jsonl: Path, seconds: float) -> dict[str, Any]:
    score = next(
        (row for line in jsonl.read_text().splitlines() if (row := json.loads(line)).get("type") == "score"),
        None,
    )
    if score is None:
        raise SystemExit(f"se_replay: {jsonl}: no score line (is the replay older than the score?)")
    return {"site": posts.stem, "facts": facts, "score": score, "seconds": seconds, "folder": str(folder)}


def table(rows: list[dict[str, Any]]) -> str:
    head = [
        "site", "window", "months", "questions (exported)", "answered", "passiton reached", "top-3 reached", "help nudges (reached)",
        "coverage after Q1", "passiton / top-3 after Q1", "silent months", "max/week", "max shares/day", "replay s",
    ]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        s, f = r["score"], r["facts"]
        if not s["has_threads"]:
            lines.append(f"| {r['site']} | no threads: nothing to score |" + " |" * (len(head) - 2))
            continue
        months = s["months"]
        with_questions = sum(1 for m in months if m["questions"])
        cells = [
            r["site"], f"{f['from']} – {f['to']}", str(len(months)), f"{s['questions']} ({f['questions']})", str(s["answered"]),
            _pct(s["reached_answerer_share"]), _pct(s["baseline_top3_share"]),
            f"{s['help_nudges']} ({_pct(s['help_nudges_reached_share'])})", _pct(s["later_coverage"]),
            f"{_pct(s['later_reached_share'])} / {_pct(s['later_baseline_top3_share'])}",
            f"{len(s['silent_months'])} of {with_questions}", str(s["max_nudges_per_member_week"]),
            str(s["max_shares_per_member_day"]), f"{r['seconds']:.0f}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("posts", type=Path, nargs="+", help="Stack Exchange Posts.xml files, one per site")
    parser.add_argument("--max-questions", type=int, help="at most this many questions per site")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    parser.add_argument("--history", type=float, default=0.2)
    parser.add_argument("--embedder", default="local", help="local (default) or hashing")
    parser.add_argument("--reuse", action="store_true", help="reuse a cached replay of the same export")
    args = parser.parse_args()
    options = ["--history", str(args.history)]
    if args.max_questions:
        options += ["--max-questions", str(args.max_questions)]
    if args.start:
        options += ["--from", args.start]
    if args.end:
        options += ["--to", args.end]
    rows = []
    for posts in args.posts:
        row = site(posts, options, args.embedder, args.reuse)
        rows.append(row)
        print(f"{row['site']}: {row['seconds']:.0f} s, {row['folder']}", file=sys.stderr, flush=True)
    print(f"se_export options: {' '.join(options)}; embedder {args.embedder}")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
