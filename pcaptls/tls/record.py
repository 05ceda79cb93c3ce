"""The record layer of one direction: stream bytes in, records out (sans-IO).

Fed the reassembled bytes of one TCP direction, each chunk with the frame that
completed it, a :class:`RecordReader` cuts TLS records (RFC 8446 §5.1) or SSLv2
records, and says what else it saw: a stream that is not TLS, a stream picked up
in the middle of a record, bytes lost in a gap and where it found its footing again.
A record's frame is the frame that delivered its last byte, as tshark reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

#: TLSCiphertext may be 2^14 + 256 (RFC 8446) or 2^14 + 2048 (RFC 5246) long; a
#: header claiming more is not trusted when looking for the next record after damage.
MAX_PLAUSIBLE_LENGTH: Final = (1 << 14) + 2048
#: Give up looking for a record header after this many bytes without one.
MAX_RESYNC_SCAN: Final = 1 << 16
TLS_CONTENT_TYPES: Final = frozenset(range(20, 26))
#: Bodies this short are kept even when skipping (a CCS, a plaintext TLS 1.3 alert).
KEEP_SMALL_BODY: Final = 8
#: How much of a damaged record's body is kept (enough for handshake message headers).
VISIBLE_PREFIX: Final = 64


@dataclass(slots=True)
class Record:
    """One TLSPlaintext/TLSCiphertext. ``fragment`` is None when its body was not kept
    (protected and not decrypted) or was damaged by a gap (``damaged``).

    Not changed once made, but not frozen: one is made per record, and a frozen
    dataclass's ``__init__`` costs five times as much."""

    content_type: int
    version: int
    length: int
    fragment: bytes | None
    offset: int
    frame: int
    time_ns: int
    first_frame: int
    damaged: bool = False
    #: for a damaged record: the captured start of its body (at most VISIBLE_PREFIX bytes)
    visible: bytes = b""


@dataclass(frozen=True, slots=True)
class Ssl2Record:
    """One SSLv2 record (2- or 3-byte header); ``padding`` only with a 3-byte header."""

    body: bytes | None
    length: int
    padding: int
    offset: int
    frame: int
    time_ns: int


@dataclass(frozen=True, slots=True)
class NotTls:
    """The stream does not start with (and never finds) a TLS or SSLv2 record."""

    first_bytes: bytes
    offset: int
    frame: int
    time_ns: int


@dataclass(frozen=True, slots=True)
class Resync:
    """Bytes skipped before the next plausible record header.

    ``reason`` is "midstream" (the stream did not start at a record) or "gap"
    (a gap or a broken header lost the record boundary)."""

    reason: Literal["midstream", "gap", "bad_header", "after_plaintext"]
    skipped: int
    offset: int
    frame: int
    time_ns: int


@dataclass(frozen=True, slots=True)
class BadRecordHeader:
    """A header in a synchronised stream that cannot be a record (type or version)."""

    header: bytes
    offset: int
    frame: int
    time_ns: int


@dataclass(frozen=True, slots=True)
class StreamGap:
    """``length`` bytes missing from the capture at ``offset``."""

    length: int
    offset: int
    frame: int
    inside_record: bool


RecordEvent = Record | Ssl2Record | NotTls | Resync | BadRecordHeader | StreamGap
Mode = Literal["detect", "tls", "ssl2", "resync", "not_tls"]


def plausible_header(data: bytes | bytearray, i: int) -> bool:
    """Does ``data[i:i+5]`` look like a TLS record header?"""
    return (
        data[i] in TLS_CONTENT_TYPES
        and data[i + 1] == 3
        and data[i + 2] <= 4
        and int.from_bytes(data[i + 3 : i + 5], "big") <= MAX_PLAUSIBLE_LENGTH
    )


def _looks_like_text(data: bytes | bytearray) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13) for b in data)


