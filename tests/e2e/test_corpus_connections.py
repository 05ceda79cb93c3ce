"""The connections table of every corpus capture against tshark's dissection.

`fixtures/external/expected/<dir>/<capture>.tsv` is tshark 4.0's view, one row per
handshake message or alert (columns in fixtures/external/make_expected.sh). Per TCP
connection: SNI, offered suites in order, chosen suite, negotiated version, each
plaintext alert with its sender, and the leaf certificate's subject.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

import pcaptls
from pcaptls.engines.tshark import rfc4514_from_tshark
from pcaptls.tls.registry import alert_name, cipher_suite_name, ssl2_cipher_kind_name, version_name

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "fixtures" / "external"
EXPECTED = EXTERNAL / "expected"

CAPTURES = sorted(
    str(p.relative_to(EXPECTED))[: -len(".tsv")]
    for p in EXPECTED.rglob("*.tsv")
    if not p.name.endswith(".keylog.tsv") and p.name != "_tshark_runs.tsv"
)
#: Where tshark and we differ, and why (each also pinned in tests/tls/test_tls_corpus.py).
KNOWN = {
    # tshark misses the Certificate of this fragmented handshake (NOTES.md); we read it,
    # and its SHA-256 equals Zeek's cert_chain_fps.
    "zeek/tls-fragmented-handshake.pcap.gz": {"leaf_subject"},
    # tshark shows no subject for a certificate whose DER header is cut; we report the
    # parse error and no subject either, but count the certificate.
    "suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap": {"leaf_subject"},
}
PORT_OPTIONS = {"ndpi/tls_port_80.pcapng": (80,)}
#: TLS that starts after a plaintext preamble: SMTP STARTTLS, PostgreSQL's SSLRequest.
#: tshark dissects those protocols; pcaptls looks for TLS where a stream starts (SIP has
#: no STARTTLS), so these connections are not in its table.
UPGRADED = {"ndpi/smtp-starttls.pcap", "ndpi/pgsql2.pcapng"}


#: tshark's attribute names that cryptography's RFC 4514 writer spells as dotted OIDs
#: (X.520 / PKCS #9 / Microsoft EV names; OIDs from RFC 4519, RFC 2985 and Microsoft).
OID_OF = {
    "serialNumber": "2.5.4.5", "businessCategory": "2.5.4.15", "postalCode": "2.5.4.17",
    "pkcs-9-at-emailAddress": "1.2.840.113549.1.9.1",
    "jurisdictionOfIncorporationLocalityName": "1.3.6.1.4.1.311.60.2.1.1",
    "jurisdictionOfIncorporationStateOrProvinceName": "1.3.6.1.4.1.311.60.2.1.2",
    "jurisdictionOfIncorporationCountryName": "1.3.6.1.4.1.311.60.2.1.3",
    "title": "2.5.4.12", "givenName": "2.5.4.42", "surname": "2.5.4.4", "initials": "2.5.4.43",
    "generationQualifier": "2.5.4.44", "dnQualifier": "2.5.4.46", "pseudonym": "2.5.4.65",
    "organizationIdentifier": "2.5.4.97", "name": "2.5.4.41", "description": "2.5.4.13",
}


def dotted(rfc4514: str | None) -> str | None:
    if rfc4514 is None:
        return None
    for name, oid in OID_OF.items():
        rfc4514 = rfc4514.replace(f",{name}=", f",{oid}=")
        if rfc4514.startswith(f"{name}="):
            rfc4514 = oid + rfc4514[len(name):]
    return rfc4514


def expected_streams(name: str) -> dict[int, list[dict[str, str]]]:
    with open(EXPECTED / f"{name}.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out: dict[int, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        out[int(r["tcp_stream"])].append(r)
    return out


def suite(hexval: str) -> str:
    v = int(hexval, 16)
    return ssl2_cipher_kind_name(v) if len(hexval) > 6 else cipher_suite_name(v)


def facts(rows: list[dict[str, str]]) -> dict[str, object]:
    """What tshark says about one stream, in the connections table's words."""
    ch = next((r for r in rows if r["handshake_type"] == "1"), None)
    client = (ch["src"], int(ch["srcport"])) if ch else None
    out: dict[str, object] = {"client": client}
    if ch:
        out["sni"] = ch["sni"] or None
        out["ciphers_offered"] = [suite(x) for x in ch["ciphersuites_offered"].split(",") if x]
    from_server = [r for r in rows if client and (r["src"], int(r["srcport"])) != client]
    shs = [r for r in from_server if r["handshake_type"] == "2"]
    v2 = [r for r in from_server if r["handshake_type"] == "4" and r["record_version"] == "0x0002"]
    if v2:  # SSLv2: the server's hello fixes the version, the client's master key the cipher
        out["version"] = "SSL 2.0"
        cmk = next((r for r in rows if r["handshake_type"] == "2" and r not in from_server), None)
        if cmk:
            out["cipher"] = suite(cmk["ciphersuite_chosen"])
    elif shs:
        sh = shs[-1]  # after a HelloRetryRequest, the real ServerHello is the last one
        out["cipher"] = suite(sh["ciphersuite_chosen"]) if sh["ciphersuite_chosen"] else None
        v = sh["supported_versions"] or sh["handshake_version"]
        out["version"] = version_name(int(v, 16)) if v else None
    alerts = []
    for r in rows:
        if r["alert_level"] and r["alert_description"] not in ("", "encrypted") and client:
            side = "client" if (r["src"], int(r["srcport"])) == client else "server"
            level = {"1": "warning", "2": "fatal"}[r["alert_level"]]
            alerts.append(f"{side}:{level}:{alert_name(int(r['alert_description']))}")
    out["alerts"] = alerts
    certs = [r for r in rows if r["handshake_type"] == "11" and client and (r["src"], int(r["srcport"])) != client]
    if certs and certs[0]["cert_subjects"]:
        leaf = certs[0]["cert_subjects"].split(" | ")[0]
        out["leaf_subject"] = dotted(rfc4514_from_tshark(f"rdnSequence ({leaf})"))
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_connections_equal_tshark(name: str) -> None:
    streams = expected_streams(name)
    a = pcaptls.analyze(EXTERNAL / name, ports=PORT_OPTIONS.get(name, ()))
    if not streams:
        # tshark sees no TLS handshake message: neither may we.
        assert all(c["version"] is None for c in a.tables["connections"].rows)
        return
    by_pair = {}
    for c in a.tables["connections"].rows:
        by_pair.setdefault(frozenset({(c["client"], c["client_port"]), (c["server"], c["server_port"])}), []).append(c)
    skip = KNOWN.get(name, set())
    for rows in streams.values():
        want = facts(rows)
        r0 = rows[0]
        pair = frozenset({(r0["src"], int(r0["srcport"])), (r0["dst"], int(r0["dstport"]))})
        candidates = by_pair.get(pair)
        if name in UPGRADED:
            assert not candidates
            continue
        assert candidates, f"no connection {pair}"
        conn = candidates.pop(0) if len(candidates) == 1 else next(
            c for c in candidates if c["first_frame"] <= int(r0["frame"]) <= c["last_frame"])
        if want["client"]:
            assert (conn["client"], conn["client_port"]) == want["client"]
        for key in ("sni", "ciphers_offered", "cipher", "version", "leaf_subject"):
            if key in want and key not in skip:
                assert conn[key] == want[key], (key, conn["conn_id"])
        plain = [x for x in conn["alerts"] if not x.endswith(":encrypted")]
        assert plain == want["alerts"]
