"""Property tests: arbitrary bytes only ever raise the parser's own error (message level),
the connection never raises, and the parsers never read past what they were given."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tls.builders import record
from tls.corpus import EXTERNAL
from tls.tls_streams import tcp_streams

from pcaptls.tls.buffer import Reader, TlsDecodeError
from pcaptls.tls.connection import TlsConnection
from pcaptls.tls.events import HandshakeEvent
from pcaptls.tls.extensions import parse_extension_value, parse_extensions
from pcaptls.tls.messages import HandshakeContext, parse_handshake
from pcaptls.tls.record import Record, RecordReader
from pcaptls.tls.sslv2 import parse_ssl2

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
versions = st.sampled_from([None, 0x0300, 0x0301, 0x0303, 0x0304, 0x7F10])
suites = st.sampled_from([None, 0x0004, 0xC02F, 0x0039, 0x00A8, 0x0018, 0x0003, 0x1301, 0xC0AA])


@SETTINGS
@given(st.integers(0, 255), st.binary(max_size=300), versions, suites)
def test_handshake_parsers_raise_only_their_error(msg_type: int, body: bytes, version: int | None,
                                                  suite: int | None) -> None:
    with contextlib.suppress(TlsDecodeError):
        parse_handshake(msg_type, body, HandshakeContext(version, suite))


@SETTINGS
@given(st.integers(0, 0xFFFF), st.binary(max_size=200),
       st.sampled_from(["client_hello", "server_hello", "hello_retry_request", "encrypted_extensions",
                        "certificate", "certificate_request", "new_session_ticket"]))
def test_extension_parsers_raise_only_their_error(ext_type: int, data: bytes, ctx: str) -> None:
    with contextlib.suppress(TlsDecodeError):
        parse_extension_value(ext_type, data, ctx)  # type: ignore[arg-type]


@SETTINGS
@given(st.binary(max_size=300))
def test_ssl2_parser_raises_only_its_error(body: bytes) -> None:
    with contextlib.suppress(TlsDecodeError):
        parse_ssl2(body)


@SETTINGS
@given(st.binary(max_size=120), st.binary(min_size=1, max_size=40))
def test_a_bounded_reader_never_reads_past_its_end(body: bytes, trailer: bytes) -> None:
    """Parsing body[:n] inside a larger buffer gives the same answer as parsing it alone."""
    def attempt(r: Reader) -> object:
        try:
            return parse_extensions(r, "client_hello"), r.pos
        except TlsDecodeError as exc:
            return exc.reason
    alone = attempt(Reader(body))
    inside = attempt(Reader(body + trailer, 0, len(body)))
    assert alone == inside


chunks = st.lists(st.tuples(st.sampled_from(["client", "server"]), st.binary(max_size=200),
                            st.booleans(), st.integers(0, 5000)), max_size=25)


@SETTINGS
@given(chunks)
def test_the_connection_never_raises(items: list[tuple[str, bytes, bool, int]]) -> None:
    conn = TlsConnection()
    for frame, (side, data, is_gap, gap_len) in enumerate(items, start=1):
        if is_gap:
            conn.gap(side, gap_len, frame)  # type: ignore[arg-type]
        else:
            conn.feed(side, data, frame, frame * 1000)  # type: ignore[arg-type]
    conn.eof("client", 99, 99)
    conn.eof("server", 99, 99)
    _ = (conn.version, conn.resumed, conn.client_cert_sent, conn.secure_renegotiation)


@st.composite
def tls_like(draw: st.DrawFn) -> bytes:
    """Records with random bodies and the right outer shape, so the inner parsers get
    exercised more than with raw noise."""
    out = b""
    for _ in range(draw(st.integers(1, 6))):
        ctype = draw(st.sampled_from([20, 21, 22, 23, 24]))
        if ctype == 22:
            msg_type = draw(st.sampled_from([1, 2, 4, 8, 11, 12, 13, 14, 15, 16, 20, 22, 24, 25]))
            body = draw(st.binary(max_size=120))
            length = draw(st.sampled_from([len(body), len(body) + 3, max(0, len(body) - 2)]))
            out += record(22, bytes([msg_type]) + length.to_bytes(3, "big") + body)
        else:
            out += record(ctype, draw(st.binary(max_size=40)))
    return out


@SETTINGS
@given(tls_like(), tls_like())
def test_the_connection_never_raises_on_record_shaped_input(client: bytes, server: bytes) -> None:
    conn = TlsConnection()
    conn.feed("client", client, 1, 1)
    conn.feed("server", server, 2, 2)
    conn.feed("client", client, 3, 3)


def _stream_bytes() -> tuple[bytes, bytes]:
    st_ = tcp_streams(EXTERNAL / "zeek/tls1.2.pcap")[0]
    c = b"".join(d for k, s, d, _f, _t in st_.chunks if k == "data" and s == "client")
    s = b"".join(d for k, s, d, _f, _t in st_.chunks if k == "data" and s == "server")
    return c, s


CLIENT, SERVER = _stream_bytes()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, len(SERVER) - 1), max_size=30, unique=True))
def test_records_do_not_depend_on_how_the_stream_is_sliced(cuts: list[int]) -> None:
    whole = [(r.content_type, r.length, r.fragment) for r in RecordReader().feed(SERVER, 1, 1)
             if isinstance(r, Record)]
    reader = RecordReader()
    got = []
    fed = 0
    bounds = [*sorted(cuts), len(SERVER)]
    start = 0
    for i, end in enumerate(bounds, start=1):
        for ev in reader.feed(SERVER[start:end], i, i):
            if isinstance(ev, Record):
                assert ev.offset + 5 + ev.length <= end  # never beyond what was fed
                got.append((ev.content_type, ev.length, ev.fragment))
        fed = end
        start = end
    assert fed == len(SERVER) and got == whole


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, len(CLIENT) - 1), max_size=20, unique=True),
       st.lists(st.integers(1, len(SERVER) - 1), max_size=20, unique=True))
def test_messages_do_not_depend_on_slicing(ccuts: list[int], scuts: list[int]) -> None:
    def run(cc: list[int], sc: list[int]) -> list[tuple[str, int]]:
        conn = TlsConnection()
        for side, data, cuts in (("client", CLIENT, cc), ("server", SERVER, sc)):
            bounds = [c for c in sorted(cuts) if c < len(data)] + [len(data)]
            start = 0
            for end in bounds:
                conn.feed(side, data[start:end], 1, 1)  # type: ignore[arg-type]
                start = end
        return [(ev.side, int(ev.message.msg_type)) for ev in conn.events
                if isinstance(ev, HandshakeEvent)]
    assert run(ccuts, scuts) == run([], [])
