"""Who the replay's nudges reach, week by week: share nudges per member, help nudges, caps, back-off.

    .venv/bin/python bench/replay_nudges.py [EXPORT] [--profiles PROFILES] [--json OUT.jsonl]

Replays the export (default: examples/sample-export with examples/profiles.json) through the live code, as
`passiton replay` does, then prints from what it left behind:

- share nudges delivered, per opted-in member and ISO week: as the member nudged (the giver) and as the
  member they are about (the target, someone with a stated interest the article matched);
- of the opted-in members with a stated interest, how many were the target of at least one share nudge in
  every week of the export, and how many received at least one in every week;
- per week, the members the ranker matched to an article (a "matching interest") and how many of them
  were the target of a share nudge that week (the planner's calls are watched for this);
- the caps as measured: most shares one member received on one local day, most nudges in one local week;
- help nudges by outcome;
- members held in back-off when the export ends (held: no nudge may reach them then).

Numbers, not pass/fail; run it before and after a change on the same export to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.matching.embedders import make_embedder  # noqa: E402
from bot.policy.time import local_date  # noqa: E402
from bot.replay.export import open_export  # noqa: E402
from bot.replay.model import Export  # noqa: E402
from bot.replay.profiles import load_profiles  # noqa: E402
from bot.replay.report import write_outputs  # noqa: E402
from bot.replay.results import collect  # noqa: E402
from bot.replay.runner import Replayer, ReplayOptions, temporary_database  # noqa: E402
from bot.store.models import Member  # noqa: E402

DELIVERED = ("sent", "acted", "dismissed", "lapsed")
_MEMBER_IDS: dict[str, int] = {}


def _week(day: dt.date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso[0], iso[1]


def _held(member: Member, at: dt.datetime, backoff_after: int = 3) -> bool:
    """Held back at `at`, by the rule of whichever version of passiton runs this (the hold's end exists
    only where the back-off wears off)."""
    if not member.opted_in or member.delivery == "off":
        return False
    held_until = getattr(member, "held_until", None)
    if held_until is not None:
        return bool(at < held_until)
    if hasattr(member, "held_until"):
        return False
    return member.unanswered >= backoff_after and member.asked_to_continue_at is not None


MATCHED: dict[tuple[int, int], set[int]] = defaultdict(set)  # ISO week -> member ids the ranker matched


def _watch_share_matches() -> None:
    """Record every (week, target) the ranker handed to the share policy, wherever the planner imported
    `plan_shares` from (its module may move between versions)."""
    import bot.policy.share as share_policy

    original = share_policy.plan_shares

    def watched(items: Any, matches: Any, ties: Any, state: Any, now: dt.datetime, **kw: Any) -> Any:
        for candidates in matches.values():
            for cand in candidates:
                prefs = state.prefs.get(cand.member_id)
                MATCHED[_week(local_date(prefs.tz if prefs else "UTC", now))].add(cand.member_id)
        return original(items, matches, ties, state, now, **kw)

    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "plan_shares", None) is original:
            module.plan_shares = watched  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("export", nargs="?", default=str(ROOT / "examples" / "sample-export"))
    parser.add_argument("--profiles", default=str(ROOT / "examples" / "profiles.json"))
    parser.add_argument("--json", default=None, help="also write the replay's JSON lines here")
    args = parser.parse_args()

    with open_export(Path(args.export), strict=True) as reader:
        export = Export(reader.users, reader.channels, tuple(reader.iter_messages()), reader.problems)
    profiles = load_profiles(Path(args.profiles), export.users)
    settings = load_settings(database_url="sqlite://")
    _watch_share_matches()
    with temporary_database() as db:
        replayer = Replayer(
            export, db, settings, make_embedder("local"), profiles=profiles, options=ReplayOptions()
        )
        run = replayer.run()
        result = collect(run, Path(args.export).name, {})
        with db.session() as s:
            members = list(s.scalars(select(Member).where(Member.workspace_id == run.workspace_id)))
            end = (run.stats.last or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1)
            held = sum(1 for m in members if _held(m, end))
            _MEMBER_IDS.update({m.slack_user_id: m.id for m in members if m.slack_user_id})
            opted = sum(1 for m in members if m.opted_in)
    if args.json:
        write_outputs(result, Path(args.json).with_suffix(".html"), Path(args.json))
    rows = [json.loads(json.dumps(_plain(n))) for n in result.nudges]
    _report(rows, export, profiles, run.stats.first, run.stats.last, held, opted)


def _plain(n: Any) -> dict[str, Any]:
    return {
        "kind": n.kind,
        "status": n.status,
        "recipient": n.recipient.slack_id,
        "recipient_tz": n.recipient.tz,
        "target": n.target.slack_id if n.target else None,
        "target_tz": n.target.tz if n.target else None,
        "sent_at": (n.sent_at or n.send_at).isoformat() if (n.sent_at or n.send_at) else None,
    }


def _report(
    rows: list[dict[str, Any]], export: Export, profiles: Any, first: Any, last: Any, held: int, opted: int
) -> None:
    interested = {uid for uid, p in profiles.by_user.items() if getattr(p, "interests", None)}
    first_day, last_day = first.date(), last.date()
    weeks = sorted({_week(first_day + dt.timedelta(days=d)) for d in range((last_day - first_day).days + 1)})
    shares = [r for r in rows if r["kind"] == "share" and r["status"] in DELIVERED]
    helps = [r for r in rows if r["kind"] == "help"]
    as_giver: dict[str, set[tuple[int, int]]] = defaultdict(set)
    as_target: dict[str, set[tuple[int, int]]] = defaultdict(set)
    per_day: Counter[tuple[str, dt.date]] = Counter()
    per_week: Counter[tuple[str, tuple[int, int]]] = Counter()
    for r in rows:
        if r["status"] not in DELIVERED or r["sent_at"] is None:
            continue
        day = local_date(r["recipient_tz"], dt.datetime.fromisoformat(r["sent_at"]))
        per_week[(r["recipient"], _week(day))] += 1
        if r["kind"] == "share":
            per_day[(r["recipient"], day)] += 1
            as_giver[r["recipient"]].add(_week(day))
            if r["target"]:
                as_target[r["target"]].add(_week(day))
    n_weeks = len(weeks)
    print(
        f"export: {first_day} .. {last_day}, {n_weeks} ISO weeks; {opted} opted-in members, {len(interested)} with interests"
    )
    print(
        f"share nudges delivered: {len(shares)}  ({len(shares) / max(opted, 1) / n_weeks:.2f} per opted-in member per week)"
    )
    every_week_target = sum(1 for u in interested if len(as_target.get(u, ())) >= n_weeks)
    every_week_giver = sum(1 for u in interested if len(as_giver.get(u, ())) >= n_weeks)
    some_target = sum(1 for u in interested if as_target.get(u))
    print(
        f"members with interests who were the target of >= 1 share nudge in every week: {every_week_target}/{len(interested)} (in any week: {some_target})"
    )
    print(
        f"members with interests who received >= 1 share nudge in every week: {every_week_giver}/{len(interested)}"
    )
    weekly = [len([u for u in interested if w in as_target.get(u, ())]) for w in weeks]
    print(
        f"  targets per week: {weekly}; receivers per week: {[len([u for u in as_giver if w in as_giver[u]]) for w in weeks]}"
    )
    print(
        f"most shares to one member on one local day: {max(per_day.values(), default=0)}; most nudges in one local week: {max(per_week.values(), default=0)}"
    )
    slack_ids = {m_id: uid for uid, m_id in _MEMBER_IDS.items()}
    for week in weeks:
        matched = {slack_ids.get(m) for m in MATCHED.get(week, set())} - {None}
        got = {u for u in matched if week in as_target.get(str(u), ())}
        print(
            f"  week {week[1]}: members matched to an article {len(matched)}, of them targeted that week {len(got)}"
        )
    outcomes = Counter(r["status"] for r in helps)
    print(
        f"help nudges: {len(helps)} planned; delivered {sum(outcomes[s] for s in DELIVERED)}; by status {dict(sorted(outcomes.items()))}"
    )
    print(f"members held in back-off when the export ends: {held}")


if __name__ == "__main__":
    main()
