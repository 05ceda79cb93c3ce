"""Sans-IO record parsers for classic pcap and pcapng.

Each parser is fed the bytes read so far and returns the frames of every
complete record plus the offset of the first incomplete one; the reader in
:mod:`pcaptls.capture.reader` owns the file, the chunks and the compression.
Formats: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html and
https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from .frame import Frame, Interface, ReaderStats

_new = tuple.__new__

#: Largest record we accept before calling a file corrupt (Wireshark's limit is
#: 256 KiB for most link types; pcapng blocks may be larger).
MAX_RECORD: Final = 16 * 1024 * 1024

PCAP_MAGIC_US: Final = 0xA1B2C3D4
PCAP_MAGIC_NS: Final = 0xA1B23C4D
PCAP_MAGIC_KUZNETZOV: Final = 0xA1B2CD34
PCAPNG_SHB: Final = 0x0A0D0D0A
PCAPNG_BOM: Final = 0x1A2B3C4D

# pcapng block types (draft-ietf-opsawg-pcapng section 11.1)
_IDB: Final = 0x00000001
_OPB: Final = 0x00000002
_SPB: Final = 0x00000003
_EPB: Final = 0x00000006
_DSB: Final = 0x0000000A
#: Decryption Secrets Block secrets type for a TLS key log (NSS format)
SECRETS_TLS_KEY_LOG: Final = 0x544C534B

# IDB option codes
_OPT_ENDOFOPT: Final = 0
_IF_NAME: Final = 2
_IF_TSRESOL: Final = 9
_IF_TSOFFSET: Final = 14


class FormatError(Exception):
    """A record that cannot be right (bad length, bad magic): reading stops there."""


class PcapParser:
    """Classic libpcap records after a 24-byte file header."""

    HEADER_LEN: Final = 24

    def __init__(self, header: bytes, stats: ReaderStats) -> None:
        if len(header) < 24:
            raise FormatError(f"cut inside the 24-byte pcap file header ({len(header)} bytes)")
        magic_le = struct.unpack_from("<I", header)[0]
        for order in "<>":
            magic = struct.unpack_from(order + "I", header)[0]
            if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV):
                break
        else:
            raise FormatError(f"bad pcap magic 0x{magic_le:08x}")
        _, _, _, _, snaplen, network = struct.unpack_from(order + "HHiIII", header, 4)
        self.nanosecond = magic == PCAP_MAGIC_NS
        self.byte_order = "little" if order == "<" else "big"
        # Kuznetzov's patched libpcap adds ifindex, protocol, pkt_type and a pad byte.
        self._rec = struct.Struct(order + ("IIII8x" if magic == PCAP_MAGIC_KUZNETZOV else "IIII"))
        #: bytes of a record header (16, or 24 in Kuznetzov's format)
        self.record_size = self._rec.size
        #: nanoseconds per unit of a record's second fraction
        self.ts_mul = 1 if self.nanosecond else 1000
        #: the record header layout, for a caller walking records itself
        self.record_struct = self._rec
        # Upper bits of the link type field carry FCS information.
        self.link_type = network & 0xFFFF
        self.interfaces = [Interface(0, self.link_type, snaplen, 1 if self.nanosecond else 1000)]
        self.stats = stats
        self.number = 0
        self.secrets: list[bytes] = []
        # Wireshark refuses records over 256 KiB unless the snap length allows more.
        self.max_record = max(snaplen, 262144) if snaplen <= MAX_RECORD else MAX_RECORD

    def parse(self, buf: bytes, pos: int, out: list[Frame]) -> int:
        """Append the frames of complete records from ``buf[pos:]``; return the new position."""
        unpack = self._rec.unpack_from
        hl = self._rec.size
        n = len(buf)
        link = self.link_type
        mul = 1 if self.nanosecond else 1000
        number = self.number
        snapped = 0
        append = out.append
        try:
            while pos + hl <= n:
                sec, frac, incl, orig = unpack(buf, pos)
                if incl > self.max_record:
                    raise FormatError(
                        f"record of frame {number + 1} claims {incl} bytes, "
                        f"more than {self.max_record}"
                    )
                end = pos + hl + incl
                if end > n:
                    break
                number += 1
                if incl < orig:
                    snapped += 1
                append(
                    _new(Frame, (number, sec * 1_000_000_000 + frac * mul, link,
                                 buf[pos + hl:end], orig))
                )
                pos = end
        finally:
            self.stats.frames += number - self.number
            self.stats.snapped += snapped
            self.number = number
        return pos


class PcapngParser:
    """pcapng blocks: sections in either byte order, several interfaces, EPB/SPB/OPB, DSB."""

    def __init__(self, stats: ReaderStats) -> None:
        self.stats = stats
        self.number = 0
        self.order = "<"
        self.interfaces: list[Interface] = []
        #: every interface seen in the file, across sections
        self.all_interfaces: list[Interface] = []
        self.secrets: list[bytes] = []
        self._hdr = struct.Struct("<II")
        self._epb = struct.Struct("<IIIII")
        self._u32 = struct.Struct("<I")
        self.sections = 0

    def parse(self, buf: bytes, pos: int, out: list[Frame]) -> int:
        """Append the frames of complete blocks from ``buf[pos:]``; return the new position."""
        n = len(buf)
        append = out.append
        while pos + 12 <= n:
            btype, blen = self._hdr.unpack_from(buf, pos)
            if btype == PCAPNG_SHB:
                bom = int.from_bytes(buf[pos + 8:pos + 12], "little")
                if bom == PCAPNG_BOM:
                    order = "<"
                elif bom == 0x4D3C2B1A:
                    order = ">"
                else:
                    raise FormatError(f"section header with bad byte-order magic 0x{bom:08x}")
                blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
            if blen < 12 or blen % 4:
                raise FormatError(f"block of type 0x{btype:08x} with bad length {blen}")
            if pos + blen > n:
                if blen > MAX_RECORD:
                    raise FormatError(f"block of type 0x{btype:08x} claims {blen} bytes")
                break
            end = pos + blen
            if btype == _EPB:
                if blen < 32:
                    raise FormatError(f"enhanced packet block too short ({blen} bytes)")
                ifid, hi, lo, caplen, orig = self._epb.unpack_from(buf, pos + 8)
                if 28 + caplen > blen - 4:
                    raise FormatError(f"packet block of frame {self.number + 1}: bad length")
                self._frame(ifid, (hi << 32) | lo, buf[pos + 28:pos + 28 + caplen], orig, append)
            elif btype == PCAPNG_SHB:
                self._section(buf, pos, blen)
            else:
                self._other(btype, buf[pos + 8:end - 4], append)
            tail = self._u32.unpack_from(buf, end - 4)[0]
            if tail != blen:
                raise FormatError(f"block of type 0x{btype:08x}: trailing length {tail} != {blen}")
            pos = end
        return pos

    def _frame(self, ifid: int, ts: int, data: bytes, orig: int, append: Callable[[Frame], object]) -> None:
        try:
            iface = self.interfaces[ifid]
        except IndexError:
            raise FormatError(f"packet on undeclared interface {ifid}") from None
        self.number += 1
        self.stats.frames += 1
        if len(data) < orig:
            self.stats.snapped += 1
        t = ts * iface.ts_mul // iface.ts_div + iface.ts_offset_ns
        append(_new(Frame, (self.number, t, iface.link_type, data, orig)))

    def _section(self, buf: bytes, pos: int, blen: int) -> None:
        bom = int.from_bytes(buf[pos + 8:pos + 12], "little")
        self.order = "<" if bom == PCAPNG_BOM else ">"
        self._hdr = struct.Struct(self.order + "II")
        self._epb = struct.Struct(self.order + "IIIII")
        self._u32 = struct.Struct(self.order + "I")
        if blen < 28:
            raise FormatError(f"section header too short ({blen} bytes)")
        major = struct.unpack_from(self.order + "H", buf, pos + 12)[0]
        if major != 1:
            raise FormatError(f"pcapng major version {major} not supported")
        self.interfaces = []
        self.sections += 1

    def _other(self, btype: int, body: bytes, append: Callable[[Frame], object]) -> None:
        o = self.order
        if btype == _IDB:
            if len(body) < 8:
                raise FormatError("interface description block too short")
            link, _, snaplen = struct.unpack_from(o + "HHI", body)
            self._interface(link, snaplen, body[8:])
        elif btype == _SPB:
            if len(body) < 4 or not self.interfaces:
                raise FormatError("simple packet block without interface or too short")
            orig = struct.unpack_from(o + "I", body)[0]
            caplen = min(orig, len(body) - 4, self.interfaces[0].snaplen or orig)
            # No timestamp in an SPB: Wireshark shows such frames at time 0.
            self._frame_no_ts(body[4:4 + caplen], orig, append)
        elif btype == _OPB:
            if len(body) < 20:
                raise FormatError("packet block too short")
            ifid, _, hi, lo, caplen, orig = struct.unpack_from(o + "HHIIII", body)
            if 20 + caplen > len(body):
                raise FormatError(f"packet block of frame {self.number + 1}: bad length")
            self._frame(ifid, (hi << 32) | lo, body[20:20 + caplen], orig, append)
        elif btype == _DSB:
            if len(body) < 8:
                raise FormatError("decryption secrets block too short")
            stype, slen = struct.unpack_from(o + "II", body)
            if stype == SECRETS_TLS_KEY_LOG:
                self.secrets.append(body[8:8 + slen])
        # Name resolution, statistics, custom and unknown blocks carry no frames.

    def _frame_no_ts(self, data: bytes, orig: int, append: Callable[[Frame], object]) -> None:
        iface = self.interfaces[0]
        self.number += 1
        self.stats.frames += 1
        if len(data) < orig:
            self.stats.snapped += 1
        append(_new(Frame, (self.number, 0, iface.link_type, data, orig)))

    def _interface(self, link: int, snaplen: int, opts: bytes) -> None:
        o = self.order
        mul, div, offset, name = 1000, 1, 0, None
        p = 0
        while p + 4 <= len(opts):
            code, olen = struct.unpack_from(o + "HH", opts, p)
            if code == _OPT_ENDOFOPT:
                break
            val = opts[p + 4:p + 4 + olen]
            if code == _IF_TSRESOL and olen >= 1:
                r = val[0]
                if r & 0x80:  # a negative power of two
                    mul, div = 1_000_000_000, 1 << (r & 0x7F)
                elif r <= 9:
                    mul, div = 10 ** (9 - r), 1
                else:
                    mul, div = 1, 10 ** (r - 9)
            elif code == _IF_TSOFFSET and olen >= 8:
                offset = struct.unpack_from(o + "q", val)[0] * 1_000_000_000
            elif code == _IF_NAME:
                name = val.decode("utf-8", "replace")
            p += 4 + ((olen + 3) & ~3)
        iface = Interface(len(self.all_interfaces), link, snaplen, mul, div, offset, name)
        self.interfaces.append(iface)
        self.all_interfaces.append(iface)
