"""Connections and stream bytes of real captures, compared with tshark's follow,tcp,raw.

For every TCP stream tshark finds (with out-of-order reassembly on), we must
find the same connection, in the same order (conn id = tcp.stream + 1), with
the same endpoints, the same client (the SYN sender, where tshark shows a
SYN), the same number of segments per direction and exactly the same bytes
in each direction, gaps where tshark marks "[N bytes missing in capture file]".
"""

from __future__ import annotations

from collections import Counter

import pytest
import streams
import tshark

CAPTURES = [
    "zeek/tls1.2.pcap",  # pcap, Ethernet
    "zeek/tls-fragmented-handshake.pcap.gz",  # gzip
    "zeek/pppoe-over-qinq.pcap",  # PPPoE in QinQ, Ethernet padding
    "zeek/openjdk-25.0.2-zeek.org.pcap",  # Linux SLL2
    "zeek/ml-dsa-44-cert.pcap",  # raw IP (101)
    "zeek/hrr.pcap",  # out-of-order segments
    "zeek/tls13draft16-ff52.a01.pcap",  # data after RST, two streams
    "zeek/ssl.v3.pcap",  # three connections
    "zeek/tls1.2-protocol-violation.pcap",
    "ndpi/sites.pcapng",  # pcapng, 22 interfaces, 60 streams
    "ndpi/dns2tcp_tunnel.pcap",  # Linux SLL
    "ndpi/KakaoTalk_chat.pcap",  # Linux SLL, many streams
    "ndpi/ja3_lots_of_cipher_suites.pcap",  # 802.1Q
    "ndpi/smtp-starttls.pcap",  # 802.1Q
    "ndpi/selfsigned.pcap",  # BSD loopback (NULL)
    "ndpi/vxlan.pcap",  # VXLAN: innermost TCP
    "ndpi/http_ipv6.pcap",  # IPv6
    "ndpi/tls_missing_ch_frag.pcap",  # a missing segment: a gap
    "ndpi/tls_multiple_synack_different_seq.pcapng",
    "ndpi/google_ssl.pcap",  # out of order
    "ndpi/tls_1.2_unidirectional_client.pcapng",  # one direction only
    "ndpi/tls_1.2_unidirectional_server.pcapng",
    "ndpi/anydesk.pcapng",
    "ja4/ipv6.pcapng",  # BSD loopback, IPv6 (a pcap despite the name)
    "ja4/browsers-x509.pcapng",  # 1-byte resends with other bytes
    "illustrated-tls13/capture.pcap",
    "suricata-verify/linktype-228/flow-test-01.pcap",  # raw IPv4 (228)
    "suricata-verify/bug-5758/input.pcap",  # raw IP
    "suricata-verify/community-id-ipv6/input.pcap",
    "suricata-verify/tls-client-hello-frag-01/dump_mtu300.pcap",
    "suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap",  # corrupt record
    "suricata-verify/tls-duplicate-hello/input.pcap",
    # rewrapped by fixtures/make_format_variants.sh: tunnels and extension headers
    *(f"../captures/formats/{w}.pcap" for w in ("ipip", "6in4", "gre", "mpls", "ipv6-ext")),
    "../captures/formats/sll2-outcomes.pcap",  # SLL2 from tcpdump -i any, IPv4 and IPv6
]



def _path(name: str) -> str:
    return str(tshark.ROOT / "fixtures" / "external" / name)


@pytest.mark.parametrize("name", CAPTURES)
def test_streams_equal_tshark_follow(name: str) -> None:
    path = _path(name)
    ref = tshark.follow_all(path)
    ours = streams.track(path)
    assert ref, "tshark found no TCP stream"
    assert sorted(ours.conns) == [n + 1 for n in sorted(ref)]
    for n, fs in ref.items():
        conn = ours.conns[n + 1]
        assert conn.endpoints == (fs.node0, fs.node1), f"stream {n}"
        for i in (0, 1):
            want = tshark.normalize(list(fs.chunks[i]))
            got = tshark.normalize(list(ours.chunks[n + 1][i]))
            assert got == want, f"stream {n} direction {i}"


@pytest.mark.parametrize("name", CAPTURES)
def test_client_and_segment_counts_equal_tshark(name: str) -> None:
    path = _path(name)
    ours = streams.track(path)
    per_dir: Counter[tuple[int, tuple[str, int]]] = Counter()
    syn_sender: dict[int, tuple[str, int]] = {}
    frames: dict[int, list[int]] = {}
    for r in tshark.tcp_frames(path):
        if not r["tcp.stream"]:
            continue
        cid = int(r["tcp.stream"]) + 1
        src = (r["ipv6.src"] or r["ip.src"], int(r["tcp.srcport"]))
        per_dir[cid, src] += 1
        frames.setdefault(cid, []).append(int(r["frame.number"]))
        if r["tcp.flags.syn"] in ("1", "True") and r["tcp.flags.ack"] in ("0", "False"):
            syn_sender.setdefault(cid, src)
    for cid, conn in ours.conns.items():
        assert (conn.first_frame, conn.last_frame) == (min(frames[cid]), max(frames[cid]))
        for i, ep in enumerate(conn.endpoints):
            assert conn.dirs[i].packets == per_dir[cid, ep], f"conn {cid} {ep}"
        if cid in syn_sender:
            assert conn.client_endpoint == syn_sender[cid]
            assert conn.client_by == "syn"
