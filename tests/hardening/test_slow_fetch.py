"""A server that trickles a page (slowloris in reverse) must not hold a fetch worker.

Each read gets a byte well within the per-read timeout, so only the total deadline ends the fetch. The
server records whether the client hung up before it had sent everything: that is the observable effect
(no wall-clock assert), and on a fetcher without a total deadline the whole trickle is read instead.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bot.matching.fetch import FetchError, FetchLimits, IPAddress, fetch_page

TRICKLE_SECONDS = 0.1  # one piece every 0.1 s: far inside the per-read timeout below
PIECES = 60  # so the whole response takes ~6 s; the test's deadline is 0.5 s


@dataclass
class Trickler:
    url: str
    hung_up: list[str] = field(default_factory=list)  # what the server was sending when the client left
    finished: list[str] = field(default_factory=list)


def _serve(stop: threading.Event, listener: socket.socket, record: Trickler) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue  # look at `stop` again
        except OSError:
            return
        conn.settimeout(None)
        threading.Thread(target=_answer, args=(conn, stop, record), daemon=True).start()


def _answer(conn: socket.socket, stop: threading.Event, record: Trickler) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            part = conn.recv(4096)
            if not part:
                return
            request += part
        path = request.split(b" ", 2)[1].decode()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
        body = b"<html><head><title>" + b"s" * PIECES + b"</title></head></html>"
        if path == "/slow-headers":  # the status line and headers themselves, one byte at a time
            pieces = [head[i : i + 1] for i in range(len(head))] + [body]
        else:  # headers at once, then the body one byte at a time
            pieces = [head] + [body[i : i + 1] for i in range(len(body))]
        try:
            for piece in pieces:
                if stop.wait(TRICKLE_SECONDS):
                    return
                conn.sendall(piece)
        except OSError:
            record.hung_up.append(path)
            return
        record.finished.append(path)


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    record = Trickler(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(stop, listener, record), daemon=True)
    thread.start()
    yield record
    stop.set()
    listener.close()
    thread.join(timeout=5)


def _loopback(address: IPAddress) -> bool:
    return address.is_loopback


def _hung_up(record: Trickler, path: str) -> bool:
    # The server notices the hang-up at its next write, a piece later.
    done = threading.Event()
    for _ in range(50):
        if path in record.hung_up or path in record.finished:
            break
        done.wait(TRICKLE_SECONDS)
    return path in record.hung_up


@pytest.mark.parametrize("path", ["/slow-body", "/slow-headers"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(trickler: Trickler, path: str) -> None:
    limits = FetchLimits(timeout_seconds=2.0, deadline_seconds=0.5)
    with pytest.raises(FetchError, match=r"took longer than 0\.5 s"):
        fetch_page(trickler.url + path, allow_address=_loopback, limits=limits)
    assert _hung_up(trickler, path), (trickler.hung_up, trickler.finished)


def test_the_default_deadline_is_three_seconds() -> None:
    assert FetchLimits().deadline_seconds == 3.0


def test_a_resolver_that_hangs_is_cut_off_at_the_deadline() -> None:
    """The system resolver cannot be interrupted; the fetch returns at the deadline all the same."""
    released = threading.Event()

    def stuck_resolver(host: str, port: int) -> list[IPAddress]:
        released.wait(10)  # a DNS server that never answers (until the test lets go)
        return []

    limits = FetchLimits(timeout_seconds=2.0, deadline_seconds=0.3)
    try:
        with pytest.raises(FetchError, match=r"took longer than 0\.3 s"):
            fetch_page("http://slow-dns.example/", resolver=stuck_resolver, limits=limits)
    finally:
        released.set()
