"""`pcaptls certs --export` writes what `openssl verify` judges the way we do.

For each PKI capture: the exported leaf and chain as sent are given to openssl
verify at the capture time, with the PKI root as the trust store; openssl's error
code must be the one that means our verdict.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import pcaptls
from pcaptls.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
ROOT_CA = ROOT / "fixtures" / "pki" / "root-ca.pem"

#: our verdict -> openssl's X509_V_ERR code (include/openssl/x509_vfy.h)
OPENSSL_CODE = {
    "ok": 0, "not_yet_valid": 9, "expired": 10, "self_signed": 18, "untrusted": 19,
    "incomplete_chain": 20, "eku_mismatch": 26, "hostname_mismatch": 62,
}
CASES = ["pki-leaf", "pki-expired", "pki-not-yet-valid", "pki-wrong-name", "pki-self-signed",
         "pki-untrusted", "pki-no-intermediate", "pki-no-serverauth", "pki-wildcard", "pki-ecdsa"]


@pytest.mark.parametrize("case", CASES)
def test_exported_chain_verifies_like_our_verdict(case: str, tmp_path: Path) -> None:
    capture = CAPTURES / f"{case}.pcap"
    r = CliRunner().invoke(main, ["certs", str(capture), "--ca-bundle", str(ROOT_CA),
                                  "--export", str(tmp_path), "--format", "csv"])
    assert r.exit_code == 0, r.output
    a = pcaptls.analyze(capture, ca_bundle=str(ROOT_CA))
    (conn,) = a.tables["connections"].rows
    leaf_row = next(c for c in a.tables["certificates"].rows if c["position"] == 0)
    verdict = next(v for v in (c["verdict"] for c in a.tables["certificates"].rows) if v != "ok") \
        if any(c["verdict"] != "ok" for c in a.tables["certificates"].rows) else "ok"
    chain = tmp_path / f"{conn['conn_id']}-server-chain.pem"
    leaf = tmp_path / f"{leaf_row['sha256']}.pem"
    assert chain.exists() and leaf.exists()
    at = str(conn["start"] // 1_000_000_000)
    p = subprocess.run(
        ["openssl", "verify", "-attime", at, "-CAfile", str(ROOT_CA), "-untrusted", str(chain),
         "-purpose", "sslserver", "-verify_hostname", conn["sni"] or "sip.example.test", str(leaf)],
        capture_output=True, text=True,
    )
    codes = [int(c) for c in re.findall(r"error (\d+) at", p.stdout + p.stderr)]
    expected = OPENSSL_CODE[verdict]
    if expected == 0:
        assert p.returncode == 0, p.stdout + p.stderr
    else:
        assert p.returncode != 0
        assert codes and codes[0] == expected, (verdict, p.stdout + p.stderr)
