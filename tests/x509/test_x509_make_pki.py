"""fixtures/make_pki.py rebuilds the committed PKI from the committed keys: the RSA-signed
certificates (PKCS#1 v1.5 is deterministic) come out byte for byte the same, and an
ECDSA-signed one is kept when its content is unchanged, so a capture can be regenerated
against the same PKI."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from pki_helper import PKI, REPO


def test_rebuild_is_identical(tmp_path: Path) -> None:
    for key in PKI.glob("*.key"):
        shutil.copy(key, tmp_path / key.name)
    shutil.copy(PKI / "ecdsa.pem", tmp_path / "ecdsa.pem")  # kept when its TBS is unchanged
    spec = importlib.util.spec_from_file_location("make_pki", REPO / "fixtures" / "make_pki.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_pki"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for pem in PKI.glob("*.pem"):
        assert (tmp_path / pem.name).read_bytes() == pem.read_bytes(), pem.name
    assert (tmp_path / "README.md").read_text() == (PKI / "README.md").read_text()
