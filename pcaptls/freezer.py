"""Settled connections, frozen: a busy capture's open connections in a sixth of the memory.

A SIP-over-TLS capture of a busy SBC holds tens of thousands of connections open at
once, nearly all of them past their handshake: until their end, their packets only
move counters in the fast lane (:mod:`pcaptls.fastpath`). Their parsed state (TCP
directions, the TLS connection with its hellos, certificates and events) is needed
again only when a packet leaves the lane (a FIN, a retransmission, an alert) or at the
end of the capture. So when more connections are open than :data:`HOT_CONNECTIONS`,
the pipeline *freezes* settled ones, at the tracker's sweeps (every 65,536 segments):
their state is pickled and compressed, they leave the tracker and the pipeline's tables,
and their two lanes go on counting into small stand-ins. The first packet that leaves
the lane *thaws* the connection: the state is unpickled, the stand-ins' counters are
written back and the packet takes the ordinary path, exactly as if nothing had happened
(``tests/test_freezer.py`` compares tables with freezing forced on every settled
connection against the straightforward path).

Compression uses zstd with the first frozen connection as its dictionary: the next ones
share its certificates, extensions and class names, so only what is unique to each
(randoms, key shares, counters) is stored, ~3.5 KB. Frozen states are kept in a
temporary file, which goes away with the process; memory keeps the lanes, their
stand-ins and a file offset, ~2 KB a connection instead of ~12 KB.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from typing import TYPE_CHECKING, Any, Final

from pcaptls.tcp.connection import _RELEASED, EMPTY_HISTORY

if TYPE_CHECKING:
    from pcaptls.fastpath import Lane
    from pcaptls.pipeline import _Conn


_DEFAULT_HOT: Final = 4000


def _hot_connections() -> int:
    text = os.environ.get("PCAPTLS_HOT_CONNECTIONS", "").strip()
    try:
        return max(0, int(text)) if text else _DEFAULT_HOT
    except ValueError:
        return _DEFAULT_HOT


#: open connections kept as they are; past this, settled ones are frozen at the sweeps
#: (``PCAPTLS_HOT_CONNECTIONS``; 0 freezes every connection as soon as it settles: the
#: tests' way of sending every connection of a small capture through the freezer)
HOT_CONNECTIONS: Final = _hot_connections()
#: compress frozen states (zstd, with the first one as the dictionary)
COMPRESS: Final = os.environ.get("PCAPTLS_FREEZE_COMPRESS", "1") != "0"


class Side:
    """What a lane moves of one frozen direction: the counters of its TCP ``Direction``
    and the position of its TLS ``RecordReader`` (one object stands in for both)."""

    __slots__ = ("_buf_offset", "_pending", "_skip_left", "bytes", "next_off", "packets",
                 "records_seen")

    def __init__(self, d: Any, r: Any) -> None:
        self.packets: int = d.packets
        self.bytes: int = d.bytes
        self.next_off: int = d.next_off
        self._pending: Any = r._pending
        self._skip_left: int = r._skip_left
        self._buf_offset: int = r._buf_offset
        self.records_seen: int = r.records_seen


class Frozen:
    """A frozen connection: where its state is, and the connection counters lanes move."""

    __slots__ = (
        "conn_id",
        "histories",
        "lanes",
        "last_frame",
        "last_time_ns",
        "length",
        "offset",
        "provider",
        "sides",
        "stats",
    )

    def __init__(self, conn_id: int, last_frame: int, last_time_ns: int) -> None:
        self.conn_id = conn_id
        self.last_frame = last_frame
        self.last_time_ns = last_time_ns
        self.offset = 0
        self.length = 0
        self.sides: tuple[Side, Side] | None = None
        self.lanes: tuple[Lane, Lane] | None = None
        #: the TLS statistics of (client, server): kept live, lanes add to them
        self.stats: tuple[Any, Any] = (None, None)
        self.provider: Any = None
        #: per direction: which shared empty history it had (an index in _HISTORIES), or -1
        self.histories: tuple[int, int] = (-1, -1)


def _rebuild(cls: type, names: tuple[str, ...], values: tuple[Any, ...]) -> Any:
    obj: Any = object.__new__(cls)
    for name, value in zip(names, values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


def _fast_reducers() -> dict[type, Any]:
    """Reducers for pcaptls's slotted dataclasses: the standard library pickles them field
    by field through ``dataclasses.fields()``, over half of pickling's time under cProfile.
    (Classes of modules imported after the first freeze pickle the standard way.)"""
    import dataclasses
    import operator
    import sys

    out: dict[type, Any] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("pcaptls.") or module is None:
            continue
        for cls in vars(module).values():
            if (isinstance(cls, type) and dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)
                    and cls.__module__ == name and cls not in out):
                names = tuple(f.name for f in dataclasses.fields(cls))
                if not names:
                    continue
                get = operator.attrgetter(*names)
                if len(names) == 1:
                    out[cls] = (lambda obj, c=cls, n=names, g=get: (_rebuild, (c, n, (g(obj),))))
                else:
                    out[cls] = (lambda obj, c=cls, n=names, g=get: (_rebuild, (c, n, g(obj))))
    return out


class _Pickler(pickle.Pickler):
    def __init__(self, f: io.BytesIO, reducers: dict[type, Any]) -> None:
        super().__init__(f, protocol=pickle.HIGHEST_PROTOCOL)
        self.dispatch_table = reducers


#: how a direction's retransmission history is put back: these two are shared singletons
_HISTORIES: Final = (EMPTY_HISTORY, _RELEASED)


def _codecs(sample: bytes) -> tuple[Any, Any]:
    """A zstd compressor and decompressor sharing ``sample`` as their dictionary: the next
    frozen connections repeat most of its bytes (certificates, extensions, class names)."""
    import zstandard

    zd = zstandard.ZstdCompressionDict(sample, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    return (zstandard.ZstdCompressor(level=1, dict_data=zd),
            zstandard.ZstdDecompressor(dict_data=zd))


def _slot(length: int) -> int:
    """The room a state of ``length`` bytes takes in the file: a multiple of 1 KiB."""
    return (length + 1023) & ~1023


class Freezer:
    """The frozen connections of one pipeline, and the file that holds their state."""

    def __init__(self) -> None:
        self.count = 0
        #: how often connections were frozen and thawed
        self.frozen_total = 0
        self.thawed_total = 0
        #: the most connections frozen at once
        self.peak = 0
        self._zstd: tuple[Any, Any] | None = None
        self._reducers: dict[type, Any] | None = None
        self._file: Any = None
        self._end = 0
        #: places in the file a thawed state left, by size class: reused, so the file
        #: stays the size of the states frozen at once, not of all ever frozen
        self._free: dict[int, list[int]] = {}

    def freeze(self, c: _Conn, lanes: tuple[Lane, Lane]) -> Frozen | None:
        """Pickle ``c``; point its lanes at stand-ins. The caller removes ``c`` from the
        tracker and the pipeline, and drops it. None, with ``c`` as it was, when its state
        cannot be pickled or written (freezing only saves memory: it must never fail a run)."""
        conn = c.tcp
        tls = c.tls
        fz = Frozen(conn.id, conn.last_frame, conn.last_time_ns)
        fz.sides = (Side(lanes[0].d, lanes[0].reader), Side(lanes[1].d, lanes[1].reader))
        fz.lanes = lanes
        # What stays in memory is taken out of the state before it is pickled: the
        # statistics the lanes add to, the key log, the shared empty histories.
        fz.stats = (tls.app_data["client"], tls.app_data["server"])
        fz.provider = tls.key_provider
        tls.app_data = tls.key_provider = None
        marks = []
        for d in conn.dirs:
            h = d.history
            if h is EMPTY_HISTORY or h is _RELEASED:
                marks.append(_HISTORIES.index(h))
                d.history = None  # type: ignore[assignment]
            else:
                marks.append(-1)
        fz.histories = (marks[0], marks[1])
        free: list[int] | None = None
        offset = -1
        try:
            blob = self._pickle(c)
            if self._file is None:
                # closed by close(), at the end of the pass (lives across many calls)
                self._file = tempfile.TemporaryFile(prefix="pcaptls-frozen-")  # noqa: SIM115
            size = _slot(len(blob))
            free = self._free.get(size)
            offset = free.pop() if free else self._end
            self._file.seek(offset)
            self._file.write(blob)
        except (pickle.PicklingError, TypeError, AttributeError, OSError):
            if free is not None and 0 <= offset != self._end:
                free.append(offset)
            self._restore(c, fz)
            return None
        if offset == self._end:
            self._end += size
        fz.offset = offset
        fz.length = len(blob)
        for lane, side in zip(lanes, fz.sides, strict=True):
            lane.conn = fz  # type: ignore[assignment]
            lane.d = side  # type: ignore[assignment]
            lane.reader = side
            lane.marks = None
            lane.frozen = fz
        self.count += 1
        self.frozen_total += 1
        if self.count > self.peak:
            self.peak = self.count
        return fz

    def _pickle(self, c: _Conn) -> Any:
        buf = io.BytesIO()
        if self._reducers is None:
            self._reducers = _fast_reducers()
        _Pickler(buf, self._reducers).dump(c)
        raw = buf.getbuffer()
        if not COMPRESS:
            return raw
        if self._zstd is None:
            self._zstd = _codecs(bytes(raw))
        return self._zstd[0].compress(raw)

    @staticmethod
    def _restore(c: _Conn, fz: Frozen) -> None:
        """Put back what :meth:`freeze` took out of ``c`` before pickling it."""
        tls = c.tls
        tls.app_data = {"client": fz.stats[0], "server": fz.stats[1]}
        tls.key_provider = fz.provider
        for d, mark in zip(c.tcp.dirs, fz.histories, strict=True):
            if mark >= 0:
                d.history = _HISTORIES[mark]

    def thaw(self, fz: Frozen) -> _Conn:
        """The frozen connection as it would be had it never been frozen."""
        assert self._file is not None and fz.lanes is not None and fz.sides is not None
        self._file.seek(fz.offset)
        raw = self._file.read(fz.length)
        self._free.setdefault(_slot(fz.length), []).append(fz.offset)
        if COMPRESS:
            assert self._zstd is not None
            raw = self._zstd[1].decompress(raw)
        c: _Conn = pickle.loads(raw)
        conn = c.tcp
        conn.last_frame = fz.last_frame
        conn.last_time_ns = fz.last_time_ns
        self._restore(c, fz)
        tls = c.tls
        for idx, (lane, side) in enumerate(zip(fz.lanes, fz.sides, strict=True)):
            d = conn.dirs[idx]
            d.packets = side.packets
            d.bytes = side.bytes
            d.next_off = side.next_off
            r = tls._dirs[tls._role(c.label_of[idx])].reader
            r._pending = side._pending
            r._skip_left = side._skip_left
            r._buf_offset = side._buf_offset
            r.records_seen = side.records_seen
            if lane.mark_frame:
                r._marks[-1] = (side._buf_offset, lane.mark_frame, lane.mark_t)
            lane.frozen = None
        self.count -= 1
        self.thawed_total += 1
        return c

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
