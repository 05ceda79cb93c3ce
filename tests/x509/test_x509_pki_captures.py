"""Our verdicts on the real handshakes of fixtures/captures/pki-*.pcap: an OpenSSL 3.0
client (or server, for client certificates) verified each PKI chain and either finished
the handshake or sent an alert.  The alert it sent (read by tshark) is the oracle, through
the mapping NOTES.md records for OpenSSL 3.0 (bad_certificate covers several causes)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
import tshark
from pki_helper import REPO

from pcaptls.x509.trust import TrustStore
from pcaptls.x509.verify import verify_chain

CAPTURES = REPO / "fixtures" / "captures"

# TLS alert description (RFC 8446 §6) sent by OpenSSL 3.0 -> verdicts it stands for
ALERT_TO_VERDICTS = {
    None: {"ok"},
    "42": {"not_yet_valid", "hostname_mismatch", "weak_key", "weak_signature"},  # bad_certificate
    "43": {"eku_mismatch"},  # unsupported_certificate
    "45": {"expired"},  # certificate_expired
    "48": {"incomplete_chain", "untrusted", "self_signed"},  # unknown_ca
}


def _manifest() -> list[dict[str, str]]:
    path = CAPTURES / "MANIFEST.tsv"
    if not path.exists():
        return []
    with path.open() as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["file"].startswith("pki-")]


ROWS = _manifest()


def test_manifest_covers_the_pki() -> None:
    assert len(ROWS) >= 15


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_verdict_explains_the_real_alert(row: dict[str, str], pki_trust: TrustStore) -> None:
    cap = str(CAPTURES / row["file"])
    hello = tshark.fields(cap, "tls.handshake.extensions_server_name", "ip.dst",
                          extra=("-Y", "tls.handshake.type == 1"))
    certs = tshark.fields(cap, "frame.time_epoch", "tls.handshake.certificate",
                          extra=("-Y", "tls.handshake.type == 11"))
    alerts = tshark.fields(cap, "tls.alert_message.desc", extra=("-Y", "tls.alert_message"))
    client_cert = "client" in row["file"]
    t, chain_hex = certs[-1] if client_cert else certs[0]
    chain = [bytes.fromhex(h) for h in chain_hex.split(",")]
    shows = row["shows"]
    sni, server_ip = hello[0][0], hello[0][1]
    identity = None if client_cert else (server_ip if "IP" in shows else sni or None)
    verdict = verify_chain(chain, role="client" if client_cert else "server",
                           identity=identity, at=datetime.fromtimestamp(float(t), UTC),
                           trust=pki_trust, check_hostname="chain only" not in shows)
    # the first readable alert; a finished TLS 1.2 session closes with an encrypted one
    alert = next((a[0] for a in alerts if a and a[0]), None)
    assert verdict.verdict in ALERT_TO_VERDICTS[alert], (row["file"], alert, verdict)
