"""SIP carried by TLS: the decrypted streams of the kamailio lab captures (with their key
logs, see fixtures/captures/MANIFEST.tsv), framed by SipStream and compared with tshark's
SIP dissection of the same decrypted data."""

from __future__ import annotations

import base64
import re

import pytest
import tshark
from sip_capture import ROOT

from pcaptls.sip import (
    SipMessage,
    SipStream,
    insecure_hops,
    leaves_tls,
    media_without_srtp,
    sip_facts,
    sip_row,
)

CASES = [
    "kamailio-tls12-register-v4",
    "kamailio-tls13-register-v4",
    "sip-tls-insecure-path",  # Via UDP, Contact ;transport=udp, Record-Route ;transport=tcp
    "sip-tls-rtp-avp",  # INVITE offers RTP/AVP over TLS signalling
]
FIELDS = (
    "sip.Method",
    "sip.Status-Code",
    "sip.CSeq.seq",
    "sip.CSeq.method",
    "sip.Call-ID",
    "sip.Via.transport",
    "sip.r-uri",
    "sdp.crypto.master_key",
    "sdp.crypto.master_salt",
    "sip.contact.uri",
    "sip.Record-Route.uri",
    "sdp.media.proto",
    "sdp.media.port",
)
PLAIN = {"UDP", "TCP", "SCTP", "WS"}


def decrypted_chunks(pcap: str, keys: str) -> list[list[bytes]]:
    """tshark -z follow,tls,raw,0: the decrypted application data, one list per direction."""
    out = tshark.run(pcap, "-o", f"tls.keylog_file:{keys}", "-q", "-z", "follow,tls,raw,0")
    sides: list[list[bytes]] = [[], []]
    for line in out.splitlines():
        if re.fullmatch(r"\t?[0-9a-f]+", line):
            sides[1 if line.startswith("\t") else 0].append(bytes.fromhex(line.strip()))
    return sides


def uri_transport(uri: str) -> str | None:
    m = re.search(r"(?i);transport=([a-z]+)", uri)
    return m.group(1).upper() if m and uri.lower().startswith("sip:") else None


@pytest.mark.parametrize("name", CASES)
def test_decrypted_sip_matches_tshark(name: str) -> None:
    pcap = str(ROOT / "fixtures/captures" / f"{name}.pcap")
    keys = str(ROOT / "fixtures/keylogs" / f"{name}.keys")
    msgs: list[SipMessage] = []
    for side in decrypted_chunks(pcap, keys):
        stream = SipStream()
        for i, chunk in enumerate(side, start=1):
            msgs += stream.feed(chunk, i, 0)
        stream.close()
        assert stream.notes == []
    rows = tshark.fields(pcap, *FIELDS, extra=("-o", f"tls.keylog_file:{keys}", "-Y", "sip"))
    assert len(rows) >= 9
    want = sorted(tuple(r[:7]) for r in rows)
    got = sorted(
        (
            m.method or "",
            str(m.status_code or ""),
            str(m.cseq.number) if m.cseq else "",
            m.cseq.method if m.cseq else "",
            m.call_id or "",
            ",".join(v.transport for v in m.vias),
            m.request_uri or "",
        )
        for m in msgs
    )
    assert got == want
    # SDES keys: as many keyed messages as tshark shows; the keys themselves never survive.
    secrets = [
        base64.b64encode(bytes.fromhex(k + s)).decode()
        for r in rows
        for k, s in zip(r[7].split(","), r[8].split(","), strict=True)
        if k
    ]
    assert sum(m.has_sdes_keys for m in msgs) == sum(1 for r in rows if r[7])
    for m in msgs:
        for text in (repr(m), repr(sip_row(m))):
            assert not any(s in text for s in secrets)
        assert sip_facts(m, over_tls=True) == []  # plaintext-only findings
    # Hops that leave TLS, as tshark's Via transports and URIs show them.
    want_hops = sorted(
        [("Via", t) for r in rows for t in r[5].split(",") if t in PLAIN]
        + [
            ("Contact", t)
            for r in rows
            for u in r[9].split(",")
            if (t := uri_transport(u)) in PLAIN
        ]
        + [
            ("Record-Route", t)
            for r in rows
            for u in r[10].split(",")
            if (t := uri_transport(u)) in PLAIN
        ]
    )
    assert sorted((h.header, h.transport) for m in msgs for h in insecure_hops(m)) == want_hops
    # Media offered without SRTP: an RTP/AVP line with a port other than 0.
    want_plain = sum(
        any(
            p == "RTP/AVP" and port != "0"
            for p, port in zip(r[11].split(","), r[12].split(","), strict=True)
        )
        for r in rows
        if r[11]
    )
    assert sum(media_without_srtp(m) for m in msgs) == want_plain
    if name == "sip-tls-insecure-path":
        assert want_hops and all(leaves_tls(m) for m in msgs if m.method)
    if name == "sip-tls-rtp-avp":
        assert want_plain == 1
