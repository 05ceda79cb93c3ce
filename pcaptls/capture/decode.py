"""Link layer → IP → TCP/UDP decoding of frames, innermost tunnel first.

Pure functions of a :class:`Frame`; what cannot be decoded (non-IP, IP
fragments, other protocols, cut headers) is counted by reason and skipped,
never raised. Addresses are written as :mod:`ipaddress` writes them; the
conversion is cached because the same few addresses repeat on every packet.

Link types: https://www.tcpdump.org/linktypes.html (only those decoded here).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from collections import Counter
from enum import IntEnum
from typing import Final, NamedTuple

from pcaptls.errors import CaptureError

from .frame import Frame

_new = tuple.__new__


class LinkType(IntEnum):
    """The LINKTYPE_ values this decoder understands (tcpdump.org link-layer header types)."""

    NULL = 0
    ETHERNET = 1
    RAW_DLT12 = 12  # DLT_RAW on most BSDs
    RAW_DLT14 = 14  # DLT_RAW on OpenBSD
    RAW = 101
    LOOP = 108
    LINUX_SLL = 113
    IPV4 = 228
    IPV6 = 229
    LINUX_SLL2 = 276


class TcpSegment(NamedTuple):
    """One TCP segment; ``missing_tail`` = payload bytes cut off by the snap length."""

    frame: int
    time_ns: int
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes
    missing_tail: int
    ip_version: int


class UdpDatagram(NamedTuple):
    """One UDP datagram (plain SIP over UDP is read from these)."""

    frame: int
    time_ns: int
    src: str
    sport: int
    dst: str
    dport: int
    payload: bytes
    missing_tail: int
    ip_version: int


# TCP flag bits (RFC 9293 section 3.1; NS from RFC 3540 as bit 8)
FIN: Final = 0x01
SYN: Final = 0x02
RST: Final = 0x04
PSH: Final = 0x08
ACK: Final = 0x10

_IP4 = struct.Struct("!BxHxxHxB2x4s4s")  # vhl, total length, flags+frag, proto, src, dst
_IP6 = struct.Struct("!B3xHB1x16s16s")  # version/class, payload length, next header, src, dst
_TCP = struct.Struct("!HHIIBBH")  # ports, seq, ack, data offset, flags, window
_UDP = struct.Struct("!HHH")
# Ethernet + IPv4 without options + TCP, in one unpack: the common case on the hot path.
# ethertype, vhl, total length, flags+fragment, protocol, src, dst, ports, seq, ack,
# data offset, flags, window
_FAST = struct.Struct("!12xHBxHxxHxB2x4s4sHHIIBBH")
_VXLAN_PORT: Final = 4789
_MAX_DEPTH: Final = 8
_CACHE_MAX: Final = 1 << 16

_ETH_IPV4: Final = 0x0800
_ETH_IPV6: Final = 0x86DD
_ETH_VLAN: Final = frozenset({0x8100, 0x88A8, 0x9100})
_ETH_PPPOE_SESSION: Final = 0x8864
_ETH_MPLS: Final = frozenset({0x8847, 0x8848})
_ETH_TEB: Final = 0x6558  # transparent Ethernet bridging (GRE)
_PPP_IPV4: Final = 0x0021
_PPP_IPV6: Final = 0x0057
_AF_INET: Final = 2
_AF_INET6: Final = frozenset({10, 24, 28, 30})  # Linux, BSDs, FreeBSD, macOS
_IPV6_EXT: Final = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options

Decoded = TcpSegment | UdpDatagram | None


class Decoder:
    """Frame → :class:`TcpSegment` / :class:`UdpDatagram` / ``None`` (counted in ``skipped``)."""

    def __init__(self) -> None:
        #: frames not decoded, by reason
        self.skipped: Counter[str] = Counter()
        #: frames per link type this decoder does not know
        self.unknown_link_types: Counter[int] = Counter()
        self._v4: dict[bytes, str] = {}
        self._v6: dict[bytes, str] = {}
        self._snapped = False

    def check_decodable(self, name: str, frames: int) -> None:
        """Raise :class:`CaptureError` when every one of ``frames`` had an unknown link type."""
        n = sum(self.unknown_link_types.values())
        if frames and n == frames:
            types = ", ".join(str(t) for t in sorted(self.unknown_link_types))
            raise CaptureError(f"{name}: unknown link type {types}: no frame can be decoded")

    def _skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def decode(self, frame: Frame) -> Decoded:
        """Decode one frame to its innermost TCP segment or UDP datagram."""
        number, t, link, data, orig = frame
        n = len(data)
        if link == 1 and n >= 54:
            et, vhl, tot, frag, proto, src, dst, sport, dport, seq, ack, doff, flags, win = (
                _FAST.unpack_from(data)
            )
            end = 14 + tot
            hl = (doff >> 4) * 4
            if (
                et == 0x0800 and vhl == 0x45 and proto == 6 and not frag & 0x3FFF
                and 54 <= end <= n and hl >= 20 and 34 + hl <= end
            ):
                v4 = self._v4
                return _new(TcpSegment, (
                    number, t, v4.get(src) or self._addr4(src), sport,
                    v4.get(dst) or self._addr4(dst), dport, seq, ack,
                    flags | ((doff & 1) << 8), win, data[34 + hl:end], 0, 4,
                ))
        # Only a frame cut by the snap length has a missing tail; an IP length beyond a
        # whole frame is a malformed packet, and its payload is what is there.
        self._snapped = orig > n
        if link == 1:
            if len(data) < 14:
                self._skip("truncated")
                return None
            et = (data[12] << 8) | data[13]
            if et == _ETH_IPV4:
                return self._ipv4(number, t, data, 14, 0)
            return self._ethertype(number, t, data, et, 14, 0)
        if link == 113:
            if len(data) < 16:
                self._skip("truncated")
                return None
            return self._ethertype(number, t, data, (data[14] << 8) | data[15], 16, 0)
        if link == 276:
            if len(data) < 20:
                self._skip("truncated")
                return None
            return self._ethertype(number, t, data, (data[0] << 8) | data[1], 20, 0)
        if link in (101, 12, 14):
            return self._raw_ip(number, t, data, 0, 0)
        if link == 228:
            return self._ipv4(number, t, data, 0, 0)
        if link == 229:
            return self._ipv6(number, t, data, 0, 0)
        if link in (0, 108):
            if len(data) < 4:
                self._skip("truncated")
                return None
            af = int.from_bytes(data[:4], "big" if link == 108 else "little")
            if link == 0 and af > 0xFFFF:  # written in the capturing host's byte order
                af = int.from_bytes(data[:4], "big")
            if af == _AF_INET:
                return self._ipv4(number, t, data, 4, 0)
            if af in _AF_INET6:
                return self._ipv6(number, t, data, 4, 0)
            self._skip("not_ip")
            return None
        self.unknown_link_types[link] += 1
        self._skip("unknown_link_type")
        return None

    def _ethertype(self, number: int, t: int, data: bytes, et: int, off: int, depth: int) -> Decoded:
        n = len(data)
        while et in _ETH_VLAN:
            if off + 4 > n:
                self._skip("truncated")
                return None
            et = (data[off + 2] << 8) | data[off + 3]
            off += 4
        if et == _ETH_IPV4:
            return self._ipv4(number, t, data, off, depth)
        if et == _ETH_IPV6:
            return self._ipv6(number, t, data, off, depth)
        if et == _ETH_PPPOE_SESSION:
            if off + 8 > n:
                self._skip("truncated")
                return None
            ppp = (data[off + 6] << 8) | data[off + 7]
            plen = (data[off + 4] << 8) | data[off + 5]  # PPP protocol + payload
            if off + 6 + plen < n:  # the rest is Ethernet padding
                data = data[:off + 6 + plen]
            if ppp == _PPP_IPV4:
                return self._ipv4(number, t, data, off + 8, depth)
            if ppp == _PPP_IPV6:
                return self._ipv6(number, t, data, off + 8, depth)
        elif et in _ETH_MPLS:
            while off + 4 <= n:
                bottom = data[off + 2] & 1
                off += 4
                if bottom:
                    return self._raw_ip(number, t, data, off, depth)
            self._skip("truncated")
            return None
        self._skip("not_ip")
        return None

    def _raw_ip(self, number: int, t: int, data: bytes, off: int, depth: int) -> Decoded:
        if off >= len(data):
            self._skip("truncated")
            return None
        v = data[off] >> 4
        if v == 4:
            return self._ipv4(number, t, data, off, depth)
        if v == 6:
            return self._ipv6(number, t, data, off, depth)
        self._skip("not_ip")
        return None

    def _addr4(self, b: bytes) -> str:
        s = self._v4.get(b)
        if s is None:
            if len(self._v4) >= _CACHE_MAX:
                self._v4.clear()
            s = self._v4[b] = socket.inet_ntoa(b)
        return s

    def _addr6(self, b: bytes) -> str:
        s = self._v6.get(b)
        if s is None:
            if len(self._v6) >= _CACHE_MAX:
                self._v6.clear()
            s = self._v6[b] = str(ipaddress.IPv6Address(b))
        return s

    def _ipv4(self, number: int, t: int, data: bytes, off: int, depth: int) -> Decoded:
        n = len(data)
        if n - off < 20:
            self._skip("truncated")
            return None
        vhl, tot, frag, proto, src, dst = _IP4.unpack_from(data, off)
        ihl = (vhl & 15) * 4
        if vhl >> 4 != 4 or ihl < 20:
            self._skip("malformed")
            return None
        if frag & 0x3FFF:
            self._skip("ip_fragment")
            return None
        if tot == 0:  # segmentation offload: the capture shows 0 as total length
            tot = n - off
        elif tot < ihl:
            self._skip("malformed")
            return None
        end = off + tot
        missing = 0
        if end > n:
            if self._snapped:
                missing = end - n
            end = n
        l4 = off + ihl
        if l4 > end:
            self._skip("truncated")
            return None
        v4 = self._v4
        s = v4.get(src) or self._addr4(src)
        d = v4.get(dst) or self._addr4(dst)
        if proto == 6:
            return self._tcp(number, t, data, l4, end, missing, s, d, 4)
        if proto == 17:
            return self._udp(number, t, data, l4, end, missing, s, d, 4, depth)
        return self._ip_proto(number, t, data, proto, l4, end, missing, depth)

    def _ipv6(self, number: int, t: int, data: bytes, off: int, depth: int) -> Decoded:
        n = len(data)
        if n - off < 40:
            self._skip("truncated")
            return None
        vtc, plen, nh, src, dst = _IP6.unpack_from(data, off)
        if vtc >> 4 != 6:
            self._skip("malformed")
            return None
        p = off + 40
        end = p + plen if plen else n  # 0: jumbogram or segmentation offload
        missing = 0
        if end > n:
            if self._snapped:
                missing = end - n
            end = n
        while True:
            if nh in _IPV6_EXT or nh == 51 or nh == 44:
                if p + 8 > end:
                    self._skip("truncated")
                    return None
                if nh == 44:
                    if ((data[p + 2] << 8) | data[p + 3]) & 0xFFF9:  # offset != 0 or more fragments
                        self._skip("ip_fragment")
                        return None
                    size = 8
                elif nh == 51:  # authentication header counts 4-octet units
                    size = (data[p + 1] + 2) * 4
                else:
                    size = (data[p + 1] + 1) * 8
                nh = data[p]
                p += size
            else:
                break
        if p > end:
            self._skip("truncated")
            return None
        s = self._v6.get(src) or self._addr6(src)
        d = self._v6.get(dst) or self._addr6(dst)
        if nh == 6:
            return self._tcp(number, t, data, p, end, missing, s, d, 6)
        if nh == 17:
            return self._udp(number, t, data, p, end, missing, s, d, 6, depth)
        return self._ip_proto(number, t, data, nh, p, end, missing, depth)

    def _ip_proto(
        self, number: int, t: int, data: bytes, proto: int, off: int, end: int, missing: int,
        depth: int,
    ) -> Decoded:
        """Tunnels carried directly in IP: IP-in-IP, 6in4, GRE."""
        if depth >= _MAX_DEPTH or proto not in (4, 41, 47):
            self._skip("not_tcp_udp")
            return None
        inner = data[:end] if end < len(data) else data
        if proto == 4:
            return self._ipv4(number, t, inner, off, depth + 1)
        if proto == 41:
            return self._ipv6(number, t, inner, off, depth + 1)
        if off + 4 > end:
            self._skip("truncated")
            return None
        gflags = (data[off] << 8) | data[off + 1]
        if gflags & 7:  # version 1 (PPTP) and others
            self._skip("not_tcp_udp")
            return None
        et = (data[off + 2] << 8) | data[off + 3]
        hl = 4 + 4 * (bool(gflags & 0x8000) + bool(gflags & 0x2000) + bool(gflags & 0x1000))
        if et == _ETH_TEB:
            inner = inner[off + hl:]
            if len(inner) < 14:
                self._skip("truncated")
                return None
            return self._ethertype(number, t, inner, (inner[12] << 8) | inner[13], 14, depth + 1)
        return self._ethertype(number, t, inner, et, off + hl, depth + 1)

    def _tcp(
        self, number: int, t: int, data: bytes, off: int, end: int, missing: int,
        src: str, dst: str, ver: int,
    ) -> Decoded:
        if end - off < 20:
            self._skip("truncated")
            return None
        sport, dport, seq, ack, doff, flags, win = _TCP.unpack_from(data, off)
        hl = (doff >> 4) * 4
        if hl < 20:
            self._skip("malformed")
            return None
        if off + hl > end:
            self._skip("truncated" if missing else "malformed")
            return None
        return _new(TcpSegment, (number, t, src, sport, dst, dport, seq, ack,
                                 flags | ((doff & 1) << 8), win, data[off + hl:end], missing, ver))

    def _udp(
        self, number: int, t: int, data: bytes, off: int, end: int, missing: int,
        src: str, dst: str, ver: int, depth: int,
    ) -> Decoded:
        if end - off < 8:
            self._skip("truncated")
            return None
        sport, dport, ulen = _UDP.unpack_from(data, off)
        if ulen >= 8:
            if ulen <= end - off:  # bytes after the UDP length are padding
                end = off + ulen
                missing = 0
            elif self._snapped:
                missing = ulen - (end - off)
        if (dport == _VXLAN_PORT or sport == _VXLAN_PORT) and not missing and depth < _MAX_DEPTH:
            inner = data[off + 16:end]
            if end - off >= 8 + 8 + 14 and data[off + 8] & 0x08:
                return self._ethertype(
                    number, t, inner, (inner[12] << 8) | inner[13], 14, depth + 1
                )
        return _new(UdpDatagram, (number, t, src, sport, dst, dport, data[off + 8:end], missing, ver))
