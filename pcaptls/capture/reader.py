"""Opening a capture: files, standard input, compression, chunked reading.

This is the only module of the capture layer that does I/O. It sniffs the
compression and the format from magic numbers (never from the file name),
then feeds chunks to the sans-IO parsers in :mod:`pcaptls.capture.formats`.
The whole file is never read or mapped at once.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import BinaryIO, Final

import zstandard

from pcaptls.errors import CaptureError

from .formats import (
    PCAP_MAGIC_KUZNETZOV,
    PCAP_MAGIC_NS,
    PCAP_MAGIC_US,
    PCAPNG_SHB,
    FormatError,
    PcapngParser,
    PcapParser,
)
from .frame import Frame, Interface, ReaderStats

CHUNK: Final = 1 << 20

_COMPRESSIONS: Final = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_DECOMPRESS_ERRORS: Final = (
    EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError, ValueError
)
_PCAP_MAGICS: Final = {
    m.to_bytes(4, order)
    for m in (PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV)
    for order in ("little", "big")
}


class _Prefixed(io.RawIOBase):
    """A read-only stream that first returns bytes already sniffed, and counts the rest."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        super().__init__()
        self._head = head
        self._raw = raw
        self.count = len(head)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


def _read_upto(stream: BinaryIO | io.BufferedIOBase | _Prefixed, n: int) -> bytes:
    """Read ``n`` bytes unless the stream ends first (pipes return short reads)."""
    parts = []
    got = 0
    while got < n:
        b = stream.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


def _describe_start(head: bytes) -> str:
    first = head[:4]
    if first and all(32 <= c < 127 for c in first):
        return f"starts with {first.decode('ascii')!r}"
    return "starts with 0x" + first.hex()


