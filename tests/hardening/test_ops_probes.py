"""Liveness and readiness of `passiton serve`: /livez answers without the database, /readyz (and
/healthz, as before) only when the database answers, and within a bound when the database hangs.

Real faults, on a TCP proxy in front of the real PostgreSQL: connections refused (a database down), and
connections accepted that never get a word back (a hung database or a black-holed network path).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.store.db import Database
from bot.web.app import READY_TIMEOUT_SECONDS, create_web_app
from tests.slack.harness import make_context, make_settings, running_server
from tests.support.slack_emulator import SlackEmulator


class _PgProxy:
    """A TCP proxy in front of the real PostgreSQL whose mode a test switches: "pass" forwards, "refuse"
    closes every connection at once, "hang" accepts and never answers. Switching cuts the forwarded
    connections, as a database restart or a network cut would."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self.port = int(self._srv.getsockname()[1])
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def switch(self, mode: str) -> None:
        self.mode = mode
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self._open.clear()

    def close(self) -> None:
        self._stop.set()
        self.switch("refuse")
        self._srv.close()

    def _accept(self) -> None:
        self._srv.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client = self._srv.accept()[0]
            except OSError:
                continue
            if self.mode == "refuse":
                client.close()
                continue
            self._open.append(client)
            if self.mode == "hang":
                continue
            upstream = socket.create_connection(self.upstream)
            self._open.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@contextmanager
def _proxied(pg_url: str) -> Iterator[tuple[_PgProxy, str]]:
    url = make_url(pg_url)
    proxy = _PgProxy((url.host or "127.0.0.1", url.port or 5432))
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()


@contextmanager
def _served(database_url: str) -> Iterator[str]:
    with SlackEmulator() as emu:
        ctx = make_context(make_settings(emu, database_url))
        with running_server(create_web_app(ctx)) as url:
            yield url


def _get(url: str) -> tuple[int, dict[str, object]]:
    resp = httpx.get(url, timeout=10)
    return resp.status_code, resp.json()


def test_probes_with_the_database_up(sqlite_db: Database, sqlite_url: str) -> None:
    with _served(sqlite_url) as url:
        for path in ("/livez", "/readyz", "/healthz"):
            assert _get(url + path) == (200, {"ok": True}), path


@pytest.mark.postgres
def test_database_refusing_connections_is_not_ready_but_alive(pg_url: str) -> None:
    with _proxied(pg_url) as (proxy, url), _served(url) as base:
        assert _get(base + "/readyz") == (200, {"ok": True})
        proxy.switch("refuse")
        assert _get(base + "/livez") == (200, {"ok": True})
        status, body = _get(base + "/readyz")
        assert status == 503 and body["ok"] is False and body["database"] == "OperationalError"
        assert _get(base + "/healthz")[0] == 503
        proxy.switch("pass")
        assert _get(base + "/readyz") == (200, {"ok": True})  # back in rotation once the database is


@pytest.mark.postgres
def test_hung_database_is_not_ready_within_the_budget(pg_url: str) -> None:
    with _proxied(pg_url) as (proxy, url), _served(url) as base:
        proxy.switch("hang")
        started = time.monotonic()
        status, body = _get(base + "/readyz")
        took = time.monotonic() - started
        assert (status, body) == (503, {"ok": False, "database": "timeout"})
        # The budget bounds the answer (a probe with a 2 s timeout gets a 503, not its own timeout);
        # a loose upper bound, only to show it does not wait for the connection attempt's 5 s+.
        assert took < READY_TIMEOUT_SECONDS + 2
        assert _get(base + "/livez") == (200, {"ok": True})  # the event loop was never blocked
