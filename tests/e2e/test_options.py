"""The options a support engineer turns: --at, --expect-host, --no-hostname-check, --expiry-days.

Dates come from the certificates themselves (`openssl x509 -enddate`: the PKI leaf is
valid until 2027-12-31T23:59:59Z), names from fixtures/pki/README.md.
"""

from __future__ import annotations

from pathlib import Path

import pcaptls

ROOT = Path(__file__).resolve().parents[2]
LEAF = ROOT / "fixtures" / "captures" / "pki-leaf.pcap"
WRONG_NAME = ROOT / "fixtures" / "captures" / "pki-wrong-name.pcap"
TRUST = str(ROOT / "fixtures" / "trust")


def codes(a: pcaptls.Analysis) -> set[str]:
    return {r["code"] for r in a.tables["findings"].rows}


def test_at_judges_expiry_at_another_time() -> None:
    assert "CERT_EXPIRING_SOON" not in codes(pcaptls.analyze(LEAF, ca_bundle=TRUST))
    soon = pcaptls.analyze(LEAF, ca_bundle=TRUST, at="2027-12-20T00:00:00Z")
    assert "CERT_EXPIRING_SOON" in codes(soon)
    later = pcaptls.analyze(LEAF, ca_bundle=TRUST, at="2028-01-02T00:00:00Z")
    assert "CERT_EXPIRED" in codes(later)


def test_expiry_thresholds_are_settable() -> None:
    a = pcaptls.analyze(LEAF, ca_bundle=TRUST, at="2027-12-01T00:00:00Z", expiry_days=(7,))
    assert "CERT_EXPIRING_SOON" not in codes(a)
    a = pcaptls.analyze(LEAF, ca_bundle=TRUST, at="2027-12-01T00:00:00Z", expiry_days=(60, 30))
    assert "CERT_EXPIRING_SOON" in codes(a)


def test_expect_host_overrides_the_sni() -> None:
    a = pcaptls.analyze(LEAF, ca_bundle=TRUST, expect_host="pbx.other.test")
    assert "CERT_HOSTNAME_MISMATCH" in codes(a)


def test_no_hostname_check() -> None:
    assert "CERT_HOSTNAME_MISMATCH" in codes(pcaptls.analyze(WRONG_NAME, ca_bundle=TRUST))
    a = pcaptls.analyze(WRONG_NAME, ca_bundle=TRUST, check_hostname=False)
    assert "CERT_HOSTNAME_MISMATCH" not in codes(a)
