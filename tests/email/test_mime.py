"""A corpus of real-world message shapes, written out as raw MIME the way clients send them."""

from __future__ import annotations

import base64
import quopri

from bot.email.mime import clean_subject, find_links, html_to_text, parse_mail


def raw(text: str) -> bytes:
    return text.lstrip("\n").replace("\n", "\r\n").encode("ascii")


def test_plain_utf8_note_with_signature() -> None:
    mail = parse_mail(
        raw("""
From: Ann Example <Ann@Example.org>
To: share@passiton.test
Subject: Great piece on vacuum tuning
Message-ID: <abc123@mail.example.org>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Worth a read for anyone running Postgres: https://example.org/vacuum-tuning.

--=20
Ann, https://ann.example.org
""").replace(b"--=20", b"-- ")
    )
    assert mail.message_id == "abc123@mail.example.org"
    assert mail.from_address == "ann@example.org"
    assert mail.subject == "Great piece on vacuum tuning"
    assert mail.note_links == ["https://example.org/vacuum-tuning"]
    assert mail.links[0] == "https://example.org/vacuum-tuning"
    assert "ann.example.org" not in mail.note


def test_alternative_keeps_hrefs_hidden_behind_anchor_text() -> None:
    mail = parse_mail(
        raw("""
From: ann@example.org
Subject: =?utf-8?q?Caf=C3=A9_reading?=
Message-ID: <alt-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Have a look at this one, it explains replication lag really well.

--b1
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Have a look at <a href=3D"https://example.org/replication?utm=3D1&amp;x=3D2">this one</a>=
, it explains replication lag really well.</div>

--b1--
""")
    )
    assert mail.subject == "Café reading"
    assert mail.links == ["https://example.org/replication?utm=1&x=2"]
    assert mail.note.startswith("Have a look at this one")


def test_html_only_quoted_printable_without_plain_part() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>ignored</title></head><body>"
        "<p>Sharing &quot;<b>Kubernetes&nbsp;autoscaling</b>&quot;:</p>"
        '<p><a href="https://k8s.example.com/hpa">read it</a> &middot; <a href="mailto:x@y">mail</a></p>'
        "<script>var a='https://tracker.example.com/';</script></body></html>"
    )
    body = quopri.encodestring(html.encode()).decode()
    mail = parse_mail(
        raw(f"""
From: ann@example.org
Subject: k8s
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

{body}
""")
    )
    assert mail.links == ["https://k8s.example.com/hpa"]
    assert 'Sharing "Kubernetes autoscaling":' in mail.note
    assert "color" not in mail.text and "tracker" not in mail.text and "ignored" not in mail.text


def test_base64_iso_8859_1() -> None:
    body = base64.b64encode(
        "Un café crème et https://exemple.fr/article à lire.".encode("iso-8859-1")
    ).decode()
    mail = parse_mail(
        raw(f"""
From: ann@example.org
Subject: =?iso-8859-1?q?=C0_lire?=
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: base64

{body}
""")
    )
    assert mail.subject == "À lire"
    assert "café crème" in mail.note
    assert mail.links == ["https://exemple.fr/article"]


def test_windows_1252_smart_quotes() -> None:
    body = quopri.encodestring("“Read this” — https://example.org/quotes".encode("windows-1252")).decode()
    mail = parse_mail(
        raw(f"""
From: ann@example.org
Subject: quotes
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

{body}
""")
    )
    assert mail.note == "“Read this” — https://example.org/quotes"


def test_shift_jis() -> None:
    text = "この記事はおすすめです https://example.jp/kiji"
    body = base64.b64encode(text.encode("shift_jis")).decode()
    subject = base64.b64encode("おすすめ".encode("shift_jis")).decode()
    mail = parse_mail(
        raw(f"""
From: taro@example.jp
Subject: =?shift_jis?b?{subject}?=
Content-Type: text/plain; charset=Shift_JIS
Content-Transfer-Encoding: base64

{body}
""")
    )
    assert mail.subject == "おすすめ"
    assert mail.note == text
    assert mail.links == ["https://example.jp/kiji"]


