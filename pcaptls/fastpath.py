"""The pipeline's fast lane: packets that cannot change any table, handled in place.

On a long SIP-over-TLS capture almost every packet is either a pure ACK or a segment
of protected application data that nobody can decrypt. For those the layers only
count: TCP adds the segment to its counters, TLS walks record headers and adds
each application_data record to its statistics. This module does exactly that,
straight from the pcap file's buffer (no Frame, TcpSegment or Data object, no
reassembly), for the flows the pipeline has *registered* as lanes; every other
packet takes the ordinary path through :class:`pcaptls.pipeline.Pipeline`.

A lane mirrors the state of the tracker's :class:`~pcaptls.tcp.connection.Direction`
and of the TLS :class:`~pcaptls.tls.record.RecordReader` exactly as the ordinary path
would leave them, so a packet the lane cannot take (a flag, a retransmission, a
record of another type, a header cut by the segment's end) goes the ordinary way
with nothing to catch up on. ``PCAPTLS_FAST=0`` turns the lane off (the tables must
be the same either way; ``tests/test_fast_path.py`` compares them).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Any, Final

from pcaptls.capture.frame import Frame
from pcaptls.tcp.tracker import _SWEEP_EVERY
from pcaptls.tls.messages import is_tls13

if TYPE_CHECKING:
    from pcaptls.capture.reader import CaptureReader
    from pcaptls.pipeline import Pipeline, _Conn
    from pcaptls.tcp.connection import Connection, Direction

_new = tuple.__new__
_M32: Final = 0xFFFFFFFF
#: IPv4 (no options expected) + TCP from the IP header on: vhl, total length, flags+fragment,
#: protocol, sequence number, data offset, flags
_V4: Final = struct.Struct("!BxHxxHxB2x8x4xI4xBB")
#: the same from the EtherType on, where the IP header follows it (Ethernet, Linux cooked v1)
_V4E: Final = struct.Struct("!HBxHxxHxB2x8x4xI4xBB")
#: IPv6 + TCP from the IP header on: version/class, payload length, next header, sequence
#: number, data offset, flags
_V6: Final = struct.Struct("!B3xHBx32x4xI4xBB")
#: a lane's kinds: only pure ACKs; a direction the tracker stopped (only counted);
#: protected TLS application data walked header to header; application_data records
#: of a direction the TLS layer reads as plaintext (a stream picked up at a record
#: boundary), taken only as whole records
ACKS: Final = 0
STOPPED: Final = 1
TLS_SKIP: Final = 2
TLS_PLAIN: Final = 3
#: TLS application_data content type; records this short are kept whole by the reader
_APPLICATION_DATA: Final = 23
_KEEP_SMALL_BODY: Final = 8


def enabled() -> bool:
    """The fast lane is on unless ``PCAPTLS_FAST`` is ``0`` (or ``no``, ``false``)."""
    return os.environ.get("PCAPTLS_FAST", "1").strip().lower() not in ("0", "no", "false", "off")


class Lane:
    """One direction of an open connection the fast loop may take packets of."""

    __slots__ = ("conn", "d", "frozen", "kind", "mark_frame", "mark_t", "marks", "next_seq",
                 "reader", "stats")

    def __init__(self, conn: Connection, d: Direction, kind: int) -> None:
        self.conn = conn
        self.d = d
        self.kind = kind
        self.next_seq = 0
        self.reader: Any = None
        self.stats: Any = None
        self.marks: Any = None
        #: frame and time of the last segment taken since :func:`sync` (0: none)
        self.mark_frame = 0
        self.mark_t = 0
        #: the connection is frozen (:mod:`pcaptls.freezer`): conn, d and reader are stand-ins
        self.frozen: Any = None


def sync(lane: Lane) -> None:
    """Write the chunk mark the lane defers back to its record reader.

    The reader remembers which frame delivered which bytes (to name a record's frame);
    of those marks only the last can still be asked for, and building it for every
    segment costs more than everything else the lane does. The pipeline calls this
    before it hands the connection's bytes, gaps or end to the TLS layer.
    """
    if lane.mark_frame:
        assert lane.frozen is None, "a frozen lane's mark is written back when it thaws"
        lane.marks[0] = (lane.reader._buf_offset, lane.mark_frame, lane.mark_t)
        lane.mark_frame = 0


def lane_for(c: _Conn, idx: int) -> Lane | None:
    """The lane direction ``idx`` of ``c`` may use now, or None (see the module docstring)."""
    conn = c.tcp
    d = conn.dirs[idx]
    if conn.ended or d.first_seq is None:
        return None
    if d.stopped:
        return None if d.rst_frames else Lane(conn, d, STOPPED)
    if c.kind != "tls" or d.pending or d.fin_off is not None or d.rst_frames or d.base is None \
            or d.skip_until > d.next_off:
        return Lane(conn, d, ACKS)
    tls = c.tls
    role = tls._role(c.label_of[idx])
    td = tls._dirs[role]
    r = td.reader
    pending = r._pending
    if (tls.keep_events or r.mode != "tls" or r._buf or not r._marks
            or td.decryptor is not None or (td.midstream and not td.midstream_decided)):
        return Lane(conn, d, ACKS)
    if td.protected:
        if (not r.skip_bodies or not td.seen_protected or (pending is not None and pending[5])
                or not (td.handshake_done or td.midstream or not is_tls13(tls.version))):
            return Lane(conn, d, ACKS)
        kind = TLS_SKIP
    else:
        if r.skip_bodies or pending is not None:
            return Lane(conn, d, ACKS)
        kind = TLS_PLAIN
    lane = Lane(conn, d, kind)
    lane.next_seq = (d.base + d.next_off) & _M32
    lane.reader = r
    lane.stats = tls.app_data[role]
    marks = r._marks
    if len(marks) > 1:  # only the last chunk's mark can still be asked for
        del marks[:-1]
    lane.marks = marks
    return lane


#: link types whose frames the lane reads itself: Ethernet, and Linux cooked capture v1 and
#: v2 (what ``tcpdump -i any`` writes): (offset of the EtherType, offset of the IP header)
LINKS: Final = {1: (12, 14), 113: (14, 16), 276: (0, 20)}


def run_pcap(p: Pipeline, reader: CaptureReader) -> tuple[int, int | None, int | None]:
    """Walk a classic pcap file, of any link type; return (frames, first time, last time)."""
    parser = reader.raw_pcap()
    assert parser is not None  # the caller checked
    unpack = parser.record_struct.unpack_from
    v4 = _V4.unpack_from
    v4e = _V4E.unpack_from
    v6 = _V6.unpack_from
    mul = parser.ts_mul
    link = parser.link_type
    eto, ipo = LINKS.get(link, (-1, -1))
    contiguous = ipo == eto + 2
    min_v4 = ipo + 40
    min_v6 = ipo + 60
    max_record = parser.max_record
    stats = parser.stats
    lanes = p.lanes
    lanes_get = lanes.get
    tracker = p.tracker
    slow = p._slow_frame
    freezer = p.freezer
    progress = p.progress
    number = parser.number
    snapped = 0
    start_ns: int | None = None
    t = 0
    blocks = reader.pcap_blocks()
    try:
        buf, pos = next(blocks)
    except StopIteration:
        return 0, None, None
    fed = tracker._fed
    limit = _SWEEP_EVERY - 1
    last_sec = -1
    sec_ns = 0
    while True:
        n_buf = len(buf)
        while pos + 16 <= n_buf:
            sec, frac, incl, orig = unpack(buf, pos)
            if incl > max_record:
                parser.number = number
                stats.frames = number
                stats.snapped += snapped
                tracker._fed = fed
                reader.corrupt(f"record of frame {number + 1} claims {incl} bytes, "
                               f"more than {max_record}")
                blocks.close()
                return number, start_ns, t if start_ns is not None else None
            q = pos + 16
            end = q + incl
            if end > n_buf:
                break
            pos = end
            number += 1
            if sec != last_sec:  # one multiplication of big integers per second, not per packet
                last_sec = sec
                sec_ns = sec * 1_000_000_000
            t = sec_ns + frac * mul
            if start_ns is None:
                start_ns = t
            key = None
            if incl >= min_v4 and incl == orig and eto >= 0:
                ip = q + ipo
                if contiguous:  # EtherType and IPv4 + TCP in one go
                    et, vhl, tot, frag, proto, seq, doff, flags = v4e(buf, q + eto)
                else:
                    et = buf[q + eto] << 8 | buf[q + eto + 1]
                    vhl, tot, frag, proto, seq, doff, flags = v4(buf, ip)
                if et == 0x0800:
                    hl = (doff >> 4) * 4
                    if not (vhl == 0x45 and proto == 6 and not frag & 0x3FFF
                            and tot >= 40 and ipo + tot <= incl and hl >= 20 and 20 + hl <= tot):
                        lane = None
                    else:
                        key = buf[ip + 12:ip + 24]
                        lane = lanes_get(key)
                        data_start = ip + 20 + hl
                        n = tot - 20 - hl
                elif et == 0x86DD and incl >= min_v6:
                    vtc, plen, nh, seq, doff, flags = v6(buf, ip)
                    hl = (doff >> 4) * 4
                    if not (vtc >> 4 == 6 and nh == 6 and plen and ipo + 40 + plen <= incl
                            and 20 <= hl <= plen):
                        lane = None
                    else:
                        key = buf[ip + 8:ip + 44]
                        lane = lanes_get(key)
                        data_start = ip + 40 + hl
                        n = plen - hl
                else:
                    lane = None
            else:
                lane = None
            if lane is not None and not flags & 7 and fed < limit:
                if n:
                    kind = lane.kind
                    if kind >= TLS_SKIP:
                        if seq != lane.next_seq:
                            lane = None
                        else:
                            r = lane.reader
                            pending = r._pending
                            if pending is None:
                                if (buf[data_start] == 23 and buf[data_start + 1] == 3
                                        and (buf[data_start + 3] << 8 | buf[data_start + 4]) + 5 == n):
                                    # one whole application_data record: the common case
                                    st = lane.stats
                                    length = n - 5
                                    st.records += 1
                                    st.bytes += length
                                    if length > st.max_length:
                                        st.max_length = length
                                    if st.first_frame is None:
                                        st.first_frame = number
                                    st.last_frame = number
                                    st.last_length = length
                                    r.records_seen += 1
                                elif not _walk(lane, r, pending, buf, data_start, n, number):
                                    lane = None
                            elif r._skip_left > n:
                                r._skip_left -= n  # inside a record's body
                            elif not _walk(lane, r, pending, buf, data_start, n, number):
                                lane = None
                            if lane is not None:
                                r._buf_offset += n
                                lane.mark_frame = number
                                lane.mark_t = t
                                lane.next_seq = (seq + n) & _M32
                                d = lane.d
                                d.next_off += n
                                d.packets += 1
                                d.bytes += n
                                conn = lane.conn
                                conn.last_frame = number
                                conn.last_time_ns = t
                                fed += 1
                                continue
                    elif kind != STOPPED:
                        lane = None
                if lane is not None:
                    conn = lane.conn
                    conn.last_frame = number
                    conn.last_time_ns = t
                    d = lane.d
                    d.packets += 1
                    d.bytes += n
                    fed += 1
                    continue
            if incl < orig:
                snapped += 1
            if key is not None and freezer.count:
                lane = lanes_get(key)
                if lane is not None and lane.frozen is not None:
                    p._thaw(lane.frozen)
            tracker._fed = fed
            seg = slow(_new(Frame, (number, t, link, buf[q:end], orig)), reader, key is None)
            fed = tracker._fed
            if key is not None and seg is not None:
                p._register(seg, key, buf, ip, et)
            if fed == 0:  # the tracker just swept its idle connections
                p._after_sweep()
        parser.number = number
        stats.frames = number
        stats.snapped += snapped
        snapped = 0
        if progress is not None:
            progress(reader.bytes_read)
        try:
            buf, pos = blocks.send(pos)
        except StopIteration:
            break
    tracker._fed = fed
    return number, start_ns, t if start_ns is not None else None


def _walk(lane: Lane, r: Any, pending: Any, buf: bytes, start: int, n: int, frame: int) -> bool:
    """Walk ``n`` bytes of records (the cases the loop does not inline); False, with nothing
    changed, when the lane cannot take them. The caller moves the offsets on."""
    left = r._skip_left if pending is not None else 0
    if pending is not None and pending[0] != _APPLICATION_DATA:
        if left > n:
            r._skip_left = left - n
            return True
        return False  # an alert or handshake record ends here: the TLS layer's business
    if left >= n:  # the pending application_data record ends with this segment
        _add(lane.stats, pending[2], frame)
        r._pending = None
        r._skip_left = 0
        r.records_seen += 1
        return True
    pos = start + left
    stop = start + n
    lengths = []
    new_pending = None
    skip_left = 0
    while pos < stop:
        if pos + 5 > stop or buf[pos] != _APPLICATION_DATA or buf[pos + 1] != 3:
            return False
        length = (buf[pos + 3] << 8) | buf[pos + 4]
        end = pos + 5 + length
        if end > stop:
            if length <= _KEEP_SMALL_BODY or lane.kind == TLS_PLAIN:
                return False  # the reader would buffer this record whole
            new_pending = (_APPLICATION_DATA, (buf[pos + 1] << 8) | buf[pos + 2], length,
                           r._buf_offset + (pos - start), frame, False, b"")
            skip_left = end - stop
            break
        lengths.append(length)
        pos = end
    stats = lane.stats
    if pending is not None:
        _add(stats, pending[2], frame)
        r.records_seen += 1
    for length in lengths:
        _add(stats, length, frame)
    r.records_seen += len(lengths)
    r._pending = new_pending
    r._skip_left = skip_left
    return True


def _add(st: Any, length: int, frame: int) -> None:
    """:meth:`ApplicationDataStats.add`, inlined by hand where it counts."""
    st.records += 1
    st.bytes += length
    if length > st.max_length:
        st.max_length = length
    if st.first_frame is None:
        st.first_frame = frame
    st.last_frame = frame
    st.last_length = length
