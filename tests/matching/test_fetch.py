"""fetch_page against a real HTTP server on 127.0.0.1 (loopback is allowed only where a test says so)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.matching.fetch import (
    FetchError,
    FetchLimits,
    FetchRefused,
    IPAddress,
    check_url,
    fetch_page,
    public_only,
)

PAGE = (
    b"""<!doctype html><html><head><title>Postgres vacuum, explained</title>
<meta name="description" content="Why autovacuum falls behind and what to tune."></head>
<body>"""
    + b"x" * 10_000
    + b"</body></html>"
)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        routes = {
            "/page": (200, "text/html; charset=utf-8", PAGE),
            "/json": (200, "application/json", b"{}"),
            "/missing": (404, "text/html", b"no"),
        }
        if self.path == "/redirect":
            self._redirect("/page")
        elif self.path == "/redirect-private":
            self._redirect("http://10.1.2.3/page")
        elif self.path == "/redirect-metadata":
            self._redirect("http://169.254.169.254/latest/meta-data")
        elif self.path.startswith("/loop"):
            self._redirect(f"/loop{len(self.path)}")
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<title>Huge</title>" + b"y" * 2_000_000)
        else:
            status, content_type, body = routes.get(self.path, (404, "text/plain", b""))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def loopback_too(address: IPAddress) -> bool:
    """The test's policy: public addresses and loopback (where the test server is), nothing else."""
    return address.is_loopback or public_only(address)


def test_fetches_title_and_description(server: str) -> None:
    meta = fetch_page(f"{server}/page", allow_address=loopback_too)
    assert meta.title == "Postgres vacuum, explained"
    assert meta.description == "Why autovacuum falls behind and what to tune."


def test_follows_an_allowed_redirect(server: str) -> None:
    assert fetch_page(f"{server}/redirect", allow_address=loopback_too).title == "Postgres vacuum, explained"


def test_default_policy_refuses_loopback(server: str) -> None:
    with pytest.raises(FetchRefused, match="non-public"):
        fetch_page(f"{server}/page")


@pytest.mark.parametrize("path", ["/redirect-private", "/redirect-metadata"])
def test_redirect_to_private_address_is_refused(server: str, path: str) -> None:
    with pytest.raises(FetchRefused):
        fetch_page(f"{server}{path}", allow_address=loopback_too)


def test_redirect_hops_are_capped(server: str) -> None:
    with pytest.raises(FetchError, match="redirects"):
        fetch_page(f"{server}/loop", allow_address=loopback_too, limits=FetchLimits(max_redirects=2))


def test_non_html_and_errors(server: str) -> None:
    with pytest.raises(FetchError, match="not an HTML page"):
        fetch_page(f"{server}/json", allow_address=loopback_too)
    with pytest.raises(FetchError, match="404"):
        fetch_page(f"{server}/missing", allow_address=loopback_too)


def test_size_cap(server: str) -> None:
    meta = fetch_page(f"{server}/huge", allow_address=loopback_too, limits=FetchLimits(max_bytes=1000))
    assert meta.title == "Huge"


def test_connection_refused_is_a_fetch_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError):
        fetch_page(
            f"http://127.0.0.1:{port}/", allow_address=loopback_too, limits=FetchLimits(timeout_seconds=1)
        )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_public_only_refuses(address: str) -> None:
    assert not public_only(ipaddress.ip_address(address))


def test_public_only_allows_public() -> None:
    assert public_only(ipaddress.ip_address("93.184.216.34"))
    assert public_only(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.5")]

    with pytest.raises(FetchRefused, match=r"10\.0\.0\.5"):
        check_url("https://mixed.example/", resolver=resolver)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://x.example/", "http://user:pw@x.example/", "http:///nohost"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        check_url(url, resolver=lambda h, p: [ipaddress.ip_address("93.184.216.34")])
