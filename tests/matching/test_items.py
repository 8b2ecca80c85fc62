from __future__ import annotations

from bot.matching.items import (
    clean_slack_text,
    extract_links,
    parse_html_meta,
    understand_message,
    url_words,
)


def test_extract_links_slack_and_bare() -> None:
    text = "see <https://a.example/x?y=1&amp;z=2|the guide> and https://b.example/post. also <https://a.example/x?y=1&amp;z=2>"
    links = extract_links(text)
    assert [link.url for link in links] == ["https://a.example/x?y=1&z=2", "https://b.example/post"]
    assert links[0].label == "the guide"


def test_clean_slack_text() -> None:
    text = "<!here> <@U123ABC> asked in <#C0123|eng> about <https://x.example|vacuum> &amp; :tada: <!subteam^S1|@dbas>"
    assert clean_slack_text(text) == "asked in eng about vacuum & dbas"
    assert clean_slack_text("hi <@U1>", names={"U1": "Dana"}) == "hi Dana"
    assert "<!channel>" not in clean_slack_text("<!channel> ping")


def test_url_words() -> None:
    words = url_words("https://www.example.com/blog/2024/05/postgres-vacuum-tuning.html?utm_source=x")
    assert words == ["example", "postgres", "vacuum", "tuning"]
    assert "a8f9e7c6d5b4" not in url_words("https://x.example/p/a8f9e7c6d5b4/k8s")


def test_understand_message_uses_unfurls() -> None:
    attachments = [
        {
            "title": "Tuning autovacuum in PostgreSQL",
            "text": "How to keep <b>bloat</b> down",
            "service_name": "Example Blog",
            "from_url": "https://blog.example/pg-autovacuum",
            "original_url": "https://blog.example/pg-autovacuum",
        },
        {"fallback": "Second link: Helm tips", "original_url": "https://helm.example/tips"},
    ]
    item = understand_message("worth a read <https://blog.example/pg-autovacuum>", attachments)
    assert item.has_link
    assert item.titles == ("Tuning autovacuum in PostgreSQL", "Second link: Helm tips")
    assert [link.url for link in item.links] == [
        "https://blog.example/pg-autovacuum",
        "https://helm.example/tips",
    ]
    assert "autovacuum" in item.url_words
    text = item.for_embedding()
    assert text.startswith("Tuning autovacuum in PostgreSQL")
    assert "worth a read" in text


def test_parse_html_meta() -> None:
    page = """<html><head><title>
      Vacuum &amp; you </title><meta name="Description" content="All about vacuum.">
      <meta property="og:title" content="OG title"></head><body><title>not this</title></body></html>"""
    meta = parse_html_meta(page)
    assert meta.title.startswith("Vacuum & you")
    assert meta.description == "All about vacuum."
    assert parse_html_meta('<meta property="og:title" content="Only OG">').title == "Only OG"
    assert parse_html_meta("<<<not html").title == ""
