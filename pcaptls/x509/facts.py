"""Certificate facts: what one DER certificate says, read with ``cryptography.x509``.

Pure: DER bytes in, a frozen :class:`CertificateFacts` out.  A certificate that does
not parse is never fatal: the facts carry ``parse_error`` and the DER, so the report
can still show (and export) what was sent.  Each distinct certificate is parsed once
(an LRU keyed by SHA-256); only the time-dependent ``days_left_*`` fields are redone
per call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    PublicKeyAlgorithmOID,
)

from pcaptls.x509.signature import self_signed

CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """One certificate as sent; ``None`` where a fact is absent or could not be read."""

    der: bytes = field(repr=False)
    sha256: str
    """Hex SHA-256 of the DER (lower case, no separators)."""
    sha1: str
    parse_error: str | None = None
    """The certificate does not parse at all (only ``der`` and the digests are set)."""
    extension_error: str | None = None
    """The extensions do not parse (e.g. a DER-encoded default): extension facts unknown."""
    subject: str | None = None
    """RFC 4514 string, as ``cryptography`` writes it (most specific RDN first)."""
    subject_cn: str | None = None
    issuer: str | None = None
    issuer_cn: str | None = None
    san_dns: tuple[str, ...] = ()
    san_ip: tuple[str, ...] = ()
    san_uri: tuple[str, ...] = ()
    """URIs, SIP URIs (RFC 5922 domain certificates) among them."""
    san_email: tuple[str, ...] = ()
    has_san: bool = False
    serial: str | None = None
    """Serial number in lower-case hex, as many digits as the integer needs."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    key_type: str | None = None
    """``RSA``, ``EC``, ``Ed25519``, ``Ed448``, ``DSA``, or the dotted OID when unknown."""
    key_bits: int | None = None
    key_curve: str | None = None
    signature_algorithm: str | None = None
    """OID name (``sha256WithRSAEncryption``), or the dotted OID when unknown."""
    signature_hash: str | None = None
    is_ca: bool | None = None
    path_length: int | None = None
    key_usage: tuple[str, ...] = ()
    eku: tuple[str, ...] = ()
    """Extended key usages by name (``serverAuth``), dotted OID when unnamed."""
    ocsp_urls: tuple[str, ...] = ()
    ca_issuers_urls: tuple[str, ...] = ()
    crl_urls: tuple[str, ...] = ()
    sct_count: int = 0
    subject_key_id: str | None = None
    authority_key_id: str | None = None
    self_signed: bool | None = None
    """Issuer equals subject and the signature verifies with the certificate's own key."""
    days_left_at_capture: float | None = None
    days_left_today: float | None = None

    @property
    def sans(self) -> tuple[str, ...]:
        """All SANs as ``DNS:…``, ``IP:…``, ``URI:…``, ``email:…`` (the table's list cell)."""
        return (tuple(f"DNS:{v}" for v in self.san_dns) + tuple(f"IP:{v}" for v in self.san_ip)
                + tuple(f"URI:{v}" for v in self.san_uri)
                + tuple(f"email:{v}" for v in self.san_email))

    def days_left(self, at: datetime) -> float | None:
        """Days from ``at`` until notAfter (negative once expired)."""
        if self.not_after is None:
            return None
        return (self.not_after - at).total_seconds() / 86_400


_EKU_NAMES: dict[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "smartcardLogon",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "pkInitKDC",
    ExtendedKeyUsageOID.IPSEC_IKE: "ipsecIKE",
    ExtendedKeyUsageOID.CERTIFICATE_TRANSPARENCY: "certificateTransparency",
    x509.ObjectIdentifier("1.3.6.1.5.5.7.3.20"): "sipDomain",  # id-kp-sipDomain, RFC 5924
}

_KEY_USAGE_FIELDS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
    "key_agreement", "key_cert_sign", "crl_sign",
)
_KEY_USAGE_NAMES = {  # RFC 5280 4.2.1.3 names
    "digital_signature": "digitalSignature", "content_commitment": "nonRepudiation",
    "key_encipherment": "keyEncipherment", "data_encipherment": "dataEncipherment",
    "key_agreement": "keyAgreement", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign",
    "encipher_only": "encipherOnly", "decipher_only": "decipherOnly",
}


def oid_name(oid: x509.ObjectIdentifier) -> str:
    """The library's name for an OID, or the dotted string when it has none."""
    name = oid._name
    return oid.dotted_string if name == "Unknown OID" else name


def _cn(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[-1].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError):
        oid = cert.public_key_algorithm_oid
        if oid == PublicKeyAlgorithmOID.EC_PUBLIC_KEY:  # e.g. explicit curve parameters
            return "EC", None, "explicit or unknown parameters"
        return oid.dotted_string, None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return oid_name(cert.public_key_algorithm_oid), None, None


def _parse(der: bytes, sha256: str, sha1: str) -> CertificateFacts:
    with warnings.catch_warnings():  # real certificates with negative serials still load
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _parse_quietly(der, sha256, sha1)


