"""The TLS layer's caches change nothing: every handshake message of the fixture captures
parses to what an uncached parse gives, under the context it came in and under others;
records come out the same whichever way a stream is cut, whether whole records skip the
buffer or not.

The reference is the same parser with every cache emptied and kept empty (each is a
plain dict consulted before the work it remembers).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tls.tls_streams import tcp_streams

from pcaptls.tls import connection, decrypt, extensions, messages
from pcaptls.tls.buffer import TlsDecodeError
from pcaptls.tls.connection import TlsConnection
from pcaptls.tls.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    REPEATING,
    ClientHello,
    HandshakeContext,
    ServerHello,
    parse_handshake,
)
from pcaptls.tls.record import RecordReader

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted(
    p for p in [*(ROOT / "fixtures" / "captures").rglob("*.pcap*"),
                *(ROOT / "fixtures" / "external").rglob("*.pcap*")]
    if "expected" not in p.parts and p.suffix in (".pcap", ".pcapng", ".gz")
)
CACHES = [(messages, "_REPEATED"), (messages, "_HELLOS"), (messages, "_SUITES_SEEN"),
          (messages, "_DER_SEEN"), (extensions, "_SEEN"), (connection, "_CONTEXTS"),
          (decrypt, "_NULL_MAC")]


class _NoMemory(dict[Any, Any]):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


@contextmanager
def _uncached() -> Iterator[None]:
    saved = [getattr(m, n) for m, n in CACHES]
    for m, n in CACHES:
        setattr(m, n, _NoMemory())
    try:
        yield
    finally:
        for (m, n), cache in zip(CACHES, saved, strict=True):
            setattr(m, n, cache)


def _parse(msg_type: int, body: bytes, ctx: HandshakeContext) -> Any:
    """The message, or the error as (type, reason, offset)."""
    try:
        return parse_handshake(msg_type, body, ctx)
    except TlsDecodeError as e:
        return ("error", e.reason, e.offset)


def _messages_of(path: Path) -> list[tuple[int, bytes, HandshakeContext]]:
    """Every plaintext handshake message of a capture, with the context it was parsed in."""
    seen: list[tuple[int, bytes, HandshakeContext]] = []
    original = connection.parse_handshake

    def recording(msg_type: int, body: bytes, ctx: HandshakeContext) -> Any:
        seen.append((msg_type, bytes(body), ctx))
        return original(msg_type, body, ctx)

    connection.parse_handshake = recording  # type: ignore[assignment]
    try:
        for st in tcp_streams(path):
            conn = TlsConnection()
            for kind, side, data, frame, t in st.chunks:
                if kind == "data":
                    conn.feed(side, data, frame, t)  # type: ignore[arg-type]
    except Exception:  # a capture dpkt cannot read: no messages from it
        pass
    finally:
        connection.parse_handshake = original  # type: ignore[assignment]
    return seen


@pytest.fixture(scope="module")
def corpus() -> list[tuple[int, bytes, HandshakeContext]]:
    out = []
    for path in CAPTURES:
        out += _messages_of(path)
    return out


def test_the_corpus_has_what_the_caches_keep(corpus: list[tuple[int, bytes, HandshakeContext]]
                                            ) -> None:
    types = {t for t, _, _ in corpus}
    assert {1, 2, 11, 13, 14} <= types
    assert len(corpus) > 700


def test_every_message_parses_as_uncached(corpus: list[tuple[int, bytes, HandshakeContext]]
                                         ) -> None:
    """Twice with the caches (the second time from them), under the context it came in and
    the other TLS versions' contexts, and the same again with no cache at all."""
    contexts = [HandshakeContext(0x0303, 0xC02F), HandshakeContext(0x0304, 0x1301),
                HandshakeContext(None, None)]
    for c, _ in [(m, n) for m, n in CACHES]:
        getattr(c, _).clear()
    cached = []
    for msg_type, body, ctx in corpus:
        for context in (ctx, *contexts):
            first = _parse(msg_type, body, context)
            again = _parse(msg_type, body, context)
            assert again == first
            if msg_type in REPEATING and not isinstance(first, tuple):
                assert again is first  # remembered: the same immutable object
            cached.append(first)
    with _uncached():
        fresh = [_parse(msg_type, body, context) for msg_type, body, ctx in corpus
                 for context in (ctx, *contexts)]
    assert cached == fresh


