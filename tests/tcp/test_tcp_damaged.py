"""Reassembly of damaged real captures (fixtures/make_damaged.py and its MANIFEST.json).

Each damaged file must give what tshark's follow gives on it, and what its
undamaged source gives where the bytes are present; a removed segment must be
a gap exactly where the manifest says; a resent segment with other bytes must
be reported as an overlap with both frames, the first bytes winning.
"""

from __future__ import annotations

import json

import pytest
import streams
import tshark

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder
from pcaptls.tcp import Gap, Overlap

FIXTURES = tshark.ROOT / "fixtures"
DAMAGED = FIXTURES / "captures" / "damaged"
MANIFEST: dict[str, dict[str, object]] = json.loads((DAMAGED / "MANIFEST.json").read_text())



def _source_chunks(name: str) -> dict[tuple[str, int], list[bytes | int]]:
    """tshark's bytes of the undamaged source, per sending endpoint."""
    src = str(FIXTURES / str(MANIFEST[name]["source"]))
    (fs,) = tshark.follow_all(src).values()
    return {fs.node0: tshark.normalize(fs.chunks[0]), fs.node1: tshark.normalize(fs.chunks[1])}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_damaged_equals_tshark_follow(name: str) -> None:
    path = str(DAMAGED / name)
    ref = tshark.follow_all(path)
    ours = streams.track(path)
    assert sorted(ours.conns) == [n + 1 for n in sorted(ref)]
    for n, fs in ref.items():
        assert ours.conns[n + 1].endpoints == (fs.node0, fs.node1)
        for i in (0, 1):
            got, want = ours.chunks[n + 1][i], fs.chunks[i]
            if "snap" in name:
                # tshark's follow glues the captured parts of snapped frames together
                # without a mark; we put a gap for each missing tail. Same bytes present.
                got = [c for c in got if isinstance(c, bytes)]
            assert tshark.normalize(got) == tshark.normalize(want)


@pytest.mark.parametrize("name", sorted(n for n, m in MANIFEST.items() if m.get("same_bytes")))
def test_same_bytes_as_the_source(name: str) -> None:
    ours = streams.track(str(DAMAGED / name))
    (conn,) = ours.conns.values()
    want = _source_chunks(name)
    for i, ep in enumerate(conn.endpoints):
        assert tshark.normalize(ours.chunks[conn.id][i]) == want[ep]


@pytest.mark.parametrize("name", sorted(n for n, m in MANIFEST.items() if "gaps" in m))
def test_missing_segment_is_a_gap(name: str) -> None:
    ours = streams.track(str(DAMAGED / name))
    gaps = [[e.conn.endpoints[e.conn.index_of(e.side)][1], e.offset, e.length]
            for e in ours.events if isinstance(e, Gap)]
    assert gaps == MANIFEST[name]["gaps"]
    (conn,) = ours.conns.values()
    src = _source_chunks(name)
    for i, ep in enumerate(conn.endpoints):
        got = tshark.normalize(ours.chunks[conn.id][i])
        (whole,) = src[ep] or [b""]
        assert isinstance(whole, bytes)
        # present bytes equal the source's around the hole
        pos = 0
        for c in got:
            if isinstance(c, int):
                pos += c
            else:
                assert c == whole[pos:pos + len(c)]
                pos += len(c)
        assert pos == len(whole)


@pytest.mark.parametrize("name", sorted(n for n, m in MANIFEST.items() if "overlaps" in m))
def test_differing_overlap_is_reported(name: str) -> None:
    ours = streams.track(str(DAMAGED / name))
    got = [[e.frame, e.earlier_frame, e.offset, e.length]
           for e in ours.events if isinstance(e, Overlap)]
    assert got == MANIFEST[name]["overlaps"]


def test_snap_length_cut_is_a_gap_not_garbage() -> None:
    path = str(DAMAGED / "verylong-snap96.pcap")
    rows = tshark.fields(path, "tcp.srcport", "tcp.len", "tcp.payload")
    missing: dict[int, int] = {}
    for port, length, payload in rows:
        missing[int(port)] = missing.get(int(port), 0) + int(length) - len(payload) // 2
    ours = streams.track(path)
    (conn,) = ours.conns.values()
    for i, (_, port) in enumerate(conn.endpoints):
        assert conn.dirs[i].gap_bytes == missing[port]
    with open_capture(path) as r:
        n = sum(1 for _ in r)
        assert r.stats.snapped == sum(1 for row in rows if int(row[1]) > len(row[2]) // 2) > 0
        assert n == len(rows)


def test_file_cut_mid_record() -> None:
    name = "verylong-cut.pcap"
    with open_capture(DAMAGED / name) as r:
        frames = list(r)
        assert r.truncated_at_frame == MANIFEST[name]["truncated_at_frame"]
        assert len(frames) == r.truncated_at_frame - 1
        assert r.notes


def test_midstream_start_uses_the_port_heuristic() -> None:
    ours = streams.track(str(DAMAGED / "verylong-midstream.pcap"))
    (conn,) = ours.conns.values()
    assert conn.midstream
    assert conn.client_by == "port"
    # the source's SYN came from 54804 (tshark on the source)
    rows = tshark.fields(str(FIXTURES / "external/ndpi/tls_verylong_certificate.pcap"),
                         "tcp.srcport", "tcp.flags.syn", "tcp.flags.ack")
    syn_port = next(int(p) for p, s, a in rows if s in ("1", "True") and a in ("0", "False"))
    assert conn.client_port == syn_port


def test_out_of_order_limit_gives_up_on_the_hole_early(monkeypatch: pytest.MonkeyPatch) -> None:
    from pcaptls.tcp import tracker

    name = "verylong-missing.pcap"
    full = streams.track(str(DAMAGED / name))
    monkeypatch.setattr(tracker, "MAX_PENDING_SEGMENTS", 2)
    dec = Decoder()
    with open_capture(DAMAGED / name) as r:
        segs = [s for f in r if (s := dec.decode(f)) is not None]
    tr = tracker.TcpTracker()
    gaps_while_reading = [e for s in segs for e in tr.feed(s) if isinstance(e, Gap)]
    tr.finish()
    # the hole is given up when the third segment after it is buffered, not at the end
    assert [[g.offset, g.length] for g in gaps_while_reading] == [
        g[1:] for g in MANIFEST[name]["gaps"]  # type: ignore[attr-defined]
    ]
    limited = streams.track(str(DAMAGED / name))
    assert limited.chunks == full.chunks
