"""Test helpers: the test PKI of fixtures/pki as DER chains."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

REPO = Path(__file__).resolve().parents[2]
PKI = REPO / "fixtures" / "pki"
EXTERNAL = REPO / "fixtures" / "external"


def pem_ders(path: Path) -> list[bytes]:
    """DER of every certificate in a PEM file (empty list if the file does not exist)."""
    if not path.exists():
        return []
    return [c.public_bytes(Encoding.DER) for c in x509.load_pem_x509_certificates(path.read_bytes())]


def sent_chain(name: str) -> list[bytes]:
    """What openssl s_server sends for a PKI case: the leaf, then its -cert_chain file."""
    return pem_ders(PKI / f"{name}.pem") + pem_ders(PKI / f"{name}.chain.pem")
