"""The terminal summary of a replay: aggregates only (nudges by kind, per day, top reasons)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from bot.replay.report import score_rows, top_reasons
from bot.replay.results import ReplayResult

MAX_DAYS = 31
MAX_PROBLEMS = 8
MAX_MONTHS = 36


def print_summary(console: Console, result: ReplayResult) -> None:
    s = result.stats
    kinds = result.by_kind()
    period = f"{s.first:%Y-%m-%d} – {s.last:%Y-%m-%d}" if s.first and s.last else "no messages"
    overview = Table(title=f"passiton replay · {result.export_name} · {period}", show_header=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    overview.add_row("messages replayed", f"{s.replayed:,} of {s.messages:,}")
    overview.add_row(
        "articles / questions / asks",
        " / ".join(str(result.items.get(k, 0)) for k in ("article", "question", "ask")),
    )
    overview.add_row("members with stated topics", f"{result.stated} of {result.members}")
    if result.inferred:
        overview.add_row("members with inferred topics", str(len(result.inferred)))
    overview.add_row("help nudges", str(kinds.get("help", 0)))
    overview.add_row("share nudges", str(kinds.get("share", 0)))
    overview.add_row("dropped before sending", str(len(result.nudges) - len(result.delivered)))
    overview.add_row("in-channel answers", str(len(result.answers)))
    overview.add_row("problems skipped", str(sum(p.count for p in result.problems)))
    console.print(overview)

    days: Counter[tuple[str, str]] = Counter()
    for n in result.delivered:
        days[(f"{n.send_at_local:%Y-%m-%d}", n.kind)] += 1
    for a in result.answers:
        days[(f"{a.record.at:%Y-%m-%d}", "answer")] += 1
    if days:
        table = Table(title="per day (recipient's local day)")
        for col in ("day", "help", "share", "answers"):
            table.add_column(col, justify="right" if col != "day" else "left")
        dates = sorted({d for d, _ in days})
        for d in dates[:MAX_DAYS]:
            table.add_row(d, str(days[(d, "help")]), str(days[(d, "share")]), str(days[(d, "answer")]))
        if len(dates) > MAX_DAYS:
            table.caption = f"… and {len(dates) - MAX_DAYS} more days in the report"
        console.print(table)

    print_score(console, result)

    reasons = top_reasons(result.delivered, 8)
    if reasons:
        table = Table(title="top reasons")
        table.add_column("kind: topic")
        table.add_column("nudges", justify="right")
        for reason, count in reasons:
            table.add_row(reason, str(count))
        console.print(table)
    dropped = result.dropped()
    if dropped:
        console.print("dropped: " + ", ".join(f"{why} {n}" for why, n in dropped.most_common(6)), style="dim")
    if result.problems:
        console.print(f"[yellow]{len(result.problems)} kinds of problems skipped[/], e.g.:")
        for p in result.problems[:MAX_PROBLEMS]:
            console.print(f"  {p}", markup=False, highlight=False)


def print_score(console: Console, result: ReplayResult) -> None:
    """What the nudges would have achieved against the export's real answers, and per month."""
    score = result.score
    if score is None or not score.has_threads:
        console.print(
            "score: this export has no thread replies, nothing to score the nudges against", style="dim"
        )
        return
    table = Table(title="score against who really answered", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label, value in score_rows(score):
        table.add_row(label, value)
    console.print(table)
    if not score.months:
        return
    months = Table(title="per month (UTC)")
    for col in ("month", "questions", "answered", "help", "share", ""):
        months.add_column(col, justify="left" if col in ("month", "") else "right")
    for m in score.months[:MAX_MONTHS]:
        months.add_row(
            m.month, str(m.questions), str(m.answered), str(m.help), str(m.share),
            "[red]no help nudges[/]" if m.silent else "",
        )  # fmt: skip
    if len(score.months) > MAX_MONTHS:
        later = score.months[MAX_MONTHS:]
        silent = sum(m.silent for m in later)
        months.caption = f"… and {len(later)} more months in the report, {silent} of them without help nudges"
    console.print(months)
