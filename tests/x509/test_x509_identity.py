"""RFC 6125 / RFC 5922 name matching, checked against `openssl x509 -checkhost/-checkip`
on certificates made for each case; RFC 5922 SIP URIs and the partial-wildcard rule
(which openssl does not implement / implements differently) are checked against the
RFC text, said so next to each case.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pcaptls.x509.facts import CertificateFacts, certificate_facts
from pcaptls.x509.identity import expected_identity, match_identity, sip_uri_domain

KEY = ec.generate_private_key(ec.SECP256R1())


def _cert(cn: str | None, sans: list[x509.GeneralName]) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(KEY.public_key()).serial_number(1)
         .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
         .not_valid_after(datetime(2027, 1, 1, tzinfo=UTC)))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(KEY, hashes.SHA256())


D, IP, URI, EMAIL = x509.DNSName, x509.IPAddress, x509.UniformResourceIdentifier, x509.RFC822Name


def _ip(s: str) -> x509.IPAddress:
    return IP(ipaddress.ip_address(s))


# (CN, SANs, identity) -- the expected answer is whatever openssl says
OPENSSL_CASES = [
    ("x", [D("sip.example.test")], "sip.example.test"),
    ("x", [D("sip.example.test")], "SIP.Example.TEST"),
    ("x", [D("sip.example.test")], "other.example.test"),
    ("x", [D("*.example.test")], "a.example.test"),
    ("x", [D("*.example.test")], "a.b.example.test"),
    ("x", [D("*.example.test")], "example.test"),
    ("x", [D("*.test")], "a.test"),
    ("x", [D("*.*.example.test")], "a.b.example.test"),
    ("x", [D("a.*.example.test")], "a.b.example.test"),
    ("x", [_ip("10.61.0.2")], "10.61.0.2"),
    ("x", [_ip("10.61.0.2")], "10.61.0.3"),
    ("x", [D("10.61.0.2")], "10.61.0.2"),
    ("x", [_ip("fd61::2")], "fd61:0:0::2"),
    ("10.61.0.2", [], "10.61.0.2"),
    ("sip.example.test", [], "sip.example.test"),
    ("*.example.test", [], "sip.example.test"),
    ("sip.example.test", [D("other.example.test")], "sip.example.test"),
    ("sip.example.test", [EMAIL("a@example.test")], "sip.example.test"),
]


def _openssl_matches(cert: x509.Certificate, identity: str, tmp: Path) -> bool:
    path = tmp / "c.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    is_ip = ":" in identity or identity.replace(".", "").isdigit()
    out = subprocess.run(["openssl", "x509", "-noout", "-in", str(path),
                          "-checkip" if is_ip else "-checkhost", identity],
                         capture_output=True, text=True, check=True).stdout
    assert "match" in out, out
    return "does match" in out


@pytest.mark.parametrize(("cn", "sans", "identity"), OPENSSL_CASES,
                         ids=[f"{c[0]}-{'+'.join(str(getattr(s, 'value', s)) for s in c[1])}-{c[2]}"
                              for c in OPENSSL_CASES])
def test_matches_like_openssl(cn: str, sans: list[x509.GeneralName], identity: str,
                              tmp_path: Path) -> None:
    cert = _cert(cn, sans)
    facts = certificate_facts(cert.public_bytes(serialization.Encoding.DER), at_ns=time.time_ns())
    assert match_identity(facts, identity).matched == _openssl_matches(cert, identity, tmp_path)


def _facts(cn: str | None, sans: list[x509.GeneralName]) -> CertificateFacts:
    return certificate_facts(_cert(cn, sans).public_bytes(serialization.Encoding.DER), at_ns=0)


def test_partial_wildcard_refused_unlike_openssl(tmp_path: Path) -> None:
    """openssl's default accepts f*.example.test; RFC 9525 §6.3 (which obsoletes RFC 6125)
    and the CA/B Forum allow only a whole left-most ``*`` label, as browsers do."""
    cert = _cert("x", [D("f*.example.test")])
    assert _openssl_matches(cert, "foo.example.test", tmp_path)
    facts = certificate_facts(cert.public_bytes(serialization.Encoding.DER), at_ns=0)
    assert not match_identity(facts, "foo.example.test").matched


def test_rfc5922_sip_uri_names_the_domain() -> None:
    """RFC 5922 §7.1: a SAN URI sip:example.com (no user part) is the SIP domain."""
    facts = _facts("ignored", [URI("sip:example.test")])
    m = match_identity(facts, "example.test")
    assert m.matched and m.via == "URI:sip:example.test" and not m.cn_only
    # a URI with a user part names a user, not the domain; no CN fallback beside a URI-ID
    facts = _facts("example.test", [URI("sip:alice@example.test")])
    assert not match_identity(facts, "example.test").matched
    assert sip_uri_domain("sips:example.test:5061;transport=tcp") == "example.test"
    assert sip_uri_domain("http://example.test") is None


def test_cn_only_flag() -> None:
    m = match_identity(_facts("sip.example.test", []), "sip.example.test")
    assert m.matched and m.cn_only and m.via == "CN:sip.example.test"


def test_expected_identity_order() -> None:
    """DESIGN: SNI, else --expect-host, else not determined."""
    assert expected_identity("a.test", "b.test") == expected_identity("a.test", None)
    e = expected_identity(None, "b.test")
    assert e is not None and (e.name, e.source) == ("b.test", "expect-host")
    assert expected_identity(None, None) is None
