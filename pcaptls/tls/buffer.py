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

    def uint8(self, what: str = "uint8") -> int:
        return self.uint(1, what)

    def uint16(self, what: str = "uint16") -> int:
        return self.uint(2, what)

    def uint24(self, what: str = "uint24") -> int:
        return self.uint(3, what)

    def uint32(self, what: str = "uint32") -> int:
        return self.uint(4, what)

    def raw(self, n: int, what: str = "bytes") -> bytes:
        start = self._take(n, what)
        return bytes(self.data[start : start + n])

    def rest(self) -> bytes:
        return self.raw(self.remaining)

    def vector(self, len_size: int, what: str = "vector") -> bytes:
        """opaque x<0..2^(8*len_size)-1>"""
        return self.raw(self.uint(len_size, what + " length"), what)

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
