"""Connection tracking: outcomes with their evidence frames, stream numbering on port
reuse, who the client is, and the consumer's controls (skip, stop, set_client).

Outcome ground truth is the scenario that made fixtures/captures/formats/sll2-outcomes.pcap
(fixtures/tcp_outcome_scenarios.py: each port was made to end one way); frame
numbers of the evidence come from tshark.
"""

from __future__ import annotations

import struct
from pathlib import Path

import streams
import tshark

from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder, TcpSegment
from pcaptls.tcp import ConnectionEnd, ConnectionStart, Data, Flag, TcpTracker

FIXTURES = tshark.ROOT / "fixtures"
OUTCOMES = str(FIXTURES / "captures" / "formats" / "sll2-outcomes.pcap")
VERYLONG = str(FIXTURES / "external" / "ndpi" / "tls_verylong_certificate.pcap")



def _segments(path: str) -> list[TcpSegment]:
    dec = Decoder()
    with open_capture(path) as r:
        return [s for f in r if isinstance(s := dec.decode(f), TcpSegment)]


def _tshark_flags(path: str) -> dict[int, dict[str, list[int]]]:
    """Per stream (as conn id): frames of SYN, SYN-ACK, RST and FIN, from tshark."""
    out: dict[int, dict[str, list[int]]] = {}
    for num, stream, syn, ack, rst, fin in tshark.fields(
        path, "frame.number", "tcp.stream", "tcp.flags.syn", "tcp.flags.ack",
        "tcp.flags.reset", "tcp.flags.fin",
    ):
        d = out.setdefault(int(stream) + 1, {"syn": [], "synack": [], "rst": [], "fin": []})
        yes = ("1", "True")
        if syn in yes:
            d["synack" if ack in yes else "syn"].append(int(num))
        if rst in yes:
            d["rst"].append(int(num))
        if fin in yes:
            d["fin"].append(int(num))
    return out


def test_outcomes_of_the_scenarios() -> None:
    ours = streams.track(OUTCOMES)
    flags = _tshark_flags(OUTCOMES)
    by_port: dict[int, list[str]] = {}
    for conn in ours.conns.values():
        by_port.setdefault(conn.server_port, []).append(conn.outcome)
        f = flags[conn.id]
        assert conn.syn_frames == f["syn"]
        assert conn.synack_frames == f["synack"]
        assert conn.rst_frame == (min(f["rst"]) if f["rst"] else None)
        assert sorted(conn.fin_frames("client") + conn.fin_frames("server")) == f["fin"]
        assert sorted(conn.rst_frames("client") + conn.rst_frames("server")) == f["rst"]
        assert conn.client_by == "syn"
    assert by_port[5061] == ["closed"]
    assert by_port[5062] == ["refused"]
    assert by_port[5063] == ["reset"]
    assert by_port[5065] == ["closed"]
    # the first connection fills the accept queue (and is reset when the listener closes);
    # the second one's SYNs are dropped
    assert by_port[5064] == ["reset", "no_answer"]
    no_answer = next(c for c in ours.conns.values() if c.outcome == "no_answer")
    assert len(no_answer.syn_frames) >= 2  # the SYN and its retransmissions


def test_event_order_and_close() -> None:
    tr = TcpTracker()
    events = []
    ends_before_finish = 0
    for s in _segments(OUTCOMES):
        evs = tr.feed(s)
        ends_before_finish += sum(isinstance(e, ConnectionEnd) for e in evs)
        events.extend(evs)
    events.extend(tr.finish())
    assert tr.connections_open == 0
    ids = [e.conn.id for e in events if isinstance(e, ConnectionStart)]
    assert ids == sorted(ids) == list(range(1, len(ids) + 1))
    for cid in ids:
        mine = [e for e in events if e.conn.id == cid]
        assert isinstance(mine[0], ConnectionStart)
        assert isinstance(mine[-1], ConnectionEnd)
        assert sum(isinstance(e, ConnectionEnd) for e in mine) == 1
    # Ended while reading when both sides are over (FIN with all data before it, or RST);
    # a RST from one side alone leaves the other open for data in flight, until finish().
    closers: dict[int, set[int]] = {}
    for stream, port, rst, fin in tshark.fields(
        OUTCOMES, "tcp.stream", "tcp.srcport", "tcp.flags.reset", "tcp.flags.fin"
    ):
        if rst in ("1", "True") or fin in ("1", "True"):
            closers.setdefault(int(stream) + 1, set()).add(int(port))
    want = {cid for cid, ports in closers.items() if len(ports) == 2}
    ended_early = [e.conn.id for e in events if isinstance(e, ConnectionEnd)][:ends_before_finish]
    assert set(ended_early) == want
    assert len(want) >= 3
    syn = next(e for e in events if isinstance(e, Flag))
    assert (syn.flag, syn.side, syn.frame) == ("SYN", "client", 1)


