"""Chain verdicts for every case of the test PKI, checked against `openssl verify`.

openssl runs in the test on the same files, at the same time, with the same trust
anchor and the same intermediates; its error number is mapped to our verdict by the
single table below, and its error depth to the position we blame.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime

import pytest
from pki_helper import PKI, sent_chain

from pcaptls.x509.trust import TrustStore
from pcaptls.x509.verify import verify_chain

# openssl X509_V_ERR_* number -> our verdict
OPENSSL_TO_VERDICT = {
    0: "ok",
    9: "not_yet_valid",  # X509_V_ERR_CERT_NOT_YET_VALID
    10: "expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    18: "self_signed",  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    19: "untrusted",  # X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    20: "incomplete_chain",  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    26: "eku_mismatch",  # X509_V_ERR_INVALID_PURPOSE
    62: "hostname_mismatch",  # X509_V_ERR_HOSTNAME_MISMATCH
    64: "hostname_mismatch",  # X509_V_ERR_IP_ADDRESS_MISMATCH
    66: "weak_key",  # X509_V_ERR_EE_KEY_TOO_SMALL (with -auth_level 2)
    68: "weak_signature",  # X509_V_ERR_CA_MD_TOO_WEAK (with -auth_level 2)
}

CAPTURE_TIME = datetime(2026, 12, 1, tzinfo=UTC)

# (PKI case, role, identity the client asked for, time)
CASES = [
    ("leaf", "server", "sip.example.test", CAPTURE_TIME),
    ("expired", "server", "sip.example.test", CAPTURE_TIME),
    ("not-yet-valid", "server", "sip.example.test", CAPTURE_TIME),
    ("wrong-name", "server", "sip.example.test", CAPTURE_TIME),
    ("wildcard", "server", "sip.example.test", CAPTURE_TIME),
    ("wildcard", "server", "a.b.example.test", CAPTURE_TIME),
    ("sip-uri-only", "server", "example.test", CAPTURE_TIME),
    ("sip-uri-only", "server", "sip.example.test", CAPTURE_TIME),
    ("ip", "server", "10.61.0.2", CAPTURE_TIME),
    ("ip", "server", "fd61::2", CAPTURE_TIME),
    ("ip", "server", "10.61.0.3", CAPTURE_TIME),
    ("self-signed", "server", "sip.example.test", CAPTURE_TIME),
    ("untrusted", "server", "sip.example.test", CAPTURE_TIME),
    ("no-intermediate", "server", "sip.example.test", CAPTURE_TIME),
    ("rsa1024", "server", "sip.example.test", CAPTURE_TIME),
    ("sha1", "server", "sip.example.test", CAPTURE_TIME),
    ("ecdsa", "server", "sip.example.test", CAPTURE_TIME),
    ("cn-only", "server", "sip.example.test", CAPTURE_TIME),
    ("cn-only", "server", "other.example.test", CAPTURE_TIME),
    ("no-serverauth", "server", "sip.example.test", CAPTURE_TIME),
    ("client", "client", None, CAPTURE_TIME),
    ("client-no-clientauth", "client", None, CAPTURE_TIME),
    # verification "as of another time" (the --at option)
    ("leaf", "server", "sip.example.test", datetime(2031, 6, 1, tzinfo=UTC)),
    ("not-yet-valid", "server", "sip.example.test", datetime(2030, 6, 1, tzinfo=UTC)),
    ("expired", "server", "sip.example.test", datetime(2025, 6, 1, tzinfo=UTC)),
]


def openssl_verify(name: str, role: str, identity: str | None,
                   at: datetime) -> tuple[int, int | None]:
    """(error number, depth) from `openssl verify`; (0, None) when it says OK."""
    cmd = ["openssl", "verify", "-attime", str(int(at.timestamp())), "-auth_level", "2",
           "-CAfile", str(PKI / "root-ca.pem"),
           "-purpose", "sslserver" if role == "server" else "sslclient"]
    chain = PKI / f"{name}.chain.pem"
    if chain.exists():
        cmd += ["-untrusted", str(chain)]
    if identity is not None:
        cmd += ["-verify_ip" if ":" in identity or identity[0].isdigit() else "-verify_hostname",
                identity]
    out = subprocess.run([*cmd, str(PKI / f"{name}.pem")], capture_output=True, text=True,
                         check=False)
    text = out.stdout + out.stderr
    if out.returncode == 0 and ": OK" in text:
        return 0, None
    m = re.search(r"error (\d+) at (\d+) depth", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


@pytest.mark.parametrize(("name", "role", "identity", "at"), CASES,
                         ids=[f"{c[0]}-{c[2]}-{c[3].year}" for c in CASES])
def test_verdict_matches_openssl(name: str, role: str, identity: str | None, at: datetime,
                                 pki_trust: TrustStore) -> None:
    code, depth = openssl_verify(name, role, identity, at)
    verdict = verify_chain(sent_chain(name), role=role,  # type: ignore[arg-type]
                           identity=identity, at=at, trust=pki_trust)
    assert verdict.verdict == OPENSSL_TO_VERDICT[code], verdict
    if depth is not None:
        assert verdict.position == depth, verdict
        assert verdict.verdict_at(depth) == OPENSSL_TO_VERDICT[code]


def test_incomplete_chain_names_missing_issuer_and_aia(pki_trust: TrustStore) -> None:
    """The missing issuer is the subject of the intermediate (as openssl prints it) and the
    AIA URL is the one in the leaf (as `openssl x509 -ext authorityInfoAccess` prints it)."""
    v = verify_chain(sent_chain("no-intermediate"), role="server", identity="sip.example.test",
                     at=CAPTURE_TIME, trust=pki_trust)
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253",
                              "-in", str(PKI / "intermediate-ca.pem")],
                             capture_output=True, text=True, check=True).stdout
    assert v.missing_issuer == subject.strip().removeprefix("subject=")
    aia = subprocess.run(["openssl", "x509", "-noout", "-ext", "authorityInfoAccess", "-in",
                          str(PKI / "no-intermediate.pem")],
                         capture_output=True, text=True, check=True).stdout
    issuers = re.findall(r"CA Issuers - URI:(\S+)", aia)
    assert issuers and v.aia_url == issuers[0]


def test_expired_carries_dates(pki_trust: TrustStore) -> None:
    v = verify_chain(sent_chain("expired"), role="server", identity="sip.example.test",
                     at=CAPTURE_TIME, trust=pki_trust)
    enddate = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601",
                              "-in", str(PKI / "expired.pem")],
                             capture_output=True, text=True, check=True).stdout
    assert v.not_after is not None
    assert v.not_after.strftime("%Y-%m-%d %H:%M:%SZ") == enddate.strip().split("=", 1)[1]


def test_chain_order_extras_are_informational(pki_trust: TrustStore) -> None:
    """Sent with an unrelated root in between: openssl still says OK; we say ok + flag."""
    chain = sent_chain("leaf")
    rogue = sent_chain("rogue-root-ca")
    v = verify_chain([chain[0], *rogue, *chain[1:]], role="server",
                     identity="sip.example.test", at=CAPTURE_TIME, trust=pki_trust)
    assert v.verdict == "ok"
    assert "chain_order" in v.flags


def test_cn_only_is_flagged(pki_trust: TrustStore) -> None:
    v = verify_chain(sent_chain("cn-only"), role="server", identity="sip.example.test",
                     at=CAPTURE_TIME, trust=pki_trust)
    assert "cn_only" in v.flags
    assert v.identity_match is not None and v.identity_match.cn_only


def test_not_determined_without_certificates(pki_trust: TrustStore) -> None:
    assert verify_chain([], role="server", identity=None, at=CAPTURE_TIME,
                        trust=pki_trust).verdict == "not_determined"
    v = verify_chain([b"\x30\x03\x02\x01\x00"], role="server", identity=None,
                     at=CAPTURE_TIME, trust=pki_trust)
    assert v.verdict == "not_determined" and "does not parse" in v.reason


def test_default_store_does_not_trust_test_pki() -> None:
    """With Mozilla's roots the PKI's full chain is untrusted-by-omission: incomplete."""
    v = verify_chain(sent_chain("leaf"), role="server", identity="sip.example.test",
                     at=CAPTURE_TIME, trust=TrustStore.default())
    assert v.verdict == "incomplete_chain" and v.position == 1
