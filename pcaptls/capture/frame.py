"""The unit the file readers hand to the link-layer decoder.

A :class:`Frame` is a ``NamedTuple`` rather than a dataclass: one is made per
packet, and building a tuple is several times cheaper than running a
dataclass ``__init__`` on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Frame(NamedTuple):
    """One captured frame, numbered from 1 as Wireshark does."""

    number: int
    time_ns: int
    link_type: int
    data: bytes
    orig_len: int


@dataclass(slots=True)
class ReaderStats:
    """Counters kept while reading; ``snapped`` = frames with caplen < orig_len."""

    frames: int = 0
    snapped: int = 0


@dataclass(frozen=True, slots=True)
class Interface:
    """A capture interface (pcapng IDB, or the single one of a classic pcap)."""

    index: int
    link_type: int
    snaplen: int
    #: resolution of timestamps, as (numerator, denominator) to nanoseconds
    ts_mul: int = 1000
    ts_div: int = 1
    ts_offset_ns: int = 0
    name: str | None = None
