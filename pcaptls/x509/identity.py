"""Does a certificate name the host the client wanted?  RFC 6125 plus RFC 5922 for SIP.

Hand-written because the library verifier knows neither SIP URIs (RFC 5922 domain
certificates) nor the CN fallback that older SIP stacks still rely on, and we must say
*which* rule matched or failed, not just pass/fail.

Rules (RFC 6125 §6.4, as modern stacks apply them):
- DNS names compare case-insensitively, without a trailing dot.
- A wildcard is only a whole left-most label ``*`` and matches exactly one label; it is
  never honoured on a name of fewer than three labels (``*.com``, ``*.test``), nor for
  an IP address.
- An IP address needs an iPAddress SAN; DNS names and the CN never match it.
- RFC 5922 §7.1: a SAN URI ``sip:example.com`` (no user part) names the SIP domain
  ``example.com``; otherwise dNSName SANs are used.
- The subject CN is consulted only when the certificate has no DNS, IP or URI
  subjectAltName (RFC 6125 §6.4.4; flagged ``cn_only``, the CERT_CN_ONLY finding).
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Literal

from pcaptls.x509.facts import CertificateFacts

IdentitySource = Literal["sni", "expect-host"]


@dataclass(frozen=True, slots=True)
class ExpectedIdentity:
    """The name the leaf must carry and where we learned it."""

    name: str
    source: IdentitySource


@dataclass(frozen=True, slots=True)
class IdentityMatch:
    """Outcome of matching one identity against one certificate."""

    identity: str
    kind: Literal["dns", "ip"]
    matched: bool
    via: str | None
    """Which presented name matched: ``DNS:…``, ``IP:…``, ``URI:…`` or ``CN:…``."""
    presented: tuple[str, ...]
    """The names that were tried (the table's "name tried vs SANs")."""
    cn_only: bool
    """No DNS/IP/URI subjectAltName: only the CN could be tried (CERT_CN_ONLY)."""
    wildcard: bool = False


def expected_identity(sni: str | None, expect_host: str | None) -> ExpectedIdentity | None:
    """SNI first, else the user's ``--expect-host``, else not determined (``None``)."""
    if sni:
        return ExpectedIdentity(sni, "sni")
    if expect_host:
        return ExpectedIdentity(expect_host, "expect-host")
    return None


def normalize_dns(name: str) -> str:
    """Lower case, no trailing dot, IDNA A-labels for non-ASCII input."""
    name = name.strip().rstrip(".").lower()
    if not name.isascii():
        with contextlib.suppress(UnicodeError):
            name = name.encode("idna").decode("ascii")
    return name


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def dns_matches(pattern: str, host: str) -> tuple[bool, bool]:
    """(matched, by wildcard) for one presented dNSName against a reference host name."""
    pattern, host = normalize_dns(pattern), normalize_dns(host)
    if not pattern or not host:
        return False, False
    if "*" not in pattern:
        return pattern == host, False
    labels = pattern.split(".")
    if labels[0] != "*" or "*" in ".".join(labels[1:]) or len(labels) < 3:
        return False, False
    host_labels = host.split(".")
    if len(host_labels) != len(labels) or not host_labels[0]:
        return False, False
    return host_labels[1:] == labels[1:], True


def sip_uri_domain(uri: str) -> str | None:
    """The host of a ``sip:``/``sips:`` URI without a user part (RFC 5922 §7.1), else None."""
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips") or "@" in rest:
        return None
    host = rest.split(";", 1)[0].split("?", 1)[0]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def match_identity(facts: CertificateFacts, identity: str) -> IdentityMatch:
    """Match ``identity`` (DNS name, SIP domain or IP literal) against the leaf's names."""
    ip = _ip(identity)
    cn_only = not (facts.san_dns or facts.san_ip or facts.san_uri)
    if ip is not None:
        presented = tuple(f"IP:{a}" for a in facts.san_ip)
        for addr in facts.san_ip:
            if _ip(addr) == ip:
                return IdentityMatch(str(ip), "ip", True, f"IP:{addr}", presented, cn_only)
        return IdentityMatch(str(ip), "ip", False, None, presented, cn_only)

    host = normalize_dns(identity)
    if cn_only:
        presented = (f"CN:{facts.subject_cn}",) if facts.subject_cn else ()
        if facts.subject_cn is not None:
            ok, wild = dns_matches(facts.subject_cn, host)
            if ok:
                return IdentityMatch(host, "dns", True, f"CN:{facts.subject_cn}", presented,
                                     True, wild)
        return IdentityMatch(host, "dns", False, None, presented, True)

    presented = tuple(f"URI:{u}" for u in facts.san_uri if sip_uri_domain(u) is not None)
    presented += tuple(f"DNS:{d}" for d in facts.san_dns)
    for uri in facts.san_uri:
        domain = sip_uri_domain(uri)
        if domain is not None and normalize_dns(domain) == host:
            return IdentityMatch(host, "dns", True, f"URI:{uri}", presented, False)
    for dns in facts.san_dns:
        ok, wild = dns_matches(dns, host)
        if ok:
            return IdentityMatch(host, "dns", True, f"DNS:{dns}", presented, False, wild)
    return IdentityMatch(host, "dns", False, None, presented, False)
