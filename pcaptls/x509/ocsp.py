"""Stapled OCSP (RFC 6066 status_request): decode the response and judge it at capture time.

Input is the CertificateStatus body as the TLS parser hands it (status_type ``ocsp(1)``,
a 24-bit length, the DER OCSPResponse) or the bare DER.  Judged against the leaf it
was stapled to: revoked, stale (nextUpdate passed), or about another certificate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

STATUS_TYPE_OCSP = 1  # RFC 6066 CertificateStatusType

OcspVerdictCode = Literal[
    "good", "revoked", "unknown", "stale", "not_yet_valid", "wrong_certificate",
    "unsuccessful", "parse_error",
]


@dataclass(frozen=True, slots=True)
class OcspFacts:
    """What a stapled OCSP response says (first SingleResponse)."""

    der: bytes = field(repr=False)
    parse_error: str | None = None
    response_status: str | None = None
    """RFC 6960 OCSPResponseStatus name: ``successful``, ``try_later``, …"""
    cert_status: Literal["good", "revoked", "unknown"] | None = None
    revocation_time: datetime | None = None
    revocation_reason: str | None = None
    produced_at: datetime | None = None
    this_update: datetime | None = None
    next_update: datetime | None = None
    responder: str | None = None
    """Responder name (RFC 4514) or ``keyHash:<hex>``."""
    serial: str | None = None
    """Serial of the certificate the response is about (lower-case hex)."""
    hash_algorithm: str | None = None
    issuer_name_hash: str | None = None
    issuer_key_hash: str | None = None
    response_count: int = 0


@dataclass(frozen=True, slots=True)
class OcspVerdict:
    verdict: OcspVerdictCode
    reason: str


def _strip_status(body: bytes) -> bytes:
    """The DER inside a CertificateStatus body, or the input when it is bare DER."""
    if len(body) >= 4 and body[0] == STATUS_TYPE_OCSP:
        length = int.from_bytes(body[1:4], "big")
        if length == len(body) - 4:
            return body[4:]
    return body


_STATUS_NAMES = {
    ocsp.OCSPCertStatus.GOOD: "good",
    ocsp.OCSPCertStatus.REVOKED: "revoked",
    ocsp.OCSPCertStatus.UNKNOWN: "unknown",
}


def decode_ocsp(body: bytes) -> OcspFacts:
    """Decode a stapled response; a malformed one gives ``parse_error``, never raises."""
    der = _strip_status(bytes(body))
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except Exception as exc:  # untrusted DER
        return OcspFacts(der=der, parse_error=f"OCSP response does not parse: {exc}")
    status = resp.response_status.name.lower()
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return OcspFacts(der=der, response_status=status)
    try:
        singles = list(resp.responses)
        responder = (resp.responder_name.rfc4514_string() if resp.responder_name is not None
                     else f"keyHash:{(resp.responder_key_hash or b'').hex()}")
        first = singles[0]
        reason = first.revocation_reason
        return OcspFacts(
            der=der, response_status=status,
            cert_status=_STATUS_NAMES[first.certificate_status],  # type: ignore[arg-type]
            revocation_time=first.revocation_time_utc,
            revocation_reason=reason.name if reason is not None else None,
            produced_at=resp.produced_at_utc, this_update=first.this_update_utc,
            next_update=first.next_update_utc, responder=responder,
            serial=format(first.serial_number, "x"), hash_algorithm=first.hash_algorithm.name,
            issuer_name_hash=first.issuer_name_hash.hex(),
            issuer_key_hash=first.issuer_key_hash.hex(), response_count=len(singles),
        )
    except Exception as exc:  # untrusted DER: lazily parsed fields fail late
        return OcspFacts(der=der, response_status=status,
                         parse_error=f"OCSP response does not parse: {exc}")


def _hash(name: str | None) -> hashes.HashAlgorithm:
    return {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
            "sha512": hashes.SHA512()}.get(name or "", hashes.SHA1())


def judge_ocsp(facts: OcspFacts, *, leaf: x509.Certificate, at: datetime,
               issuer: x509.Certificate | None = None) -> OcspVerdict:
    """Judge a stapled response for ``leaf`` at the capture time ``at`` (aware UTC).

    The issuer key hash is only compared when the issuer certificate is known.
    """
    if facts.parse_error is not None:
        return OcspVerdict("parse_error", facts.parse_error)
    if facts.response_status != "successful":
        return OcspVerdict("unsuccessful", f"the responder answered {facts.response_status}")
    serial = format(leaf.serial_number, "x")
    if facts.serial != serial:
        return OcspVerdict("wrong_certificate", f"the response is about serial {facts.serial}, "
                           f"the leaf's serial is {serial}")
    name_hash = hashlib.new(facts.hash_algorithm or "sha1", leaf.issuer.public_bytes()).hexdigest()
    if facts.issuer_name_hash != name_hash:
        return OcspVerdict("wrong_certificate", "the response's issuer name hash is not the "
                           "leaf's issuer")
    if issuer is not None:
        request = ocsp.OCSPRequestBuilder().add_certificate(
            leaf, issuer, _hash(facts.hash_algorithm)).build()
        if request.issuer_key_hash.hex() != facts.issuer_key_hash:
            return OcspVerdict("wrong_certificate", "the response's issuer key hash is not the "
                               "key of the leaf's issuer")
    if facts.cert_status == "revoked":
        when = facts.revocation_time.isoformat() if facts.revocation_time else "?"
        why = f" ({facts.revocation_reason})" if facts.revocation_reason else ""
        return OcspVerdict("revoked", f"the leaf was revoked {when}{why}")
    if facts.next_update is not None and facts.next_update < at:
        return OcspVerdict("stale", f"the response's nextUpdate {facts.next_update.isoformat()} "
                           "had passed at capture time")
    if facts.this_update is not None and facts.this_update > at:
        return OcspVerdict("not_yet_valid", f"the response's thisUpdate "
                           f"{facts.this_update.isoformat()} is after the capture time")
    if facts.cert_status == "unknown":
        return OcspVerdict("unknown", "the responder does not know the leaf")
    return OcspVerdict("good", "the responder says good and the response is current")
