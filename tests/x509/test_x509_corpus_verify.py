"""Chain verdicts on real captures, checked against Zeek's validation logs
(expected/zeek/*.ssl-validate-certs.log: Zeek validates with OpenSSL at capture time).

Certificates and times come from tshark (-e tls.handshake.certificate, frame.time_epoch).
"""

from __future__ import annotations

from datetime import UTC, datetime

import tshark
from pki_helper import EXTERNAL

from pcaptls.x509.trust import TrustStore
from pcaptls.x509.verify import verify_chain

# Zeek's validation_status text -> our verdict
ZEEK_TO_VERDICT = {
    "ok": "ok",
    "unable to get local issuer certificate": "incomplete_chain",
    "certificate has expired": "expired",
}


def _chains(cap: str) -> list[tuple[datetime, list[bytes]]]:
    rows = tshark.fields(str(EXTERNAL / cap), "frame.time_epoch", "tls.handshake.certificate",
                         extra=("-Y", "tls.handshake.certificate"))
    return [(datetime.fromtimestamp(float(t), UTC), [bytes.fromhex(h) for h in c.split(",")])
            for t, c in rows]


def _zeek_status(cap: str) -> list[str]:
    log = (EXTERNAL / "expected" / "zeek" / f"{cap}.zeek.ssl-validate-certs.log").read_text()
    return [line.split("\t")[-1] for line in log.splitlines() if not line.startswith("#")]


def test_missing_intermediate_matches_zeek_without_its_cache() -> None:
    chains = _chains("zeek/missing-intermediate.pcap")
    status = _zeek_status("missing-intermediate.pcap")
    assert len(chains) == len(status) == 3
    verdicts = [verify_chain(chain, role="server", identity=None, at=at,
                             trust=TrustStore.default()) for at, chain in chains]
    # connections 1 and 2 as Zeek says
    for v, s in zip(verdicts[:2], status[:2], strict=True):
        assert v.verdict == ZEEK_TO_VERDICT[s], v
    # connection 3 re-sends connection 1's chain; Zeek says "ok" only because it caches
    # intermediates across connections, which DESIGN.md forbids: judged alone it is
    # incomplete, like connection 1.
    assert chains[2][1] == chains[0][1] and status[2] == "ok"
    assert verdicts[2].verdict == "incomplete_chain"
    assert verdicts[0].missing_issuer is not None
    assert "Starfield Secure Certificate Authority - G2" in verdicts[0].missing_issuer


def test_expired_leaf_is_flagged_at_capture_time() -> None:
    """Zeek: "certificate has expired" for the first connection.  Today's Mozilla store no
    longer holds its root (AddTrust, removed 2020), so the verdict is incomplete_chain, but
    the expiry at capture time must still be reported with the blamed position."""
    chains = _chains("zeek/tls-expired-cert.pcap")
    assert _zeek_status("tls-expired-cert.pcap")[0] == "certificate has expired"
    at, chain = chains[0]
    v = verify_chain(chain, role="server", identity=None, at=at, trust=TrustStore.default())
    assert "expired" in v.flags
    expired = [p for p in v.problems if p.code == "expired"]
    assert expired and expired[0].position is not None
