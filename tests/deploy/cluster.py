"""A scaled-out passiton on loopback, made of real processes: the Slack emulator, N `passiton serve`,
M `passiton jobs`, all on one PostgreSQL database. Used by tests/deploy/test_scale_out.py and
bench/scale_out.py, so the benchmark measures exactly what the test proves correct.

Every process runs from its own scratch directory (so no stray `.env` is read) with its settings in
the environment, and logs to a file there; `Cluster.tail()` shows the end of each log when something
goes wrong.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("PASSITON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
JSON = dict[str, Any]


def passiton_exe() -> str:
    """The console script of the interpreter running the tests (the venv's `passiton`)."""
    candidate = Path(sys.executable).with_name("passiton")
    return str(candidate) if candidate.exists() else "passiton"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_database(prefix: str = "passiton_scale") -> Iterator[str]:
    """A new PostgreSQL database migrated to head (through `passiton db upgrade`, as deploys do)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        subprocess.run(
            [passiton_exe(), "db", "upgrade"],
            env={**_base_env(), "DATABASE_URL": url},
            cwd="/",
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield url
    finally:
        from bot.store.db import dispose_engines

        dispose_engines()
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin: Any, name: str) -> None:
    # Another suite may restart PostgreSQL (fault tests do); a dropped admin connection gets one more try.
    for attempt in (1, 2, 3):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except Exception:
            if attempt == 3:
                raise
            admin.dispose()
            time.sleep(2)


def _base_env() -> dict[str, str]:
    """The caller's environment minus any passiton setting, so only what a test sets applies."""
    from bot.config import Settings

    names = {n.upper() for n in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PASSITON_LOG_LEVEL": "INFO"})
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Emulator:
    proc: Proc
    url: str  # Web API base, ends with /api/
    info: JSON

    @property
    def admin(self) -> str:
        return str(self.info["admin_url"])

    @property
    def team(self) -> JSON:
        team: JSON = self.info["teams"][0]
        return team

    def user_id(self, name: str) -> str:
        return str(next(u["id"] for u in self.team["users"] if u["name"] == name))

    def channel_id(self, name: str) -> str:
        return str(next(c["id"] for c in self.team["channels"] if c["name"] == name))

    def get(self, route: str, **params: Any) -> JSON:
        r = httpx.get(self.admin + route, params=params, timeout=30)
        r.raise_for_status()
        out: JSON = r.json()
        return out

    def post(self, route: str, body: JSON) -> JSON:
        r = httpx.post(self.admin + route, json=body, timeout=30)
        r.raise_for_status()
        out: JSON = r.json()
        return out

    def calls(self, method: str | None, ok: bool | None = True) -> list[JSON]:
        """Web API calls the emulator answered (all methods when `method` is None)."""
        params: dict[str, Any] = {} if method is None else {"method": method}
        if ok is not None:
            params["ok"] = "1" if ok else "0"
        calls: list[JSON] = self.get("calls", **params)["calls"]
        return calls


@dataclass
class Cluster:
    """Processes of one scaled-out deployment; stop() (or the context manager) ends them all."""

    workdir: Path
    database_url: str
    signing_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    emulator: Emulator | None = None

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- processes --------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: Sequence[str], env: dict[str, str], port: int | None = None) -> Proc:
        cwd = self.workdir / name
        cwd.mkdir(parents=True, exist_ok=True)
        log = cwd / "log.txt"
        with log.open("wb") as fh:
            popen = subprocess.Popen(
                list(argv), cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log, port)
        self.procs.append(proc)
        return proc

    def start_emulator(self, workspace: JSON, *, timeout: float = 30.0) -> Emulator:
        desc = self.workdir / "workspace.json"
        self.workdir.mkdir(parents=True, exist_ok=True)
        desc.write_text(json.dumps(workspace))
        info_file = self.workdir / "emulator.json"
        argv = [
            sys.executable, "-m", "tests.support.slack_emulator", "--port", "0", "--workspace", str(desc),
            "--signing-secret", self.signing_secret, "--info-file", str(info_file),
        ]  # fmt: skip
        env = {**_base_env(), "PYTHONPATH": str(ROOT)}
        proc = self._spawn("emulator", argv, env)
        deadline = time.monotonic() + timeout
        while not info_file.exists() or not info_file.read_text().strip().endswith("}"):
            if not proc.alive() or time.monotonic() > deadline:
                raise RuntimeError("emulator did not start:\n" + self.tail(proc))
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        self.emulator = Emulator(proc, info["url"], info)
        return self.emulator

    def app_env(self, **overrides: str) -> dict[str, str]:
        assert self.emulator is not None, "start the emulator first"
        env = {
            **_base_env(),
            "DATABASE_URL": self.database_url,
            "SLACK_API_URL": self.emulator.url,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_BOT_TOKEN": str(self.emulator.team["bot_token"]),
            "PUBLIC_URL": "http://127.0.0.1:3000",
            "PASSITON_SECRET_KEY": "scale-test-secret-key",
        }
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def start_serve(self, count: int, **env: str) -> list[Proc]:
        out = []
        for _ in range(count):
            port = free_port()
            name = f"serve-{sum(p.name.startswith('serve') for p in self.procs) + 1}"
            argv = [passiton_exe(), "serve", "--host", "127.0.0.1", "--port", str(port)]
            out.append(self._spawn(name, argv, self.app_env(**env), port))
        return out

    def start_jobs(self, count: int, **env: str) -> list[Proc]:
        out = []
        for _ in range(count):
            name = f"jobs-{sum(p.name.startswith('jobs') for p in self.procs) + 1}"
            out.append(self._spawn(name, [passiton_exe(), "jobs"], self.app_env(**env)))
        return out

    def wait_healthy(self, procs: Sequence[Proc], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = [p for p in procs if p.port is not None]
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for proc in list(pending):
                    if not proc.alive():
                        raise RuntimeError(f"{proc.name} exited:\n" + self.tail(proc))
                    try:
                        if client.get(proc.url + "/healthz").status_code == 200:
                            pending.remove(proc)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise RuntimeError("not healthy in time:\n" + "\n".join(self.tail(p) for p in pending))
                time.sleep(0.1)

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        if proc.alive():
            os.kill(proc.popen.pid, sig)
        proc.popen.wait(timeout=30)

    def stop(self, procs: Sequence[Proc] | None = None, grace: float = 15.0) -> dict[str, int | None]:
        """SIGTERM, then SIGKILL after `grace`; returns each process's exit code."""
        targets = list(procs) if procs is not None else list(reversed(self.procs))
        for proc in targets:
            if proc.alive():
                proc.popen.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        deadline = time.monotonic() + grace
        for proc in targets:
            try:
                codes[proc.name] = proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=10)
                codes[proc.name] = None  # had to be killed
        return codes

    def tail(self, proc: Proc, lines: int = 40) -> str:
        try:
            text_lines = proc.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text_lines = []
        return f"--- {proc.name} (pid {proc.popen.pid}, exit {proc.popen.poll()}) ---\n" + "\n".join(
            text_lines
        )

    def tails(self) -> str:
        return "\n".join(self.tail(p) for p in self.procs)

    def log_lines(self, proc: Proc) -> list[JSON]:
        """The JSON log records of a process (lines that are not JSON are skipped)."""
        out = []
        for line in proc.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    from tests.support.signing import signed_headers

    return signed_headers(body, secret, timestamp=timestamp, content_type="application/json")