class CaptureReader:
    """Iterate the frames of one capture; a context manager that closes what it opened.

    ``notes`` collects one-line remarks about damage (file cut mid-record,
    corrupt record, compressed stream cut); ``truncated_at_frame`` is the number
    of the first frame that could not be read when the file is cut, else None.
    """

    def __init__(self, raw: BinaryIO, name: str, size: int | None, owned: bool) -> None:
        self.name = name
        self.size = size
        self.notes: list[str] = []
        self.truncated_at_frame: int | None = None
        self.stats = ReaderStats()
        self.compression: str | None = None
        self._raw = raw
        self._owned = owned
        self._counter: _Prefixed | None = None
        self._raw_read = 0
        self._iterated = False
        self._stream: BinaryIO | io.BufferedIOBase | _Prefixed = raw
        try:
            head = _read_upto(raw, 8)
        except OSError as e:
            self.close()
            raise CaptureError(f"{name}: cannot read: {e.strerror or e}") from None
        self._raw_read = len(head)
        if not head:
            self.close()
            raise CaptureError(f"{name}: empty file")
        for magic, kind in _COMPRESSIONS:
            if head.startswith(magic):
                self.compression = kind
                self._counter = _Prefixed(head, raw)
                self._stream = self._decompressor(kind, self._counter)
                try:
                    head = _read_upto(self._stream, 8)
                except _DECOMPRESS_ERRORS as e:
                    self.close()
                    raise CaptureError(f"{name}: {kind} data cannot be read ({e})") from None
                if not head:
                    self.close()
                    raise CaptureError(f"{name}: empty {kind} data")
                break
        self._parser = self._make_parser(head)

    @staticmethod
    def _decompressor(kind: str, src: _Prefixed) -> BinaryIO | io.BufferedIOBase:
        buffered = io.BufferedReader(src, CHUNK)
        if kind == "gzip":
            return gzip.GzipFile(fileobj=buffered, mode="rb")
        if kind == "xz":
            return lzma.LZMAFile(buffered)
        if kind == "bz2":
            return bz2.BZ2File(buffered)
        reader = zstandard.ZstdDecompressor().stream_reader(
            buffered, read_across_frames=True, closefd=False
        )
        return reader

    def _make_parser(self, head: bytes) -> PcapParser | PcapngParser:
        what = f"{self.compression} data is " if self.compression else ""
        self._buf = head
        if head[:4] in _PCAP_MAGICS:
            self._buf = head + self._read_upto(24 - len(head))
            if len(self._buf) < 24:
                self.close()
                raise CaptureError(
                    f"{self.name}: cut inside the pcap file header ({len(self._buf)} of 24 bytes)"
                )
            parser: PcapParser | PcapngParser = PcapParser(self._buf[:24], self.stats)
            self._pos = 24
            return parser
        if int.from_bytes(head[:4], "little") == PCAPNG_SHB:
            self._pos = 0
            return PcapngParser(self.stats)
        self.close()
        raise CaptureError(
            f"{self.name}: {what}not a capture file (pcap or pcapng; {_describe_start(head)})"
        )

    def _read_upto(self, n: int) -> bytes:
        data = _read_upto(self._stream, n)
        if self._counter is None:
            self._raw_read += len(data)
        return data

    def _read(self, n: int) -> bytes:
        data = self._stream.read(n)
        if self._counter is None:
            self._raw_read += len(data)
        return data

    @property
    def bytes_read(self) -> int:
        """Bytes of the file consumed so far (compressed bytes for a compressed file)."""
        return self._counter.count if self._counter is not None else self._raw_read

    @property
    def format(self) -> str:
        """``pcap`` or ``pcapng``."""
        return "pcap" if isinstance(self._parser, PcapParser) else "pcapng"

    @property
    def interfaces(self) -> list[Interface]:
        """Interfaces seen so far (grows while a pcapng file is read)."""
        p = self._parser
        return p.interfaces if isinstance(p, PcapParser) else p.all_interfaces

    @property
    def decryption_secrets(self) -> list[bytes]:
        """TLS key logs from pcapng Decryption Secrets Blocks, in file order, as read so far."""
        return self._parser.secrets

    def __iter__(self) -> Iterator[Frame]:
        if self._iterated:
            raise CaptureError(f"{self.name}: a capture can be iterated only once")
        self._iterated = True
        parser = self._parser
        buf, pos = self._buf, self._pos
        self._buf = b""
        frames: list[Frame] = []
        while True:
            try:
                pos = parser.parse(buf, pos, frames)
            except FormatError as e:
                yield from frames
                self._damaged(f"corrupt record after frame {parser.number}: {e}")
                return
            yield from frames
            frames.clear()
            refilled = self._refill(buf, pos, parser.number)
            if refilled is None:
                return
            buf, pos = refilled, 0

    # -- the raw path: classic pcap records walked by the caller -----------------------

    def raw_pcap(self) -> PcapParser | None:
        """The parser when the file is classic pcap with plain 16-byte record headers.

        Then :meth:`pcap_blocks` may be used instead of iterating: a caller that walks
        the records itself (the pipeline's fast path) makes no :class:`Frame` for the
        packets it does not need to look at.
        """
        p = self._parser
        if isinstance(p, PcapParser) and p.record_size == 16 and not self._iterated:
            return p
        return None

    def pcap_blocks(self) -> Generator[tuple[bytes, int], int, None]:
        """Yield ``(buffer, position)``; receive the position of the first record not used.

        Classic pcap only (see :meth:`raw_pcap`). The caller walks the complete 16-byte
        records of ``buffer`` from ``position``, keeps the parser's ``number`` and
        ``stats`` up to date, and sends back where it stopped; the next buffer starts
        with the bytes it left. A file cut inside a record is noted as when iterating.
        """
        if self._iterated:
            raise CaptureError(f"{self.name}: a capture can be iterated only once")
        self._iterated = True
        parser = self._parser
        buf, pos = self._buf, self._pos
        self._buf = b""
        while True:
            pos = yield buf, pos
            refilled = self._refill(buf, pos, parser.number)
            if refilled is None:
                return
            buf, pos = refilled, 0

    def _refill(self, buf: bytes, pos: int, last_frame: int) -> bytes | None:
        """The unread rest of ``buf`` plus the next chunk; ``None`` (with a damage note when
        bytes are left over or the compressed data is broken) at the end of the file."""
        try:
            chunk = self._read(CHUNK)
        except _DECOMPRESS_ERRORS as e:
            self._damaged(f"{self.compression} data cut or corrupt after frame {last_frame} ({e})")
            return None
        if not chunk:
            if pos < len(buf):
                self._damaged(
                    f"file cut in the middle of a record after frame {last_frame} "
                    f"({len(buf) - pos} bytes left over)"
                )
            return None
        return buf[pos:] + chunk if pos < len(buf) else chunk

    def corrupt(self, reason: str) -> None:
        """The caller of :meth:`pcap_blocks` met a record that cannot be right: stop there."""
        self._damaged(f"corrupt record after frame {self._parser.number}: {reason}")

    def _damaged(self, note: str) -> None:
        self.truncated_at_frame = self._parser.number + 1
        self.notes.append(note)
        if self._parser.number == 0:
            raise CaptureError(f"{self.name}: no frame can be read: {note}")

    def close(self) -> None:
        """Close the streams this reader opened (not a stream the caller passed in)."""
        if self._stream is not self._raw:
            with contextlib.suppress(*_DECOMPRESS_ERRORS):
                self._stream.close()
        if self._owned:
            self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_capture(source: str | os.PathLike[str] | BinaryIO) -> CaptureReader:
    """Open a capture file, ``"-"`` for standard input, or an already open binary stream.

    Raises :class:`CaptureError` with a one-line message when nothing can be read.
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path == "-":
            return CaptureReader(sys.stdin.buffer, "<stdin>", None, owned=False)
        try:
            f = open(path, "rb")  # noqa: SIM115 - the reader owns and closes it
        except IsADirectoryError:
            raise CaptureError(f"{path}: is a directory") from None
        except FileNotFoundError:
            raise CaptureError(f"{path}: no such file") from None
        except PermissionError:
            raise CaptureError(f"{path}: permission denied") from None
        except OSError as e:
            raise CaptureError(f"{path}: {e.strerror or e}") from None
        st = os.fstat(f.fileno())
        if stat.S_ISDIR(st.st_mode):
            f.close()
            raise CaptureError(f"{path}: is a directory")
        size = st.st_size if stat.S_ISREG(st.st_mode) else None
        return CaptureReader(f, path, size, owned=True)
    name = str(getattr(source, "name", "<stream>"))
    return CaptureReader(source, name, None, owned=False)
