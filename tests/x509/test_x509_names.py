"""Bare DER names (a CertificateRequest's CA list) read as the certificates' names are."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from cryptography import x509
from hypothesis import given
from hypothesis import strategies as st

from pcaptls.x509.names import NameDecodeError, name_from_der

ROOT = Path(__file__).resolve().parents[2]


def certificates() -> list[x509.Certificate]:
    out = []
    for pem in sorted((ROOT / "fixtures").glob("pki/*.pem")) + sorted((ROOT / "fixtures").glob("lab/certs/*.crt.pem")):
        out.extend(x509.load_pem_x509_certificates(pem.read_bytes()))
    return out


@pytest.mark.parametrize("cert", certificates(), ids=lambda c: c.subject.rfc4514_string()[:40])
def test_names_equal_the_library_reading_of_the_certificate(cert: x509.Certificate) -> None:
    for name in (cert.subject, cert.issuer):
        assert name_from_der(name.public_bytes()) == name.rfc4514_string()


@given(st.binary(max_size=200))
def test_garbage_is_a_decode_error_or_a_name(data: bytes) -> None:
    with contextlib.suppress(NameDecodeError):
        assert isinstance(name_from_der(data), str)
