"""Real `passiton` processes for the multi-process tests, with their logs kept for assertions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class Proc:
    def __init__(
        self, args: list[str], env: dict[str, str], workdir: Path, name: str, module: str = "bot.cli"
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        full_env.pop("CI_PASSITON_DOTENV", None)
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=workdir,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"msg": raw})
        return out

    def logged(self, msg: str) -> bool:
        return any(line.get("msg") == msg for line in self.lines())

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def kill9(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(10)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        self._log.close()
        return self.popen.returncode

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, *procs: Proc) -> float:
    """Poll until true; returns the seconds it took. On timeout, fail with the processes' logs."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name} (rc={p.popen.poll()})\n{p.tail()}" for p in procs)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")