class RecordReader:
    """Cuts one direction's byte stream into records; ``feed`` returns what it found."""

    # Slots: two of these per open connection.
    __slots__ = ("_buf", "_buf_offset", "_marks", "_pending", "_resync_reason", "_resync_start",
                 "_skip_left", "mode", "records_seen", "skip_bodies")

    def __init__(self) -> None:
        self.mode: Mode = "detect"
        self.skip_bodies = False
        self._buf = bytearray()
        self._buf_offset = 0  # stream offset of _buf[0]
        # (end offset, frame, time): one or two entries mostly, so a list (a deque is ~600 B)
        self._marks: list[tuple[int, int, int]] = []
        self._resync_reason: Literal["midstream", "gap", "bad_header", "after_plaintext"] = (
            "midstream"
        )
        self._resync_start = 0
        # A record whose body is being skipped (protected, or damaged by a gap).
        # type, version, length, offset, first frame, damaged, visible body prefix
        self._pending: tuple[int, int, int, int, int, bool, bytes] | None = None
        self._skip_left = 0
        self.records_seen = 0

    @property
    def stream_offset(self) -> int:
        """Offset just past the last byte fed or skipped."""
        return self._buf_offset + len(self._buf)

    def skippable(self) -> int:
        """Bytes the reader will discard anyway (rest of a record body being skipped)."""
        return self._skip_left if self._pending is not None else 0

    def finish(self, frame: int, time_ns: int) -> list[RecordEvent]:
        """The stream ended: bytes that never made a record are 'not TLS'."""
        if self.records_seen == 0 and self.mode in ("detect", "resync") and self.stream_offset:
            out: list[RecordEvent] = [NotTls(bytes(self._buf[:64]), self._buf_offset, frame, time_ns)]
            self.mode = "not_tls"
            self._buf_offset += len(self._buf)
            self._buf.clear()
            return out
        return []

    def _frame_at(self, end: int) -> tuple[int, int]:
        """Frame and time of the chunk that delivered the byte before ``end``."""
        for mark_end, frame, time_ns in self._marks:
            if mark_end >= end:
                return frame, time_ns
        return (self._marks[-1][1], self._marks[-1][2]) if self._marks else (0, 0)

    def _trim_marks(self) -> None:
        marks = self._marks
        n = 0
        while len(marks) - n > 1 and marks[n][0] <= self._buf_offset:
            n += 1
        if n:
            del marks[:n]

    def _consume(self, n: int) -> None:
        del self._buf[:n]
        self._buf_offset += n
        self._trim_marks()

    def feed(self, data: bytes, frame: int, time_ns: int) -> list[RecordEvent]:
        if not data:
            return []
        end = self.stream_offset + len(data)
        self._marks.append((end, frame, time_ns))
        out: list[RecordEvent] = []
        if self._pending is not None:
            take = min(self._skip_left, len(data))
            self._skip_left -= take
            self._buf_offset += take
            data = data[take:]
            if self._skip_left == 0:
                out.append(self._finish_pending())
            if not data:
                return out
        if (self.mode == "detect" and not self._buf and len(data) >= 3
                and data[0] in TLS_CONTENT_TYPES and data[1] == 3 and data[2] <= 4):
            self.mode = "tls"  # what _detect() decides on these bytes, decided here
        if self.mode == "tls" and self._pending is None:
            if self._buf:
                # A record begun in earlier chunks and ended in this one: completed
                # without copying this chunk into the buffer (as _tls_record would cut it).
                used = self._complete_buffered(data, out)
                if used:
                    if used == len(data):
                        return out
                    data = data[used:]
            if not self._buf:
                # Whole records in this chunk need not pass through the buffer (most do).
                used = self._whole_records(data if type(data) is bytes else bytes(data), frame,
                                           time_ns, out)
                if used:
                    self._buf_offset += used
                    self._trim_marks()
                    if used == len(data):
                        return out  # nothing left for the buffer
                    data = data[used:]
        self._buf += data
        self._parse(out)
        return out

    def _complete_buffered(self, data: bytes, out: list[RecordEvent]) -> int:
        """If the buffer holds the start of a record (kept whole, not skipped) that ``data``
        completes: cut it as :meth:`_tls_record` would after ``_buf += data``; the bytes of
        ``data`` it took (0: nothing done, the general way decides)."""
        buf = self._buf
        n = len(buf)
        if n < 5 or buf[0] not in TLS_CONTENT_TYPES or buf[1] != 3:
            return 0
        length = (buf[3] << 8) | buf[4]
        if self.skip_bodies and length > KEEP_SMALL_BODY:
            return 0
        need = 5 + length - n
        if need <= 0 or need > len(data):
            return 0
        ctype, version = buf[0], (3 << 8) | buf[2]
        offset = self._buf_offset
        frame, time_ns = self._frame_at(offset + 5 + length)
        frame0 = self._frame_at(offset + 1)[0]
        fragment = bytes(buf[5:]) + bytes(data[:need])
        buf.clear()
        self._buf_offset = offset + 5 + length
        self._trim_marks()
        self.records_seen += 1
        out.append(Record(ctype, version, length, fragment, offset, frame, time_ns, frame0))
        return need

    def _whole_records(self, data: bytes, frame: int, time_ns: int, out: list[RecordEvent]) -> int:
        """Cut the complete, well-formed records at the start of ``data`` (the buffer being
        empty, they all end in this chunk: ``frame`` is both their first and last frame);
        return how many bytes they took. The rest goes the general way."""
        n = len(data)
        pos = 0
        start = self._buf_offset
        skip = self.skip_bodies
        while pos + 5 <= n:
            ctype = data[pos]
            if ctype not in TLS_CONTENT_TYPES or data[pos + 1] != 3:
                break
            length = (data[pos + 3] << 8) | data[pos + 4]
            end = pos + 5 + length
            if end > n:
                break
            fragment = None if skip and length > KEEP_SMALL_BODY else data[pos + 5:end]
            self.records_seen += 1
            out.append(Record(ctype, (3 << 8) | data[pos + 2], length, fragment, start + pos, frame,
                              time_ns, frame))
            pos = end
        return pos

    def skip(self, length: int, frame: int, time_ns: int) -> list[RecordEvent]:
        """``length`` bytes that exist but are not delivered (only valid up to :meth:`skippable`)."""
        if length > self.skippable():
            raise ValueError("skip beyond the record body being skipped")
        if length == 0:
            return []
        self._marks.append((self.stream_offset + length, frame, time_ns))
        self._skip_left -= length
        self._buf_offset += length
        if self._skip_left == 0:
            return [self._finish_pending()]
        return []

    def _finish_pending(self) -> Record:
        if self._pending is None:
            raise RuntimeError("no record body is being skipped")
        ctype, version, length, offset, frame0, damaged, visible = self._pending
        self._pending = None
        frame, time_ns = self._frame_at(offset + 5 + length)
        self.records_seen += 1
        return Record(ctype, version, length, None, offset, frame, time_ns, frame0, damaged,
                      visible if damaged else b"")

    def gap(self, length: int, frame: int) -> list[RecordEvent]:
        """``length`` bytes of this direction were not captured."""
        start = self.stream_offset
        time_ns = self._marks[-1][2] if self._marks else 0
        buf = self._buf
        out: list[RecordEvent] = []
        if (self._pending is None and self.mode == "resync" and len(buf) >= 5
                and plausible_header(buf, 0)
                and 5 + int.from_bytes(buf[3:5], "big") > len(buf)):
            # A header right where the captured bytes resume, cut by this gap (a small
            # snap length does this to every segment): take it as the next record.
            frame_r, time_r = self._frame_at(self._buf_offset + 1)
            out.append(Resync(self._resync_reason, self._buf_offset - self._resync_start,
                              self._buf_offset, frame_r, time_r))
            self.mode = "tls"
        if self._pending is None and self.mode == "tls" and len(buf) >= 5:
            rlen = int.from_bytes(buf[3:5], "big")
            if 5 + rlen > len(buf):  # the gap falls inside this record's body
                frame0 = self._frame_at(self._buf_offset + 1)[0]
                self._pending = (buf[0], int.from_bytes(buf[1:3], "big"), rlen, self._buf_offset,
                                 frame0, True, bytes(buf[5 : 5 + VISIBLE_PREFIX]))
                self._skip_left = 5 + rlen - len(buf)
                self._buf_offset += len(buf)
                buf.clear()
        inside = self._pending is not None or bool(buf)
        out.append(StreamGap(length, start, frame, inside))

        def advance(n: int) -> None:
            self._buf_offset += n
            self._marks.append((self._buf_offset, frame, time_ns))

        if self.mode == "not_tls":
            advance(length)
            return out
        if self._pending is not None:
            ctype, version, rlen, off, frame0, _, visible = self._pending
            self._pending = (ctype, version, rlen, off, frame0, True, visible)
            if length < self._skip_left:
                self._skip_left -= length
                advance(length)
                return out
            length -= self._skip_left
            advance(self._skip_left)
            self._skip_left = 0
            out.append(self._finish_pending())
            if length == 0:
                return out  # the gap ended on a record boundary: still in step
        else:
            self._buf_offset += len(buf)
            buf.clear()
        advance(length)
        self._lose_sync()
        return out

    def _lose_sync(self) -> None:
        self.mode = "resync"
        self._resync_reason = "gap"
        self._resync_start = self.stream_offset

    # -- parsing -----------------------------------------------------------------------

    def _parse(self, out: list[RecordEvent]) -> None:
        while True:
            before = (self.mode, len(self._buf), self._pending is None)
            if self._pending is not None:
                return
            if self.mode == "detect":
                self._detect(out)
            elif self.mode == "tls":
                self._tls_record(out)
            elif self.mode == "ssl2":
                self._ssl2_record(out)
            elif self.mode == "resync":
                self._resync(out)
            else:
                self._find_hello(out)
            if (self.mode, len(self._buf), self._pending is None) == before:
                return

    def _detect(self, out: list[RecordEvent]) -> None:
        buf = self._buf
        if len(buf) < 3:
            return
        if buf[0] in TLS_CONTENT_TYPES and buf[1] == 3 and buf[2] <= 4:
            self.mode = "tls"
        elif buf[0] & 0x80 and buf[2] in (0, 1, 2, 4):
            self.mode = "ssl2"
        elif len(buf) < 8 and not self.records_seen:
            return
        elif self.records_seen == 0 and _looks_like_text(buf[: min(len(buf), 16)]):
            self._not_tls(out)
        else:
            self.mode = "resync"
            self._resync_reason = "midstream" if not self.records_seen else "bad_header"
            self._resync_start = self._buf_offset

    def _not_tls(self, out: list[RecordEvent]) -> None:
        frame, time_ns = self._frame_at(self._buf_offset + min(len(self._buf), 64))
        out.append(NotTls(bytes(self._buf[:64]), self._buf_offset, frame, time_ns))
        self.mode = "not_tls"
        self._resync_start = self._buf_offset

    def _tls_record(self, out: list[RecordEvent]) -> None:
        buf = self._buf
        if len(buf) < 5:
            return
        if not (buf[0] in TLS_CONTENT_TYPES and buf[1] == 3):
            frame, time_ns = self._frame_at(self._buf_offset + 5)
            out.append(BadRecordHeader(bytes(buf[:5]), self._buf_offset, frame, time_ns))
            self.mode = "resync"
            self._resync_reason = "bad_header"
            self._resync_start = self._buf_offset
            self._consume(1)
            return
        ctype, version = buf[0], int.from_bytes(buf[1:3], "big")
        length = int.from_bytes(buf[3:5], "big")
        offset = self._buf_offset
        skip = self.skip_bodies and length > KEEP_SMALL_BODY
        if skip and len(buf) < 5 + length:
            frame0 = self._frame_at(offset + 1)[0]
            self._pending = (ctype, version, length, offset, frame0, False, b"")
            self._skip_left = 5 + length - len(buf)
            self._buf_offset += len(buf)
            buf.clear()
            return
        if len(buf) < 5 + length:
            return
        frame, time_ns = self._frame_at(offset + 5 + length)
        frame0 = self._frame_at(offset + 1)[0]
        fragment = None if skip else bytes(buf[5 : 5 + length])
        self._consume(5 + length)
        self.records_seen += 1
        out.append(Record(ctype, version, length, fragment, offset, frame, time_ns, frame0))

    def _ssl2_record(self, out: list[RecordEvent]) -> None:
        buf = self._buf
        if len(buf) < 3:
            return
        if buf[0] & 0x80:
            header, length, padding = 2, (buf[0] & 0x7F) << 8 | buf[1], 0
        else:
            header, length, padding = 3, (buf[0] & 0x3F) << 8 | buf[1], buf[2]
        if len(buf) < header + length:
            return
        offset = self._buf_offset
        frame, time_ns = self._frame_at(offset + header + length)
        body = bytes(buf[header : header + length])
        self._consume(header + length)
        self.records_seen += 1
        out.append(Ssl2Record(body, length, padding, offset, frame, time_ns))
        if len(body) >= 3 and body[0] == 1 and body[1] >= 3:
            self.mode = "detect"  # v2-compatible ClientHello: TLS records follow

    def _find_hello(self, out: list[RecordEvent]) -> None:
        """After plaintext (STARTTLS, or a client that gave up on plain SIP): look only
        for a record that starts a ClientHello or ServerHello."""
        buf = self._buf
        n = len(buf)
        i = buf.find(b"\x16\x03")
        while i != -1 and i + 6 <= n:
            if plausible_header(buf, i) and buf[i + 5] in (1, 2):
                skipped = self._buf_offset + i - self._resync_start
                frame, time_ns = self._frame_at(self._buf_offset + i + 1)
                self._consume(i)
                out.append(Resync("after_plaintext", skipped, self._buf_offset, frame, time_ns))
                self.mode = "tls"
                return
            i = buf.find(b"\x16\x03", i + 1)
        self._consume(max(0, n - 5))

    def _resync(self, out: list[RecordEvent]) -> None:
        buf = self._buf
        n = len(buf)
        i = 0
        while i + 5 <= n:
            if plausible_header(buf, i):
                end = i + 5 + int.from_bytes(buf[i + 3 : i + 5], "big")
                if end > n:
                    self._consume(i)  # wait for the rest of this record before trusting it
                    return
                if end == n or (end + 3 <= n and plausible_header_prefix(buf, end)):
                    skipped = self._buf_offset + i - self._resync_start
                    frame, time_ns = self._frame_at(self._buf_offset + i + 1)
                    self._consume(i)
                    out.append(Resync(self._resync_reason, skipped, self._buf_offset, frame, time_ns))
                    self.mode = "tls"
                    return
            i += 1
        self._consume(max(0, n - 4))  # keep what might still start a header
        if self._buf_offset - self._resync_start > MAX_RESYNC_SCAN and self.records_seen == 0:
            self._not_tls(out)


def plausible_header_prefix(data: bytes | bytearray, i: int) -> bool:
    """The 3 bytes at ``i`` could start a record header (type and major version)."""
    return data[i] in TLS_CONTENT_TYPES and data[i + 1] == 3 and data[i + 2] <= 4
