"""`passiton serve` as an operator starts it: a subprocess, configured by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.store.migrate import upgrade
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator


def test_passiton_serve_answers_health_and_signed_commands(tmp_path: Path, emu: SlackEmulator) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": emu.bot_token,
        "SLACK_SIGNING_SECRET": emu.signing_secret,
        "SLACK_API_URL": emu.url,
        "PASSITON_EMBEDDER": "local",
        "SLACK_CLIENT_ID": "",
        "SLACK_CLIENT_SECRET": "",
    }
    with socket_port() as port:
        pass
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "serve did not come up"
            time.sleep(0.1)
        body = signing.slash_command_body(
            "help", user_id=emu.user("alice").id, team_id=emu.team.id, channel_id=emu.channel("general").id
        )
        resp = signing.post_signed(base + "/slack/events", body, emu.signing_secret)
        assert resp.status_code == 200 and "/passiton interests" in resp.json()["text"], _output(proc)
        assert signing.post_signed(base + "/slack/events", body, "wrong").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_passiton_run_without_app_token_exits_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "SLACK_APP_TOKEN": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert done.returncode == 2 and b"SLACK_APP_TOKEN" in done.stderr


def _output(proc: subprocess.Popen[bytes]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out.decode(errors="replace")[:6000]


class socket_port:
    """A free TCP port on 127.0.0.1 (bound then released)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def _start_failure(tmp_path: Path, command: list[str], **env_overrides: str) -> tuple[int, list[str], str]:
    """Run `passiton <command>` as an operator would; (exit status, stderr lines, everything printed)."""
    url = f"sqlite:///{tmp_path / 'start.db'}"
    upgrade(url)
    env = {
        **os.environ, "DATABASE_URL": url, "PASSITON_EMBEDDER": "local", "SLACK_CLIENT_ID": "",
        "SLACK_CLIENT_SECRET": "", "SLACK_SIGNING_SECRET": "s3cret", **env_overrides,
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command], env=env, cwd=tmp_path, capture_output=True, timeout=90
    )
    err = done.stderr.decode(errors="replace")
    return done.returncode, [line for line in err.splitlines() if line.strip()], err + done.stdout.decode()


def test_serve_and_run_with_a_rejected_token_say_so_in_one_line(tmp_path: Path, emu: SlackEmulator) -> None:
    for command in (["serve", "--port", "0"], ["run"]):
        status, lines, printed = _start_failure(
            tmp_path, command, SLACK_BOT_TOKEN="xoxb-not-a-real-token", SLACK_API_URL=emu.url,
            SLACK_APP_TOKEN="xapp-1-whatever",
        )  # fmt: skip
        assert status != 0 and "Traceback" not in printed, printed
        assert lines == ["passiton: setting SLACK_BOT_TOKEN: Slack refused it: invalid_auth"], printed
    # Socket Mode: a valid bot token but an app token Slack does not know.
    status, lines, printed = _start_failure(
        tmp_path,
        ["run"],
        SLACK_BOT_TOKEN=emu.bot_token,
        SLACK_API_URL=emu.url,
        SLACK_APP_TOKEN="xapp-1-unknown",
    )
    assert status != 0 and "Traceback" not in printed, printed
    assert len(lines) == 1 and "setting SLACK_APP_TOKEN: Slack refused it: invalid_auth" in lines[0], printed


def test_serve_and_run_with_slack_unreachable_say_so_in_one_line(tmp_path: Path) -> None:
    with socket_port() as port:
        pass  # nothing listens there now
    for command in (["serve", "--port", "0"], ["run"]):
        status, lines, printed = _start_failure(
            tmp_path, command, SLACK_BOT_TOKEN="xoxb-1-2-3", SLACK_APP_TOKEN="xapp-1-whatever",
            SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
        )  # fmt: skip
        assert status != 0 and "Traceback" not in printed, printed
        assert len(lines) == 1 and lines[0].startswith(
            "passiton: setting SLACK_API_URL: can't reach Slack"
        ), printed
