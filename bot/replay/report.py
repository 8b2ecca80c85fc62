"""The replay's outputs: a self-contained HTML report, JSON lines, written whole or not at all.

The HTML has no external assets (inline CSS, no scripts, no images or fonts from elsewhere) and escapes
every piece of text from the export. Nothing in it counts what any one person gave: per member it lists
the suggestions they would have received, without a tally; figures are aggregates only.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from bot.replay.results import AnswerView, NudgeRecord, ReplayResult
from bot.replay.score import BASELINE_K, Score, pct

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:62rem;padding:1rem 1.5rem;
color:#1d1c1d;background:#fff}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{margin:1.4rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;
vertical-align:top}th{background:#f6f6f6}
.nudge{border:1px solid #ddd;border-left:4px solid #2eb67d;border-radius:4px;padding:.5rem .8rem;margin:.6rem 0}
.nudge.help{border-left-color:#ecb22e}.nudge.dropped{border-left-color:#bbb;color:#555}
.meta{color:#616061;font-size:.87rem}.reason{font-style:italic}.tag{display:inline-block;font-size:.75rem;
padding:0 .4rem;border-radius:3px;background:#eee;margin-right:.3rem}.tag.inferred{background:#fde8c8}
.tag.private{background:#f3d6e4}blockquote{margin:.3rem 0;padding-left:.7rem;border-left:3px solid #ddd;
white-space:pre-wrap}.dm{background:#f8f8f8;border-radius:4px;padding:.4rem .6rem;margin-top:.4rem;
white-space:pre-wrap;font-size:.9rem}details{margin:.4rem 0}summary{cursor:pointer}
.chart{max-width:100%;height:auto}.silent td{background:#fdecea}
"""


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _safe_url(url: str | None) -> str | None:
    return url if url and url.startswith(("https://", "http://")) else None


def _when(n: NudgeRecord) -> str:
    local = n.send_at_local
    return f"{local:%a %d %b %H:%M} {n.recipient.tz}"


def _tags(n: NudgeRecord) -> str:
    out = [f'<span class="tag">{e(n.kind)}</span>']
    if n.topic:
        source = n.topic_source or "stated"
        cls = "tag inferred" if source == "inferred" else "tag"
        out.append(f'<span class="{cls}">{e(n.topic)} · {e(source)}</span>')
    if n.channel_private:
        out.append('<span class="tag private">private channel</span>')
    return "".join(out)


def _dm(blocks: list[dict[str, Any]], fallback: str) -> str:
    """The DM as plain lines: section and context texts, then the buttons' labels."""
    lines: list[str] = []
    buttons: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "context"):
            text = block.get("text")
            if isinstance(text, dict):
                lines.append(str(text.get("text") or ""))
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("text"):
                    lines.append(str(el["text"]))
        elif kind == "actions":
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") == "overflow":  # the "…" menu and what is in it
                    options = [str((o.get("text") or {}).get("text") or "") for o in el.get("options") or []]
                    buttons.append("[… " + " · ".join(o for o in options if o) + "]")
                    continue
                label = (el.get("text") or {}).get("text") if isinstance(el, dict) else None
                if label:
                    buttons.append(f"[{label}]")
    if buttons:
        lines.append(" ".join(buttons))
    return "\n".join(lines) or fallback