def _parse_quietly(der: bytes, sha256: str, sha1: str) -> CertificateFacts:
    try:
        cert = x509.load_der_x509_certificate(der)
        f = CertificateFacts(
            der=der, sha256=sha256, sha1=sha1,
            subject=cert.subject.rfc4514_string(), subject_cn=_cn(cert.subject),
            issuer=cert.issuer.rfc4514_string(), issuer_cn=_cn(cert.issuer),
            serial=format(cert.serial_number, "x"),
            not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        )
        key_type, key_bits, curve = _key_facts(cert)
        try:
            hash_alg = cert.signature_hash_algorithm
            sig_hash = hash_alg.name if hash_alg is not None else None
        except UnsupportedAlgorithm:
            sig_hash = None
        f = dataclasses.replace(
            f, key_type=key_type, key_bits=key_bits, key_curve=curve,
            signature_algorithm=oid_name(cert.signature_algorithm_oid), signature_hash=sig_hash,
            self_signed=self_signed(cert))
    except Exception as exc:  # untrusted DER: whatever the library raises is a parse error
        return CertificateFacts(der=der, sha256=sha256, sha1=sha1,
                                parse_error=f"certificate does not parse: {exc}")
    try:
        return dataclasses.replace(f, **_extension_facts(cert.extensions))
    except Exception as exc:  # e.g. DuplicateExtension, which is no ValueError
        return dataclasses.replace(f, extension_error=f"extensions do not parse: {exc}")


def _extension_facts(exts: x509.Extensions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ext in exts:
        value = ext.value
        if isinstance(value, x509.SubjectAlternativeName):
            out["has_san"] = True
            out["san_dns"] = tuple(value.get_values_for_type(x509.DNSName))
            out["san_ip"] = tuple(str(a) for a in value.get_values_for_type(x509.IPAddress))
            out["san_uri"] = tuple(value.get_values_for_type(x509.UniformResourceIdentifier))
            out["san_email"] = tuple(value.get_values_for_type(x509.RFC822Name))
        elif isinstance(value, x509.BasicConstraints):
            out["is_ca"] = value.ca
            out["path_length"] = value.path_length
        elif isinstance(value, x509.KeyUsage):
            names = [_KEY_USAGE_NAMES[a] for a in _KEY_USAGE_FIELDS if getattr(value, a)]
            if value.key_agreement:
                names += [_KEY_USAGE_NAMES[a] for a in ("encipher_only", "decipher_only")
                          if getattr(value, a)]
            out["key_usage"] = tuple(names)
        elif isinstance(value, x509.ExtendedKeyUsage):
            out["eku"] = tuple(_EKU_NAMES.get(o, oid_name(o)) for o in value)
        elif isinstance(value, x509.AuthorityInformationAccess):
            out["ocsp_urls"] = _uris(d.access_location for d in value
                                     if d.access_method == AuthorityInformationAccessOID.OCSP)
            out["ca_issuers_urls"] = _uris(
                d.access_location for d in value
                if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS)
        elif isinstance(value, x509.CRLDistributionPoints):
            out["crl_urls"] = _uris(n for dp in value for n in (dp.full_name or ()))
        elif isinstance(value, x509.PrecertificateSignedCertificateTimestamps):
            out["sct_count"] = len(value)
        elif isinstance(value, x509.SubjectKeyIdentifier):
            out["subject_key_id"] = value.digest.hex()
        elif isinstance(value, x509.AuthorityKeyIdentifier) and value.key_identifier:
            out["authority_key_id"] = value.key_identifier.hex()
    return out


def _uris(names: object) -> tuple[str, ...]:
    assert hasattr(names, "__iter__")
    return tuple(n.value for n in names if isinstance(n, x509.UniformResourceIdentifier))


class _Cache:
    """A bounded LRU of parsed facts keyed by SHA-256 (certificates repeat a lot)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, CertificateFacts] = OrderedDict()
        self._lock = threading.Lock()
        #: the same facts by the DER itself, asked first: a capture's certificates are one
        #: bytes object each (see pcaptls.tls.messages), whose hash Python keeps, so this
        #: spares the SHA-256 of every certificate of every connection
        self._by_der: dict[bytes, CertificateFacts] = {}

    def get(self, der: bytes) -> CertificateFacts:
        hit = self._by_der.get(der)
        if hit is not None:
            return hit
        sha256 = hashlib.sha256(der).hexdigest()
        with self._lock:
            hit = self._items.get(sha256)
            if hit is not None:
                self._items.move_to_end(sha256)
        if hit is None:
            facts = _parse(der, sha256, hashlib.sha1(der).hexdigest())
            with self._lock:
                self._items[sha256] = facts
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        else:
            facts = hit
        with self._lock:
            if len(self._by_der) >= self._size:
                self._by_der.clear()
            self._by_der[facts.der] = facts  # (equal to der: no second copy of the bytes)
        return facts

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._by_der.clear()


_CACHE = _Cache(CACHE_SIZE)


def parsed_facts(der: bytes) -> CertificateFacts:
    """Facts about one DER certificate but the days left (those depend on a time): the
    same object for the same certificate while it is remembered."""
    return _CACHE.get(bytes(der))


def certificate_facts(der: bytes, *, at_ns: int, today: datetime | None = None) -> CertificateFacts:
    """Facts about one DER certificate, with days left at ``at_ns`` (capture time) and today."""
    facts = _CACHE.get(bytes(der))
    if facts.not_after is None:
        return facts
    at = ns_to_datetime(at_ns)
    now = today if today is not None else datetime.now(UTC)
    return dataclasses.replace(facts, days_left_at_capture=facts.days_left(at),
                               days_left_today=facts.days_left(now))


def ns_to_datetime(time_ns: int) -> datetime:
    """An aware UTC datetime for int nanoseconds since the epoch (microsecond precision)."""
    seconds, ns = divmod(time_ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=ns // 1000)


def load_certificate(der: bytes) -> x509.Certificate | None:
    """The library object for DER bytes, or ``None`` when they do not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return x509.load_der_x509_certificate(bytes(der))
    except Exception:  # untrusted DER
        return None
