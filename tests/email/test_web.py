"""The email link routes served by a real uvicorn on loopback, on both engines.

GET shows a confirmation page and changes nothing (mail scanners follow links); POST acts; the RFC
8058 one-click POST really unsubscribes; bad and expired tokens get clear 400/410 pages.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot.config import Settings
from bot.context import AppContext
from bot.delivery.drain import Drainer
from bot.delivery.senders import SenderRegistry
from bot.email import tokens
from bot.email.digests import send_digests
from bot.email.smtp import SmtpSender
from bot.email.web import routes
from bot.store.db import Database
from bot.store.models import Feedback, Member, Nudge, OutboxMessage

from .conftest import SECRET, Relay, add_member, add_nudge, add_workspace, free_port, make_settings

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@dataclass
class Site:
    url: str
    settings: Settings
    db: Database

    def token(self, member_id: int, action: tokens.Action = "unsubscribe", nudge_id: int | None = None,
              ago: dt.timedelta = dt.timedelta(0), workspace_id: int | None = None) -> str:  # fmt: skip
        with self.db.session() as s:
            member = s.get(Member, member_id)
            ws = member.workspace_id if member else 0
        return tokens.sign(
            SECRET,
            workspace_id=workspace_id if workspace_id is not None else ws,
            member_id=member_id,
            action=action,
            nudge_id=nudge_id,
            now=dt.datetime.now(dt.UTC) - ago,
        )


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    port = free_port()
    settings = make_settings(public_url=f"http://127.0.0.1:{port}", database_url="sqlite:///./unused.db")
    app = Starlette(routes=routes(AppContext(db=db, settings=settings)))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Site(f"http://127.0.0.1:{port}", settings, db)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def people(db: Database) -> dict[str, int]:
    with db.session() as s:
        ws = add_workspace(s)
        ann = add_member(s, ws, "ann@example.org", delivery="email")
        bea = add_member(s, ws, "bea@example.org", delivery="both")
        n_ann = add_nudge(s, ws, ann, title="<script>alert(1)</script> Vacuum", status="sent")
        n_bea = add_nudge(s, ws, bea, kind="help", status="sent")
        queued = add_nudge(s, ws, ann, title="waiting for the digest")
        return {
            "ws": ws.id,
            "ann": ann.id,
            "bea": bea.id,
            "n_ann": n_ann.id,
            "n_bea": n_bea.id,
            "queued": queued.id,
        }


def member(db: Database, member_id: int) -> Member:
    with db.session() as s:
        m = s.get(Member, member_id)
        assert m is not None
        return m


def feedback_count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Feedback)) or 0


def test_get_on_unsubscribe_only_asks(site: Site, people: dict[str, int]) -> None:
    token = site.token(people["ann"])
    r = httpx.get(f"{site.url}/email/unsubscribe", params={"token": token})
    assert r.status_code == 200
    assert '<form method="post"' in r.text and "ann@example.org" in r.text
    assert r.headers["cache-control"] == "no-store"
    assert member(site.db, people["ann"]).delivery == "email"


def test_one_click_post_unsubscribes_and_withdraws_what_was_waiting(
    site: Site, people: dict[str, int]
) -> None:
    with site.db.session() as s:
        from bot.delivery.outbox import enqueue

        enqueue(s, workspace_id=people["ws"], key="email-digest:x", kind="email", payload={"to": "ann@example.org"},
                recipient_id=people["ann"])  # fmt: skip
    url = f"{site.url}/email/unsubscribe?token={site.token(people['ann'])}"
    r = httpx.post(url, data=ONE_CLICK)
    assert r.status_code == 200 and "unsubscribed" in r.text
    assert member(site.db, people["ann"]).delivery == "off"
    with site.db.session() as s:
        assert s.get(Nudge, people["queued"]).status == "cancelled"  # type: ignore[union-attr]
        assert s.scalars(select(OutboxMessage.status)).one() == "cancelled"
    # Mail providers may POST more than once.
    assert httpx.post(url, data=ONE_CLICK).status_code == 200
    assert member(site.db, people["ann"]).delivery == "off"


def test_unsubscribing_from_email_keeps_slack(site: Site, people: dict[str, int]) -> None:
    r = httpx.post(
        f"{site.url}/email/unsubscribe", params={"token": site.token(people["bea"])}, data=ONE_CLICK
    )
    assert r.status_code == 200
    assert member(site.db, people["bea"]).delivery == "slack"


def test_action_link_get_asks_post_records_once(site: Site, people: dict[str, int]) -> None:
    token = site.token(people["ann"], "share", people["n_ann"])
    r = httpx.get(f"{site.url}/email/action", params={"token": token})
    assert r.status_code == 200 and "I&#39;ll share it" in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Vacuum" in r.text and "<script>" not in r.text
    assert feedback_count(site.db) == 0
    for _ in range(2):
        assert httpx.post(f"{site.url}/email/action", params={"token": token}).status_code == 200
    with site.db.session() as s:
        [fb] = s.scalars(select(Feedback)).all()
        assert (fb.kind, fb.member_id, fb.nudge_id) == ("shared", people["ann"], people["n_ann"])
        nudge = s.get(Nudge, people["n_ann"])
        assert nudge is not None and nudge.status == "acted" and nudge.acted_at is not None


def test_not_my_area_on_a_help_nudge(site: Site, people: dict[str, int]) -> None:
    token = site.token(people["bea"], "not_my_area", people["n_bea"])
    assert httpx.post(f"{site.url}/email/action", params={"token": token}).status_code == 200
    with site.db.session() as s:
        assert s.scalars(select(Feedback.kind)).one() == "not_my_area"
        assert s.get(Nudge, people["n_bea"]).status == "dismissed"  # type: ignore[union-attr]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_expired_and_mismatched_links_get_clear_pages(
    site: Site, people: dict[str, int], method: str
) -> None:
    ann, bea = people["ann"], people["bea"]
    cases = [
        ("/email/unsubscribe", "", 400, "doesn"),
        ("/email/unsubscribe", "v1.garbage.sig", 400, "doesn"),
        ("/email/unsubscribe", site.token(ann)[:-2] + "xx", 400, "doesn"),
        ("/email/unsubscribe", site.token(ann, ago=dt.timedelta(days=401)), 410, "expired"),
        (
            "/email/action",
            site.token(ann, "share", people["n_ann"], ago=dt.timedelta(days=31)),
            410,
            "expired",
        ),
        ("/email/action", site.token(ann), 400, "doesn"),  # an unsubscribe token on the action route
        ("/email/unsubscribe", site.token(ann, "share", people["n_ann"]), 400, "doesn"),
        ("/email/action", site.token(ann, "share", people["n_bea"]), 400, "doesn"),  # someone else's nudge
        ("/email/unsubscribe", site.token(ann, workspace_id=people["ws"] + 1), 400, "doesn"),
        ("/email/unsubscribe", site.token(999_999, workspace_id=people["ws"]), 410, "no longer"),
        ("/email/action", site.token(ann, "share", 999_999), 410, "no longer"),
    ]
    for path, token, status, words in cases:
        r = httpx.request(
            method, f"{site.url}{path}", params={"token": token}, data=ONE_CLICK if method == "POST" else None
        )
        assert (path, r.status_code) == (path, status), token
        assert words in r.text and "text/html" in r.headers["content-type"]
    assert member(site.db, ann).delivery == "email" and member(site.db, bea).delivery == "both"
    assert feedback_count(site.db) == 0


def test_the_list_unsubscribe_header_of_a_delivered_digest_works(
    site: Site, db: Database, relay: Relay
) -> None:
    """End to end: digest job, drain, relay; then the one-click POST a mail provider would make."""
    now = dt.datetime.now(dt.UTC).replace(hour=12)
    with db.session() as s:
        ws = add_workspace(s)
        cy = add_member(s, ws, "cy@example.org", weekends_off=False)
        add_nudge(s, ws, cy, at=now - dt.timedelta(hours=1))
        cy_id = cy.id
    assert send_digests(db, site.settings, now) == 1
    registry = SenderRegistry()
    registry.register("email", SmtpSender(make_settings(smtp_url=f"smtp://127.0.0.1:{relay.port}")))
    assert Drainer(db, registry).drain_once(now).sent == 1
    header = str(relay.received[0].message["List-Unsubscribe"])
    https_uri = header.split(",")[0].strip().strip("<>")
    assert https_uri.startswith(f"{site.url}/email/unsubscribe?token=")
    assert "mailto:share@passiton.test?subject=unsubscribe%20v1." in header
    r = httpx.post(https_uri, data=ONE_CLICK, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    assert member(db, cy_id).delivery == "off"


# -- email-only members: export and forget through signed links ------------------------------------


def test_export_link_get_asks_post_downloads_only_their_data(site: Site, people: dict[str, int]) -> None:
    token = site.token(people["ann"], "export")
    asked = httpx.get(f"{site.url}/email/export", params={"token": token})
    assert asked.status_code == 200 and '<form method="post"' in asked.text and "Download" in asked.text
    r = httpx.post(f"{site.url}/email/export", params={"token": token})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"] and r.headers["cache-control"] == "no-store"
    data = r.json()
    assert data["profile"]["email"] == "ann@example.org"
    assert {n["status"] for n in data["nudges_received"]} == {"sent", "queued"}
    assert "bea@example.org" not in r.text  # nobody else's data
    assert member(site.db, people["ann"]).delivery == "email"  # an export changes nothing


def test_forget_link_get_asks_post_forgets_then_the_link_is_gone(site: Site, people: dict[str, int]) -> None:
    token = site.token(people["ann"], "forget")
    asked = httpx.get(f"{site.url}/email/forget", params={"token": token})
    assert asked.status_code == 200 and "Forget me" in asked.text and "ann@example.org" in asked.text
    assert member(site.db, people["ann"]).email == "ann@example.org"  # GET (a link scanner) forgets nothing
    r = httpx.post(f"{site.url}/email/forget", params={"token": token})
    assert r.status_code == 200 and "forgotten" in r.text
    with site.db.session() as s:
        assert s.get(Member, people["ann"]) is None
        assert s.scalars(select(Nudge.recipient_id)).all() == [people["bea"]]
    again = httpx.post(f"{site.url}/email/forget", params={"token": token})
    assert again.status_code == 410
    assert (
        httpx.post(
            f"{site.url}/email/export", params={"token": site.token(people["ann"], "export")}
        ).status_code
        == 410
    )
    assert member(site.db, people["bea"]).email == "bea@example.org"


def test_export_and_forget_take_only_their_own_tokens(site: Site, people: dict[str, int]) -> None:
    ann = people["ann"]
    for path, token in [
        ("/email/forget", site.token(ann, "export")),
        ("/email/forget", site.token(ann)),  # an unsubscribe token
        ("/email/export", site.token(ann, "forget")),
        ("/email/unsubscribe", site.token(ann, "forget")),
        ("/email/forget", site.token(ann, "forget", workspace_id=people["ws"] + 1)),
        ("/email/forget", site.token(ann, "forget")[:-3] + "abc"),
    ]:
        r = httpx.post(f"{site.url}{path}", params={"token": token})
        assert r.status_code == 400, (path, r.status_code)
    expired = site.token(ann, "export", ago=dt.timedelta(days=31))
    assert httpx.post(f"{site.url}/email/export", params={"token": expired}).status_code == 410
    assert member(site.db, ann).delivery == "email"


def test_a_delivered_digest_carries_working_export_and_forget_links(
    site: Site, db: Database, relay: Relay
) -> None:
    now = dt.datetime.now(dt.UTC).replace(hour=12)
    with db.session() as s:
        ws = add_workspace(s)
        cy = add_member(s, ws, "cy@example.org", weekends_off=False)
        add_nudge(s, ws, cy, at=now - dt.timedelta(hours=1))
        cy_id = cy.id
    assert send_digests(db, site.settings, now) == 1
    registry = SenderRegistry()
    registry.register("email", SmtpSender(make_settings(smtp_url=f"smtp://127.0.0.1:{relay.port}")))
    assert Drainer(db, registry).drain_once(now).sent == 1
    body = relay.received[0].message.get_body(("plain",))
    assert body is not None
    lines = {
        line.split(": ", 1)[0]: line.split(": ", 1)[1]
        for line in body.get_content().splitlines()
        if ": http" in line
    }
    export = httpx.post(lines["What passiton holds about you"])
    assert export.status_code == 200 and export.json()["profile"]["email"] == "cy@example.org"
    assert httpx.post(lines["Forget me (delete all of it)"]).status_code == 200
    with db.session() as s:
        assert s.get(Member, cy_id) is None
