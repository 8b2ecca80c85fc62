"""SSRF attempts against the link fetcher, with real HTTP servers on loopback addresses.

Two servers share one port: the "inside" one on 127.0.0.1 stands for the bot's own network, the "checked"
one on 127.0.0.2 for a public site. Tests give the fetcher a policy that allows 127.0.0.2 only and a
resolver that lies the way a rebinding DNS server does; the inside server must never see a request.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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

INSIDE, CHECKED = "127.0.0.1", "127.0.0.2"


@dataclass
class Site:
    title: str
    redirect_to: str | None = None
    hits: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)


def _serve(address: str, port: int, site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            site.hits.append((self.path, self.headers.get("Host", "")))
            if site.redirect_to and self.path == "/go":
                self.send_response(302)
                self.send_header("Location", site.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = f"<html><head><title>{site.title}</title></head></html>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer((address, port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


@pytest.fixture
def sites() -> Iterator[tuple[int, Site, Site]]:
    inside, checked = Site("internal admin"), Site("public page")
    first = _serve(INSIDE, 0, inside)
    port = first.server_address[1]
    try:
        second = _serve(CHECKED, port, checked)
    except OSError:
        first.shutdown()
        first.server_close()
        pytest.skip("127.0.0.2 is not usable here")
    yield port, inside, checked
    for httpd in (first, second):
        httpd.shutdown()
        httpd.server_close()


def only_checked(address: IPAddress) -> bool:
    """The test's stand-in for "public": 127.0.0.2 and nothing else."""
    return str(address) == CHECKED


class Rebinder:
    """Answers with each address in turn, then the last one forever (a rebinding DNS server)."""

    def __init__(self, *answers: str) -> None:
        self.answers = [ipaddress.ip_address(a) for a in answers]
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.calls.append(host)
        return [self.answers[min(len(self.calls), len(self.answers)) - 1]]


LIMITS = FetchLimits(timeout_seconds=2)


def test_connection_goes_to_the_checked_address_not_a_second_lookup(sites: tuple[int, Site, Site]) -> None:
    """`localhost` resolves to 127.0.0.1 for the system; the checked answer was 127.0.0.2. Only the
    checked address may be contacted, with the name kept in the Host header."""
    port, inside, checked = sites
    meta = fetch_page(
        f"http://localhost:{port}/page", allow_address=only_checked, resolver=Rebinder(CHECKED), limits=LIMITS
    )
    assert meta.title == "public page"
    assert inside.hits == []
    assert checked.hits == [("/page", f"localhost:{port}")]


def test_redirect_rebinding_to_the_inside_is_refused(sites: tuple[int, Site, Site]) -> None:
    port, inside, checked = sites
    checked.redirect_to = f"http://localhost:{port}/secret"
    resolver = Rebinder(CHECKED, INSIDE)  # first answer passes, the redirect's lookup rebinds inside
    with pytest.raises(FetchRefused):
        fetch_page(
            f"http://localhost:{port}/go", allow_address=only_checked, resolver=resolver, limits=LIMITS
        )
    assert resolver.calls == ["localhost", "localhost"]
    assert checked.hits == [("/go", f"localhost:{port}")] and inside.hits == []


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/secret",
        "http://2130706433:{port}/secret",  # decimal 127.0.0.1
        "http://0177.0.0.1:{port}/secret",  # octal
        "http://0x7f.0.0.1:{port}/secret",  # hex
        "http://127.1:{port}/secret",  # short form
        "http://[::ffff:127.0.0.1]:{port}/secret",  # IPv4-mapped IPv6
        "http://localhost:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://0.0.0.0:{port}/secret",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/_",
        "http://user:pw@127.0.0.2:{port}/x",
        "http://[::1:{port}/broken",
    ],
)
def test_redirects_to_the_inside_in_any_spelling_are_refused(
    sites: tuple[int, Site, Site], location: str
) -> None:
    """The real system resolver judges the redirect target; only 127.0.0.2 is allowed. (httpx itself rejects
    some spellings in a Location header, e.g. octal: that is a FetchError too, and nothing was fetched.)"""
    port, inside, checked = sites
    checked.redirect_to = location.format(port=port)
    with pytest.raises(FetchError):
        fetch_page(f"http://{CHECKED}:{port}/go", allow_address=only_checked, limits=LIMITS)
    assert inside.hits == []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "255.255.255.255", "224.0.0.251", "198.18.0.1", "192.0.0.1",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
        "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "2002:7f00:1::1",  # 6to4 carrying 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 carrying 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 carrying 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 carrying 10.0.0.1
    ],
)  # fmt: skip
def test_public_only_refuses_every_inside_form(address: str) -> None:
    assert not public_only(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:4700::1111", "2002:5db8:d822::1", "64:ff9b::5db8:d822"]
)
def test_public_only_still_allows_public(address: str) -> None:
    assert public_only(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",  # unbalanced IPv6 literal: urlsplit raises ValueError
        "http://[::1]:99999/",
        "http://[zz::1]/",
        "javascript:alert(1)",
        "data:text/html,<title>x</title>",
        "//127.0.0.1/",
        "http:/127.0.0.1",
        "",
    ],
)
def test_malformed_urls_are_refused_with_the_fetchers_own_error(url: str) -> None:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.216.34")]

    with pytest.raises(FetchRefused):
        check_url(url, resolver=resolver)
    with pytest.raises(FetchRefused):
        fetch_page(url, resolver=resolver, limits=LIMITS)


def test_a_name_httpx_cannot_encode_is_refused_not_crashed() -> None:
    with pytest.raises(FetchError):
        fetch_page(
            "http://a\x00b.example/",
            resolver=lambda h, p: [ipaddress.ip_address("93.184.216.34")],
            limits=LIMITS,
        )


def test_https_to_the_checked_address_still_verifies_the_name(tmp_path: Path) -> None:
    """Pinning the address must keep TLS honest: SNI and certificate checks use the URL's name."""
    import shutil
    import ssl
    import subprocess

    import httpx

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = Site("tls page")
    httpd = _serve(CHECKED, 0, site)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    httpd.socket = server_ctx.wrap_socket(httpd.socket, server_side=True)
    port = httpd.server_address[1]
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(verify=client_ctx, trust_env=False) as client:
            meta = fetch_page(f"https://localhost:{port}/page", client=client, allow_address=only_checked,
                              resolver=Rebinder(CHECKED), limits=LIMITS)  # fmt: skip
            assert meta.title == "tls page"
            # The same server reached under a name its certificate does not carry is refused.
            with pytest.raises(FetchError):
                fetch_page(f"https://other.example:{port}/page", client=client, allow_address=only_checked,
                           resolver=Rebinder(CHECKED), limits=LIMITS)  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert site.hits == [("/page", f"localhost:{port}")]
