"""`passiton replay` shows a progress bar (days and messages) on an interactive terminal, and nothing of it
when its output is piped: a real process each time, once with stderr on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BAR = "━"  # rich's bar


def _command(tmp_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "bot.cli", "replay", str(ROOT / "examples" / "sample-export"),
        "--profiles", str(ROOT / "examples" / "profiles.json"), "--out", str(tmp_path / "r.html"),
        "--json", str(tmp_path / "r.jsonl"), "--embedder", "hashing",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("FORCE_TERMINAL", "FORCE_COLOR", "TTY_COMPATIBLE")
    }
    return {**env, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "COLUMNS": "120"}


def test_piped_output_has_no_progress_bar(tmp_path: Path) -> None:
    done = subprocess.run(
        _command(tmp_path), capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert BAR not in done.stderr and "replaying" not in done.stderr
    # stdout has the summary's tables (box lines), but no progress: no label, no carriage return, no escape.
    for stream in (done.stdout, done.stderr):
        assert "\r" not in stream and "\x1b[" not in stream and "replaying" not in stream
    assert "report:" in done.stdout
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines)


def test_a_terminal_shows_days_and_messages(tmp_path: Path) -> None:
    """The same command with stderr on a pseudo-terminal draws the bar (so the test above can fail)."""
    main, side = pty.openpty()
    try:
        child = subprocess.Popen(
            _command(tmp_path), stdout=subprocess.PIPE, stderr=side, env=_env(), cwd=tmp_path
        )
    finally:
        os.close(side)
    seen = b""
    while True:
        ready, _, _ = select.select([main], [], [], 600)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert child.wait(timeout=600) == 0
    assert child.stdout is not None
    out = child.stdout.read().decode()
    text = seen.decode(errors="replace")
    assert "replaying: days" in text and "replaying: messages" in text and BAR in text
    assert "replaying" not in out and "report:" in out  # the summary stays on stdout, without the bar
