"""Signed Slack event load for `passiton serve` replicas: open loop (a fixed rate, as Slack sends) or
closed loop (N senders back to back, for the most a set of replicas accepts). 127.0.0.1 only.

Latency is measured per request from the moment it was due (open loop) or sent (closed loop) to the
moment its HTTP answer arrived: what Slack's 3-second deadline is held against. Requests go to the
replicas round-robin, as a load balancer would spread them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def _check_loopback(urls: Sequence[str]) -> None:
    for url in urls:
        if urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError(f"load goes to loopback only, not {url}")


def signed(secret: str, body: bytes, retry_num: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest,
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return headers


@dataclass
class LoadResult:
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    elapsed: float = 0.0
    max_start_lag: float = 0.0  # open loop: how far behind schedule the client itself fell

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        return self.percentile(99) * 1000

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class _Connection:
    """One keep-alive HTTP/1.1 connection. A minimal client on purpose: at hundreds of requests a second
    on the same two cores as the servers, a full-featured client's own overhead was what got measured."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length, chunked, close = 0, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode("latin-1").partition(":")
            key, value = key.strip().lower(), value.strip().lower()
            if key == "content-length":
                length = int(value)
            elif key == "transfer-encoding":
                chunked = "chunked" in value
            elif key == "connection":
                close = value == "close"
        if chunked:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Pool:
    """Idle connections per target; a request takes one or opens a new one, up to `limit` in all."""

    def __init__(self, urls: Sequence[str], limit: int) -> None:
        _check_loopback(urls)
        self.targets = [urlsplit(u) for u in urls]
        self.idle: list[list[_Connection]] = [[] for _ in urls]
        self.slots = asyncio.Semaphore(limit)

    async def post(self, index: int, body: bytes, headers: dict[str, str]) -> int:
        target = self.targets[index]
        async with self.slots:
            idle = self.idle[index]
            reused = bool(idle)
            conn = idle.pop() if idle else _Connection(target.hostname or "127.0.0.1", target.port or 80)
            try:
                status = await conn.post(target.path or "/", body, headers)
            except (OSError, asyncio.IncompleteReadError, IndexError):
                conn.close()
                if not reused:
                    raise
                # The server closed an idle keep-alive connection as we reused it: nothing was
                # processed, so send once more on a fresh connection, as HTTP clients do.
                conn = _Connection(target.hostname or "127.0.0.1", target.port or 80)
                status = await conn.post(target.path or "/", body, headers)
            except BaseException:
                conn.close()
                raise
            if conn.writer is not None:
                idle.append(conn)
            return status

    def close(self) -> None:
        for idle in self.idle:
            for conn in idle:
                conn.close()


async def _send(
    pool: _Pool, index: int, secret: str, body: bytes, result: LoadResult, started: float, timeout: float
) -> None:
    result.sent += 1
    try:
        status = await asyncio.wait_for(pool.post(index, body, signed(secret, body)), timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        result.error(type(exc).__name__)
        return
    if status == 200:
        result.ok += 1
        result.latencies.append(time.perf_counter() - started)
    else:
        result.error(f"HTTP {status}")


async def open_loop(
    urls: Sequence[str],
    secret: str,
    make_body: Callable[[int], bytes],
    *,
    rate: float,
    seconds: float,
    timeout: float = 10.0,
    max_connections: int = 256,
) -> LoadResult:
    """Send `rate` events a second for `seconds`, each on schedule whether or not earlier ones answered."""
    result = LoadResult()
    pool = _Pool(urls, max_connections)
    total = int(rate * seconds)
    t0 = time.perf_counter()
    tasks = []
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.max_start_lag = max(result.max_start_lag, time.perf_counter() - due)
        # Latency counts from when the event was due, so a client that falls behind shows it.
        body = make_body(i)
        tasks.append(asyncio.create_task(_send(pool, i % len(urls), secret, body, result, due, timeout)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - t0
    pool.close()
    return result


async def closed_loop(
    urls: Sequence[str],
    secret: str,
    make_body: Callable[[int], bytes],
    *,
    concurrency: int,
    seconds: float,
    timeout: float = 10.0,
) -> LoadResult:
    """`concurrency` senders, each posting its next event as soon as the last one was answered."""
    result = LoadResult()
    pool = _Pool(urls, concurrency)
    counter = iter(range(10**9))
    t0 = time.perf_counter()
    stop = t0 + seconds

    async def worker() -> None:
        while time.perf_counter() < stop:
            i = next(counter)
            await _send(pool, i % len(urls), secret, make_body(i), result, time.perf_counter(), timeout)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    pool.close()
    return result


QUESTIONS = [
    "How do I tune autovacuum on a busy postgres table?",
    "Does anyone know how to debug a terraform plan that keeps changing?",
    "What is the best way to profile a slow python service?",
    "Any advice on writing a first conference talk proposal?",
]
LINKS = [
    "Great read on database indexing https://example.org/indexing-{i}",
    "How we cut our kubernetes bill in half https://example.org/k8s-{i}",
]
CHATTER = ["morning all", "thanks, that worked", "lunch anyone?", "shipping the release now"]


def event_text(i: int) -> str:
    """A deterministic mix: 70 % chatter, 20 % questions, 10 % links (each link unique)."""
    slot = i % 10
    if slot < 7:
        return f"{CHATTER[i % len(CHATTER)]} ({i})"
    if slot < 9:
        return f"{QUESTIONS[i % len(QUESTIONS)]} ({i})"
    return LINKS[i % len(LINKS)].format(i=i)


@dataclass
class EventFactory:
    """Signed-ready `message` event envelopes for one workspace, unique event ids and timestamps."""

    team_id: str
    bot_user_id: str
    app_id: str
    channels: Sequence[str]
    users: Sequence[str]
    started: int = field(default_factory=lambda: int(time.time()))

    def event_id(self, i: int) -> str:
        return f"Ev{self.started}{i:07d}"

    def ts(self, i: int) -> str:
        return f"{self.started + i // 1_000_000}.{i % 1_000_000:06d}"

    def envelope(self, i: int) -> dict[str, object]:
        channel = self.channels[i % len(self.channels)]
        user = self.users[(i * 7) % len(self.users)]
        ts = self.ts(i)
        event = {
            "type": "message", "text": event_text(i), "user": user, "ts": ts, "event_ts": ts,
            "channel": channel, "channel_type": "channel", "team": self.team_id,
            "client_msg_id": f"{i:08d}-0000-4000-8000-{self.started:012d}",
        }  # fmt: skip
        return {
            "token": "unused", "team_id": self.team_id, "api_app_id": self.app_id, "event": event,
            "type": "event_callback", "event_id": self.event_id(i), "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id, "user_id": self.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }  # fmt: skip

    def body(self, i: int) -> bytes:
        return json.dumps(self.envelope(i)).encode()


def url_verification_body(i: int) -> bytes:
    return json.dumps({"token": "unused", "challenge": f"c{i}", "type": "url_verification"}).encode()
