"""Sans-IO TCP connection tracking and per-direction reassembly.

``TcpTracker.feed(segment)`` returns the events that segment causes;
``finish()`` flushes what is left at the end of the capture. Semantics follow
tshark's where it has them (stream numbering, first-seen bytes win on overlap,
data released by the frame that fills a hole); memory is bounded by open
connections and the out-of-order limits, not by the capture size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Final

from pcaptls.capture.decode import ACK, FIN, RST, SYN, TcpSegment

from .connection import EMPTY_HISTORY, Connection, Direction
from .events import (
    ConnectionEnd,
    ConnectionStart,
    Data,
    Event,
    Flag,
    FlagName,
    Gap,
    Overlap,
    Side,
)

_new = tuple.__new__
_M32: Final = 0xFFFFFFFF
#: the largest TCP window (65535 << 14, RFC 7323): no sender can be further ahead than this
_MAX_WINDOW: Final = 1 << 30

#: out-of-order bytes buffered per direction before the hole is declared a gap. (An ack
#: beyond the hole is not used to declare it earlier: in real captures an ack is often
#: captured before the segment it acknowledges, when interfaces or paths differ.)
MAX_PENDING_BYTES: Final = 4 << 20
#: out-of-order segments buffered per direction before the hole is declared a gap
MAX_PENDING_SEGMENTS: Final = 4096
#: delivered bytes kept per direction to tell a plain retransmission from a changed one
HISTORY_BYTES: Final = 256 << 10
#: ... and for this much capture time after they were delivered: a retransmission comes
#: within the sender's retransmission timeout (at most 120 s, RFC 6298 and Linux's
#: TCP_RTO_MAX); older history is dropped at the next sweep, so long-lived connections
#: do not hold their last bytes for ever
HISTORY_MAX_AGE_NS: Final = 120 * 1_000_000_000
#: a finished connection is forgotten after this much capture time without packets
FORGET_AFTER_NS: Final = 600 * 1_000_000_000
#: a connection with a FIN or RST but not both sides over ends after this much idle time
IDLE_AFTER_CLOSE_NS: Final = 60 * 1_000_000_000
_SWEEP_EVERY: Final = 1 << 16


class _Ended:
    """What is remembered of an ended connection while its 4-tuple may still see packets
    (a late retransmission, a last ACK): enough to tell them from a new connection on a
    reused port. The ended :class:`Connection` itself is dropped with its buffers."""

    __slots__ = ("first_seq", "id", "last_frame", "last_time_ns")

    ended: Final = True

    def __init__(self, conn: Connection) -> None:
        self.id = conn.id
        self.first_seq = [conn.dirs[0].first_seq, conn.dirs[1].first_seq]
        self.last_frame = conn.last_frame
        self.last_time_ns = conn.last_time_ns


class TcpTracker:
    """Connections keyed by 4-tuple; each new SYN on a finished 4-tuple starts a new one."""

    def __init__(self, *, forget_ended: bool = False) -> None:
        """``forget_ended``: keep an ended connection only as a small record of what tells a
        reused port from a late packet (for a consumer done with it at its ConnectionEnd);
        otherwise its Connection goes on counting late packets, as tshark's stream does."""
        self._forget_ended = forget_ended
        self._flows: dict[tuple[str, int, str, int], tuple[Connection | _Ended, int]] = {}
        self._count = 0
        self._fed = 0
        self._open: dict[int, Connection] = {}

    # -- consumer controls --------------------------------------------------------------
    def skip(self, conn: Connection, side: Side, until_offset: int) -> None:
        """Discard ``side``'s bytes before stream offset ``until_offset`` without buffering them."""
        d = conn.dirs[conn.index_of(side)]
        if until_offset > d.skip_until:
            d.skip_until = until_offset
            if d.pending:
                for k in [k for k, v in d.pending.items() if k + len(v[0]) + v[3] <= until_offset]:
                    d.pending_bytes -= len(d.pending.pop(k)[0])

    def stop(self, conn: Connection, side: Side) -> None:
        """No more Data for ``side``; flags and counters are still kept."""
        d = conn.dirs[conn.index_of(side)]
        d.stopped = True
        d.release()

    @property
    def connections_open(self) -> int:
        """Connections not yet ended (what bounds memory)."""
        return len(self._open)

    # -- feeding ------------------------------------------------------------------------
    def feed(self, seg: TcpSegment) -> list[Event]:
        """Track one segment; return the events it causes, in order."""
        frame, t, src, sport, dst, dport, seq, _ack, flags, _win, payload, missing, _ = seg
        out: list[Event] = []
        entry = self._flows.get((src, sport, dst, dport))
        if entry is None or flags & (SYN | ACK) == SYN:
            found, idx = self._lookup(entry, seg, out)
        else:
            found, idx = entry
        if isinstance(found, _Ended):
            # A late packet of an ended connection: it changes nothing anyone reads but
            # when the 4-tuple is forgotten and what a SYN on it is compared with.
            found.last_frame = frame
            found.last_time_ns = t
            if found.first_seq[idx] is None:
                found.first_seq[idx] = seq
            if flags & RST:
                return out  # as for any RST: not counted towards the next sweep
            self._fed += 1
            if self._fed >= _SWEEP_EVERY:
                self._sweep(t, out)
            return out
        conn = found
        conn.last_frame = frame
        conn.last_time_ns = t
        d = conn.dirs[idx]
        d.packets += 1
        n = len(payload)
        d.bytes += n + missing
        if d.first_seq is None:
            d.first_seq = seq
        if flags & (SYN | RST | FIN):
            if self._flags(conn, idx, d, flags, seq, frame, t, n + missing, out):
                return out
            if flags & SYN:  # data on a SYN (TCP Fast Open) starts after the SYN's number
                seq = (seq + 1) & _M32
        if (n or missing) and not conn.ended and not d.rst_frames and not d.stopped:
            base = d.base
            if base is None:
                base = d.base = seq
            nxt = d.next_off
            if not missing and not d.pending and (seq - base) & _M32 == nxt & _M32:
                self._deliver(conn, idx, d, nxt, payload, frame, t, out)  # in order: most
            else:
                self._data(conn, idx, d, seq, payload, missing, frame, t, out)
            if d.fin_off is not None and d.next_off >= d.fin_off:
                self._maybe_closed(conn, frame, out)
        self._fed += 1
        if self._fed >= _SWEEP_EVERY:
            self._sweep(t, out)
        return out

    def _lookup(
        self, entry: tuple[Connection | _Ended, int] | None, seg: TcpSegment, out: list[Event]
    ) -> tuple[Connection | _Ended, int]:
        """A new 4-tuple, or a SYN: a new connection when the port is reused (tshark's rule:
        a SYN whose sequence number differs from the first one seen in that direction)."""
        frame, t, src, sport, dst, dport, seq = seg[:7]
        if entry is None:
            return self._new_conn(src, sport, dst, dport, frame, t, out)
        conn, idx = entry
        fs = conn.first_seq[idx] if isinstance(conn, _Ended) else conn.dirs[idx].first_seq
        if fs is not None and seq != fs:
            if isinstance(conn, Connection) and not conn.ended:
                self._end(conn, frame, out)
            return self._new_conn(src, sport, dst, dport, frame, t, out)
        return entry

    def finish(self) -> list[Event]:
        """End every open connection: leftover out-of-order data becomes gaps and data."""
        out: list[Event] = []
        for conn in sorted(self._open.values(), key=lambda c: c.id):
            self._end(conn, conn.last_frame, out)
        self._flows.clear()
        return out

    def feed_all(self, segments: Iterable[TcpSegment]) -> list[Event]:
        """Feed many segments and finish; convenient for tests and small captures."""
        out: list[Event] = []
        for s in segments:
            out.extend(self.feed(s))
        out.extend(self.finish())
        return out

    # -- internals ----------------------------------------------------------------------
    def _new_conn(
        self, src: str, sport: int, dst: str, dport: int, frame: int, t: int, out: list[Event]
    ) -> tuple[Connection, int]:
        self._count += 1
        conn = Connection(self._count, (src, sport), (dst, dport), frame, t)
        self._flows[(src, sport, dst, dport)] = (conn, 0)
        self._flows[(dst, dport, src, sport)] = (conn, 1)
        self._open[conn.id] = conn
        out.append(ConnectionStart(conn))
        return conn, 0

    def _flags(
        self, conn: Connection, idx: int, d: Direction, flags: int, seq: int, frame: int, t: int,
        length: int, out: list[Event],
    ) -> bool:
        """Handle SYN/FIN/RST; True when the connection ended (nothing more to do)."""
        if flags & SYN:
            kind: FlagName
            d.syn_frames.append(frame)
            if flags & ACK:
                if conn.client_by != "syn":
                    conn.client_index = 1 - idx
                    conn.client_by = "synack"
                conn.synack_index = idx
                kind = "SYNACK"
            else:
                if conn.client_by != "syn":
                    conn.client_index = idx
                    conn.client_by = "syn"
                kind = "SYN"
            if d.base is None or (d.next_off == 0 and not d.pending):
                d.base = (seq + 1) & _M32
            if not conn.ended:
                out.append(Flag(conn, idx, kind, frame, t))
        if flags & RST:
            d.rst_frames.append(frame)
            if not conn.ended:
                out.append(Flag(conn, idx, "RST", frame, t))
                # The peer may still have data in flight (an alert, say): only this
                # direction is over; the connection ends when both are.
                while d.pending and not d.stopped:
                    self._skip_hole(conn, idx, d, frame, out)
                self._maybe_closed(conn, frame, out)
            return True
        if flags & FIN:
            d.fin_frames.append(frame)
            if d.base is None:
                d.base = seq
            fin_off = _unwrap(seq, d.base, d.next_off) + length
            # A FIN beyond the largest possible window belongs to something else (a reused
            # port seen mid-stream, say): it closes the direction but says nothing of bytes.
            plausible = abs(fin_off - d.next_off) <= _MAX_WINDOW
            if d.fin_off is None or (plausible and fin_off > d.fin_off):
                d.fin_off = fin_off if plausible else d.next_off
            if not conn.ended:
                out.append(Flag(conn, idx, "FIN", frame, t))
                if d.stopped or (not length and d.next_off >= fin_off):
                    self._maybe_closed(conn, frame, out)
        return False

    def _maybe_closed(self, conn: Connection, frame: int, out: list[Event]) -> None:
        if not conn.ended and _done(conn.dirs[0]) and _done(conn.dirs[1]):
            self._end(conn, frame, out)

    def _end(self, conn: Connection, frame: int, out: list[Event]) -> None:
        for idx in (0, 1):
            d = conn.dirs[idx]
            while d.pending and not d.stopped:
                self._skip_hole(conn, idx, d, frame, out)
            if d.fin_off is not None and d.next_off < d.fin_off and not d.stopped:
                # The FIN's sequence number shows bytes were sent that the capture lacks.
                self._gap(conn, idx, d, d.next_off, d.fin_off - d.next_off, frame, out)
            d.release()
        conn.ended = True
        self._open.pop(conn.id, None)
        out.append(ConnectionEnd(conn))
        if not self._forget_ended:
            return
        (a, sport), (b, dport) = conn.endpoints
        flows = self._flows
        ended = _Ended(conn)
        for key, idx in (((a, sport, b, dport), 0), ((b, dport, a, sport), 1)):
            entry = flows.get(key)
            if entry is not None and entry[0] is conn:
                flows[key] = (ended, idx)

    def _sweep(self, now: int, out: list[Event]) -> None:
        self._fed = 0
        idle = now - IDLE_AFTER_CLOSE_NS
        for conn in sorted(self._open.values(), key=lambda c: c.id):
            a, b = conn.dirs
            closing = a.rst_frames or b.rst_frames or a.fin_frames or b.fin_frames
            if closing and conn.last_time_ns < idle:
                self._end(conn, conn.last_frame, out)
        stale = now - HISTORY_MAX_AGE_NS
        for conn in self._open.values():
            for d in conn.dirs:
                if d.history_bytes and d.history_time < stale:
                    d.history = EMPTY_HISTORY
                    d.history_bytes = 0
        old = now - FORGET_AFTER_NS
        for key in [k for k, (c, _) in self._flows.items() if c.ended and c.last_time_ns < old]:
            del self._flows[key]

    def _data(
        self, conn: Connection, idx: int, d: Direction, seq: int, payload: bytes, missing: int,
        frame: int, t: int, out: list[Event],
    ) -> None:
        nxt = d.next_off
        off = _unwrap(seq, d.base, nxt)  # type: ignore[arg-type]
        n = len(payload)
        if off == nxt:
            self._deliver(conn, idx, d, off, payload, frame, t, out)
            if missing:
                self._gap(conn, idx, d, off + n, missing, frame, out)
            if d.pending:
                self._drain(conn, idx, d, frame, t, out)
            return
        if off > nxt:
            if off < d.skip_until and off + n + missing <= d.skip_until:
                return  # wholly inside a region the consumer does not want
            self._buffer(conn, idx, d, off, payload, missing, frame, t, out)
            return
        # Starts before the next expected byte: retransmission, keep-alive or overlap.
        if n <= 1 and off == nxt - 1 and not missing:
            return  # keep-alive (the byte, if any, is garbage)
        end = off + n
        self._compare(conn, idx, d, off, payload[: min(n, nxt - off)], frame, out)
        if end > nxt:
            self._deliver(conn, idx, d, nxt, payload[nxt - off:], frame, t, out)
            if missing:
                self._gap(conn, idx, d, end, missing, frame, out)
            if d.pending:
                self._drain(conn, idx, d, frame, t, out)
        elif missing and end + missing > nxt:
            self._gap(conn, idx, d, nxt, end + missing - nxt, frame, out)

    def _deliver(
        self, conn: Connection, idx: int, d: Direction, off: int, data: bytes, frame: int, t: int,
        out: list[Event],
    ) -> None:
        n = len(data)
        d.next_off = off + n
        if not n:
            return  # a snapped segment with nothing captured: only its gap follows
        if off < d.skip_until:
            cut = d.skip_until - off
            if cut >= n:
                return
            data = data[cut:]
            off += cut
            n -= cut
        out.append(_new(Data, (conn, idx, off, data, frame, t)))
        h = d.history
        if h is EMPTY_HISTORY:
            h = d.history = deque()
        h.append((off, data, frame))
        d.history_time = t
        d.history_bytes += n
        while d.history_bytes > HISTORY_BYTES and len(h) > 1:
            d.history_bytes -= len(h.popleft()[1])

    def _gap(
        self, conn: Connection, idx: int, d: Direction, off: int, length: int, frame: int,
        out: list[Event],
    ) -> None:
        d.next_off = off + length
        d.gap_bytes += length
        end = off + length
        if end <= d.skip_until:
            return
        if off < d.skip_until:
            off = d.skip_until
        out.append(Gap(conn, idx, off, end - off, frame))

    def _compare(
        self, conn: Connection, idx: int, d: Direction, off: int, data: bytes, frame: int,
        out: list[Event],
    ) -> None:
        """Report where resent bytes differ from the ones delivered first (those win)."""
        end = off + len(data)
        found = []
        # History is in stream order; resent bytes are usually recent: walk back from the end.
        for hoff, hdata, hframe in reversed(d.history):
            hend = hoff + len(hdata)
            if hend <= off:
                break
            if hoff >= end:
                continue
            a, b = max(off, hoff), min(end, hend)
            if data[a - off:b - off] != hdata[a - hoff:b - hoff]:
                found.append(Overlap(conn, idx, frame, hframe, a, b - a))
        out.extend(reversed(found))

    def _buffer(
        self, conn: Connection, idx: int, d: Direction, off: int, payload: bytes, missing: int,
        frame: int, t: int, out: list[Event],
    ) -> None:
        old = d.pending.get(off)
        if old is not None:
            odata = old[0]
            k = min(len(odata), len(payload))
            if odata[:k] != payload[:k]:
                out.append(Overlap(conn, idx, frame, old[1], off, k))
            if len(payload) + missing <= len(odata) + old[3]:
                return
            if len(payload) > len(odata):  # keep the first bytes, add the new tail
                d.pending[off] = (odata + payload[len(odata):], old[1], old[2], missing)
                d.pending_bytes += len(payload) - len(odata)
            else:
                d.pending[off] = (odata, old[1], old[2], len(payload) + missing - len(odata))
            return
        d.pending[off] = (payload, frame, t, missing)
        d.pending_bytes += len(payload)
        while d.pending and (
            d.pending_bytes > MAX_PENDING_BYTES or len(d.pending) > MAX_PENDING_SEGMENTS
        ):
            self._skip_hole(conn, idx, d, frame, out)

    def _skip_hole(
        self, conn: Connection, idx: int, d: Direction, frame: int, out: list[Event]
    ) -> None:
        """Give up waiting for the bytes before the first buffered segment."""
        first = min(d.pending)
        if first > d.next_off:
            self._gap(conn, idx, d, d.next_off, first - d.next_off, frame, out)
        self._drain(conn, idx, d, frame, None, out)

    def _drain(
        self, conn: Connection, idx: int, d: Direction, frame: int, t: int | None,
        out: list[Event],
    ) -> None:
        """Release buffered segments that now continue the stream, as data of ``frame``."""
        for k in sorted(d.pending):
            nxt = d.next_off
            if k > nxt:
                break
            data, pframe, pt, missing = d.pending.pop(k)
            d.pending_bytes -= len(data)
            end = k + len(data)
            if k < nxt:
                self._compare(conn, idx, d, k, data[: nxt - k], pframe, out)
            if end > nxt:
                # Released data belongs to the frame that filled the hole (tshark's view);
                # at a forced gap, to the frame that was buffered.
                self._deliver(conn, idx, d, nxt, data[nxt - k:],
                              frame if t is not None else pframe, t if t is not None else pt, out)
            if missing and end + missing > d.next_off:
                self._gap(conn, idx, d, max(end, d.next_off), end + missing - max(end, d.next_off),
                          frame, out)


def _done(d: Direction) -> bool:
    """A direction is over after its RST, or once every byte before its FIN arrived."""
    if d.rst_frames:
        return True
    # A stopped direction no longer tracks bytes: its FIN alone closes it.
    return d.fin_off is not None and (d.stopped or d.next_off >= d.fin_off)


def _unwrap(seq: int, base: int, near: int) -> int:
    """Stream offset of ``seq``: the 64-bit value nearest ``near`` with the right low 32 bits."""
    off32 = (seq - base) & _M32
    return near + ((off32 - near + 0x80000000) & _M32) - 0x80000000
