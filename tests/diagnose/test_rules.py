"""Rules on evidence written from the RFCs, for what no stack here can stage.

TLS compression (RFC 3749 DEFLATE): OpenSSL 3, GnuTLS 3.7 and NSS 3 on this machine no
longer offer it, so no real capture of it can be made; the rule is pinned on the
evidence a ServerHello with compression_method 1 gives.
"""

from __future__ import annotations

from pcaptls.diagnose.evidence import ConnectionEvidence
from pcaptls.diagnose.rules import Options, diagnose, outcome


def evidence(**kw: object) -> ConnectionEvidence:
    base: dict[str, object] = dict(
        conn_id=1, client="192.0.2.50", client_port=40000, server="192.0.2.10", server_port=5061,
        first_frame=1, last_frame=20, start_ns=0, end_ns=10**9, syn_frames=(1,), synack_frame=2,
        tls_seen=True, client_hello_frame=4, server_hello_frame=6, sni="sip.example.test",
        client_versions=("TLS 1.2",), version="TLS 1.2", cipher="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        cipher_properties={"key_exchange": "ECDHE", "bulk": "AES_128", "mode": "GCM"},
        client_reneg=True, server_reneg=True, handshake_done=True,
    )
    base.update(kw)
    return ConnectionEvidence(**base)  # type: ignore[arg-type]


def codes(ev: ConnectionEvidence) -> set[str]:
    return {f.code for f in diagnose(ev, Options())}


def test_deflate_chosen_is_tls_compression() -> None:
    assert "TLS_COMPRESSION" in codes(evidence(compression=1))
    assert "TLS_COMPRESSION" not in codes(evidence(compression=0))


def test_a_healthy_tls12_handshake_has_no_finding() -> None:
    ev = evidence()
    assert codes(ev) == set()
    assert outcome(ev) == "ok"


def test_syn_answered_by_rst_is_refused() -> None:
    ev = evidence(synack_frame=None, tls_seen=False, client_hello_frame=None, server_hello_frame=None,
                  version=None, cipher=None, handshake_done=False, rst=(("server", 2),))
    assert outcome(ev) == "refused"
    assert codes(ev) == {"TCP_CONNECTION_REFUSED"}
