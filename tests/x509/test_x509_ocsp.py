"""Stapled OCSP: responses signed by the PKI's intermediate with cryptography's
OCSPResponseBuilder, decoded by us and by `openssl ocsp -respin`, judged by both now."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pki_helper import PKI

from pcaptls.x509.ocsp import decode_ocsp, judge_ocsp


def _load(name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((PKI / f"{name}.pem").read_bytes())


LEAF, ISSUER, OTHER = _load("leaf"), _load("intermediate-ca"), _load("expired")
KEY = serialization.load_pem_private_key((PKI / "intermediate-ca.key").read_bytes(), None)
NOW = datetime.now(UTC).replace(microsecond=0)


def _response(status: ocsp.OCSPCertStatus, *, about: x509.Certificate = LEAF,
              this_update: datetime = NOW - timedelta(hours=1),
              next_update: datetime = NOW + timedelta(days=1)) -> bytes:
    revoked = status == ocsp.OCSPCertStatus.REVOKED
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=about, issuer=ISSUER, algorithm=hashes.SHA1(), cert_status=status,
        this_update=this_update, next_update=next_update,
        revocation_time=NOW - timedelta(days=2) if revoked else None,
        revocation_reason=x509.ReasonFlags.key_compromise if revoked else None,
    ).responder_id(ocsp.OCSPResponderEncoding.NAME, ISSUER)
    return b.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def _openssl(der: bytes, tmp: Path) -> tuple[str, str]:
    """(openssl's judgement of the leaf's status, its -resp_text dump)."""
    (tmp / "r.der").write_bytes(der)
    out = subprocess.run(["openssl", "ocsp", "-respin", str(tmp / "r.der"), "-resp_text",
                          "-issuer", str(PKI / "intermediate-ca.pem"),
                          "-cert", str(PKI / "leaf.pem"), "-CAfile", str(PKI / "root-ca.pem")],
                         capture_output=True, text=True, check=False)
    return out.stdout + out.stderr, out.stdout


CASES = [
    ("good", _response(ocsp.OCSPCertStatus.GOOD)),
    ("revoked", _response(ocsp.OCSPCertStatus.REVOKED)),
    ("stale", _response(ocsp.OCSPCertStatus.GOOD, this_update=NOW - timedelta(days=3),
                        next_update=NOW - timedelta(days=1))),
    ("wrong_certificate", _response(ocsp.OCSPCertStatus.GOOD, about=OTHER)),
]


def _openssl_verdict(judged: str) -> str:
    if "No Status found" in judged:
        return "wrong_certificate"
    m = re.search(r"^(?:\S*leaf\.pem: )?(good|revoked|unknown)$", judged, re.MULTILINE)
    assert m, judged
    if "Status times invalid" in judged:
        return "stale"
    return m.group(1)


@pytest.mark.parametrize(("name", "der"), CASES, ids=[c[0] for c in CASES])
def test_ocsp_like_openssl(name: str, der: bytes, tmp_path: Path) -> None:
    judged, text = _openssl(der, tmp_path)
    body = b"\x01" + len(der).to_bytes(3, "big") + der  # CertificateStatus, RFC 6066
    facts = decode_ocsp(body)
    assert facts.parse_error is None
    assert f"Cert Status: {facts.cert_status}" in text
    serial = re.search(r"Serial Number: ([0-9A-F]+)", text)
    assert serial and facts.serial is not None
    assert int(serial.group(1), 16) == int(facts.serial, 16)
    for label, value in (("This Update", facts.this_update), ("Next Update", facts.next_update),
                         ("Produced At", facts.produced_at)):
        assert value is not None
        shown = re.search(rf"{label}: (.+)", text)
        assert shown, text
        assert datetime.strptime(shown.group(1).strip(), "%b %d %H:%M:%S %Y %Z").replace(
            tzinfo=UTC) == value
    verdict = judge_ocsp(facts, leaf=LEAF, issuer=ISSUER, at=datetime.now(UTC))
    assert verdict.verdict == _openssl_verdict(judged) == name


def test_revocation_details() -> None:
    facts = decode_ocsp(CASES[1][1])
    assert facts.revocation_reason == "key_compromise"
    assert facts.revocation_time == NOW - timedelta(days=2)


def test_judged_at_capture_time_not_now() -> None:
    """A response that is stale today was fresh when captured."""
    facts = decode_ocsp(CASES[2][1])
    at = NOW - timedelta(days=2)
    assert judge_ocsp(facts, leaf=LEAF, issuer=ISSUER, at=at).verdict == "good"


def test_garbage_and_unsuccessful() -> None:
    assert decode_ocsp(b"\x01\x00\x00\x02\x30\x00").parse_error is not None
    unauthorized = ocsp.OCSPResponseBuilder.build_unsuccessful(
        ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
    facts = decode_ocsp(unauthorized)
    assert facts.response_status == "unauthorized"
    assert judge_ocsp(facts, leaf=LEAF, at=NOW).verdict == "unsuccessful"
