"""PASSITON_FETCH_PAGES through the real server: a bare link's page fills in the item, after the ack.

A real HTTP server on 127.0.0.1 serves the page and records every request. The live default fetcher
refuses loopback addresses, so the tests that expect a fetch inject one that allows loopback only.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from bot.matching.fetch import IPAddress, fetch_page
from bot.matching.items import PageMeta
from bot.store.db import Database
from bot.store.models import Item
from bot.web.app import create_web_app
from tests.slack.harness import Slack, make_context, make_settings, running_server
from tests.support import signing
from tests.support.slack_emulator import SlackEmulator

PAGE = b"""<!doctype html><html><head>
<title>Autovacuum tuning for busy Postgres tables</title>
<meta name="description" content="Cost limits, scale factors and when to vacuum by hand.">
</head><body><p>...</p></body></html>"""


class PageServer:
    """Serves PAGE at any path on 127.0.0.1 and remembers the paths asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


def loopback_only(address: IPAddress) -> bool:
    return address == ipaddress.ip_address("127.0.0.1")


def loopback_fetcher(url: str) -> PageMeta:
    return fetch_page(url, allow_address=loopback_only)


Serve = Callable[..., Any]


@pytest.fixture
def serve(emu: SlackEmulator, sqlite_url: str, sqlite_db: Database) -> Iterator[Serve]:
    """`with serve(fetch_pages=..., fetcher=...) as slack:` — the real app with those two choices."""
    opened: list[Slack] = []

    @contextmanager
    def _serve(*, fetch_pages: bool, fetcher: Callable[[str], PageMeta] | None = None) -> Iterator[Slack]:
        ctx = make_context(make_settings(emu, sqlite_url, passiton_fetch_pages=fetch_pages))
        if fetcher is not None:
            ctx.page_fetcher = fetcher
        with running_server(create_web_app(ctx)) as url:
            driver = Slack(emu, url, ctx.db)
            opened.append(driver)
            yield driver

    emu.reset_calls()
    yield _serve
    for driver in opened:
        driver.close()


def _items(slack: Slack) -> list[Item]:
    with slack.db.session() as s:
        return list(s.scalars(select(Item).order_by(Item.id)))


def test_bare_link_gets_title_and_description_from_its_page(serve: Serve, pages: PageServer) -> None:
    link = pages.url("/blog/autovacuum-tuning")
    with serve(fetch_pages=True, fetcher=loopback_fetcher) as slack:
        slack.message("eng", "alice", f"worth a read <{link}>")
        slack.wait(lambda: _items(slack) and _items(slack)[0].title, what="title from the page")
    item = _items(slack)[0]
    assert item.kind == "article" and item.url == link
    assert item.title == "Autovacuum tuning for busy Postgres tables"
    assert item.description == "Cost limits, scale factors and when to vacuum by hand."
    assert pages.requests.count("/blog/autovacuum-tuning") == 1


def test_setting_off_fetches_nothing(serve: Serve, pages: PageServer) -> None:
    with serve(fetch_pages=False, fetcher=loopback_fetcher) as slack:
        slack.message("eng", "alice", f"worth a read <{pages.url('/off/autovacuum')}>")
        slack.wait(lambda: _items(slack), what="item")
        slack.settle(0.5)
    assert _items(slack)[0].title == "" and _items(slack)[0].description == ""
    assert not [p for p in pages.requests if p.startswith("/off/")]


def test_default_fetcher_refuses_loopback_and_the_item_stays(
    serve: Serve, pages: PageServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ingest.pages")
    with serve(fetch_pages=True) as slack:
        slack.message("eng", "bob", f"worth a read <{pages.url('/default/autovacuum')}>")
        slack.wait(lambda: _items(slack), what="item")
        slack.wait(
            lambda: any(r.getMessage() == "page fetch refused" for r in caplog.records), what="refusal"
        )
    refusal = next(r for r in caplog.records if r.getMessage() == "page fetch refused")
    assert refusal.levelno == logging.INFO and "non-public address" in refusal.__dict__["reason"]
    item = _items(slack)[0]
    assert item.kind == "article" and item.title == "" and item.description == ""
    assert not [p for p in pages.requests if p.startswith("/default/")]


def test_no_fetch_when_slack_unfurled_or_channel_is_private(serve: Serve, pages: PageServer) -> None:
    with serve(fetch_pages=True, fetcher=loopback_fetcher) as slack:
        link = pages.url("/unfurled/autovacuum")
        unfurl = signing.link_unfurl(link, "Vacuum, explained", "By the docs team")
        slack.message("eng", "alice", f"worth a read <{link}>", attachments=[unfurl])
        slack.message("leads", "dana", f"worth a read <{pages.url('/private/autovacuum')}>")
        slack.wait(lambda: len(_items(slack)) == 2, what="two items")
        slack.settle(0.5)
    unfurled, private = sorted(_items(slack), key=lambda i: i.is_private)  # handled concurrently
    assert unfurled.title == "Vacuum, explained" and unfurled.description.startswith("By the docs team")
    assert private.is_private and private.title == ""
    assert not [p for p in pages.requests if p.startswith(("/unfurled/", "/private/"))]


def test_unfurl_arriving_during_the_fetch_wins(serve: Serve, pages: PageServer) -> None:
    """Slack adds the unfurl in a message_changed while the page is being fetched: the page is dropped."""
    entered, release, returned = threading.Event(), threading.Event(), threading.Event()

    def held_fetcher(url: str) -> PageMeta:
        entered.set()
        assert release.wait(10)
        try:
            return loopback_fetcher(url)
        finally:
            returned.set()

    link = pages.url("/race/autovacuum")
    with serve(fetch_pages=True, fetcher=held_fetcher) as slack:
        posted, _ = slack.message("eng", "carol", f"worth a read <{link}>")
        assert entered.wait(10), "the fetch never started"
        ch = slack.emu.channel("eng")
        unfurled = {**posted, "attachments": [signing.link_unfurl(link, "Vacuum, explained", "Docs")]}
        slack.event(signing.message_changed_event(ch.id, unfurled, posted))
        slack.wait(lambda: _items(slack)[0].title == "Vacuum, explained", what="unfurl stored")
        release.set()
        assert returned.wait(10)
        slack.settle(0.3)
    item = _items(slack)[0]
    assert pages.requests.count("/race/autovacuum") == 1  # the page was fetched...
    assert item.title == "Vacuum, explained" and item.description.startswith("Docs")  # ...and not kept


def test_a_later_unfurl_replaces_the_fetched_text(serve: Serve, pages: PageServer) -> None:
    link = pages.url("/later/autovacuum")
    with serve(fetch_pages=True, fetcher=loopback_fetcher) as slack:
        posted, _ = slack.message("eng", "alice", f"worth a read <{link}>")
        slack.wait(lambda: _items(slack) and _items(slack)[0].title, what="title from the page")
        ch = slack.emu.channel("eng")
        unfurled = {**posted, "attachments": [signing.link_unfurl(link, "Vacuum, explained", "Docs")]}
        slack.event(signing.message_changed_event(ch.id, unfurled, posted))
        slack.wait(lambda: _items(slack)[0].title == "Vacuum, explained", what="unfurl stored")
    assert pages.requests.count("/later/autovacuum") == 1
