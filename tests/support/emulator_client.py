"""Drive an emulator running in another process (see `python -m tests.support.slack_emulator`).

proc, admin = start_standalone(seed="small")
admin.fail_next("chat.postMessage", "ratelimited", times=3)
...
assert admin.count("chat.postMessage", ok=True) == 10
stop_standalone(proc)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
JSON = dict[str, Any]


class EmulatorAdmin:
    def __init__(self, api_url: str, timeout: float = 5.0) -> None:
        root = api_url.rstrip("/").removesuffix("/api")
        self.api_url = root + "/api/"
        self._http = httpx.Client(base_url=root + "/_emulator/", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _get(self, route: str, **params: Any) -> JSON:
        r = self._http.get(route, params={k: v for k, v in params.items() if v is not None})
        r.raise_for_status()
        return dict(r.json())

    def _post(self, route: str, body: JSON | None = None) -> JSON:
        r = self._http.post(route, json=body or {})
        r.raise_for_status()
        return dict(r.json())

    def workspace(self) -> JSON:
        return self._get("workspace")

    def fail_next(self, method: str, error: str | None = "ratelimited", **kw: Any) -> JSON:
        return self._post("fail", {"method": method, "error": error, **kw})

    def drop_response_after_commit(self, method: str, **kw: Any) -> JSON:
        return self._post("drop_after_commit", {"method": method, **kw})

    def clear_faults(self) -> None:
        self._post("clear_faults")

    def rate_limits(self, enabled: bool = True, **kw: Any) -> None:
        self._post("rate_limits", {"enabled": enabled, **kw})

    def calls(self, method: str | None = None, ok: bool | None = None) -> list[JSON]:
        return list(self._get("calls", method=method, ok=None if ok is None else str(ok).lower())["calls"])

    def count(self, method: str | None = None, ok: bool | None = None) -> int:
        return int(self._get("calls", method=method, ok=None if ok is None else str(ok).lower())["count"])

    def reset_calls(self) -> None:
        self._post("reset_calls")

    def messages(self, channel: str) -> list[JSON]:
        return list(self._get("messages", channel=channel)["messages"])

    def dms_to(self, user: str, team_id: str | None = None) -> list[JSON]:
        return list(self._get("dms", user=user, team_id=team_id)["messages"])

    def add_user(self, name: str, **fields: Any) -> JSON:
        return dict(self._post("users", {"name": name, **fields})["user"])

    def add_channel(self, name: str, **fields: Any) -> JSON:
        return dict(self._post("channels", {"name": name, **fields})["channel"])

    def add_team(self, **fields: Any) -> JSON:
        return dict(self._post("teams", fields)["team"])

    def post_as_user(self, channel: str, user: str, text: str, **fields: Any) -> JSON:
        return dict(self._post("post", {"channel": channel, "user": user, "text": text, **fields})["message"])

    def issue_trigger_id(self, user: str, team_id: str | None = None) -> str:
        return str(self._post("triggers", {"user": user, "team_id": team_id})["trigger_id"])

    def revoke_token(self, token: str, error: str = "token_revoked") -> None:
        self._post("revoke", {"token": token, "error": error})


def start_standalone(
    seed: str = "small", workspace_file: str | None = None, extra: list[str] | None = None
) -> tuple[subprocess.Popen[str], EmulatorAdmin, JSON]:
    """Start the emulator as a child process; returns (process, admin client, describe() JSON)."""
    cmd = [sys.executable, "-m", "tests.support.slack_emulator", "--port", "0"]
    cmd += ["--workspace", workspace_file] if workspace_file else ["--seed", seed]
    cmd += extra or []
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url:
        proc.kill()
        raise RuntimeError("emulator did not start")
    info = json.loads(proc.stdout.readline())
    return proc, EmulatorAdmin(url), info


def stop_standalone(proc: subprocess.Popen[str], admin: EmulatorAdmin | None = None) -> None:
    if admin is not None:
        admin.close()
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
