"""Is a message's From vouched for by our own MTA? Authentication-Results (RFC 8601), pure functions.

passiton smtpd sits behind an MTA that checks SPF, DKIM and DMARC and records the outcome in an
Authentication-Results header named by its authserv-id (PASSITON_TRUSTED_MTA). Only such a header
counts: anyone can write one into a message, so one from another authserv-id is ignored, and the MTA
must remove copies bearing its own id that arrive from outside (RFC 8601 section 5; deploy/README.md).
Headers are prepended as mail travels, so the topmost one with a trusted id is the MTA's own.

A From is vouched for when that header says dmarc=pass for the From's domain, or both dkim=pass and
spf=pass with the signing domain (header.d) and the envelope sender's domain (smtp.mailfrom) aligned
with it (the same domain, or one a subdomain of the other: DMARC's relaxed alignment, without a public
suffix list, and never a bare top-level name).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

MAX_HEADER_CHARS = 8_000  # a longer value is not something an MTA wrote; it is not parsed
_PROPERTY = re.compile(r'([A-Za-z0-9_.\-/]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


@dataclass(frozen=True)
class MethodResult:
    method: str  # "dmarc", "dkim", "spf", ... (lower case, version dropped)
    result: str  # "pass", "fail", "none", ...
    properties: dict[str, str] = field(default_factory=dict)  # "header.from" -> "example.org"


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # for the log line; never sent to the sender (see bot.email.inbound)


def _strip_comments(value: str) -> str:
    """The value without RFC 5322 comments (nested parentheses), leaving quoted strings alone."""
    out: list[str] = []
    depth, quoted, escaped = 0, False, False
    for ch in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            quoted = ch != '"'
            out.append(ch)
        elif ch == '"' and depth == 0:
            quoted = True
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _split_semicolons(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse(value: str) -> AuthResults | None:
    """One Authentication-Results header value, or None when it cannot be read as one."""
    if len(value) > MAX_HEADER_CHARS:
        return None
    parts = _split_semicolons(_strip_comments(value.replace("\r", " ").replace("\n", " ")))
    head = parts[0].split()
    if not head:
        return None
    results: list[MethodResult] = []
    for part in parts[1:]:
        pairs = _PROPERTY.findall(part)
        if not pairs:
            continue  # "none", or an empty trailing part
        (method, result), *rest = pairs
        props: dict[str, str] = {}
        for name, raw in rest:
            text = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
            props.setdefault(name.lower(), text.strip())
        results.append(MethodResult(method.split("/", 1)[0].lower(), result.lower(), props))
    return AuthResults(head[0].lower(), tuple(results))


def _domain(value: str | None) -> str:
    if not value:
        return ""
    return value.rpartition("@")[2].strip().strip(".").lower()


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment, approximated without a public suffix list (see the module docstring)."""
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return True
    shorter, longer = sorted((domain, from_domain), key=len)
    return "." in shorter and longer.endswith("." + shorter)


def verify(header_values: Sequence[str], trusted: Collection[str], from_address: str) -> Verdict:
    """Does the trusted MTA's Authentication-Results vouch for `from_address`'s domain?"""
    from_domain = _domain(from_address)
    if not from_domain:
        return Verdict(False, "no From domain")
    trusted_ids = {t.strip().lower() for t in trusted if t.strip()}
    ours = next(
        (r for r in map(parse, header_values) if r is not None and r.authserv_id in trusted_ids), None
    )
    if ours is None:
        return Verdict(False, "no Authentication-Results from a trusted MTA")
    passed = [r for r in ours.results if r.result == "pass"]
    for r in passed:
        if r.method == "dmarc" and _domain(r.properties.get("header.from")) == from_domain:
            return Verdict(True, "dmarc=pass")
    dkim = any(
        r.method == "dkim"
        and aligned(_domain(r.properties.get("header.d") or r.properties.get("header.i")), from_domain)
        for r in passed
    )
    spf = any(
        r.method == "spf" and aligned(_domain(r.properties.get("smtp.mailfrom")), from_domain) for r in passed
    )
    if dkim and spf:
        return Verdict(True, "dkim=pass and spf=pass, aligned")
    seen = ", ".join(f"{r.method}={r.result}" for r in ours.results) or "none"
    return Verdict(False, f"{ours.authserv_id} reports {seen} for {from_domain}")