def test_unknown_charset_falls_back_instead_of_failing() -> None:
    mail = parse_mail(
        b"From: ann@example.org\r\nSubject: x\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\nna\xefve https://example.org/n\r\n"
    )
    assert mail.links == ["https://example.org/n"]
    assert mail.note.startswith("na")


def test_forwarded_as_message_rfc822_attachment() -> None:
    mail = parse_mail(
        raw("""
From: ann@example.org
Subject: Fw: Vacuum deep dive
Message-ID: <outer@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

Thought of the infra folks.

--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Vacuum deep dive.eml"

From: newsletter@db.example.com
Subject: Vacuum deep dive
Message-ID: <inner@db.example.com>
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

This week: https://db.example.com/vacuum-deep-dive
Unsubscribe: https://db.example.com/unsubscribe?u=1

--inner
Content-Type: text/html; charset=utf-8

<p>This week: <a href="https://db.example.com/vacuum-deep-dive">vacuum</a></p>

--inner--

--outer--
""")
    )
    assert mail.message_id == "outer@example.org"
    assert mail.subject == "Vacuum deep dive"
    assert mail.note == "Thought of the infra folks."
    assert mail.note_links == []
    assert mail.links[0] == "https://db.example.com/vacuum-deep-dive"
    assert "This week" in mail.text


def test_gmail_inline_forward() -> None:
    mail = parse_mail(
        raw("""
From: Ann <ann@example.org>
Subject: Fwd: Autovacuum explained
Content-Type: text/plain; charset="UTF-8"

For the db channel folks.

---------- Forwarded message ---------
From: Bob <bob@elsewhere.org>
Date: Mon, 3 Jun 2024 at 09:12
Subject: Autovacuum explained
To: Ann <ann@example.org>


The best explanation I found: https://blog.example.org/autovacuum
""")
    )
    assert mail.subject == "Autovacuum explained"
    assert mail.note == "For the db channel folks."
    assert mail.links == ["https://blog.example.org/autovacuum"]
    assert "The best explanation I found" in mail.text
    assert "Date:" not in mail.text


def test_outlook_original_message_block_gives_the_subject_when_the_outer_has_none() -> None:
    mail = parse_mail(
        raw("""
From: ann@example.org
Content-Type: text/plain; charset="UTF-8"

-----Original Message-----
From: Bob <bob@elsewhere.org>
Sent: Monday, June 3, 2024 9:12 AM
Subject: RE: Terraform state locking
To: Ann

See https://tf.example.org/locking for the details.
""")
    )
    assert mail.subject == "Terraform state locking"
    assert mail.links == ["https://tf.example.org/locking"]


def test_attachments_are_ignored() -> None:
    pdf = base64.b64encode(b"%PDF-1.4 https://inside-the-pdf.example.org").decode()
    txt = base64.b64encode(b"https://inside-the-attachment.example.org").decode()
    mail = parse_mail(
        raw(f"""
From: ann@example.org
Subject: with attachments
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain; charset=utf-8

The link is https://example.org/real and the slides are attached.

--m
Content-Type: application/pdf; name="slides.pdf"
Content-Disposition: attachment; filename="slides.pdf"
Content-Transfer-Encoding: base64

{pdf}
--m
Content-Type: text/plain; name="links.txt"
Content-Disposition: attachment; filename="links.txt"
Content-Transfer-Encoding: base64

{txt}
--m
Content-Type: image/png; name="logo.png"
Content-Disposition: inline; filename="logo.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--m--
""")
    )
    assert mail.links == ["https://example.org/real"]
    assert "inside" not in mail.text


def test_no_message_id_and_no_links() -> None:
    mail = parse_mail(raw("From: ann@example.org\nSubject: hello\n\njust saying hi\n"))
    assert mail.message_id is None
    assert mail.links == []
    assert len(mail.digest) == 64


def test_helpers() -> None:
    assert clean_subject("Re: Fwd: FW[2]: AW: Topic  here") == "Topic here"
    assert find_links("(see https://a.example.org/x_(y)) and <https://b.example.org/z>.") == [
        "https://a.example.org/x_(y)",
        "https://b.example.org/z",
    ]
    text, links = html_to_text(
        "<p>a<br>b</p><a href='javascript:alert(1)'>x</a><a href=' https://ok.example '>"
    )
    assert text == "a\nb\nx" and links == ["https://ok.example"]
