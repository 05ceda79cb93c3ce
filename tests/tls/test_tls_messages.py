"""Message and extension fields against tshark's fields on the same captures, plus
hand-built messages for the shapes the corpus lacks (values set here, by hand)."""

from __future__ import annotations

import zlib

import pytest
import tshark
import zstandard
from tls.builders import certificate13, ext, handshake, u16, u24, vec
from tls.corpus import EXTERNAL, run_capture

from pcaptls.tls.buffer import TlsDecodeError
from pcaptls.tls.events import HandshakeEvent
from pcaptls.tls.extensions import (
    CertificateCompressionAlgorithms,
    EncryptedClientHello,
    KeyShareHelloRetryRequest,
    OfferedPsks,
    Padding,
    PskKeyExchangeModes,
    RecordSizeLimit,
    SelectedPsk,
    SignedCertificateTimestamps,
    parse_extension_value,
)
from pcaptls.tls.messages import (
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    HandshakeContext,
    NewSessionTicket,
    ServerKeyExchange,
    parse_handshake,
)


@pytest.mark.parametrize("capture", [
    "zeek/client-certificate.pcap", "zeek/tls1_1.pcap", "zeek/dhe.pcap", "zeek/ecdsa-cert.pcap",
    "suricata-verify/tls-store-02/tls-client-auth.pcap",
])
def test_key_exchange_and_request_fields_equal_tshark(capture: str) -> None:
    names = ("tls.handshake.sig_hash_alg", "tls.handshake.cert_type", "tls.handshake.dname_len",
             "tls.handshake.server_point_len", "tls.handshake.ys_len", "tls.handshake.g",
             "tls.handshake.sig_len")
    rows = tshark.fields(str(EXTERNAL / capture), "frame.number", "tls.handshake.type", *names)
    theirs = {}
    for r in rows:
        if len(r) == len(names) + 2 and set(r[1].split(",")) & {"12", "13", "15"}:
            theirs[int(r[0])] = tuple(r[2:])
    ours: dict[int, list[list[str]]] = {}
    for conn in run_capture(capture).values():
        for ev in conn.events:
            if not isinstance(ev, HandshakeEvent):
                continue
            m = ev.message
            cols = ours.setdefault(ev.frame, [[] for _ in names])
            if isinstance(m, ServerKeyExchange):
                if m.signature_scheme is not None:
                    cols[0].append(f"0x{m.signature_scheme:04x}")
                if m.named_group is not None:
                    cols[3].append(str(m.public_key_length))
                if m.dh_p_bits is not None:
                    cols[4].append(str(m.public_key_length))
                    cols[5].append(f"{m.dh_g:02x}")
                if m.signature_length is not None:
                    cols[6].append(str(m.signature_length))
            elif isinstance(m, CertificateRequest):
                cols[0] += [f"0x{s:04x}" for s in m.signature_algorithms or ()]
                cols[1] += [str(t) for t in m.certificate_types]
                cols[2] += [str(len(dn)) for dn in m.certificate_authorities]
            elif isinstance(m, CertificateVerify) and m.signature_scheme is not None:
                cols[0].append(f"0x{m.signature_scheme:04x}")
    mine = {f: tuple(",".join(c) for c in cols) for f, cols in ours.items() if any(cols)}
    assert theirs and mine.keys() == theirs.keys()
    for frame, cols in mine.items():
        # tshark's sig_hash_alg also lists the signature algorithms of the SCTs inside
        # certificates of the same frame (zeek/client-certificate.pcap): compare the tail.
        assert theirs[frame][0].endswith(cols[0]), frame
        assert theirs[frame][1:] == cols[1:], frame


def _cert_msg_body(*ders: bytes) -> bytes:
    return certificate13(*ders)[4:]


