"""Reassembly under any arrival order: shuffled, duplicated and dropped segments of a
real connection whose server sequence numbers wrap past 2**32 (verylong-seqwrap.pcap).

Whatever the order, the bytes delivered must be the bytes tshark follows in the
undamaged original; segments dropped must leave gaps exactly where they were (also at the end, up to
the FIN's sequence number).
"""

from __future__ import annotations

import tshark
from hypothesis import given, settings
from hypothesis import strategies as st

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder, TcpSegment
from pcaptls.tcp import Data, Gap, TcpTracker

FIXTURES = tshark.ROOT / "fixtures"
WRAPPED = FIXTURES / "captures" / "damaged" / "verylong-seqwrap.pcap"
ORIGINAL = str(FIXTURES / "external" / "ndpi" / "tls_verylong_certificate.pcap")



def _segments() -> list[TcpSegment]:
    dec = Decoder()
    with open_capture(WRAPPED) as r:
        return [s for f in r if isinstance(s := dec.decode(f), TcpSegment)]


SEGMENTS = _segments()
HEAD = SEGMENTS[:3]  # SYN, SYN-ACK, ACK stay first: they fix the sequence bases
SERVER_DATA = [s for s in SEGMENTS[3:] if s.sport == 443 and s.payload]
REST = [s for s in SEGMENTS[3:] if not (s.sport == 443 and s.payload)]


def _server_bytes() -> bytes:
    (fs,) = tshark.follow_all(ORIGINAL).values()
    node = 0 if fs.node0[1] == 443 else 1
    return b"".join(c for c in fs.chunks[node] if isinstance(c, bytes))


def _run(segments: list[TcpSegment]) -> tuple[dict[int, bytes], list[tuple[int, int]]]:
    tr = TcpTracker()
    data: dict[int, bytes] = {}
    gaps: list[tuple[int, int]] = []
    events = [e for s in segments for e in tr.feed(s)] + tr.finish()
    for e in events:
        if isinstance(e, Data) and e.conn.server_port == 443 and e.side == "server":
            data[e.offset] = e.data
        elif isinstance(e, Gap) and e.side == "server":
            gaps.append((e.offset, e.length))
    return data, gaps


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(range(len(SERVER_DATA))),
       dups=st.lists(st.integers(0, len(SERVER_DATA) - 1), max_size=5))
def test_any_order_gives_the_same_bytes(order: list[int], dups: list[int]) -> None:
    shuffled = [SERVER_DATA[i] for i in order] + [SERVER_DATA[i] for i in dups]
    data, gaps = _run(HEAD + shuffled + REST)
    assert gaps == []
    assert b"".join(data[k] for k in sorted(data)) == _server_bytes()


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(range(len(SERVER_DATA))),
       drop=st.sets(st.integers(0, len(SERVER_DATA) - 1), min_size=1, max_size=4))
def test_dropped_segments_are_gaps_where_they_were(order: list[int], drop: set[int]) -> None:
    whole = _server_bytes()
    base = (HEAD[1].seq + 1) & 0xFFFFFFFF
    kept = [SERVER_DATA[i] for i in order if i not in drop]
    data, gaps = _run(HEAD + kept + REST)
    for off, chunk in data.items():
        assert chunk == whole[off:off + len(chunk)]
    # expected holes: the dropped segments' ranges not covered by kept ones
    covered = bytearray(len(whole))
    for s in kept:
        off = (s.seq - base) & 0xFFFFFFFF
        covered[off:off + len(s.payload)] = b"\x01" * len(s.payload)
    holes = []
    i = 0
    while i < len(whole):
        if not covered[i]:
            j = i
            while j < len(whole) and not covered[j]:
                j += 1
            holes.append((i, j - i))
            i = j
        else:
            i += 1
    last_kept = max(((s.seq - base) & 0xFFFFFFFF) + len(s.payload) for s in kept) if kept else 0
    # A hole is known when a later byte was seen, or the server's FIN says where the end is.
    fins = [(s.seq - base) & 0xFFFFFFFF for s in REST if s.sport == 443 and s.flags & 0x01]
    known_end = max([last_kept, *fins])
    assert gaps == [h for h in holes if h[0] < known_end]
    assert sum(len(c) for c in data.values()) + sum(n for _, n in gaps) == known_end


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(range(len(SEGMENTS))), st.integers(0, 0xFFFFFFFF),
                          st.integers(0, 0x1FF), st.integers(0, 3000)), max_size=40))
def test_tracker_never_raises_on_nonsense(mutations: list[tuple[int, int, int, int]]) -> None:
    tr = TcpTracker()
    for i, seq, flags, size in mutations:
        s = SEGMENTS[i]._replace(seq=seq, flags=flags, payload=bytes(size % 1500),
                                 missing_tail=size // 1500)
        for e in tr.feed(s):
            if isinstance(e, Gap):
                assert e.length > 0
            elif isinstance(e, Data):
                assert e.data
    tr.finish()
    assert tr.connections_open == 0
