"""Trust stores: the Mozilla bundle (certifi), the system bundle, or the user's own PKI.

A store is loaded once and kept with an index by subject name, which the chain
diagnosis uses to say whether a missing issuer is at least trusted.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import Store

from pcaptls.errors import InputError

SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


class TrustStore:
    """Trusted certificates plus the library ``Store`` built from them."""

    __slots__ = ("_by_subject", "_fingerprints", "certificates", "source", "store")

    def __init__(self, certificates: Iterable[x509.Certificate], source: str) -> None:
        unique: dict[bytes, x509.Certificate] = {}
        for cert in certificates:
            unique.setdefault(cert.public_bytes(serialization.Encoding.DER), cert)
        if not unique:
            raise InputError(f"no certificate found in trust store {source}")
        self.certificates: tuple[x509.Certificate, ...] = tuple(unique.values())
        self.source = source
        self.store = Store(list(self.certificates))
        self._fingerprints = frozenset(unique)
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        for cert in self.certificates:
            self._by_subject.setdefault(cert.subject, []).append(cert)

    def __repr__(self) -> str:
        return f"TrustStore({len(self.certificates)} certificates from {self.source})"

    def contains(self, cert: x509.Certificate) -> bool:
        """The very certificate (same DER) is a trust anchor."""
        return cert.public_bytes(serialization.Encoding.DER) in self._fingerprints

    def by_subject(self, name: x509.Name) -> list[x509.Certificate]:
        """Trusted certificates whose subject is ``name`` (issuer candidates)."""
        return list(self._by_subject.get(name, ()))

    @staticmethod
    @functools.cache
    def default() -> TrustStore:
        """Mozilla's root program, as shipped by certifi."""
        import certifi

        return TrustStore.from_path(certifi.where())

    @staticmethod
    @functools.cache
    def system() -> TrustStore:
        """The Debian/Ubuntu system bundle (``/etc/ssl/certs/ca-certificates.crt``)."""
        return TrustStore.from_path(SYSTEM_BUNDLE)

    @staticmethod
    def from_certificates(certs: Iterable[x509.Certificate], source: str) -> TrustStore:
        return TrustStore(certs, source)

    @staticmethod
    def from_path(path: str | Path) -> TrustStore:
        """A PEM bundle, a DER file, or a directory of PEM/DER/CRT files (not recursive)."""
        p = Path(path)
        if p.is_dir():
            files = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in CERT_SUFFIXES)
            certs = [c for f in files for c in _load_file(f, strict=False)]
        elif p.is_file():
            certs = _load_file(p, strict=True)
        else:
            raise InputError(f"trust store not found: {p}")
        return TrustStore(certs, str(p))


def _load_file(path: Path, *, strict: bool) -> list[x509.Certificate]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read trust store {path}: {exc.strerror}") from exc
    try:
        with warnings.catch_warnings():  # old roots with odd serials still load, quietly
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            if b"-----BEGIN CERTIFICATE-----" in data:
                return x509.load_pem_x509_certificates(data)
            return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        if strict:
            raise InputError(f"not a PEM or DER certificate file: {path}") from exc
        return []