@pytest.mark.parametrize(("algorithm", "compress"), [
    (1, zlib.compress), (3, lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_compressed_certificate_is_decompressed(algorithm: int, compress: object) -> None:
    inner = _cert_msg_body(b"LEAF-DER", b"CA-DER")
    data = compress(inner)  # type: ignore[operator]
    body = u16(algorithm) + u24(len(inner)) + vec(3, data)
    msg = parse_handshake(25, body, HandshakeContext(0x0304))
    assert isinstance(msg, CompressedCertificate) and msg.decompress_error is None
    assert msg.certificate is not None
    assert msg.certificate.certificate_list == (b"LEAF-DER", b"CA-DER")


def test_compressed_certificate_with_wrong_length_is_reported() -> None:
    inner = _cert_msg_body(b"X")
    body = u16(1) + u24(len(inner) + 5) + vec(3, zlib.compress(inner))
    msg = parse_handshake(25, body, HandshakeContext(0x0304))
    assert isinstance(msg, CompressedCertificate) and msg.certificate is None
    assert msg.decompress_error


def test_tls13_certificate_request_and_ticket() -> None:
    cr = parse_handshake(13, vec(1, b"") + vec(2, ext(13, vec(2, u16(0x0804) + u16(0x0403)))),
                         HandshakeContext(0x0304))
    assert isinstance(cr, CertificateRequest)
    assert cr.certificate_request_context == b"" and cr.signature_algorithms == (0x0804, 0x0403)
    nst = parse_handshake(4, (7200).to_bytes(4, "big") + b"\x00\x00\x00\x05" + vec(1, b"\x00")
                          + vec(2, b"T" * 16) + vec(2, ext(42, (16384).to_bytes(4, "big"))),
                          HandshakeContext(0x0304))
    assert isinstance(nst, NewSessionTicket) and nst.ticket_lifetime == 7200
    assert nst.ticket_age_add == 5 and nst.ticket == b"T" * 16
    assert nst.extensions[0].value is not None


def test_server_key_exchange_dhe_psk_and_rsa_export() -> None:
    p = (1 << 1023) | 1
    dhe = vec(2, p.to_bytes(128, "big")) + vec(2, b"\x02") + vec(2, b"y" * 128) + u16(0x0401) + vec(2, b"s" * 256)
    m = parse_handshake(12, dhe, HandshakeContext(0x0303, 0x0039))
    assert isinstance(m, ServerKeyExchange) and m.kind == "dhe"
    assert (m.dh_p_bits, m.dh_g, m.signature_scheme) == (1024, 2, 0x0401)
    psk = parse_handshake(12, vec(2, b"hint"), HandshakeContext(0x0303, 0x00A8))
    assert isinstance(psk, ServerKeyExchange) and psk.psk_identity_hint == b"hint"
    rsa = vec(2, ((1 << 511) | 1).to_bytes(64, "big")) + vec(2, b"\x01\x00\x01") + vec(2, b"s" * 64)
    exp = parse_handshake(12, rsa, HandshakeContext(0x0301, 0x0003))
    assert isinstance(exp, ServerKeyExchange) and exp.kind == "rsa" and exp.rsa_modulus_bits == 512
    assert exp.signature_scheme is None  # TLS 1.0: no SignatureAndHashAlgorithm


def test_extension_shapes() -> None:
    assert parse_extension_value(51, u16(23), "hello_retry_request") == KeyShareHelloRetryRequest(23)
    assert parse_extension_value(41, u16(0), "server_hello") == SelectedPsk(0)
    offered = parse_extension_value(41, vec(2, vec(2, b"id") + b"\x00\x00\x00\x07") + vec(2, vec(1, b"b" * 32)),
                                    "client_hello")
    assert offered == OfferedPsks(((b"id", 7),), 1)
    assert parse_extension_value(45, vec(1, b"\x01"), "client_hello") == PskKeyExchangeModes((1,))
    assert parse_extension_value(28, u16(16385), "client_hello") == RecordSizeLimit(16385)
    assert parse_extension_value(21, b"\x00" * 37, "client_hello") == Padding(37)
    assert parse_extension_value(27, vec(1, u16(2) + u16(1)), "client_hello") == \
        CertificateCompressionAlgorithms((2, 1))
    ech = parse_extension_value(0xFE0D, b"\x00" + u16(1) + u16(1) + b"\x07" + vec(2, b"e" * 32)
                                + vec(2, b"p" * 200), "client_hello")
    assert ech == EncryptedClientHello(0, 1, 1, 7, 32, 200)
    assert parse_extension_value(18, b"", "client_hello") == SignedCertificateTimestamps(())
    with pytest.raises(TlsDecodeError):
        parse_extension_value(43, vec(1, b"\x03"), "client_hello")


def test_grease_and_unknown_extensions_are_kept() -> None:
    body = (u16(0x0303) + b"r" * 32 + vec(1, b"") + vec(2, u16(0x0A0A) + u16(0x1301)) + vec(1, b"\x00")
            + vec(2, ext(0x0A0A, b"") + ext(0x5A5B, b"zz") + ext(43, b"\x05")))
    ch = parse_handshake(1, body)
    assert isinstance(ch, ClientHello) and ch.cipher_suites == (0x0A0A, 0x1301)
    assert [(e.type, e.name, e.data) for e in ch.extensions] == [
        (0x0A0A, "GREASE", b""), (0x5A5B, "0x5a5b", b"zz"), (43, "supported_versions", b"\x05")]
    assert ch.extensions[2].error is not None and ch.supported_versions is None


def test_truncated_message_error_says_where() -> None:
    with pytest.raises(TlsDecodeError) as info:
        parse_handshake(2, u16(0x0303) + b"r" * 10)
    assert info.value.offset == 2
    assert str(handshake(1, b""))  # builders sanity
