"""Certificate facts for the certificates found in the corpus captures, checked against
tshark's X.509 dissection of the same certificates (PDML, one tree per certificate).

Where openssl cannot parse a certificate either, we must report ``parse_error``.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import tshark
from cryptography import x509 as cx509
from pki_helper import EXTERNAL, PKI, pem_ders

from pcaptls.x509.facts import CertificateFacts, certificate_facts


def _captures_with_certificates() -> list[str]:
    """Every corpus capture in which tshark's dissection shows a Certificate message."""
    out = []
    expected = EXTERNAL / "expected"
    for tsv in sorted(expected.rglob("*.tsv")):
        if tsv.name.endswith(".keylog.tsv") or tsv.name == "_tshark_runs.tsv":
            continue
        rows = tsv.read_text().splitlines()[1:]
        if any(r.split("\t")[8] == "11" for r in rows if len(r.split("\t")) > 8):
            out.append(str(tsv.relative_to(expected))[: -len(".tsv")])
    return out


CAPTURES = _captures_with_certificates()

# RFC 5280 4.2.1.12 id-kp-* names (independent of the code under test)
EKU_OIDS = {
    "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning", "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "OCSPSigning",
}
CURVES = {"1.2.840.10045.3.1.7": "secp256r1", "1.3.132.0.34": "secp384r1",
          "1.3.132.0.35": "secp521r1"}
SAN, AIA, CRL_DP, EKU, BC, SCT = ("2.5.29.17", "1.3.6.1.5.5.7.1.1", "2.5.29.31", "2.5.29.37",
                                  "2.5.29.19", "1.3.6.1.4.1.11129.2.4.2")


def _children(e: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in e.iter("field") if c.get("name") == name]


def _first(e: ET.Element, name: str) -> ET.Element | None:
    found = _children(e, name)
    return found[0] if found else None


def _rdns(e: ET.Element | None) -> list[tuple[str, str]]:
    out = []
    for item in _children(e, "x509if.RelativeDistinguishedName_item_element") if e else []:
        oid = _first(item, "x509if.oid")
        leaves = [c for c in item.iter("field") if len(c) == 0 and c.get("name") != "x509if.oid"]
        if oid is not None and leaves:
            out.append((oid.get("show", ""), leaves[-1].get("show", "")))
    return out


def _extensions(tbs: ET.Element) -> dict[str, ET.Element]:
    out = {}
    for ext in _children(tbs, "x509af.Extension_element"):
        oid = _first(ext, "x509af.extension.id")
        if oid is not None:
            out[oid.get("show", "")] = ext
    return out


def _utc(e: ET.Element | None) -> datetime | None:
    t = _first(e, "x509af.utcTime") if e is not None else None
    if t is None:
        return None
    return datetime.strptime(t.get("show", ""), "%Y-%m-%d %H:%M:%S (UTC)").replace(tzinfo=UTC)


def _tshark_certificates() -> list[tuple[str, bytes, ET.Element]]:
    out = []
    for cap in CAPTURES:
        pdml = tshark.run(str(EXTERNAL / cap), *tshark.OOO, "-Y", "tls.handshake.certificate",
                          "-T", "pdml")
        for f in ET.fromstring(pdml).iter("field"):
            if f.get("name") == "tls.handshake.certificate" and f.get("value"):
                out.append((cap, bytes.fromhex(f.get("value", "")), f))
    return out


CERTS = _tshark_certificates() if tshark.have_tshark() else []
SEEN: set[str] = set()
UNIQUE = [c for c in CERTS if not (hashlib.sha256(c[1]).hexdigest() in SEEN
                                    or SEEN.add(hashlib.sha256(c[1]).hexdigest()))]  # type: ignore[func-returns-value]


def _openssl_parses(der: bytes) -> bool:
    return subprocess.run(["openssl", "x509", "-inform", "DER", "-noout"], input=der,
                          capture_output=True, check=False).returncode == 0


