"""A bounded reader over bytes and the parser's own error.

Every length prefix opens a sub-reader that cannot read past the prefix, so a bad
length can only raise :class:`TlsDecodeError`, never overrun into the next field.
"""

from __future__ import annotations


class TlsDecodeError(Exception):
    """A peer's bytes break the TLS grammar.

    ``offset`` is where in the parsed unit (message body, record) the problem was
    found; ``frame`` is filled in by the layer that knows it.
    """

    def __init__(self, reason: str, offset: int | None = None, frame: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.frame = frame

    def __str__(self) -> str:
        where = []
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        if self.frame is not None:
            where.append(f"frame {self.frame}")
        return self.reason + (f" ({', '.join(where)})" if where else "")


class Reader:
    """Reads big-endian integers and length-prefixed vectors from ``data[start:end]``."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def eof(self) -> bool:
        return self.pos >= self.end

    def _take(self, n: int, what: str) -> int:
        if n < 0 or self.pos + n > self.end:
            raise TlsDecodeError(f"{what}: needs {n} bytes, {self.remaining} left", self.pos)
        start = self.pos
        self.pos += n
        return start

    def uint(self, size: int, what: str = "integer") -> int:
        start = self._take(size, what)
        return int.from_bytes(self.data[start : start + size], "big")

    # The fixed-size readers are :meth:`uint` written out (they run for every field of
    # every message): the same checks, the same errors at the same offsets.

    def uint8(self, what: str = "uint8") -> int:
        pos = self.pos
        if pos + 1 > self.end:
            raise TlsDecodeError(f"{what}: needs 1 bytes, {self.end - pos} left", pos)
        self.pos = pos + 1
        return self.data[pos]

    def uint16(self, what: str = "uint16") -> int:
        pos = self.pos
        if pos + 2 > self.end:
            raise TlsDecodeError(f"{what}: needs 2 bytes, {self.end - pos} left", pos)
        self.pos = pos + 2
        data = self.data
        return (data[pos] << 8) | data[pos + 1]

    def uint24(self, what: str = "uint24") -> int:
        pos = self.pos
        if pos + 3 > self.end:
            raise TlsDecodeError(f"{what}: needs 3 bytes, {self.end - pos} left", pos)
        self.pos = pos + 3
        data = self.data
        return (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]

    def uint32(self, what: str = "uint32") -> int:
        return self.uint(4, what)

    def raw(self, n: int, what: str = "bytes") -> bytes:
        start = self._take(n, what)
        return bytes(self.data[start : start + n])

    def rest(self) -> bytes:
        return self.raw(self.remaining)

    def vector(self, len_size: int, what: str = "vector") -> bytes:
        """opaque x<0..2^(8*len_size)-1>"""
        pos = self.pos
        end = self.end
        if pos + len_size > end:
            raise TlsDecodeError(f"{what} length: needs {len_size} bytes, {end - pos} left", pos)
        data = self.data
        if len_size == 1:
            n = data[pos]
        elif len_size == 2:
            n = (data[pos] << 8) | data[pos + 1]
        else:
            n = int.from_bytes(data[pos : pos + len_size], "big")
        start = pos + len_size
        self.pos = start
        if start + n > end:
            raise TlsDecodeError(f"{what}: needs {n} bytes, {end - start} left", start)
        self.pos = start + n
        return bytes(data[start : start + n])

    def block(self, len_size: int, what: str = "block") -> Reader:
        """A sub-reader bounded by a length prefix; the parent skips past it."""
        n = self.uint(len_size, what + " length")
        start = self._take(n, what)
        return Reader(self.data, start, start + n)

    def uint16_list(self, len_size: int, what: str) -> tuple[int, ...]:
        sub = self.block(len_size, what)
        if sub.remaining % 2:
            raise TlsDecodeError(f"{what}: odd length {sub.remaining}", sub.pos)
        return tuple(sub.uint16(what) for _ in range(sub.remaining // 2))

    def uint8_list(self, len_size: int, what: str) -> tuple[int, ...]:
        return tuple(self.vector(len_size, what))

    def expect_end(self, what: str) -> None:
        if self.pos != self.end:
            raise TlsDecodeError(f"{what}: {self.end - self.pos} trailing bytes", self.pos)
