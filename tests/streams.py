"""Our side of the stream comparisons: capture -> decoder -> tracker, collected per connection."""

from __future__ import annotations

from dataclasses import dataclass, field

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder, TcpSegment
from pcaptls.tcp import ConnectionStart, Data, Event, Gap, TcpTracker
from pcaptls.tcp.connection import Connection


@dataclass
class Tracked:
    """Every event of one capture, and per connection the chunks of each direction."""

    events: list[Event]
    conns: dict[int, Connection] = field(default_factory=dict)
    #: conn id -> (index 0 chunks, index 1 chunks): bytes for data, int for a gap
    chunks: dict[int, tuple[list[bytes | int], list[bytes | int]]] = field(default_factory=dict)


def track(path: str, *, forget_ended: bool = False) -> Tracked:
    dec = Decoder()
    tr = TcpTracker(forget_ended=forget_ended)
    events: list[Event] = []
    with open_capture(path) as r:
        for f in r:
            s = dec.decode(f)
            if isinstance(s, TcpSegment):
                events.extend(tr.feed(s))
    events.extend(tr.finish())
    t = Tracked(events)
    for e in events:
        if isinstance(e, ConnectionStart):
            t.conns[e.conn.id] = e.conn
            t.chunks[e.conn.id] = ([], [])
        elif isinstance(e, Data):
            t.chunks[e.conn.id][e.direction].append(e.data)
        elif isinstance(e, Gap):
            t.chunks[e.conn.id][e.direction].append(e.length)
    return t
