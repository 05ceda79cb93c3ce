"""Rows kept on disk past a threshold, so a table's memory does not grow with the capture.

A 10M-packet capture makes about 10^5 rows per table; as Python dicts that is hundreds
of MB. A :class:`RowSpool` holds its first :data:`SPOOL_ROWS` rows as a plain list (a
small capture pays nothing); past that it pickles them, :data:`BATCH_ROWS` to a pickle,
to an anonymous temporary file (gone when closed or collected, never in the user's
directories) and reads them back a batch at a time. :func:`sorted_rows` sorts more rows
than fit in memory the same way: sorted runs on disk, merged.

Rows are never changed in place once made (see :mod:`pcaptls.report.table`): a row read
back from disk is an equal copy, and list cells that were one shared list may come back
as separate equal lists.
"""

from __future__ import annotations

import bisect
import heapq
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, Any, overload

Row = dict[str, Any]

#: rows a spool keeps in memory before it writes to disk (``PCAPTLS_SPOOL_ROWS`` sets it;
#: tests set it to a few rows to exercise the disk path on small captures)
def _spool_rows(default: int = 2000) -> int:
    text = os.environ.get("PCAPTLS_SPOOL_ROWS", "").strip()
    try:
        return max(0, int(text)) if text else default
    except ValueError:  # a measuring knob: nonsense means the default, not a failed run
        return default


SPOOL_ROWS = _spool_rows()
#: rows per pickle: what one step of reading back holds in memory
BATCH_ROWS = 1000
#: rows per pickle of a sort's run; a merge holds one such batch per run at once
RUN_BATCH_ROWS = 100
#: runs merged at once; more are merged in several passes so a merge's memory stays bounded
MERGE_FANOUT = 64
PICKLE_PROTOCOL = 5