def test_corpus_has_certificates() -> None:
    assert len(UNIQUE) >= 30
    # zeek/missing-intermediate.pcap's leaf encodes BasicConstraints cA=FALSE (a DER
    # default); openssl reads it, the library refuses its extensions: facts must survive.
    flawed = [certificate_facts(d, at_ns=0) for c, d, _ in UNIQUE
              if c == "zeek/missing-intermediate.pcap"]
    assert any(f.extension_error and f.parse_error is None and f.subject for f in flawed)


@pytest.mark.parametrize(("cap", "der", "tree"), UNIQUE,
                         ids=[f"{c}#{hashlib.sha256(d).hexdigest()[:8]}" for c, d, _ in UNIQUE])
def test_facts_match_tshark(cap: str, der: bytes, tree: ET.Element) -> None:
    facts = certificate_facts(der, at_ns=time.time_ns())
    assert facts.sha256 == hashlib.sha256(der).hexdigest()
    if not _openssl_parses(der):
        assert facts.parse_error is not None
        assert facts.der == der
        return
    assert facts.parse_error is None, facts.parse_error
    tbs = _first(tree, "x509af.signedCertificate_element")
    assert tbs is not None
    _check_names(facts, tbs)
    serial = _first(tbs, "x509af.serialNumber")
    assert serial is not None
    assert int(facts.serial or "", 16) == int(serial.get("show", "").replace(":", ""), 16)
    validity = _first(tbs, "x509af.validity_element")
    assert validity is not None
    nb, na = _utc(_first(validity, "x509af.notBefore")), _utc(_first(validity, "x509af.notAfter"))
    if nb is not None:
        assert facts.not_before == nb
    if na is not None:
        assert facts.not_after == na
    if facts.extension_error is None:
        _check_extensions(facts, _extensions(tbs))
    else:  # the library refuses the extensions (a DER default encoded): only that is lost
        assert "extensions do not parse" in facts.extension_error
    _check_algorithms(facts, tree, tbs)


def _check_names(facts: CertificateFacts, tbs: ET.Element) -> None:
    for field, rdn_name, ours, cn in (
            ("x509af.subject", "x509af.rdnSequence", facts.subject, facts.subject_cn),
            ("x509af.issuer", "x509if.rdnSequence", facts.issuer, facts.issuer_cn)):
        part = _first(tbs, field)
        rdns = _rdns(_first(part, rdn_name) if part is not None else None)
        assert ours is not None
        plain = ours.replace("\\", "")
        for _oid, value in rdns:
            assert value in plain, (value, ours)
        cns = [v for oid, v in rdns if oid == "2.5.4.3"]
        assert cn == (cns[-1] if cns else None)


def _check_extensions(facts: CertificateFacts, exts: dict[str, ET.Element]) -> None:
    san = exts.get(SAN)
    assert facts.has_san == (san is not None)
    want_dns = [e.get("show") for e in _children(san, "x509ce.dNSName")] if san else []
    assert list(facts.san_dns) == want_dns
    want_uri = ([e.get("show") for e in _children(san, "x509ce.uniformResourceIdentifier")]
                if san else [])
    assert list(facts.san_uri) == want_uri
    eku = exts.get(EKU)
    oids = [e.get("show", "") for e in _children(eku, "x509ce.KeyPurposeId")] if eku else []
    assert len(facts.eku) == len(oids)
    for oid, ours in zip(oids, facts.eku, strict=True):
        if oid in EKU_OIDS:
            assert ours == EKU_OIDS[oid]
    aia = exts.get(AIA)
    ocsp, issuers = [], []
    for desc in _children(aia, "pkix1implicit.AccessDescription_element") if aia else []:
        method = _first(desc, "pkix1implicit.accessMethod")
        uri = _first(desc, "x509ce.uniformResourceIdentifier")
        if method is None or uri is None:
            continue
        {"1.3.6.1.5.5.7.48.1": ocsp, "1.3.6.1.5.5.7.48.2": issuers}.get(
            method.get("show", ""), []).append(uri.get("show"))
    assert list(facts.ocsp_urls) == ocsp
    assert list(facts.ca_issuers_urls) == issuers
    crl = exts.get(CRL_DP)
    want_crl = [e.get("show") for e in _children(crl, "x509ce.uniformResourceIdentifier")] if crl else []
    assert list(facts.crl_urls) == want_crl
    bc = exts.get(BC)
    if bc is None:
        assert facts.is_ca is None
    else:
        ca = _first(bc, "x509ce.cA")
        assert facts.is_ca == (ca is not None and ca.get("show") == "1")
        plen = _first(bc, "x509ce.pathLenConstraint")
        assert facts.path_length == (int(plen.get("show", "")) if plen is not None else None)
    assert (facts.sct_count > 0) == (SCT in exts)


