"""`passiton replay EXPORT`: preview, offline, every nudge and in-channel answer a Slack export would have
produced. Exit codes: 0 done, 2 bad input (the message names the file), 1 an unexpected failure."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.replay.model import Export, ExportError
from bot.replay.profiles import ProfileError

EMBEDDERS = ("local", "hashing")


def _fail(console: Console, message: str, code: int = 2) -> typer.Exit:
    console.print(f"passiton replay: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _date(value: str | None, flag: str, console: Console) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _fail(console, f"{flag} {value!r}: expected a date as YYYY-MM-DD") from None


def _writable(path: Path | None, console: Console) -> None:
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise _fail(console, f"{path}: is a folder; give a file name")
    if not parent.is_dir():
        raise _fail(console, f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise _fail(console, f"{path}: the folder {parent} is not writable")


def replay_command(
    export: Annotated[Path, typer.Argument(help="A Slack export: the .zip or the unzipped folder.")],
    profiles: Annotated[
        Path | None, typer.Option("--profiles", help="Stated interests and expertise (CSV or JSON).")
    ] = None,
    infer_interests: Annotated[
        bool,
        typer.Option("--infer-interests", help="Infer topics from what members wrote (marked 'inferred')."),
    ] = False,
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day to replay (YYYY-MM-DD, UTC).")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day to replay (YYYY-MM-DD, UTC).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path("replay.html"),
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write one JSON line per nudge and answer.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop on any problem in the export (e.g. unknown subtypes).")
    ] = False,
    slack_url: Annotated[
        str,
        typer.Option(
            "--slack-url",
            help="Your workspace's address (https://acme.slack.com), for links to earlier messages in answers.",
        ),
    ] = "https://your-workspace.slack.com",
    embedder: Annotated[
        str, typer.Option("--embedder", help="local (default) or hashing (fast, lexical).", hidden=True)
    ] = "local",
) -> None:
    """Replay a Slack export through the live matching and policy, offline; write what it would have sent."""
    err = Console(stderr=True)
    console = Console()
    if embedder not in EMBEDDERS:
        raise _fail(err, f"--embedder {embedder!r}: use one of {', '.join(EMBEDDERS)}")
    start, end = _date(date_from, "--from", err), _date(date_to, "--to", err)
    if start and end and start > end:
        raise _fail(err, f"--from {start} is after --to {end}")
    _writable(out, err)
    _writable(json_out, err)
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]+)?/?", slack_url):
        raise _fail(
            err, f"--slack-url {slack_url!r}: give the workspace's address, like https://acme.slack.com"
        )
    logging.getLogger("bot").setLevel(logging.WARNING)
    logging.getLogger("jobs").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        _run(console, err, export, profiles, infer_interests, start, end, out, json_out, strict, embedder,
             slack_url)  # fmt: skip
    except (ExportError, ProfileError) as exc:
        raise _fail(err, str(exc)) from None
    except OSError as exc:
        raise _fail(err, f"{exc.filename or export}: {exc.strerror or exc}") from None
    except typer.Exit:
        raise
    except Exception as exc:  # a bug: one line, never a traceback, nothing half-written
        raise _fail(err, f"replay failed: {type(exc).__name__}: {exc}", code=1) from None


# Python's cycle collector runs after every 700 net new objects and, every few runs, walks the whole heap:
# in a replay that is the parsed export, the model and a session holding tens of thousands of rows, walked
# again and again for a few cycles (5 s of a 60 s replay of 100,000 messages). While it replays, what was
# loaded before is set aside (gc.freeze) and the collector runs less often; memory stays the same.
_REPLAY_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def collecting_less() -> Iterator[None]:
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_REPLAY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _run(
    console: Console, err: Console, export_path: Path, profiles_path: Path | None, infer: bool,
    start: dt.date | None, end: dt.date | None, out: Path, json_out: Path | None, strict: bool, embedder_kind: str,
    slack_url: str,
) -> None:  # fmt: skip
    from bot.config import load_settings
    from bot.matching.embedders import make_embedder
    from bot.replay.export import open_export
    from bot.replay.profiles import load_profiles
    from bot.replay.report import write_outputs
    from bot.replay.results import collect
    from bot.replay.runner import Replayer, ReplayOptions, span_days, temporary_database
    from bot.replay.summary import print_summary

    began = time.monotonic()
    # Only on an interactive terminal: piped or redirected, stderr gets no bar, no cursor moves, nothing.
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not err.is_terminal,
    )  # fmt: skip
    with progress:
        with open_export(export_path, strict=True) as reader:
            reading = progress.add_task("reading export", total=reader.day_file_count)
            messages = tuple(reader.iter_messages(lambda _name: progress.advance(reading)))
            export = Export(reader.users, reader.channels, messages, reader.problems)
        if strict and export.problems:
            first = export.problems[0]
            raise ExportError(first.file, first.what)
        loaded = load_profiles(profiles_path, export.users) if profiles_path is not None else None
        model = progress.add_task("loading the embedding model", total=None)
        emb = make_embedder(embedder_kind)
        progress.remove_task(model)
        settings = load_settings(database_url="sqlite://")
        options = ReplayOptions(start=start, end=end, infer_interests=infer, slack_url=slack_url)
        with temporary_database() as db:
            replayer = Replayer(export, db, settings, emb, profiles=loaded, options=options)
            selected = replayer.selected()
            replayer.stats.outside_range = 0  # counted again by run()
            days = progress.add_task("replaying: days", total=span_days(selected))
            task = progress.add_task("replaying: messages", total=len(selected))
            with collecting_less():
                run = replayer.run(
                    lambda n: progress.advance(task, n), lambda d: progress.update(days, completed=d)
                )
            options_shown: dict[str, Any] = {
                "export": str(export_path), "profiles": str(profiles_path) if profiles_path else "none",
                "infer interests": infer, "from": str(start or "start"), "to": str(end or "end"),
                "embedder": emb.name, "morning hour": settings.passiton_morning_hour,
                "helpers per question": settings.passiton_helpers_per_question,
                "shares per day": settings.passiton_share_per_day,
                "nudges per week": settings.passiton_nudges_per_week,
            }  # fmt: skip
            result = collect(run, export_path.name, options_shown)
        write_outputs(result, out, json_out)
    print_summary(console, result)
    wrote = f"report: {out}" + (f", JSON lines: {json_out}" if json_out else "")
    console.print(
        f"{wrote} ({time.monotonic() - began:.1f} s)", markup=False, highlight=False, soft_wrap=True
    )
