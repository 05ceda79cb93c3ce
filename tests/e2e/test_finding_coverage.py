"""Every finding code of the registry is produced by a real capture.

The fixtures' manifest rows (with their key logs) plus a few more runs of real
captures: without the key log, with another session's key log, at another time,
and external captures for what a lab cannot stage (a one-sided capture, a broken
certificate from a real stack).
"""

from __future__ import annotations

from pathlib import Path

import pcaptls
from pcaptls.diagnose.registry import FINDINGS

from .test_fixture_diagnoses import ALL_ROWS, CAPTURES, ROOT, TRUST, run

EXTERNAL = ROOT / "fixtures" / "external"
KEYS = ROOT / "fixtures" / "keylogs"

#: Codes no stack available here can produce, with the reason.
NOT_PRODUCIBLE = {
    # OpenSSL 3 and GnuTLS 3.7 offer only the null compression method (CRIME fixes).
    "TLS_COMPRESSION",
}

EXTRA_RUNS: list[tuple[Path, dict[str, object]]] = [
    # TLS 1.3 without its key log: the server's certificate_required is only an encrypted alert
    (CAPTURES / "kamailio-mtls-tls13-no-client-cert.pcap", {}),
    # a key log written for another session (fixtures/README.md pairs these two)
    (CAPTURES / "kamailio-tls12-register-v4.pcap",
     {"keylogs": (str(KEYS / "kamailio-tls12-register-v6.keys"),)}),
    # the PKI leaf expires 2027-12-31: judged twelve days before
    (CAPTURES / "pki-leaf.pcap", {"at": "2027-12-20T00:00:00Z"}),
    # nDPI's capture of only the server's direction
    (EXTERNAL / "ndpi" / "tls_1.2_unidirectional_server.pcapng", {}),
    # Suricata's capture of a server sending a certificate with a cut DER header
    (EXTERNAL / "suricata-verify" / "bug-1450-04" / "tls_DER-incomplete-header.pcap", {}),
]


def test_every_code_has_a_capture_that_produces_it() -> None:
    seen: set[str] = set()
    for row in ALL_ROWS:
        seen |= {r["code"] for r in run(row).tables["findings"].rows}
    for path, options in EXTRA_RUNS:
        a = pcaptls.analyze(path, ca_bundle=TRUST, **options)
        seen |= {r["code"] for r in a.tables["findings"].rows}
    missing = set(FINDINGS) - seen - NOT_PRODUCIBLE
    assert missing == set()
