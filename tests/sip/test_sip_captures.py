"""Every SIP message in real captures, parsed by us, against tshark's SIP/SDP dissection.

Captures: fixtures/captures/sip/ (made by fixtures/make_sip_captures.sh with SIPp
and a Python client) and the suricata-verify sip-tcp capture. tshark reports a
message split over TCP segments at the frame that completed it, and several
messages of one segment at the same frame: our frame numbers must agree.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from pathlib import Path

import pytest
import tshark
from sip_capture import FIELDS, ROOT, by_frame, joined, our_fields, payloads

from pcaptls.sip import SipMessage, SipStream, parse_datagram, sip_facts, sip_row

CAPTURES = [
    "fixtures/captures/sip/sip-udp.pcap",
    "fixtures/captures/sip/sip-tcp.pcap",
    "fixtures/captures/sip/sip-tcp-pipelined.pcap",
    "fixtures/captures/sip/sip-sips-plain.pcap",
    "fixtures/external/suricata-verify/sip-tcp-method/sip-tcp.pcap",
    # the lab's plaintext SIP from kamailio's test UA (fixtures/captures/MANIFEST.tsv)
    "fixtures/captures/kamailio-sip-udp-sdes.pcap",
    "fixtures/captures/kamailio-sip-tcp-sdes.pcap",
    "fixtures/captures/sip-plain-sips-uri.pcap",
]


def ours(path: Path) -> tuple[list[SipMessage], dict[tuple[str, int, str, int], SipStream]]:
    msgs: list[SipMessage] = []
    streams: dict[tuple[str, int, str, int], SipStream] = {}
    for p in payloads(path):
        if p.proto == "udp":
            m = parse_datagram(p.data, p.frame, p.time_ns)
            msgs += [m] if m else []
        else:
            msgs += streams.setdefault(p.flow, SipStream()).feed(p.data, p.frame, p.time_ns)
    for s in streams.values():
        s.close()
    return msgs, streams


@pytest.mark.parametrize("rel", CAPTURES)
def test_messages_match_tshark(rel: str) -> None:
    path = ROOT / rel
    msgs, streams = ours(path)
    rows = tshark.fields(str(path), *FIELDS, extra=("-Y", "sip"))
    assert rows, "tshark saw no SIP"
    mine = by_frame(msgs)
    assert sorted(mine) == sorted(int(r[0]) for r in rows)
    for r in rows:
        assert our_fields(int(r[0]), mine[int(r[0])]) == r, f"frame {r[0]}"
    for s in streams.values():
        assert s.notes == [] and s.buffered == 0


@pytest.mark.parametrize("rel", CAPTURES)
def test_first_frame_is_where_tshark_starts_reassembly(rel: str) -> None:
    path = ROOT / rel
    msgs, _ = ours(path)
    reassembled_in = {
        int(r[0]): r[1]
        for r in tshark.fields(str(path), "frame.number", "tcp.reassembled_in", extra=("-2",))
    }
    for m in msgs:
        if m.first_frame != m.frame:
            assert reassembled_in[m.first_frame] == str(m.frame)


def test_split_and_pipelined_tcp_messages() -> None:
    """The large INVITE spans two segments; two OPTIONS and two 200 share one segment each."""
    msgs, _ = ours(ROOT / "fixtures/captures/sip/sip-tcp.pcap")
    (invite,) = [m for m in msgs if m.method == "INVITE"]
    assert invite.first_frame < invite.frame and invite.size > 1500
    msgs, streams = ours(ROOT / "fixtures/captures/sip/sip-tcp-pipelined.pcap")
    counts = defaultdict(int)
    for m in msgs:
        counts[m.frame] += 1
    assert sorted(counts.values()) == [2, 2]
    # RFC 5626: the client's CRLFCRLF ping (4 bytes) and the server's CRLF pong (2 bytes),
    # as tshark's TCP lengths show them.
    lens = {
        int(f): int(n)
        for f, n in tshark.fields(
            str(ROOT / "fixtures/captures/sip/sip-tcp-pipelined.pcap"), "frame.number", "tcp.len"
        )
    }
    assert sorted(lens.values()).count(4) == 1 and sorted(lens.values()).count(2) == 1
    assert sum(s.pings for s in streams.values()) == 1
    assert sum(s.pongs for s in streams.values()) == 1


SDP_FIELDS = (
    "frame.number",
    "sdp.media.proto",
    "sdp.media.port",
    "sdp.connection_info.address",
    "sdp.crypto.tag",
    "sdp.crypto.crypto_suite",
    "sdp.crypto.master_key",
    "sdp.crypto.master_salt",
    "sdp.media_attribute.value",
)


@pytest.mark.parametrize(
    "rel",
    [c for c in CAPTURES if "pipelined" not in c and "suricata" not in c and "sips-uri" not in c],
)
def test_sdp_matches_tshark_and_keys_never_survive(rel: str) -> None:
    path = ROOT / rel
    msgs, _ = ours(path)
    mine = by_frame(msgs)
    rows = tshark.fields(str(path), *SDP_FIELDS, extra=("-Y", "sdp"))
    assert rows
    for r in rows:
        (m,) = mine[int(r[0])]
        assert m.sdp is not None
        media = m.sdp.media
        assert joined([x.proto for x in media]) == r[1]
        assert joined([x.port for x in media]) == r[2]
        assert m.sdp.connection == r[3]
        crypto = [c for x in media for c in x.crypto]
        assert joined([c.tag for c in crypto]) == r[4]
        assert joined([c.suite for c in crypto]) == r[5]
        keys = [k for k in r[6].split(",") if k]
        salts = [s for s in r[7].split(",") if s]
        assert sum(c.key_count for c in crypto) == len(keys)
        assert m.has_sdes_keys == bool(keys) == bool(sip_row(m)["has_sdes_keys"])
        fps = sorted(v for v in r[8].split(",") if v.startswith("sha-"))
        assert (
            sorted({f"{f.hash_function} {f.value}" for x in media for f in x.fingerprints}) == fps
        )
        # The key-salt as sent is base64(master key || master salt): it must appear nowhere.
        for key, salt in zip(keys, salts, strict=True):
            secret = base64.b64encode(bytes.fromhex(key + salt)).decode()
            assert secret not in repr(m) and secret not in repr(sip_row(m))
            assert secret[:16] not in repr(m)


def test_sips_and_tls_via_in_plaintext() -> None:
    msgs, _ = ours(ROOT / "fixtures/captures/sip/sip-sips-plain.pcap")
    # tshark: every Via says TLS and the requests' URIs are sips: (checked above).
    assert msgs and all(m.via_transport == "TLS" and m.uses_sips for m in msgs)
    invite = next(m for m in msgs if m.method == "INVITE")
    assert [x.proto for x in invite.plain_rtp_media] == ["RTP/AVP"]
    assert invite.sdp is not None and invite.sdp.media[0].zrtp_hash is not None
    answer = next(m for m in msgs if m.status_code == 200 and m.cseq and m.cseq.method == "INVITE")
    assert answer.plain_rtp_media == ()  # the video line was refused (port 0)


@pytest.mark.parametrize("rel", CAPTURES)
def test_plaintext_findings_follow_tshark(rel: str) -> None:
    """SIP_SDES_KEYS_IN_PLAINTEXT where tshark shows an SDES master key; and
    SIP_SIPS_OVER_INSECURE_TRANSPORT where tshark shows a sips: URI or a top Via of TLS."""
    path = ROOT / rel
    msgs, _ = ours(path)
    mine = by_frame(msgs)
    names = (
        "frame.number",
        "sdp.crypto.master_key",
        "sip.Via.transport",
        "sip.r-uri",
        "sip.to.addr",
        "sip.from.addr",
        "sip.contact.uri",
        "sip.Route.uri",
        "sip.Record-Route.uri",
    )
    for r in tshark.fields(str(path), *names, extra=("-Y", "sip")):
        frame_msgs = mine[int(r[0])]
        if len(frame_msgs) != 1:
            continue  # several messages in one frame: tshark's fields are merged
        (m,) = frame_msgs
        codes = [code for code, _ in sip_facts(m, over_tls=False)]
        assert ("SIP_SDES_KEYS_IN_PLAINTEXT" in codes) == bool(r[1])
        sips = any(u.lower().startswith("sips:") for f in r[3:] for u in f.split(",") if u)
        tls_via = r[2].split(",")[0] == "TLS"
        assert ("SIP_SIPS_OVER_INSECURE_TRANSPORT" in codes) == (sips or tls_via)