def test_damaged_hellos_and_certificates_parse_as_uncached(
        corpus: list[tuple[int, bytes, HandshakeContext]]) -> None:
    """Bodies cut short, grown, or with a byte changed: what the caches return for them is
    what an uncached parse says (an error where it errs), even right after the intact
    body was remembered."""
    rnd = random.Random(7)
    samples = [(t, b, c) for t, b, c in corpus if t in (1, 2, 11, 13)]
    rnd.shuffle(samples)
    variants = []
    for msg_type, body, ctx in samples[:150]:
        variants.append((msg_type, body, ctx))
        for _ in range(6):
            cut = rnd.randrange(len(body) + 1)
            variants.append((msg_type, body[:cut], ctx))
            flipped = bytearray(body)
            if flipped:
                flipped[cut % len(flipped)] ^= 1 << rnd.randrange(8)
            variants.append((msg_type, bytes(flipped), ctx))
        variants.append((msg_type, body + b"\x00", ctx))
    cached = [_parse(*v) for v in variants]
    cached_again = [_parse(*v) for v in variants]
    with _uncached():
        fresh = [_parse(*v) for v in variants]
    assert cached == fresh
    assert cached_again == fresh


def test_hellos_keep_their_own_random_and_session_id(
        corpus: list[tuple[int, bytes, HandshakeContext]]) -> None:
    """The remembered part of a hello is what follows its session id: each hello keeps its
    own random and session id, and one with a key share is not remembered at all."""
    hellos = [(t, b, c) for t, b, c in corpus if t == 1]
    assert hellos
    messages._HELLOS.clear()
    for msg_type, body, ctx in hellos:
        ch = _parse(msg_type, body, ctx)
        if isinstance(ch, tuple):
            continue
        assert isinstance(ch, ClientHello)
        other_random = bytes(31 - i for i in range(32))
        twin = _parse(msg_type, body[:2] + other_random + body[34:], ctx)
        assert isinstance(twin, ClientHello)
        assert twin.random == other_random and ch.random == body[2:34]
        assert (twin.cipher_suites, twin.extensions) == (ch.cipher_suites, ch.extensions)
    for key, (_, _, exts) in messages._HELLOS.items():
        assert not any(e.data and e.type in extensions.FRESH_EACH_TIME for e in exts), key


def test_a_hello_retry_request_is_not_taken_for_a_server_hello(
        corpus: list[tuple[int, bytes, HandshakeContext]]) -> None:
    """The same bytes after the random parse as a HelloRetryRequest's (its key_share names a
    group) or a ServerHello's: the remembered parse of one is never the other's."""
    server_hellos = [(b, c) for t, b, c in corpus if t == 2 and b[2:34] != HELLO_RETRY_REQUEST_RANDOM]
    assert server_hellos
    for body, ctx in server_hellos[:50]:
        as_hrr = body[:2] + HELLO_RETRY_REQUEST_RANDOM + body[34:]
        results = [_parse(2, b, ctx) for b in (body, as_hrr, body, as_hrr)]
        with _uncached():
            fresh = [_parse(2, b, ctx) for b in (body, as_hrr, body, as_hrr)]
        assert results == fresh
        if isinstance(results[1], ServerHello):
            assert results[1].is_hello_retry_request


def _records(chunks: list[bytes]) -> list[Any]:
    reader = RecordReader()
    out: list[Any] = []
    for i, chunk in enumerate(chunks):
        out += reader.feed(chunk, i + 1, 1000 * (i + 1))
    out += reader.finish(len(chunks), 1000 * len(chunks))
    return out


@pytest.mark.parametrize("path", [p for p in CAPTURES if p.parent.name == "captures"],
                         ids=lambda p: p.name)
def test_records_as_the_buffered_way_cuts_them(path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    """Whole records taken straight from a chunk, and a buffered record completed by the
    next chunk, come out as the buffered way (every byte through the buffer) cuts them,
    with the same frames, for any cut of the stream."""
    rnd = random.Random(path.name)
    streams = []
    for st in tcp_streams(path):
        for side in ("client", "server"):
            data = b"".join(d for kind, s, d, _, _ in st.chunks if kind == "data" and s == side)
            if data:
                streams.append(data)
    cuts = []
    for data in streams:
        for sizes in ([1], [5, 7], [1448], [200, 3000, 17], [len(data)]):
            chunks, pos = [], 0
            while pos < len(data):
                n = sizes[len(chunks) % len(sizes)] + rnd.randrange(3)
                chunks.append(data[pos:pos + n])
                pos += n
            cuts.append(chunks)
    fast = [_records(chunks) for chunks in cuts]
    monkeypatch.setattr(RecordReader, "_whole_records", lambda self, *a: 0)
    monkeypatch.setattr(RecordReader, "_complete_buffered", lambda self, *a: 0)
    slow = [_records(chunks) for chunks in cuts]
    assert fast == slow
