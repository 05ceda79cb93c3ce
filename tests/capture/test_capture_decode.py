"""Link, IP, tunnel and TCP/UDP header decoding, frame by frame against tshark's fields.

tshark names the innermost addresses with -E occurrence=l (last occurrence),
which is what the decoder must return for tunnels (VXLAN, PPPoE, QinQ, 6in4).
"""

from __future__ import annotations

import pytest
import tshark

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder, TcpSegment, UdpDatagram

WRAPPED = ["ipip", "6in4", "gre", "mpls", "ipv6-ext", "ipv4-options"]  # fixtures/make_format_variants.sh
CAPTURES = [
    *(f"../captures/formats/{w}.pcap" for w in WRAPPED),
    "zeek/pppoe-over-qinq.pcap",
    "zeek/openjdk-25.0.2-zeek.org.pcap",
    "zeek/ml-dsa-44-cert.pcap",
    "ndpi/vxlan.pcap",
    "ndpi/http_ipv6.pcap",
    "ndpi/KakaoTalk_chat.pcap",
    "ndpi/dns2tcp_tunnel.pcap",
    "ndpi/selfsigned.pcap",
    "ndpi/smtp-starttls.pcap",
    "ndpi/sites.pcapng",
    "ja4/ipv6.pcapng",
    "ja4/chrome-cloudflare-quic-with-secrets.pcapng",
    "suricata-verify/linktype-228/flow-test-01.pcap",
    "suricata-verify/community-id-ipv6/input.pcap",
    "suricata-verify/bug-5758/input.pcap",
]

FIELDS = (
    "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len",
    "tcp.window_size_value", "udp.srcport", "udp.dstport", "udp.length",
)



@pytest.mark.parametrize("name", CAPTURES)
def test_segments_equal_tshark_fields(name: str) -> None:
    path = str(tshark.ROOT / "fixtures" / "external" / name)
    rows = {
        int(r[0]): dict(zip(FIELDS, r, strict=True))
        for r in tshark.fields(path, *FIELDS, extra=("-E", "occurrence=l"))
    }
    dec = Decoder()
    ours: dict[int, TcpSegment | UdpDatagram] = {}
    with open_capture(path) as r:
        for f in r:
            s = dec.decode(f)
            if s is not None:
                ours[f.number] = s
    # ICMP errors quote a TCP/UDP header: tshark shows its ports, we skip the frame.
    want_tcp = {n for n, r in rows.items() if r["tcp.srcport"] and ":icmp" not in r["frame.protocols"]}
    want_udp = {n for n, r in rows.items() if r["udp.srcport"] and not r["tcp.srcport"]
                and ":icmp" not in r["frame.protocols"]}
    assert {n for n, s in ours.items() if isinstance(s, TcpSegment)} == want_tcp
    if "ipv4-options" in name:  # an IPv4 fragment, ARP, an IPv6 fragment: counted, skipped
        assert dict(dec.skipped) == {"ip_fragment": 2, "not_ip": 1}
    assert {n for n, s in ours.items() if isinstance(s, UdpDatagram)} == want_udp
    for n, s in ours.items():
        r = rows[n]
        v4 = s.ip_version == 4
        assert s.src == (r["ip.src"] if v4 else r["ipv6.src"]), n
        assert s.dst == (r["ip.dst"] if v4 else r["ipv6.dst"]), n
        if isinstance(s, TcpSegment):
            assert (s.sport, s.dport, s.seq) == (
                int(r["tcp.srcport"]), int(r["tcp.dstport"]), int(r["tcp.seq_raw"])), n
            assert s.flags == int(r["tcp.flags"], 16), n
            assert s.window == int(r["tcp.window_size_value"]), n
            assert len(s.payload) + s.missing_tail == int(r["tcp.len"]), n
            if s.flags & 0x10:
                assert s.ack == int(r["tcp.ack_raw"]), n
        else:
            assert (s.sport, s.dport) == (int(r["udp.srcport"]), int(r["udp.dstport"])), n
            assert len(s.payload) + s.missing_tail == int(r["udp.length"]) - 8, n


def test_unknown_link_type_is_an_error_only_when_nothing_decodes() -> None:
    from pcaptls.capture.frame import Frame
    from pcaptls.errors import CaptureError

    dec = Decoder()
    assert dec.decode(Frame(1, 0, 999, b"\x00" * 40, 40)) is None
    with pytest.raises(CaptureError, match="unknown link type 999"):
        dec.check_decodable("x.pcap", 1)
    dec.decode(Frame(2, 0, 101, b"\x45" + b"\x00" * 39, 40))
    dec.check_decodable("x.pcap", 2)  # one frame had a known link type: counted, no error
    assert dec.unknown_link_types[999] == 1
