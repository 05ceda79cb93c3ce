"""Framing SIP messages out of a byte stream (RFC 3261 §18.3, RFC 5626 §3.5.1) or datagram.

:class:`SipStream` is fed one direction of a TCP or decrypted TLS connection, a
piece at a time with the frame that carried it, and hands back whole messages,
each stamped with the frame that completed it. Keep-alives are counted, garbage is
skipped up to the next start line, and the buffer never holds more than
``max_message`` bytes. It never raises on peer bytes: what it cannot use becomes
a :class:`StreamNote`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ._message import Head, SipMessage, build_message, is_start_line, parse_head, parse_message

MAX_MESSAGE = 64 * 1024
_HEAD_END = re.compile(rb"\r?\n\r?\n")


class NoteKind(StrEnum):
    """What a :class:`StreamNote` reports."""

    GARBAGE = "garbage"  # bytes that are not SIP, skipped up to the next start line
    OVERSIZE = "oversize"  # a message over max_message bytes, dropped
    NO_CONTENT_LENGTH = "no_content_length"  # taken as 0 (mandatory on streams)
    BAD_CONTENT_LENGTH = "bad_content_length"  # not a number; taken as 0
    TRUNCATED = "truncated"  # the stream ended inside a message


@dataclass(frozen=True, slots=True)
class StreamNote:
    """Something in the stream that is not a usable message, with where it started."""

    frame: int
    kind: NoteKind
    size: int  # bytes concerned


class SipStream:
    """Sans-IO framer for one direction of a SIP stream (TCP or decrypted TLS)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        if max_message < 64:
            raise ValueError(f"max_message must be at least 64 bytes, not {max_message}")
        self.max_message = max_message
        self.pings = 0  # RFC 5626 CRLFCRLF
        self.pongs = 0  # RFC 5626 CRLF
        self.notes: list[StreamNote] = []
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._chunks: list[tuple[int, int]] = []  # (stream end offset, frame), pruned
        self._discard = 0  # bytes of a dropped oversize message still to come
        self._in_garbage = False
        self._closed = False
        self._scan = 0  # where to resume looking for the end of the head
        self._pending: tuple[Head, int, int] | None = None  # head, body start, total size

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message."""
        return len(self._buf)

    def _frame_at(self, offset: int) -> int:
        for end, frame in self._chunks:
            if end > offset:
                return frame
        return self._chunks[-1][1] if self._chunks else 0

    def _consume(self, n: int) -> None:
        self._scan = 0
        self._pending = None
        del self._buf[:n]
        self._base += n
        while self._chunks and self._chunks[0][0] <= self._base:
            self._chunks.pop(0)

    def _note(self, kind: NoteKind, size: int, offset: int) -> None:
        self.notes.append(StreamNote(self._frame_at(offset), kind, size))

    def _skip_garbage(self, n: int) -> None:
        if self._in_garbage and self.notes and self.notes[-1].kind is NoteKind.GARBAGE:
            last = self.notes[-1]
            self.notes[-1] = StreamNote(last.frame, last.kind, last.size + n)
        else:
            self._note(NoteKind.GARBAGE, n, self._base)
        self._in_garbage = True
        self._consume(n)

    def _resync(self) -> None:
        """Drop the first (complete, non-SIP) line and every line up to a start line."""
        buf = self._buf
        pos = buf.find(b"\n") + 1
        while True:
            end = buf.find(b"\n", pos)
            if end < 0:
                break  # keep the partial line: it may become a start line
            if is_start_line(buf[pos:end].decode("utf-8", "replace").rstrip("\r")):
                break
            pos = end + 1
        self._skip_garbage(pos)

    def feed(self, data: bytes, frame: int, time_ns: int) -> list[SipMessage]:
        """Add the bytes one frame carried; return the messages they completed."""
        if self._discard:
            n = min(self._discard, len(data))
            self._discard -= n
            self._base += n
            data = data[n:]
        if data:
            self._buf += data
            self._chunks.append((self._base + len(self._buf), frame))
        out: list[SipMessage] = []
        while self._buf:
            msg = self._next(time_ns)
            if msg is None:
                break
            if isinstance(msg, SipMessage):
                out.append(msg)
        return out

    def _next(self, time_ns: int) -> SipMessage | bool | None:
        """One step: a message, True (progress, go on) or None (need more bytes)."""
        buf = self._buf
        if self._pending is not None:
            return self._complete(*self._pending, time_ns)
        if buf[:1] == b"\r":
            if buf.startswith(b"\r\n\r\n"):
                self.pings += 1
                self._consume(4)
                return True
            if buf.startswith(b"\r\n") and len(buf) > 2 and not buf.startswith(b"\r\n\r"):
                self.pongs += 1
                self._consume(2)
                return True
            if len(buf) < 4 and b"\r\n\r\n".startswith(bytes(buf)):
                return None  # a ping or a pong, not yet known which
        eol = buf.find(b"\n")
        if eol < 0:
            if len(buf) > self.max_message:
                self._skip_garbage(len(buf))
            return None
        if not is_start_line(buf[:eol].decode("utf-8", "replace").rstrip("\r")):
            self._resync()
            return True
        self._in_garbage = False
        m = _HEAD_END.search(buf, self._scan)
        if m is None:
            self._scan = max(0, len(buf) - 3)
            if len(buf) > self.max_message:
                self._note(NoteKind.OVERSIZE, len(buf), self._base)
                self._consume(eol + 1)  # the rest is skipped as garbage up to a start line
                return True
            return None
        head = parse_head(bytes(buf[: m.start()]))
        if head is None:  # unreachable: the start line was checked; kept for safety
            self._resync()
            return True
        length = head.content_length
        if length is None:
            kind = (
                NoteKind.NO_CONTENT_LENGTH
                if head.first("content-length") is None
                else NoteKind.BAD_CONTENT_LENGTH
            )
            self._note(kind, 0, self._base)
            length = 0
        total = m.end() + length
        if total > self.max_message:
            self._note(NoteKind.OVERSIZE, total, self._base)
            if len(buf) >= total:
                self._consume(total)
            else:
                self._discard = total - len(buf)
                self._consume(len(buf))
            return True
        return self._complete(head, m.end(), total, time_ns)

    def _complete(self, head: Head, body_start: int, total: int, time_ns: int) -> SipMessage | None:
        """The message once all ``total`` bytes are here; until then remember the head."""
        if len(self._buf) < total:
            self._pending = (head, body_start, total)
            return None
        first = self._frame_at(self._base)
        last = self._frame_at(self._base + total - 1)
        body = bytes(self._buf[body_start:total])
        msg = build_message(head, body, last, time_ns, first, total)
        self._consume(total)
        return msg

    def close(self) -> None:
        """End of stream: a pending CRLF is a pong; a partial message is noted."""
        if self._closed:
            return
        self._closed = True
        if bytes(self._buf) in (b"\r\n", b"\r\n\r"):
            self.pongs += 1
        elif self._buf:
            self._note(NoteKind.TRUNCATED, len(self._buf), self._base)
        elif self._discard:
            self._note(NoteKind.TRUNCATED, self._discard, self._base)
        self._consume(len(self._buf))


def parse_datagram(data: bytes, frame: int, time_ns: int) -> SipMessage | None:
    """One UDP datagram = one message (RFC 3261 §18.3); None for keep-alives or non-SIP."""
    data = data.lstrip(b"\r\n")
    if not data:
        return None
    return parse_message(data, frame, time_ns)