def _nudge_html(n: NudgeRecord, *, who: bool = True) -> str:
    cls = f"nudge {e(n.kind)}" + ("" if n.delivered else " dropped")
    item = n.item_title or n.item_text[:160] or "a message"
    url = _safe_url(n.item_url)
    item_html = f'<a href="{e(url)}" rel="noreferrer noopener">{e(item)}</a>' if url else e(item)
    head = []
    if who:
        head.append(f"to <b>{e(n.recipient.name)}</b>")
    if n.target is not None:
        head.append(f"pass on to <b>{e(n.target.name)}</b>")
    where = f"#{e(n.channel)}" if n.channel else "a conversation"
    author = f" by {e(n.item_author.name)}" if n.item_author else ""
    outcome = e(n.outcome) + (f" ({e(n.dropped_because)})" if n.dropped_because else "")
    return (
        f'<div class="{cls}"><div>{_tags(n)} {" · ".join(head)}</div>'
        f'<div class="reason">{e(n.reason)}</div>'
        f"<div>{e(n.item_kind)} in {where}{author}: {item_html}</div>"
        + (f"<blockquote>{e(n.item_text[:600])}</blockquote>" if n.item_text and n.item_text != item else "")
        + f'<div class="meta">{e(_when(n))} — {outcome}; posted {n.posted_at:%Y-%m-%d %H:%M} UTC</div>'
        f'<details><summary class="meta">the DM</summary><div class="dm">{e(_dm(n.dm_blocks, n.dm_text))}</div>'
        "</details></div>"
    )


def _answer_html(a: AnswerView) -> str:
    r = a.record
    asker = e(a.asker.name) if a.asker else "someone"
    return (
        f'<div class="nudge"><div><span class="tag">answer</span> in #{e(r.channel_name)} to {asker}, '
        f"{r.at:%Y-%m-%d %H:%M} UTC</div><blockquote>{e(r.question[:600])}</blockquote>"
        f'<div class="dm">{e(_dm(r.blocks, r.text))}</div></div>'
    )