def _check_algorithms(facts: CertificateFacts, tree: ET.Element, tbs: ET.Element) -> None:
    outer = [c for c in tree if c.get("name") == "x509af.algorithmIdentifier_element"]
    oid = _first(outer[0], "x509af.algorithm.id") if outer else None
    assert oid is not None
    name = cx509.ObjectIdentifier(oid.get("show", ""))._name
    assert facts.signature_algorithm == (oid.get("show") if name == "Unknown OID" else name)
    spki = _first(tbs, "x509af.subjectPublicKeyInfo_element")
    assert spki is not None
    key_oid = _first(spki, "x509af.algorithm.id")
    assert key_oid is not None
    modulus = _first(spki, "pkcs1.modulus")
    if key_oid.get("show") == "1.2.840.113549.1.1.1" and modulus is not None:
        assert facts.key_type == "RSA"
        assert facts.key_bits == int(modulus.get("show", "").replace(":", ""), 16).bit_length()
    curve = _first(spki, "pkcs1.namedCurve")
    if key_oid.get("show") == "1.2.840.10045.2.1" and curve is not None:
        assert facts.key_type == "EC"
        assert facts.key_curve == CURVES[curve.get("show", "")]


def test_unknown_key_algorithm_is_named_or_shown_by_oid() -> None:
    """ML-DSA-44 (FIPS 204, OID 2.16.840.1.101.3.4.3.17, as tshark shows it)."""
    ml = [c for c in CERTS if c[0] == "zeek/ml-dsa-44-cert.pcap"]
    assert ml
    facts = certificate_facts(ml[0][1], at_ns=time.time_ns())
    assert facts.key_type in ("ML-DSA-44", "2.16.840.1.101.3.4.3.17")
    assert facts.signature_algorithm in ("ML-DSA-44", "2.16.840.1.101.3.4.3.17")
    assert facts.key_bits is None


def test_fingerprints_and_self_signed_match_openssl() -> None:
    for name, self_signed in (("root-ca", True), ("self-signed", True), ("leaf", False),
                              ("intermediate-ca", False)):
        der = pem_ders(PKI / f"{name}.pem")[0]
        facts = certificate_facts(der, at_ns=time.time_ns())
        out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                              str(PKI / f"{name}.pem")], capture_output=True, text=True,
                             check=True).stdout
        assert facts.sha256 == out.split("=", 1)[1].strip().replace(":", "").lower()
        verify = subprocess.run(["openssl", "verify", "-CAfile", str(PKI / f"{name}.pem"),
                                 "-partial_chain", str(PKI / f"{name}.pem")],
                                capture_output=True, text=True, check=False)
        # openssl accepts a certificate as its own anchor only if it is self-issued and signed
        assert facts.self_signed == (verify.returncode == 0 and "OK" in verify.stdout) or (
            not self_signed and facts.self_signed is False)


def test_days_left_at_capture_and_today() -> None:
    der = pem_ders(PKI / "leaf.pem")[0]
    at = datetime(2027, 12, 30, 23, 59, 59, tzinfo=UTC)
    facts = certificate_facts(der, at_ns=int(at.timestamp()) * 10**9,
                              today=datetime(2028, 1, 1, tzinfo=UTC))
    assert facts.days_left_at_capture == pytest.approx(1.0)
    assert facts.days_left_today is not None and facts.days_left_today < 0


def test_garbage_is_not_fatal() -> None:
    facts = certificate_facts(b"\x30\x82\x01\x00garbage", at_ns=0)
    assert facts.parse_error and facts.der == b"\x30\x82\x01\x00garbage"
