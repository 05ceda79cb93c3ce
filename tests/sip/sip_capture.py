"""Tiny scapy helper for the SIP tests: UDP payloads and in-order TCP payloads per frame.

Only for the clean fixture captures (no loss, no reordering): TCP payloads are
taken in frame order, retransmitted bytes dropped by sequence number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.inet import IP, TCP, UDP
from scapy.utils import PcapReader

from pcaptls.sip import SipMessage

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Payload:
    frame: int
    time_ns: int
    proto: str  # "udp" | "tcp"
    flow: tuple[str, int, str, int]  # src, sport, dst, dport
    data: bytes


def payloads(path: Path | str) -> Iterator[Payload]:
    """Each frame's UDP payload or new TCP payload bytes, frame numbers from 1."""
    next_seq: dict[tuple[str, int, str, int], int] = {}
    with PcapReader(str(path)) as reader:
        for number, pkt in enumerate(reader, start=1):
            if IP not in pkt:
                continue
            ip = pkt[IP]
            time_ns = int(pkt.time * 1_000_000_000)
            if UDP in pkt:
                udp = pkt[UDP]
                flow = (ip.src, int(udp.sport), ip.dst, int(udp.dport))
                yield Payload(number, time_ns, "udp", flow, bytes(udp.payload))
            elif TCP in pkt:
                tcp = pkt[TCP]
                flow = (ip.src, int(tcp.sport), ip.dst, int(tcp.dport))
                data = bytes(tcp.payload)[: max(0, ip.len - ip.ihl * 4 - tcp.dataofs * 4)]
                seq = int(tcp.seq)
                if tcp.flags & 0x02:  # SYN
                    next_seq[flow] = seq + 1
                    continue
                expected = next_seq.get(flow, seq)
                if seq < expected:
                    data = data[expected - seq :]
                next_seq[flow] = max(expected, seq + len(bytes(tcp.payload)))
                if data:
                    yield Payload(number, time_ns, "tcp", flow, data)


def by_frame(msgs: list[SipMessage]) -> dict[int, list[SipMessage]]:
    """Messages grouped by the frame that completed them."""
    out: dict[int, list[SipMessage]] = defaultdict(list)
    for m in msgs:
        out[m.frame].append(m)
    return out


def joined(values: list[str | int | None]) -> str:
    """Join like tshark -T fields joins repeated values (comma, no spaces)."""
    return ",".join("" if v is None else str(v) for v in values)


# tshark fields compared for every SIP frame, in this order (see our_fields).
FIELDS = (
    "frame.number",
    "sip.Method",
    "sip.Status-Code",
    "sip.Call-ID",
    "sip.CSeq.seq",
    "sip.CSeq.method",
    "sip.Via.transport",
    "sip.Via.sent-by.address",
    "sip.Via.sent-by.port",
    "sip.Via.branch",
    "sip.r-uri",
    "sip.from.tag",
    "sip.to.tag",
    "sip.contact.uri",
)


def our_fields(frame: int, frame_msgs: list[SipMessage]) -> list[str]:
    """Our values for FIELDS, for the messages one frame completed."""
    vias = [v for m in frame_msgs for v in m.vias]
    return [
        str(frame),
        joined([m.method for m in frame_msgs if m.method]),
        joined([m.status_code for m in frame_msgs if m.status_code]),
        joined([m.call_id for m in frame_msgs]),
        joined([m.cseq.number if m.cseq else None for m in frame_msgs]),
        joined([m.cseq.method if m.cseq else None for m in frame_msgs]),
        joined([v.transport for v in vias]),
        joined([v.host for v in vias]),
        joined([v.port for v in vias if v.port is not None]),  # tshark skips absent ones
        joined([v.branch for v in vias if v.branch is not None]),
        joined([m.request_uri for m in frame_msgs if m.request_uri]),
        joined([m.from_addr.tag for m in frame_msgs if m.from_addr and m.from_addr.tag]),
        joined([m.to_addr.tag for m in frame_msgs if m.to_addr and m.to_addr.tag]),
        joined([c.uri.text for m in frame_msgs for c in m.contacts]),
    ]


def write_udp_pcap(path: Path, datagrams: list[bytes]) -> None:
    """One UDP datagram per frame, 10.62.0.1:5060 -> 10.62.0.2:5060 (for tshark)."""
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    pkts = []
    for i, data in enumerate(datagrams):
        pkt = Ether() / IP(src="10.62.0.1", dst="10.62.0.2") / UDP(sport=5060, dport=5060) / data
        pkt.time = 1_700_000_000 + i
        pkts.append(pkt)
    wrpcap(str(path), pkts)
