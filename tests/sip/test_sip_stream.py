"""SipStream framing: split points, keep-alives, garbage, oversize, truncation.

The reference stream is the client direction of fixtures/captures/sip/sip-tcp.pcap
(whose messages tshark confirms in test_sip_captures) plus hand-built messages
whose boundaries we know by construction.
"""

from __future__ import annotations

import functools
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st
from sip_capture import ROOT, payloads

from pcaptls.sip import NoteKind, SipMessage, SipStream


def body_msg(n: int, body: str, compact: bool = False) -> bytes:
    length = "l" if compact else "Content-Length"
    head = (
        f"MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.62.0.1;branch=z9hG4bK{n}"
        f"\r\ni: call-{n}\r\nCSeq: {n} MESSAGE\r\nContent-Type: text/plain\r\n"
        f"{length}: {len(body.encode())}\r\n\r\n"
    )
    return head.encode() + body.encode()


@functools.cache
def reference() -> bytes:
    """The captured client stream, keep-alives and hand-built messages, concatenated."""
    parts: list[bytes] = []
    flow = None
    for p in payloads(ROOT / "fixtures/captures/sip/sip-tcp.pcap"):
        if flow is None:
            flow = p.flow
        if p.flow == flow:
            parts.append(p.data)
    captured = b"".join(parts)
    # The captured client stream holds REGISTER, INVITE, ACK, BYE (tshark: 4 requests).
    pieces = [
        captured,
        b"\r\n\r\n",
        body_msg(1, "hello\r\n\r\nSIP/2.0 200 OK\r\n"),
        b"\r\n",
        body_msg(2, "", compact=True),
        body_msg(3, "ünïcode body"),
    ]
    return b"".join(pieces)


def feed_all(stream: bytes, cuts: list[int], **kw: int) -> tuple[list[SipMessage], SipStream]:
    s = SipStream(**kw)
    out: list[SipMessage] = []
    bounds = [0, *sorted(set(cuts)), len(stream)]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        out += s.feed(stream[a:b], i + 1, (i + 1) * 1000)
    s.close()
    return out, s


def key(m: SipMessage) -> tuple[object, ...]:
    return (m.method_or_status, m.call_id, m.cseq, m.vias, m.body, m.size, m.headers)


def test_whole_stream() -> None:
    stream = reference()
    msgs, s = feed_all(stream, [])
    assert [m.method_or_status for m in msgs] == [
        "REGISTER",
        "INVITE",
        "ACK",
        "BYE",
        "MESSAGE",
        "MESSAGE",
        "MESSAGE",
    ]
    assert msgs[4].body == "hello\r\n\r\nSIP/2.0 200 OK\r\n"  # a body is not a start line
    assert msgs[6].body == "ünïcode body"
    assert (s.pings, s.pongs, s.notes) == (1, 1, [])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_split_gives_the_same_messages_at_the_right_frames(data: st.DataObject) -> None:
    stream = reference()
    whole, _ = feed_all(stream, [])
    cuts = data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=40))
    msgs, s = feed_all(stream, cuts)
    assert [key(m) for m in msgs] == [key(m) for m in whole]
    bounds = [0, *sorted(set(cuts)), len(stream)]
    end = 0
    offsets = []
    for m in whole:  # each message follows the previous one, after any keep-alive CRLFs
        start = end
        while stream[start : start + 2] == b"\r\n":
            start += 2
        offsets.append((start, start + m.size - 1))
        end = start + m.size

    def frame_of(off: int) -> int:
        return next(i for i, b in enumerate(bounds[1:], 1) if off < b)

    for m, (first, last) in zip(msgs, offsets, strict=True):
        assert m.first_frame == frame_of(first) and m.frame == frame_of(last)
        assert m.time_ns == m.frame * 1000
    assert (s.pings, s.pongs, s.notes) == (1, 1, [])


