"""PASSITON_FETCH_PAGES: fill in an article's title and description from its page when Slack did not.

Runs after the ack, in the worker that stored the item and before anything is planned for it, so the
item is matched on the page's words. The fetcher (`AppContext.page_fetcher`, by default
`bot.matching.fetch.fetch_page` with public addresses only) does the network guarding; this module
decides whether to fetch and what to keep.

- Only articles, only when the item has neither a title nor a description: a Slack unfurl (or a link
  label) already says what the page is, and a question's own words say what is asked.
- Never for items from private channels or group DMs. A link shared there may be private to the
  team (an intranet page, a document with a secret share token); fetching it would send that URL to
  a third party from the bot's address and could act on it (single-use links).
- Slack's unfurl wins: Slack usually adds it a moment later in a `message_changed`. If it is stored
  while the page is being fetched, the fetched text is dropped; if it arrives later, ingest replaces
  the fetched text with it.
- A failure (refused address, timeout, not HTML, HTTP error) is logged at info level and changes
  nothing: the item is matched on what Slack sent.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, update

from bot.config import Settings
from bot.context import AppContext
from bot.matching.fetch import FetchError, FetchRefused
from bot.store.models import Item

log = logging.getLogger(__name__)


def page_to_fetch(settings: Settings, item: Item | None) -> str | None:
    """The URL to fetch for a just-stored item, or None."""
    if not settings.passiton_fetch_pages or item is None or item.kind != "article":
        return None
    if item.is_private or not item.url:
        return None
    if (item.title or "").strip() or (item.description or "").strip():
        return None
    return item.url


def fill_from_page(ctx: AppContext, item_id: int, url: str) -> bool:
    """Fetch `url` and store its title/description on the item if it still has neither. True if stored."""
    try:
        page = ctx.page_fetcher(url)
    except FetchRefused as exc:
        log.info("page fetch refused", extra={"item_id": item_id, "reason": str(exc)})
        return False
    except FetchError as exc:
        log.info("page fetch failed", extra={"item_id": item_id, "reason": str(exc)})
        return False
    except Exception:  # an unexpected fetcher bug must not cost the item its planning
        log.warning("page fetch raised", extra={"item_id": item_id}, exc_info=True)
        return False
    if not page.title and not page.description:
        log.info("fetched page has no title or description", extra={"item_id": item_id})
        return False
    # One conditional UPDATE, so an unfurl committed by another worker in the meantime is never overwritten.
    with ctx.db.session() as session:
        result = session.execute(
            update(Item)
            .where(
                Item.id == item_id,
                Item.deleted_at.is_(None),
                func.coalesce(Item.title, "") == "",
                func.coalesce(Item.description, "") == "",
            )
            .values(title=page.title, description=page.description)
        )
    return bool(getattr(result, "rowcount", 0))