class RowSpool(Sequence[Row]):
    """A list of rows that moves to a temporary file past ``limit`` rows.

    ``append``, ``extend``, ``len``, iteration (in insertion order, any number of times,
    one batch in memory at a time), ``reversed``, indexing and slicing, equality with a
    list. Pickles as its rows (streamed, so an Analysis can cross a process boundary)
    and comes back as a RowSpool in the receiving process.
    """

    __slots__ = ("_cap", "_file", "_offsets", "_spilled", "_starts", "_tail", "_window", "batch", "limit")

    def __init__(self, rows: Iterable[Row] = (), limit: int | None = None, batch: int | None = None) -> None:
        self.limit = SPOOL_ROWS if limit is None else max(0, limit)
        self.batch = max(1, BATCH_ROWS if batch is None else batch)
        #: the tail's length that makes it go to disk: ``limit`` until the first time,
        #: then one batch (a large table keeps at most a batch in memory)
        self._cap = max(1, self.limit)
        self._tail: list[Row] = []
        self._file: IO[bytes] | None = None
        self._offsets: list[int] = [0]  # byte offset of each batch on disk, then the end
        self._starts: list[int] = []  # index of each batch's first row
        self._spilled = 0  # rows on disk
        self._window: tuple[int, list[Row]] | None = None  # the batch indexing read last
        if rows:
            self.extend(rows)

    # --- filling ---------------------------------------------------------------------------
    def append(self, row: Row) -> None:
        tail = self._tail
        tail.append(row)
        if len(tail) >= self._cap:
            self._spill()

    def extend(self, rows: Iterable[Row]) -> None:
        tail = self._tail
        cap = self._cap
        for row in rows:
            tail.append(row)
            if len(tail) >= cap:
                self._spill()
                cap = self._cap

    def _spill(self) -> None:
        """Write the in-memory tail to disk in batches."""
        tail = self._tail
        if not tail:
            return
        self._write(tail, self.batch)
        tail.clear()
        self._cap = min(self._cap, self.batch)

    def _write(self, rows: list[Row], batch: int) -> None:
        f = self._file
        if f is None:
            # Lives as long as the spool (closed by close() or when collected).
            f = self._file = tempfile.TemporaryFile(prefix="pcaptls-rows-")  # noqa: SIM115
        f.seek(self._offsets[-1])
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            f.write(pickle.dumps(part, protocol=PICKLE_PROTOCOL))
            self._starts.append(self._spilled)
            self._spilled += len(part)
            self._offsets.append(f.tell())

    def close(self) -> None:
        """Drop the rows and the temporary file now rather than when collected."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tail = []
        self._offsets = [0]
        self._starts = []
        self._spilled = 0
        self._window = None
        self._cap = max(1, self.limit)

    # --- reading ---------------------------------------------------------------------------
    def _batch(self, b: int) -> list[Row]:
        f = self._file
        assert f is not None
        start, end = self._offsets[b], self._offsets[b + 1]
        f.seek(start)
        rows: list[Row] = pickle.loads(f.read(end - start))
        return rows

    def __len__(self) -> int:
        return self._spilled + len(self._tail)

    def __bool__(self) -> bool:
        return self._spilled > 0 or bool(self._tail)

    def _batches(self, first: int, end: int) -> Iterator[Row]:
        """The rows of batches ``first`` to ``end - 1``, one batch in memory at a time."""
        for b in range(first, end):
            yield from self._batch(b)

    def __iter__(self) -> Iterator[Row]:
        yield from self._batches(0, len(self._starts))
        yield from self._tail

    def __reversed__(self) -> Iterator[Row]:
        yield from reversed(self._tail)
        for b in range(len(self._starts) - 1, -1, -1):
            yield from reversed(self._batch(b))

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step == 1:
                return list(islice(self, start, max(start, stop)))
            return [self[i] for i in range(start, stop, step)]
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("RowSpool index out of range")
        if i >= self._spilled:
            return self._tail[i - self._spilled]
        b = _last_at_most(self._starts, i)
        if self._window is None or self._window[0] != b:
            self._window = (b, self._batch(b))
        return self._window[1][i - self._starts[b]]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RowSpool | list | tuple):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable, like list

    def __repr__(self) -> str:
        return f"<RowSpool {len(self)} rows, {self._spilled} on disk>"

    def __reduce__(self) -> tuple[Any, ...]:
        # The rows as pickle's list items: written a batch at a time, and appended
        # (through ``extend``) to a new spool on the other side.
        return (RowSpool, ((), self.limit, self.batch), None, iter(self))


def _last_at_most(starts: list[int], i: int) -> int:
    """The index of the last batch starting at or before row ``i``."""
    return bisect.bisect_right(starts, i) - 1


def sorted_rows(rows: Iterable[Row], key: Callable[[Row], Any], *, limit: int | None = None) -> RowSpool:
    """``sorted(rows, key=key)`` as a :class:`RowSpool`, in memory for at most ``limit`` rows.

    More rows than that are sorted in runs of ``limit``, written one after the other to
    one temporary file, then merged; ties keep their input order, exactly as
    :func:`sorted` does (each run is sorted stably, and a run's number is part of the
    merge key).
    """
    limit = SPOOL_ROWS if limit is None else limit
    per_run = max(1, limit)
    it = iter(rows)
    first = list(islice(it, per_run))
    first.sort(key=key)
    if len(first) < per_run:
        return RowSpool(first, limit)
    runs = _Runs()
    runs.add(first)
    del first
    while chunk := list(islice(it, per_run)):
        chunk.sort(key=key)
        runs.add(chunk)
        del chunk
    while len(runs.bounds) > MERGE_FANOUT:
        # Consecutive runs merged in order stay consecutive: ties still keep input order.
        merged = _Runs()
        for i in range(0, len(runs.bounds), MERGE_FANOUT):
            merged.add(_merge(runs.each(i, i + MERGE_FANOUT), key))
        runs.close()
        runs = merged
    out = RowSpool(limit=limit)
    out.extend(_merge(runs.each(0, len(runs.bounds)), key))
    runs.close()
    return out


class _Runs:
    """A sort's sorted runs, one after the other in one file (one descriptor for all)."""

    __slots__ = ("bounds", "spool")

    def __init__(self) -> None:
        self.spool = RowSpool(limit=0, batch=RUN_BATCH_ROWS)
        self.bounds: list[tuple[int, int]] = []  # each run's first batch and end batch

    def add(self, rows: Iterable[Row]) -> None:
        spool = self.spool
        first = len(spool._starts)
        it = iter(rows)
        while chunk := list(islice(it, RUN_BATCH_ROWS)):
            spool._write(chunk, RUN_BATCH_ROWS)
        self.bounds.append((first, len(spool._starts)))

    def each(self, first: int, end: int) -> list[Iterator[Row]]:
        """Runs ``first`` to ``end - 1``, each as its own stream."""
        return [self.spool._batches(a, b) for a, b in self.bounds[first:end]]

    def close(self) -> None:
        self.spool.close()


def _merge(runs: Sequence[Iterable[Row]], key: Callable[[Row], Any]) -> Iterator[Row]:
    """The rows of sorted ``runs`` in order; equal keys in run order (never comparing rows)."""
    # Only one row of each run is in the merge's heap at a time, so two entries never
    # tie on (key, run number) and the rows themselves are never compared.
    keyed = [_keyed(run, key, n) for n, run in enumerate(runs)]
    for _k, _n, row in heapq.merge(*keyed):
        yield row


def _keyed(run: Iterable[Row], key: Callable[[Row], Any], n: int) -> Iterator[tuple[Any, int, Row]]:
    for r in run:
        yield key(r), n, r