def test_garbage_is_skipped_to_the_next_start_line() -> None:
    good = body_msg(1, "x")
    junk = (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 junk\r\nmore junk\r\nSIP/2.0 two hundred\r\n"
    )
    msgs, s = feed_all(junk + good + b"GET / HTTP/1.1\r\n\r\n" + good, [5, 40])
    assert [m.call_id for m in msgs] == ["call-1", "call-1"]
    assert [(n.kind, n.size) for n in s.notes] == [
        (NoteKind.GARBAGE, len(junk)),
        (NoteKind.GARBAGE, len(b"GET / HTTP/1.1\r\n\r\n")),
    ]
    assert s.notes[0].frame == 1


def test_oversize_message_is_dropped_and_the_next_one_kept() -> None:
    big = body_msg(1, "A" * 5000)
    small = body_msg(2, "ok")
    for cuts in ([], [100], [100, 300, 2000, 4000], [len(big) + 3]):
        msgs, s = feed_all(big + small, cuts, max_message=1024)
        assert [m.call_id for m in msgs] == ["call-2"]
        assert [(n.kind, n.size, n.frame) for n in s.notes] == [(NoteKind.OVERSIZE, len(big), 1)]
        assert s.buffered == 0


def test_endless_head_is_bounded() -> None:
    s = SipStream(max_message=1024)
    s.feed(b"INVITE sip:a@b SIP/2.0\r\n", 1, 0)
    for i in range(50):
        s.feed(b"X-Long: " + b"y" * 100 + b"\r\n", i + 2, 0)
        assert s.buffered <= 1024 + 200
    assert s.notes[0].kind is NoteKind.OVERSIZE
    assert s.feed(b"\r\n" + body_msg(9, "z"), 60, 0)[0].call_id == "call-9"


def test_missing_and_bad_content_length_count_as_zero() -> None:
    no_len = b"OPTIONS sip:a@b SIP/2.0\r\ni: n1\r\n\r\n"
    bad_len = b"OPTIONS sip:a@b SIP/2.0\r\ni: n2\r\nContent-Length: lots\r\n\r\n"
    msgs, s = feed_all(no_len + bad_len + body_msg(3, "b"), [])
    assert [m.call_id for m in msgs] == ["n1", "n2", "call-3"]
    assert [n.kind for n in s.notes] == [NoteKind.NO_CONTENT_LENGTH, NoteKind.BAD_CONTENT_LENGTH]


def test_keepalives_and_truncation() -> None:
    s = SipStream()
    assert s.feed(b"\r\n", 1, 0) == [] and s.feed(b"\r\n", 2, 0) == []  # one split ping
    assert (s.pings, s.pongs) == (1, 0)
    s.feed(b"\r\n", 3, 0)
    s.close()
    assert (s.pings, s.pongs) == (1, 1)  # a lone CRLF at the end is a pong
    t = SipStream()
    t.feed(body_msg(1, "abc")[:-1], 1, 0)
    t.close()
    assert [n.kind for n in t.notes] == [NoteKind.TRUNCATED]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(1, 2999), max_size=10), st.integers(64, 4096))
def test_garbage_never_raises_and_stays_bounded(junk: bytes, cuts: list[int], cap: int) -> None:
    stream = junk + body_msg(1, "tail")
    msgs, s = feed_all(stream, [c for c in cuts if c < len(stream)], max_message=cap)
    assert s.buffered == 0
    clean_end = not junk or (junk.endswith(b"\n") and b"SIP/" not in junk.upper())
    if len(body_msg(1, "tail")) <= cap and clean_end:
        assert msgs and msgs[-1].call_id == "call-1"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"INVITE sip:a@b SIP/2.0\r\n",
                b"SIP/2.0 200 OK\r\n",
                b"l: 3\r\n",
                b"l: -1\r\n",
                b"Content-Length: 99999999999\r\n",
                b"v: SIP/2.0/TCP h\r\n",
                b"\r\n",
                b"\n",
                b"\r",
                b"abc",
                b"\xff\xfe",
                b" folded\r\n",
                b"f: <sip:x>;tag=\r\n",
                b"CSeq: x\r\n",
            ]
        ),
        max_size=30,
    ),
    st.lists(st.integers(1, 500), max_size=8),
)
def test_sip_like_noise_never_raises(parts: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(parts)
    feed_all(stream, [c for c in cuts if c < len(stream)], max_message=2048)