def test_port_reuse_starts_a_new_connection(tmp_path: Path) -> None:
    # The same real connection twice on one 4-tuple; the second copy has other ISNs.
    raw = Path(VERYLONG).read_bytes()
    header, body = raw[:24], raw[24:]
    recs = []
    p = 0
    while p < len(body):
        incl = struct.unpack_from("<I", body, p + 8)[0]
        recs.append(body[p:p + 16 + incl])
        p += 16 + incl

    def shifted(rec: bytes) -> bytes:
        b = bytearray(rec)
        tcp = 16 + 14 + 20  # record header, Ethernet, IPv4 without options
        for off in (tcp + 4, tcp + 8):
            v = struct.unpack_from("!I", b, off)[0]
            struct.pack_into("!I", b, off, (v + 1_000_000) & 0xFFFFFFFF)
        ts = struct.unpack_from("<I", b, 0)[0]
        struct.pack_into("<I", b, 0, ts + 10)
        return bytes(b)

    path = tmp_path / "reuse.pcap"
    path.write_bytes(header + b"".join(recs) + b"".join(shifted(r) for r in recs))
    ours = streams.track(str(path))
    ref = tshark.follow_all(str(path))
    assert len(ref) == 2
    assert sorted(ours.conns) == [1, 2]
    flags = _tshark_flags(str(path))
    for cid, conn in ours.conns.items():
        assert conn.syn_frames == flags[cid]["syn"]
        for i in (0, 1):
            assert tshark.normalize(ours.chunks[cid][i]) == tshark.normalize(ref[cid - 1].chunks[i])


def _summary(events: list[object]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in events:
        conn = getattr(e, "conn", None)
        out.append((type(e).__name__, conn.id if conn is not None else None,
                    getattr(e, "side", None), getattr(e, "frame", None),
                    getattr(e, "data", None), getattr(e, "length", None)))
    return out


def test_forgetting_ended_connections_changes_no_event(tmp_path: Path) -> None:
    """The pipeline's tracker keeps an ended connection as a small record only: the
    events are the same, late packets and reused ports included."""
    test_port_reuse_starts_a_new_connection(tmp_path)
    damaged = sorted((FIXTURES / "captures" / "damaged").glob("*.pcap"))
    captures = [str(tmp_path / "reuse.pcap"), OUTCOMES, VERYLONG, *map(str, damaged),
                *map(str, sorted((FIXTURES / "captures").glob("kamailio-*.pcap"))[:12])]
    assert len(captures) > 20
    for path in captures:
        kept = streams.track(path)
        forgot = streams.track(path, forget_ended=True)
        assert _summary(forgot.events) == _summary(kept.events), path


def test_an_ended_connection_is_remembered_as_a_small_record() -> None:
    from pcaptls.tcp.tracker import _Ended

    tr = TcpTracker(forget_ended=True)
    dec = Decoder()
    ended = 0
    with open_capture(OUTCOMES) as r:
        for f in r:
            s = dec.decode(f)
            if isinstance(s, TcpSegment):
                ended += sum(isinstance(e, ConnectionEnd) for e in tr.feed(s))
    assert ended >= 3
    records = [c for c, _ in tr._flows.values() if c.ended]
    assert records and all(isinstance(c, _Ended) for c in records)


def test_skip_and_stop() -> None:
    (fs,) = tshark.follow_all(VERYLONG).values()
    server = b"".join(c for c in fs.chunks[1] if isinstance(c, bytes))
    tr = TcpTracker()
    got = bytearray()
    client_data = 0
    for s in _segments(VERYLONG):
        for e in tr.feed(s):
            if isinstance(e, ConnectionStart):
                tr.skip(e.conn, "server", 3000)
                tr.stop(e.conn, "client")
            elif isinstance(e, Data):
                if e.side == "server":
                    assert e.offset >= 3000
                    assert e.offset == 3000 + len(got)
                    got += e.data
                else:
                    client_data += 1
    tr.finish()
    assert bytes(got) == server[3000:]
    assert client_data == 0


def test_set_client_after_midstream_start() -> None:
    segs = _segments(str(FIXTURES / "captures" / "damaged" / "verylong-midstream.pcap"))
    tr = TcpTracker()
    conn = None
    sides = []
    for s in segs:
        for e in tr.feed(s):
            if isinstance(e, ConnectionStart):
                conn = e.conn
                assert conn.client_by == "port"
                assert conn.set_client("server") is True  # pretend the payload said so
                assert conn.client_port == 443
            elif isinstance(e, Data) and e.frame == 1:  # frame 4 of the source
                sides.append(e.side)
    assert conn is not None and conn.client_by == "consumer"
    assert sides == ["server"]  # sent by 54804, now named the server
    # a SYN is stronger than the consumer
    ours = streams.track(VERYLONG)
    (c,) = ours.conns.values()
    assert c.set_client("server") is False and c.client_port != 443


def test_stopped_connection_still_ends_at_its_fins() -> None:
    tr = TcpTracker()
    ended_at = None
    for s in _segments(OUTCOMES):
        for e in tr.feed(s):
            if isinstance(e, ConnectionStart) and e.conn.server_port == 5061:
                tr.stop(e.conn, "client")
                tr.stop(e.conn, "server")
            elif isinstance(e, ConnectionEnd) and e.conn.server_port == 5061:
                ended_at = s.frame
    tr.finish()
    fins = _tshark_flags(OUTCOMES)[1]["fin"]
    assert ended_at == max(fins)  # released at the second FIN, not at the end of the capture
