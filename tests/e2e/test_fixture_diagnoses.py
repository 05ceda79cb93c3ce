"""Every real-stack fixture is diagnosed as its scenario was set up.

The expected outcome and first alert come from the fixture manifest, which records
what the real stacks did (and tests/fixtures/test_manifest.py checks it against
tshark). The expected finding codes below come from how each scenario was set up
(fixtures/make_captures.py), never from pcaptls's own output.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import pcaptls

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
TRUST = str(ROOT / "fixtures" / "trust")


def manifest() -> list[dict[str, str]]:
    with open(CAPTURES / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


ALL_ROWS = manifest()
PLAIN_SIP = {"kamailio-sip-udp-sdes", "kamailio-sip-tcp-sdes", "sip-plain-sips-uri"}
TLS_ROWS = [r for r in ALL_ROWS if r["scenario"] not in PLAIN_SIP]
#: tcpdump -s 96 kept 30 bytes of each segment: the stacks completed the handshake
#: ("ok" in the manifest) but the capture cannot show it, so the honest outcome is
#: "incomplete", with CAPTURE_TRUNCATED saying why.
CAPTURE_LIMITED = {"kamailio-snaplen-96": "incomplete"}

#: scenario -> finding codes its setup must produce (errors and warnings).
EXPECTED = {
    "kamailio-tls12-no-sni": {"NO_SNI"},
    "kamailio-mtls-tls12-no-client-cert": {"CLIENT_CERT_MISSING"},
    "kamailio-mtls-tls13-no-client-cert": {"CLIENT_CERT_MISSING"},  # decrypted with its key log
    "kamailio-mtls-tls12-client-cert-other-ca": {"CLIENT_CERT_REJECTED"},
    "kamailio-plain-sip-to-tls-port": {"NOT_TLS_ON_TLS_PORT"},
    "kamailio-clienthello-to-sip-tcp-port": {"TLS_SERVER_SILENT"},
    "tcp-refused": {"TCP_CONNECTION_REFUSED"},
    "tcp-no-answer": {"TCP_NO_ANSWER"},
    "tls-rst-after-clienthello": {"TCP_RESET_IN_HANDSHAKE"},
    "tls-client-rst-after-server-hello": {"TCP_RESET_IN_HANDSHAKE"},
    "openssl-tls10": {"DEPRECATED_TLS_VERSION", "WEAK_CIPHER_CBC"},
    "openssl-tls11": {"DEPRECATED_TLS_VERSION", "WEAK_CIPHER_CBC"},
    "openssl-tls12-rsa-kx": {"NO_FORWARD_SECRECY", "WEAK_CIPHER_CBC"},
    "openssl-tls12-dhe-1024": {"WEAK_DH_PARAMS"},
    "openssl-tls12-cbc": {"WEAK_CIPHER_CBC"},
    "openssl-version-mismatch": {"PROTOCOL_VERSION_MISMATCH"},
    "openssl-no-shared-cipher": {"NO_SHARED_CIPHER"},
    "openssl-inappropriate-fallback": {"INAPPROPRIATE_FALLBACK"},
    "openssl-client-rejects-hostname": {"CLIENT_REJECTED_SERVER_CERT"},
    "openssl-client-rejects-untrusted-ca": {"CLIENT_REJECTED_SERVER_CERT", "CERT_CHAIN_INCOMPLETE"},
    "openssl-sni-unrecognized": {"SNI_UNRECOGNIZED"},
    "openssl-tls13-client-rejects-untrusted-ca": {"CLIENT_REJECTED_SERVER_CERT"},
    "gnutls-rejects-self-signed": {"CLIENT_REJECTED_SERVER_CERT", "CERT_SELF_SIGNED"},
    "pki-expired": {"CLIENT_REJECTED_SERVER_CERT", "CERT_EXPIRED"},
    "pki-not-yet-valid": {"CLIENT_REJECTED_SERVER_CERT", "CERT_NOT_YET_VALID"},
    "pki-wrong-name": {"CLIENT_REJECTED_SERVER_CERT", "CERT_HOSTNAME_MISMATCH"},
    "pki-self-signed": {"CLIENT_REJECTED_SERVER_CERT", "CERT_SELF_SIGNED"},
    "pki-untrusted": {"CLIENT_REJECTED_SERVER_CERT", "CERT_UNTRUSTED_ROOT"},
    "pki-no-intermediate": {"CLIENT_REJECTED_SERVER_CERT", "CERT_CHAIN_INCOMPLETE"},
    "pki-rsa1024": {"CLIENT_REJECTED_SERVER_CERT", "CERT_WEAK_KEY"},
    "pki-sha1": {"CLIENT_REJECTED_SERVER_CERT", "CERT_WEAK_SIGNATURE"},
    "pki-no-serverauth": {"CLIENT_REJECTED_SERVER_CERT", "CERT_EKU_MISMATCH"},
    "pki-client-no-clientauth": {"CLIENT_CERT_REJECTED", "CERT_EKU_MISMATCH"},
    "pki-cn-only": {"CERT_CN_ONLY"},
    # The certificate names only sip:example.test (RFC 5922); the client asked for
    # sip.example.test, which only OpenSSL's CN fallback accepted.
    "pki-sip-uri-only": {"CERT_HOSTNAME_MISMATCH"},
    "pki-ip": {"NO_SNI"},  # s_client connected to the IP address: no SNI is sent
    "gnutls-no-secure-renegotiation": {"NO_SECURE_RENEGOTIATION"},
    "openssl-weak-cipher-null": {"WEAK_CIPHER", "NO_FORWARD_SECRECY"},  # TLS_RSA_WITH_NULL_SHA256
    "openssl-weak-cipher-anon": {"WEAK_CIPHER"},
    "openssl-chain-out-of-order": {"CERT_CHAIN_ORDER"},
    "openssl-ocsp-revoked": {"CERT_REVOKED"},
    "openssl-ocsp-stale": {"OCSP_STAPLE_INVALID"},
    "two-servers-one-name": {"CERT_INCONSISTENT_ACROSS_SERVERS"},
    "kamailio-midstream": {"CAPTURE_STARTED_MIDSTREAM"},
    "kamailio-snaplen-96": {"CAPTURE_TRUNCATED"},
    "handshake-incomplete": {"HANDSHAKE_INCOMPLETE"},
    "sip-tls-insecure-path": {"SIP_TLS_PATH_LEAVES_TLS"},
    "sip-tls-rtp-avp": {"SIP_MEDIA_WITHOUT_SRTP"},
    "sip-plain-sips-uri": {"SIP_SIPS_OVER_INSECURE_TRANSPORT", "NO_TLS_FOUND"},
    "kamailio-sip-udp-sdes": {"SIP_SDES_KEYS_IN_PLAINTEXT", "NO_TLS_FOUND"},
    "kamailio-sip-tcp-sdes": {"SIP_SDES_KEYS_IN_PLAINTEXT", "NO_TLS_FOUND"},
    "tls-malformed": {"TLS_MALFORMED"},
    "openssl-version-mismatch-v6": {"PROTOCOL_VERSION_MISMATCH"},
}
#: Scenarios set up as healthy: no error and no warning may be reported.
HEALTHY = {
    "kamailio-tls12-register-v4", "kamailio-tls12-register-v6", "kamailio-tls13-register-v4",
    "kamailio-tls13-register-v6", "kamailio-tls13-register-sll2", "kamailio-tls12-register-pcapng",
    "kamailio-tls-port-5062", "kamailio-mtls-tls12-ok", "kamailio-mtls-tls13-ok",
    "openssl-tls12-ecdhe-gcm", "openssl-tls12-chacha20", "openssl-tls13-aesgcm",
    "openssl-tls13-chacha20", "openssl-tls13-hrr", "openssl-big-chain", "openssl-tls12-resumption",
    "openssl-tls13-resumption", "gnutls-tls13-to-kamailio", "pki-leaf", "pki-wildcard",
    "pki-ecdsa", "pki-client-cert", "cert-rotation",
}


def run(row: dict[str, str]) -> pcaptls.Analysis:
    keylogs = (str(ROOT / "fixtures" / row["keylog"]),) if row["keylog"] else ()
    return pcaptls.analyze(CAPTURES / row["file"], ca_bundle=TRUST, keylogs=keylogs)


@pytest.mark.parametrize("row", TLS_ROWS, ids=lambda r: r["scenario"])
def test_outcome_and_first_alert_are_what_the_stacks_did(row: dict[str, str]) -> None:
    a = run(row)
    conns = a.tables["connections"].rows
    expected = row["expected_outcome"].split(";")
    if row["scenario"] in CAPTURE_LIMITED:
        expected = [CAPTURE_LIMITED[row["scenario"]]]
    assert [c["outcome"] for c in conns] == [e.split(" ")[0] for e in expected]
    for c, e in zip(conns, expected, strict=True):
        if e.startswith("alert "):
            alert = e.split(" ", 1)[1]
            if alert.endswith(":encrypted") and row["keylog"]:
                # Encrypted on the wire; with the key log we read it: the sender must agree.
                assert c["alerts"][0].split(":")[0] == alert.split(":")[0]
            else:
                assert c["alerts"][0] == alert


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda r: r["scenario"])
def test_findings_follow_the_scenario(row: dict[str, str]) -> None:
    a = run(row)
    found = {r["code"] for r in a.tables["findings"].rows}
    serious = {r["code"] for r in a.tables["findings"].rows if r["severity"] in ("error", "warning")}
    scenario = row["scenario"]
    if scenario in HEALTHY:
        assert serious == set()
    else:
        assert EXPECTED[scenario] <= found, found


def test_every_scenario_is_classified() -> None:
    for row in ALL_ROWS:
        assert row["scenario"] in HEALTHY or row["scenario"] in EXPECTED, row["scenario"]


def test_a_rotation_is_shown_with_its_time() -> None:
    (row,) = [r for r in ALL_ROWS if r["scenario"] == "cert-rotation"]
    a = run(row)
    (fleet,) = a.tables["fleet"].rows
    conns = a.tables["connections"].rows
    assert len(fleet["leaf_sha256"]) == 2
    assert fleet["changed_at"] == conns[1]["start"]


def test_certificate_request_ca_names_are_tshark_s() -> None:
    import subprocess

    from pcaptls.engines.tshark import rfc4514_from_tshark

    capture = CAPTURES / "kamailio-mtls-tls12-no-client-cert.pcap"
    verbose = subprocess.run(["tshark", "-n", "-r", str(capture), "-Y", "tls.handshake.type == 13", "-V"],
                             capture_output=True, text=True, check=True).stdout
    names = [rfc4514_from_tshark("rdnSequence " + line.split("Distinguished Name: ", 1)[1].strip())
             for line in verbose.splitlines() if "Distinguished Name: (" in line]
    assert names
    a = pcaptls.analyze(capture, ca_bundle=TRUST)
    (f,) = [r for r in a.tables["findings"].rows if r["code"] == "CLIENT_CERT_MISSING"]
    for n in names:
        assert n in f["remedy"]
