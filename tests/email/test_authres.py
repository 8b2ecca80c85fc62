"""Authentication-Results parsing (RFC 8601) and the vouching rule: pure functions, no server."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.email.authres import aligned, parse, verify

MX = "mx.passiton.test"


def test_folded_header_with_comments_and_quoted_values() -> None:
    value = (
        'MX.Passiton.Test 1;\r\n\tdkim=pass (good; sig) header.d="example.org" header.s=s1;\r\n'
        " spf=pass smtp.mailfrom=ann@example.org (a ; in a comment);\r\n dmarc=pass header.from=example.org"
    )
    parsed = parse(value)
    assert parsed is not None and parsed.authserv_id == MX
    assert [(r.method, r.result) for r in parsed.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
    ]
    assert parsed.results[0].properties["header.d"] == "example.org"
    assert verify([value], [MX], "ann@example.org").ok


def test_alignment_is_relaxed_but_never_a_bare_top_level_name() -> None:
    assert aligned("mail.example.org", "example.org") and aligned("example.org", "news.example.org")
    assert not aligned("org", "example.org") and not aligned("badexample.org", "example.org")
    assert not aligned("", "example.org")


def test_only_the_topmost_trusted_header_counts() -> None:
    ours_fail = f"{MX}; dmarc=fail header.from=example.org"
    forged_pass = f"{MX}; dmarc=pass header.from=example.org"
    assert not verify([ours_fail, forged_pass], [MX], "ann@example.org").ok
    assert verify(["other.test; dmarc=fail", forged_pass], [MX, "x.test"], "ann@example.org").ok


@given(st.text(max_size=300))
def test_any_header_text_parses_or_is_ignored_never_raises(value: str) -> None:
    parse(value)
    verify([value], [MX], "ann@example.org")


def test_a_huge_header_is_not_parsed() -> None:
    assert parse(f"{MX}; dmarc=pass header.from=example.org " + "x=y " * 5000) is None
