"""Optional page fetch for a shared link: the one place in matching that does I/O.

Guards against a link being used to reach the bot's own network (SSRF): only http(s); every address the
host resolves to must pass `allow_address` (public addresses only by default: no private, loopback,
link-local, multicast, reserved or unspecified); redirects are followed by hand, re-checking each hop, at
most `max_redirects`; short timeouts; at most `max_bytes` read; only HTML is parsed.

`timeout_seconds` bounds each connect and each read, which a server trickling one byte a second never
trips; `deadline_seconds` bounds the whole fetch (every hop, headers and body). At the deadline a watchdog
shuts the sockets down, which wakes a read blocked inside httpx, so no worker waits on a slow server for
longer than the deadline plus a moment.

The connection goes to the address that was checked (the URL's host is replaced by it; Host header and TLS
SNI keep the name), so a resolver that answers differently the second time (DNS rebinding) cannot steer the
request to an address that was never checked.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from bot.matching.items import PageMeta, parse_html_meta

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]
Resolver = Callable[[str, int], list[IPAddress]]

_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """The page could not be fetched or is not usable; the item is matched on what Slack sent."""


class FetchRefused(FetchError):
    """The URL or an address it resolves to is not allowed (scheme, private/loopback/... address)."""


@dataclass(frozen=True)
class FetchLimits:
    timeout_seconds: float = 3.0
    deadline_seconds: float = 3.0  # the whole fetch, all hops; see the module docstring
    max_bytes: int = 512 * 1024
    max_redirects: int = 3
    user_agent: str = "passiton-link-preview/1 (+title and description only)"


def public_only(address: IPAddress) -> bool:
    """Only globally routable unicast addresses; IPv4-mapped IPv6 is judged as the IPv4 it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address to a gateway are judged as the IPv4 they reach.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    return bool(
        address.is_global
        and not address.is_private
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_multicast
        and not address.is_reserved
        and not address.is_unspecified
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver returns for host (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r}: {exc}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(
    url: str, allow_address: AddressPolicy = public_only, resolver: Resolver = resolve
) -> list[IPAddress]:
    """The host's addresses; FetchRefused unless url is http(s) and every one of them is allowed."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError on a malformed IPv6 literal
    except ValueError as exc:
        raise FetchRefused(f"malformed URL {url[:100]!r}") from exc
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {parts.scheme!r} is not fetched")
    if not parts.hostname:
        raise FetchRefused("URL has no host")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not fetched")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused(f"bad port in {url!r}") from exc
    addresses = resolver(parts.hostname, port)
    if not addresses:
        raise FetchError(f"{parts.hostname!r} has no address")
    refused = [str(a) for a in addresses if not allow_address(a)]
    if refused:
        raise FetchRefused(f"{parts.hostname!r} resolves to a non-public address ({', '.join(refused)})")
    return addresses


class _Deadline:
    """Shuts the fetch's sockets down when its time is up (reads blocked on them then return at once).

    httpx has no total timeout; its trace hook hands over each new connection's stream, and a timer
    thread does the rest. A connection reused from the pool was opened (and recorded) by an earlier
    hop of the same fetch or belongs to a caller's client, whose reads are still bounded per read.
    """

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def bounded(self, resolver: Resolver) -> Resolver:
        """`resolver` given only the time left: the system resolver cannot be interrupted, so it runs
        on a daemon thread that is abandoned (it ends by its own timeout) when the deadline comes."""

        def resolve_in_time(host: str, port: int) -> list[IPAddress]:
            answer: list[list[IPAddress] | BaseException] = []

            def run() -> None:
                try:
                    answer.append(resolver(host, port))
                except BaseException as exc:  # handed to the caller below
                    answer.append(exc)

            worker = threading.Thread(target=run, daemon=True, name="passiton-fetch-resolve")
            worker.start()
            worker.join(max(self.remaining(), 0.0))
            if not answer:
                self.expired = True
                raise FetchError(f"resolving {host!r} took longer than the fetch deadline")
            if isinstance(answer[0], BaseException):
                raise answer[0]
            return answer[0]

        return resolve_in_time

    def trace(self, event: str, info: dict[str, object]) -> None:
        if event not in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            return
        stream = info.get("return_value")
        get_extra_info = getattr(stream, "get_extra_info", None)
        sock = get_extra_info("socket") if get_extra_info else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's method even for a TLS socket: SSLSocket.shutdown drops its SSL object under a
    # read running in another thread. A TCP socket detached by the TLS wrap (or closed) raises OSError.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def fetch_page(
    url: str,
    *,
    client: httpx.Client | None = None,
    allow_address: AddressPolicy = public_only,
    resolver: Resolver = resolve,
    limits: FetchLimits | None = None,
) -> PageMeta:
    """Title and description of an HTML page, or FetchError (FetchRefused for policy refusals)."""
    limits = limits or FetchLimits()
    own_client = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(limits.timeout_seconds), follow_redirects=False, trust_env=False
    )
    deadline = _Deadline(limits.deadline_seconds)
    try:
        return _fetch(url, http, allow_address, resolver, limits, deadline)
    except FetchError:
        if deadline.expired:
            raise FetchError(f"fetching {url} took longer than {limits.deadline_seconds:g} s") from None
        raise
    finally:
        deadline.cancel()
        if own_client:
            http.close()


def _fetch(
    url: str,
    http: httpx.Client,
    allow_address: AddressPolicy,
    resolver: Resolver,
    limits: FetchLimits,
    deadline: _Deadline,
) -> PageMeta:
    current = url
    for _hop in range(limits.max_redirects + 1):
        address = check_url(current, allow_address, deadline.bounded(resolver))
        pinned, host, extensions = _pinned(current, address[0])
        left = deadline.remaining()
        if left <= 0 or deadline.expired:
            raise FetchError(f"fetching {url} took longer than {limits.deadline_seconds:g} s")
        try:
            with http.stream(
                "GET",
                pinned,
                headers={
                    "User-Agent": limits.user_agent,
                    "Accept": "text/html,application/xhtml+xml",
                    "Host": host,
                },
                extensions={**extensions, "trace": deadline.trace},
                follow_redirects=False,
                timeout=min(limits.timeout_seconds, left),
            ) as response:
                if response.status_code in _REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"redirect without a location from {current}")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise FetchError(f"HTTP {response.status_code} from {current}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type not in _HTML_TYPES:
                    raise FetchError(f"not an HTML page ({content_type or 'no content type'})")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) >= limits.max_bytes:
                        break  # the head is what we want; the rest is not read
                if deadline.expired:
                    # A close-delimited body ends "normally" when the watchdog shuts the socket: what
                    # arrived is a fragment, not the page.
                    raise FetchError("deadline")  # reworded by fetch_page
                text = bytes(body[: limits.max_bytes]).decode(response.encoding or "utf-8", errors="replace")
                return parse_html_meta(text)
        except httpx.HTTPError as exc:
            raise FetchError(f"fetching {current} failed: {exc.__class__.__name__}") from exc
    raise FetchError(f"more than {limits.max_redirects} redirects from {url}")


def _pinned(url: str, address: IPAddress) -> tuple[httpx.URL, str, dict[str, str]]:
    """The URL with its host replaced by the checked address, its Host header, and the TLS name to verify."""
    try:
        parsed = httpx.URL(url)
        host = parsed.netloc.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchRefused(f"malformed URL {url[:100]!r}") from exc
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return parsed.copy_with(host=str(address)), host, extensions
