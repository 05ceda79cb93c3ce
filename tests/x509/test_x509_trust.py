"""Trust stores: certifi, the system bundle, a PEM file, a DER file, a directory; bad
input is an InputError (exit code 2), never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import certifi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pki_helper import PKI

from pcaptls.errors import InputError
from pcaptls.x509.trust import SYSTEM_BUNDLE, TrustStore


def _count_pem(path: Path) -> int:
    return path.read_bytes().count(b"-----BEGIN CERTIFICATE-----")


def test_default_is_certifi() -> None:
    store = TrustStore.default()
    assert store.source == certifi.where()
    assert len(store.certificates) == _count_pem(Path(certifi.where()))


def test_system_bundle() -> None:
    store = TrustStore.system()
    assert 0 < len(store.certificates) <= _count_pem(SYSTEM_BUNDLE)


def test_pem_der_and_directory(tmp_path: Path) -> None:
    root = x509.load_pem_x509_certificate((PKI / "root-ca.pem").read_bytes())
    (tmp_path / "root.der").write_bytes(root.public_bytes(Encoding.DER))
    shutil.copy(PKI / "rogue-root-ca.pem", tmp_path / "rogue.crt")
    (tmp_path / "notes.txt").write_text("not a certificate")
    (tmp_path / "broken.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n")
    store = TrustStore.from_path(tmp_path)
    assert {c.subject.rfc4514_string() for c in store.certificates} == {
        root.subject.rfc4514_string(),
        x509.load_pem_x509_certificate((PKI / "rogue-root-ca.pem").read_bytes())
        .subject.rfc4514_string()}
    assert store.contains(root)
    assert TrustStore.from_path(tmp_path / "root.der").contains(root)


def test_bad_inputs_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        TrustStore.from_path(tmp_path / "missing.pem")
    (tmp_path / "junk.pem").write_text("junk")
    with pytest.raises(InputError):
        TrustStore.from_path(tmp_path / "junk.pem")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        TrustStore.from_path(tmp_path / "empty")