def _table(head: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    th = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def top_reasons(nudges: Iterable[NudgeRecord], limit: int = 10) -> list[tuple[str, int]]:
    """Why nudges went out, in aggregate: kind and the topic behind the match."""
    counts = Counter(
        f"{n.kind}: {n.topic or 'similar wording'}" + (" (inferred)" if n.topic_source == "inferred" else "")
        for n in nudges
    )
    return counts.most_common(limit)


def render_html(result: ReplayResult) -> str:
    s = result.stats
    delivered = result.delivered
    kinds = result.by_kind()
    period = f"{s.first:%Y-%m-%d} to {s.last:%Y-%m-%d}" if s.first and s.last else "no messages"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>passiton replay — {e(result.export_name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>passiton replay of {e(result.export_name)}</h1>",
        f"<p>{e(period)} (UTC). What the bot would have done, offline, through the same code that runs live. "
        "Nothing was sent anywhere.</p>",
        "<h2>Summary</h2>",
        _table(
            ["", ""],
            [
                ["messages in the export", s.messages],
                ["replayed (people's messages in channels)", s.replayed],
                ["in DMs and group DMs, not read", s.private_conversations],
                ["outside --from/--to", s.outside_range],
                ["bot and system messages", s.ignored],
                [
                    "items: articles / questions / asks",
                    " / ".join(str(result.items.get(k, 0)) for k in ("article", "question", "ask")),
                ],
                ["members (people)", result.members],
                ["with stated topics", result.stated],
                ["with inferred topics (--infer-interests)", len(result.inferred)],
                ["help nudges that would have been sent", kinds.get("help", 0)],
                ["share nudges that would have been sent", kinds.get("share", 0)],
                ["nudges dropped before sending", len(result.nudges) - len(delivered)],
                ["in-channel answers", len(result.answers)],
                ['"keep these coming?" questions after unanswered nudges', result.continue_questions],
                ["problems skipped", sum(p.count for p in result.problems)],
            ],
        ),
    ]
    if delivered:
        parts.append("<h3>Why nudges went out</h3>")
        parts.append(_table(["kind: topic", "nudges"], top_reasons(delivered)))
    dropped = result.dropped()
    if dropped:
        parts.append("<h3>Why nudges were dropped</h3>")
        parts.append(_table(["reason", "nudges"], dropped.most_common()))
    parts.append(score_html(result.score))

    parts.append("<h2>By day</h2><p class=meta>Days are the recipient's own; times in their time zone.</p>")
    by_day: dict[str, list[NudgeRecord]] = defaultdict(list)
    for n in delivered:
        by_day[f"{n.send_at_local:%Y-%m-%d %A}"].append(n)
    answers_by_day: dict[str, list[AnswerView]] = defaultdict(list)
    for a in result.answers:
        answers_by_day[f"{a.record.at:%Y-%m-%d %A}"].append(a)
    for day in sorted(set(by_day) | set(answers_by_day)):
        parts.append(f"<h3>{e(day)}</h3>")
        parts.extend(_nudge_html(n) for n in by_day.get(day, []))
        parts.extend(_answer_html(a) for a in answers_by_day.get(day, []))
    if not by_day and not answers_by_day:
        parts.append("<p>No nudge would have been sent and no answer posted.</p>")

    parts.append(
        "<h2>By member</h2><p class=meta>What each person would have received, alphabetically. "
        "No tallies: passiton keeps no score of who gives what.</p>"
    )
    by_member: dict[str, list[NudgeRecord]] = defaultdict(list)
    for n in delivered:
        by_member[n.recipient.name].append(n)
    for name in sorted(by_member, key=str.casefold):
        parts.append(f"<h3>{e(name)}</h3>")
        parts.extend(_nudge_html(n, who=False) for n in by_member[name])

    parts.append("<h2>In-channel answers</h2>")
    parts.extend(_answer_html(a) for a in result.answers)
    if not result.answers:
        parts.append("<p>No who-knows question found an answer to give.</p>")

    not_sent = [n for n in result.nudges if not n.delivered]
    parts.append(f"<h2>Dropped before sending</h2><details><summary>{len(not_sent)} nudges</summary>")
    parts.extend(_nudge_html(n) for n in not_sent)
    parts.append("</details>")

    if result.inferred:
        parts.append(
            "<h2>Inferred topics</h2><p class=meta>From each member's own messages. The live bot only ever "
            "proposes these to the member to confirm; here they count as confirmed.</p>"
        )
        rows = [
            [result.inferred_names.get(u, u), ", ".join(t.interests) or "—", ", ".join(t.expertise) or "—"]
            for u, t in sorted(
                result.inferred.items(), key=lambda ut: result.inferred_names.get(ut[0], ut[0])
            )
        ]
        parts.append(_table(["member", "interests (inferred)", "expertise (inferred)"], rows))

    parts.append("<h2>Problems skipped</h2>")
    if result.problems:
        parts.append(
            _table(["file", "problem", "times"], ([p.file, p.what, p.count] for p in result.problems))
        )
    else:
        parts.append("<p>None.</p>")
    if result.options:
        parts.append("<h2>Run</h2>")
        parts.append(_table(["option", "value"], sorted(result.options.items())))
    parts.append("</body></html>\n")
    return "".join(parts)


SCORE_NOTE = (
    "Against what really happened in the export: a question is answered when someone other than the asker "
    "replied in its thread; a help nudge reached an answerer when its recipient replied in that thread after "
    f"the nudge. The baseline DMs the {BASELINE_K} members with the most thread replies so far (not the asker) "
    "when the question is posted, and counts the same way. Coverage looks at answered questions after the first "
    "quarter of the replayed span."
)


def score_rows(score: Score) -> list[tuple[str, str]]:
    """The score as (label, value) rows, shared by the report and the terminal summary."""
    q = f" (after {score.quarter_at:%Y-%m-%d})" if score.quarter_at else ""
    silent = score.silent_months
    return [
        ("questions in the replayed span", f"{score.questions:,}"),
        ("answered (a thread reply by someone else)", f"{score.answered:,}"),
        ("passiton: a nudged member really answered", pct(score.reached, score.answered)),
        (f"baseline: one of the top {BASELINE_K} repliers so far answered", pct(score.baseline_reached, score.answered)),
        ("help nudges sent", f"{score.help_sent:,}"),
        ("… that reached someone who answered", pct(score.help_reached, score.help_sent)),
        (f"coverage: answered questions with a help nudge{q}", pct(score.later_covered, score.later_answered)),
        (f"passiton / baseline on those{q}",
         f"{pct(score.later_reached, score.later_answered)} / {pct(score.later_baseline_reached, score.later_answered)}"),
        ("months with questions and no help nudge", f"{len(silent)} of {sum(1 for m in score.months if m.questions)}"
         + (f" ({', '.join(silent[:6])}{', …' if len(silent) > 6 else ''})" if silent else "")),
        ("most nudges to one member in a week", str(score.max_nudges_week)),
        ("most share nudges to one member in a day", str(score.max_shares_day)),
    ]  # fmt: skip


def month_chart(score: Score) -> str:
    """Questions (grey) and help nudges (amber) per month as an inline SVG; a month with questions and no help
    nudge is marked red under its bars, so a silent stretch shows at a glance."""
    months = score.months
    if not months:
        return ""
    top = max(max(m.questions, m.help) for m in months) or 1
    width, height, bar = max(14 * len(months), 200), 120, 6
    out = [
        f'<svg class="chart" role="img" width="{width}" height="{height + 14}" viewBox="0 0 {width} {height + 14}" '
        'xmlns="http://www.w3.org/2000/svg"><title>questions and help nudges per month</title>'
    ]
    for i, m in enumerate(months):
        x = i * 14
        for dx, value, color, what in (
            (0, m.questions, "#bbb", "questions"),
            (bar, m.help, "#ecb22e", "help"),
        ):
            h = round(height * value / top)
            out.append(
                f'<rect x="{x + dx}" y="{height - h}" width="{bar}" height="{h}" fill="{color}">'
                f"<title>{e(m.month)}: {value} {what}</title></rect>"
            )
        if m.silent:
            out.append(
                f'<rect x="{x}" y="{height + 3}" width="{2 * bar}" height="6" fill="#e01e5a">'
                f"<title>{e(m.month)}: {m.questions} questions, no help nudge</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)


def score_html(score: Score | None) -> str:
    parts = ["<h2>Score</h2>"]
    if score is None or not score.has_threads:
        parts.append(
            "<p>This export has no thread replies, so there is nothing to score the nudges against: the score "
            "needs threads to know who really answered.</p>"
        )
        return "".join(parts)
    parts.append(f"<p class=meta>{e(SCORE_NOTE)}</p>")
    parts.append(_table(["", ""], score_rows(score)))
    parts.append(
        "<h3>Per month</h3><p class=meta>Grey: questions; amber: help nudges; red underneath: questions arrived "
        "and no help nudge went out.</p>"
    )
    parts.append(month_chart(score))
    head = "".join(
        f"<th>{e(h)}</th>" for h in ("month", "questions", "answered", "help nudges", "share nudges")
    )
    rows = "".join(
        f"<tr{' class=silent' if m.silent else ''}>"
        + "".join(f"<td>{e(c)}</td>" for c in (m.month, m.questions, m.answered, m.help, m.share))
        + "</tr>"
        for m in score.months
    )
    parts.append(f"<details><summary>the figures</summary><table><tr>{head}</tr>{rows}</table></details>")
    return "".join(parts)


def write_atomically(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Write to a temporary file beside `path` and rename it over `path` only once it is complete."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_lines(result: ReplayResult) -> Iterable[str]:
    for n in result.nudges:
        yield json.dumps(n.as_json(), ensure_ascii=False)
    for a in result.answers:
        yield json.dumps(a.as_json(), ensure_ascii=False)
    if result.score is not None:
        yield json.dumps(result.score.as_json(), ensure_ascii=False)


def write_outputs(result: ReplayResult, html_path: Path | None, json_path: Path | None) -> None:
    """Both outputs rendered in memory first, then each written whole; nothing half-written is left."""
    page = render_html(result) if html_path is not None else None
    lines = list(json_lines(result)) if json_path is not None else None
    if json_path is not None and lines is not None:
        write_atomically(json_path, lambda fh: fh.writelines(line + "\n" for line in lines))
    if html_path is not None and page is not None:
        write_atomically(html_path, lambda fh: fh.write(page))
