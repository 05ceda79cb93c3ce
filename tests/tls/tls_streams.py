"""Test-only: each TCP stream's bytes per direction, in order, with the completing frame.

A deliberately small reassembler (dpkt for the link/IP/TCP headers) so the TLS
parser can be tested end to end before the real TCP layer lands. It orders
segments by sequence number, trims retransmissions, and reports holes left at the
end as gaps. Streams are numbered like tshark's ``tcp.stream`` (order of first packet).
"""

from __future__ import annotations

import gzip
import socket
from dataclasses import dataclass, field
from pathlib import Path

import dpkt

Chunk = tuple[str, bytes, int, int]  # (side, data, frame, time_ns); data b"" + frame<0: gap


@dataclass
class _Dir:
    isn: int | None = None
    next_seq: int | None = None
    pending: dict[int, tuple[bytes, int, int]] = field(default_factory=dict)


@dataclass
class Stream:
    index: int
    client: tuple[str, int]
    server: tuple[str, int]
    syn_seen: bool
    chunks: list[tuple[str, str, bytes, int, int]] = field(default_factory=list)
    # (kind "data"|"gap", side, data, frame, time_ns); for gaps data is b"" and
    # the length is in time_ns's place? no: gaps carry length in frame-independent field
    gaps: list[tuple[str, int, int]] = field(default_factory=list)
    dirs: dict[str, _Dir] = field(default_factory=lambda: {"client": _Dir(), "server": _Dir()})


def _ip_layer(linktype: int, buf: bytes) -> dpkt.Packet | None:
    try:
        if linktype == 1:
            eth = dpkt.ethernet.Ethernet(buf)
            pkt = eth.data
            if isinstance(pkt, dpkt.pppoe.PPPoE):
                # Bound the IP packet by the PPPoE length (as tshark does) and parse it.
                off = 14 + 4 * len(getattr(eth, "vlan_tags", None) or ())
                length = int.from_bytes(buf[off + 4 : off + 6], "big")
                raw = buf[off + 8 : off + 6 + length]
                if raw and raw[0] >> 4 == 4 and int.from_bytes(raw[2:4], "big") > len(raw):
                    raw = raw[:2] + len(raw).to_bytes(2, "big") + raw[4:]
                return _ip_layer(101, raw)
            if not isinstance(pkt, dpkt.ip.IP | dpkt.ip6.IP6):
                return None
            udp = pkt.data
            if isinstance(udp, dpkt.udp.UDP) and udp.dport == 4789:  # VXLAN
                return _ip_layer(1, bytes(udp.data)[8:])
            return pkt
        if linktype == 0:
            family = int.from_bytes(buf[:4], "little")
            if family > 0xFFFF:
                family = int.from_bytes(buf[:4], "big")
            return dpkt.ip.IP(buf[4:]) if family == 2 else dpkt.ip6.IP6(buf[4:])
        if linktype in (101, 12, 14, 228, 229):
            return dpkt.ip.IP(buf) if buf[0] >> 4 == 4 else dpkt.ip6.IP6(buf)
        if linktype == 113:
            return dpkt.sll.SLL(buf).data
        if linktype == 276:
            return dpkt.sll2.SLL2(buf).data
    except (dpkt.UnpackError, IndexError, ValueError):
        return None
    return None


def _addr(ip: dpkt.Packet, which: str) -> str:
    raw = getattr(ip, which)
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def _reader(path: Path):  # type: ignore[no-untyped-def]
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    import io

    fh = io.BytesIO(raw)
    try:
        return dpkt.pcap.Reader(fh)
    except ValueError:
        fh.seek(0)
        return dpkt.pcapng.Reader(fh)


def tcp_streams(path: Path) -> list[Stream]:
    """All TCP streams of a capture, with in-order chunks per direction."""
    rdr = _reader(path)
    linktype = rdr.datalink()
    streams: dict[tuple[tuple[str, int], tuple[str, int]], Stream] = {}
    order: list[Stream] = []
    for frame, (ts, buf) in enumerate(rdr, start=1):
        ip = _ip_layer(linktype, buf)
        if ip is None or not isinstance(ip.data, dpkt.tcp.TCP):
            continue
        tcp = ip.data
        src = (_addr(ip, "src"), tcp.sport)
        dst = (_addr(ip, "dst"), tcp.dport)
        key = (src, dst) if src < dst else (dst, src)
        st = streams.get(key)
        if st is None:
            syn_only = bool(tcp.flags & dpkt.tcp.TH_SYN) and not tcp.flags & dpkt.tcp.TH_ACK
            synack = bool(tcp.flags & dpkt.tcp.TH_SYN) and bool(tcp.flags & dpkt.tcp.TH_ACK)
            client, server = (dst, src) if synack else (src, dst)
            st = Stream(len(order), client, server, syn_only or synack)
            streams[key] = st
            order.append(st)
        side = "client" if src == st.client else "server"
        d = st.dirs[side]
        time_ns = round(float(ts) * 1e9)
        seq = tcp.seq
        payload = bytes(tcp.data)
        if isinstance(ip, dpkt.ip.IP):  # drop link-layer padding (Ethernet minimum size)
            payload = payload[: max(0, ip.len - ip.hl * 4 - tcp.off * 4)]
        if tcp.flags & dpkt.tcp.TH_SYN:
            d.isn = seq
            d.next_seq = (seq + 1) & 0xFFFFFFFF
            continue
        if not payload:
            continue
        if d.next_seq is None:
            d.next_seq = seq
        rel = (seq - d.next_seq) & 0xFFFFFFFF
        if rel >= 0x80000000:  # old data: trim what we already have
            overlap = (d.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(payload):
                continue
            payload = payload[overlap:]
            seq = d.next_seq
            rel = 0
        if rel > 0:
            d.pending.setdefault(seq, (payload, frame, time_ns))
            continue
        st.chunks.append(("data", side, payload, frame, time_ns))
        d.next_seq = (d.next_seq + len(payload)) & 0xFFFFFFFF
        _drain(st, side, frame, time_ns)
    for st in order:
        for side, d in st.dirs.items():
            while d.pending and d.next_seq is not None:
                first = min(d.pending, key=lambda s: (s - d.next_seq) & 0xFFFFFFFF)  # type: ignore[operator]
                hole = (first - d.next_seq) & 0xFFFFFFFF
                _payload, frame, time_ns = d.pending[first]
                st.chunks.append(("gap", side, b"", frame, hole))
                d.next_seq = first
                _drain(st, side, frame, time_ns)
    return order


def _drain(st: Stream, side: str, frame: int, time_ns: int) -> None:
    d = st.dirs[side]
    while d.pending:
        progressed = False
        for seq in list(d.pending):
            rel = (seq - d.next_seq) & 0xFFFFFFFF  # type: ignore[operator]
            data, own_frame, own_time = d.pending[seq]
            if rel >= 0x80000000 or rel == 0:
                del d.pending[seq]
                overlap = (d.next_seq - seq) & 0xFFFFFFFF  # type: ignore[operator]
                if overlap < len(data):
                    data = data[overlap:] if rel else data
                    # the segment is usable once both it and the hole-filler arrived
                    st.chunks.append(("data", side, data, max(frame, own_frame),
                                      max(time_ns, own_time)))
                    d.next_seq = (d.next_seq + len(data)) & 0xFFFFFFFF  # type: ignore[operator]
                    progressed = True
        if not progressed:
            return
