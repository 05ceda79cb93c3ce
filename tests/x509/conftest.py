"""Fixtures of the x509 tests: the test PKI's trust anchor."""

from __future__ import annotations

import pytest
from pki_helper import PKI

from pcaptls.x509.trust import TrustStore


@pytest.fixture(scope="session")
def pki_trust() -> TrustStore:
    return TrustStore.from_path(PKI / "root-ca.pem")
