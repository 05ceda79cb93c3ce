"""Handshake messages (RFC 5246 §7.4, RFC 8446 §4) as frozen dataclasses, and their parsers.

:func:`parse_handshake` turns one message body into a typed message. Messages whose
shape depends on the negotiated version or key exchange take a
:class:`HandshakeContext`: the context is passed in, never kept here.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pcaptls.tls.buffer import Reader, TlsDecodeError
from pcaptls.tls.extensions import (
    FRESH_EACH_TIME,
    ExtContext,
    Extension,
    ExtensionValue,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    NamedGroupList,
    OfferedPsks,
    ProtocolNameList,
    SelectedPsk,
    SelectedVersion,
    ServerNameList,
    SignatureSchemeList,
    SupportedVersions,
    find,
    parse_extensions,
)
from pcaptls.tls.registry import ExtensionType, HandshakeType, cipher_suite_info

#: RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
HELLO_RETRY_REQUEST_RANDOM: Final = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

_ET = ExtensionType
#: key_share's number in TLS 1.3 drafts before 23.
DRAFT_KEY_SHARE: Final = 0x0028
# Extension numbers as plain ints (an enum member costs a descriptor call per lookup).
_APPLICATION_LAYER_PROTOCOL_NEGOTIATION: Final = int(_ET.application_layer_protocol_negotiation)
_KEY_SHARE: Final = int(_ET.key_share)
_PRE_SHARED_KEY: Final = int(_ET.pre_shared_key)
_SERVER_NAME: Final = int(_ET.server_name)
_SIGNATURE_ALGORITHMS: Final = int(_ET.signature_algorithms)
_SUPPORTED_GROUPS: Final = int(_ET.supported_groups)
_SUPPORTED_VERSIONS: Final = int(_ET.supported_versions)


def is_tls13(version: int | None) -> bool:
    """TLS 1.3 or one of its drafts (0x7fXX, Facebook's 0xfbXX)."""
    return version is not None and (version == 0x0304 or version >> 8 in (0x7F, 0xFB))


@dataclass(frozen=True, slots=True)
class HandshakeContext:
    """What the parse of a message depends on, as far as it is known when it arrives."""

    version: int | None = None
    cipher_suite: int | None = None


class _HasExtensions:
    __slots__ = ()
    extensions: tuple[Extension, ...]

    def ext(self, ext_type: int) -> ExtensionValue | None:
        """The typed value of an extension, if sent and parsed."""
        for e in self.extensions:  # find(), written out: properties call this a lot
            if e.type == ext_type:
                return e.value
        return None

    def has_ext(self, ext_type: int) -> bool:
        return any(e.type == ext_type for e in self.extensions)


@dataclass(frozen=True, slots=True)
class HelloRequest:
    msg_type = HandshakeType.hello_request


@dataclass(frozen=True, slots=True)
class ClientHello(_HasExtensions):
    """RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, which has the same layout)."""

    msg_type = HandshakeType.client_hello
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: tuple[int, ...]
    extensions: tuple[Extension, ...]

    @property
    def server_name(self) -> str | None:
        v = self.ext(_SERVER_NAME)
        return v.host_name if isinstance(v, ServerNameList) else None

    @property
    def supported_versions(self) -> tuple[int, ...] | None:
        v = self.ext(_SUPPORTED_VERSIONS)
        return v.versions if isinstance(v, SupportedVersions) else None

    @property
    def supported_groups(self) -> tuple[int, ...] | None:
        v = self.ext(_SUPPORTED_GROUPS)
        return v.groups if isinstance(v, NamedGroupList) else None

    @property
    def signature_algorithms(self) -> tuple[int, ...] | None:
        v = self.ext(_SIGNATURE_ALGORITHMS)
        return v.schemes if isinstance(v, SignatureSchemeList) else None

    @property
    def alpn_protocols(self) -> tuple[str, ...] | None:
        v = self.ext(_APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
        return v.protocols if isinstance(v, ProtocolNameList) else None

    @property
    def key_share_groups(self) -> tuple[int, ...] | None:
        v = self.ext(_KEY_SHARE) or self.ext(DRAFT_KEY_SHARE)
        return tuple(s.group for s in v.client_shares) if isinstance(v, KeyShareClientHello) else None

    @property
    def psk_identities(self) -> int | None:
        v = self.ext(_PRE_SHARED_KEY)
        return len(v.identities) if isinstance(v, OfferedPsks) else None


@dataclass(frozen=True, slots=True)
class ServerHello(_HasExtensions):
    """RFC 8446 §4.1.3; a HelloRetryRequest is a ServerHello with the special random."""

    msg_type = HandshakeType.server_hello
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int
    extensions: tuple[Extension, ...]

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @property
    def selected_version(self) -> int:
        """RFC 8446 §4.2.1: supported_versions wins over legacy_version."""
        v = self.ext(_SUPPORTED_VERSIONS)
        return v.version if isinstance(v, SelectedVersion) else self.legacy_version

    @property
    def alpn_protocol(self) -> str | None:
        v = self.ext(_APPLICATION_LAYER_PROTOCOL_NEGOTIATION)
        return v.protocols[0] if isinstance(v, ProtocolNameList) and v.protocols else None

    @property
    def key_share_group(self) -> int | None:
        v = self.ext(_KEY_SHARE) or self.ext(DRAFT_KEY_SHARE)
        if isinstance(v, KeyShareServerHello):
            return v.server_share.group
        if isinstance(v, KeyShareHelloRetryRequest):
            return v.selected_group
        return None

    @property
    def selected_psk(self) -> int | None:
        v = self.ext(_PRE_SHARED_KEY)
        return v.selected_identity if isinstance(v, SelectedPsk) else None


@dataclass(frozen=True, slots=True)
class NewSessionTicket(_HasExtensions):
    """RFC 5077 §3.3 (lifetime hint + ticket) or RFC 8446 §4.6.1 (age_add, nonce, extensions)."""

    msg_type = HandshakeType.new_session_ticket
    ticket_lifetime: int
    ticket: bytes
    ticket_age_add: int | None = None
    ticket_nonce: bytes | None = None
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True)
class EndOfEarlyData:
    msg_type = HandshakeType.end_of_early_data


@dataclass(frozen=True, slots=True)
class EncryptedExtensions(_HasExtensions):
    msg_type = HandshakeType.encrypted_extensions
    extensions: tuple[Extension, ...]


@dataclass(frozen=True, slots=True)
class Certificate:
    """RFC 5246 §7.4.2 / RFC 8446 §4.4.2: DER certificates, leaf first as sent."""

    msg_type = HandshakeType.certificate
    certificate_list: tuple[bytes, ...]
    certificate_request_context: bytes | None = None  # TLS 1.3 only
    entry_extensions: tuple[tuple[Extension, ...], ...] = ()  # TLS 1.3 only, one per entry


@dataclass(frozen=True, slots=True)
class CompressedCertificate:
    """RFC 8879 §4; ``certificate`` when the algorithm's library is available."""

    msg_type = HandshakeType.compressed_certificate
    algorithm: int
    uncompressed_length: int
    compressed_length: int
    certificate: Certificate | None
    decompress_error: str | None


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """RFC 5246 §7.4.3, RFC 8422 §5.4, RFC 4279 §2: the facts, not the key bytes.

    ``kind`` is "ecdhe", "dhe", "rsa" (export RSA), "psk", "ecdhe_psk", "dhe_psk" or
    "unknown" (suite not known when parsed: only ``length`` is set).
    """

    msg_type = HandshakeType.server_key_exchange
    kind: str
    length: int
    curve_type: int | None = None
    named_group: int | None = None
    public_key_length: int | None = None
    dh_p_bits: int | None = None
    dh_g: int | None = None
    rsa_modulus_bits: int | None = None
    psk_identity_hint: bytes | None = None
    signature_scheme: int | None = None
    signature_length: int | None = None


@dataclass(frozen=True, slots=True)
class CertificateRequest(_HasExtensions):
    """RFC 5246 §7.4.4 (types, algorithms, CA names) or RFC 8446 §4.3.2 (context + extensions)."""

    msg_type = HandshakeType.certificate_request
    certificate_types: tuple[int, ...] = ()
    signature_algorithms: tuple[int, ...] | None = None
    certificate_authorities: tuple[bytes, ...] = ()
    certificate_request_context: bytes | None = None
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    msg_type = HandshakeType.server_hello_done


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """RFC 8446 §4.4.3 / RFC 5246 §7.4.8; no scheme before TLS 1.2."""

    msg_type = HandshakeType.certificate_verify
    signature_scheme: int | None
    signature_length: int


@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    msg_type = HandshakeType.client_key_exchange
    exchange_keys: bytes


@dataclass(frozen=True, slots=True)
class Finished:
    msg_type = HandshakeType.finished
    verify_data: bytes


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """RFC 6066 §8: status_type 1 = ocsp with a DER OCSPResponse."""

    msg_type = HandshakeType.certificate_status
    status_type: int
    response: bytes


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    msg_type = HandshakeType.key_update
    request_update: int


@dataclass(frozen=True, slots=True)
class MessageHash:
    msg_type = HandshakeType.message_hash
    body: bytes


@dataclass(frozen=True, slots=True)
class UnknownHandshake:
    """A message type we do not parse (kept by number)."""

    handshake_type: int
    body: bytes

    @property
    def msg_type(self) -> int:
        return self.handshake_type


HandshakeMessage = (
    HelloRequest
    | ClientHello
    | ServerHello
    | NewSessionTicket
    | EndOfEarlyData
    | EncryptedExtensions
    | Certificate
    | CompressedCertificate
    | ServerKeyExchange
    | CertificateRequest
    | ServerHelloDone
    | CertificateVerify
    | ClientKeyExchange
    | Finished
    | CertificateStatus
    | KeyUpdate
    | MessageHash
    | UnknownHandshake
)


#: cipher_suites lists seen lately, by their bytes: every hello of a client offers the same
#: list, and a tuple of 30 suites (most above 255, so 30 int objects) is ~1 KB
_SUITES_SEEN: dict[bytes, tuple[int, ...]] = {}
_SUITES_SEEN_MAX: Final = 1024


def _cipher_suites(r: Reader) -> tuple[int, ...]:
    """``r.uint16_list(2, "cipher_suites")``, one tuple per distinct list."""
    start = r.pos
    n = r.uint16("cipher_suites length")
    r.pos = start
    if n % 2 or r.remaining < 2 + n:
        return r.uint16_list(2, "cipher_suites")  # its error, as it says it
    raw = bytes(r.data[start + 2:start + 2 + n])
    suites = _SUITES_SEEN.get(raw)
    if suites is None:
        suites = r.uint16_list(2, "cipher_suites")
        if len(_SUITES_SEEN) >= _SUITES_SEEN_MAX:
            _SUITES_SEEN.clear()
        _SUITES_SEEN[raw] = suites
    else:
        r.pos = start + 2 + n
    return suites


#: what follows the session id of a hello (suites, compression, extensions), parsed, by
#: those bytes: a client offers the same each time, and a server answers the same, but for
#: fresh key shares or tickets (hellos with those are not remembered: they never repeat)
_HELLOS: dict[tuple[str, int, bytes], tuple[object, object, tuple[Extension, ...]]] = {}
_HELLOS_MAX: Final = 1024


def _remember_hello(key: tuple[str, int, bytes], r: Reader,
                    parsed: tuple[object, object, tuple[Extension, ...]]) -> None:
    """Remember a hello's parsed rest when it took all the body and holds nothing fresh."""
    if r.pos == r.end and not any(e.data and e.type in FRESH_EACH_TIME for e in parsed[2]):
        if len(_HELLOS) >= _HELLOS_MAX:
            _HELLOS.clear()
        _HELLOS[key] = parsed


def _client_hello(r: Reader, ctx: HandshakeContext) -> ClientHello:
    version = r.uint16("legacy_version")
    random = r.raw(32, "random")
    session_id = r.vector(1, "legacy_session_id")
    key = ("client_hello", version, bytes(r.data[r.pos:r.end]))
    found = _HELLOS.get(key)
    if found is not None:
        r.pos = r.end
        return ClientHello(version, random, session_id, *found)  # type: ignore[arg-type]
    suites = _cipher_suites(r)
    compression = r.uint8_list(1, "legacy_compression_methods")
    extensions = parse_extensions(r, "client_hello")
    _remember_hello(key, r, (suites, compression, extensions))
    return ClientHello(version, random, session_id, suites, compression, extensions)


def _server_hello(r: Reader, ctx: HandshakeContext) -> ServerHello:
    version = r.uint16("legacy_version")
    random = r.raw(32, "random")
    if version >> 8 == 0x7F and version < 0x7F16:
        session_id = b""  # TLS 1.3 drafts before 22 had no legacy_session_id_echo
    else:
        session_id = r.vector(1, "legacy_session_id_echo")
    hrr = random == HELLO_RETRY_REQUEST_RANDOM
    ext_ctx: ExtContext = "hello_retry_request" if hrr else "server_hello"
    key = (ext_ctx, version, bytes(r.data[r.pos:r.end]))
    found = _HELLOS.get(key)
    if found is not None:
        r.pos = r.end
        return ServerHello(version, random, session_id, *found)  # type: ignore[arg-type]
    suite = r.uint16("cipher_suite")
    if version >> 8 == 0x7F and version < 0x7F16:
        compression = 0
    else:
        compression = r.uint8("legacy_compression_method")
    extensions = parse_extensions(r, ext_ctx)
    _remember_hello(key, r, (suite, compression, extensions))
    return ServerHello(version, random, session_id, suite, compression, extensions)


def _new_session_ticket(r: Reader, ctx: HandshakeContext) -> NewSessionTicket:
    lifetime = r.uint32("ticket_lifetime")
    if not is_tls13(ctx.version):
        return NewSessionTicket(lifetime, r.vector(2, "ticket"))
    age_add = r.uint32("ticket_age_add")
    nonce = r.vector(1, "ticket_nonce")
    ticket = r.vector(2, "ticket")
    extensions = parse_extensions(r, "new_session_ticket")
    return NewSessionTicket(lifetime, ticket, age_add, nonce, extensions)


#: certificates seen lately, each DER once: a capture repeats the same few chains on
#: every connection, and an open connection keeps its parsed Certificate messages
_DER_SEEN: dict[bytes, bytes] = {}
_DER_SEEN_MAX = 1024


def _same_der(der: bytes) -> bytes:
    """``der``, or the equal bytes object seen before (one copy in memory, not one per
    connection)."""
    seen = _DER_SEEN.get(der)
    if seen is not None:
        return seen
    if len(_DER_SEEN) >= _DER_SEEN_MAX:
        _DER_SEEN.clear()
    _DER_SEEN[der] = der
    return der


def _certificate(r: Reader, ctx: HandshakeContext) -> Certificate:
    if not is_tls13(ctx.version):
        sub = r.block(3, "certificate_list")
        certs = []
        while not sub.eof():
            certs.append(_same_der(sub.vector(3, "ASN.1Cert")))
        return Certificate(tuple(certs))
    context = r.vector(1, "certificate_request_context")
    sub = r.block(3, "certificate_list")
    certs, exts = [], []
    while not sub.eof():
        certs.append(_same_der(sub.vector(3, "cert_data")))
        exts.append(parse_extensions(sub, "certificate"))
    return Certificate(tuple(certs), context, tuple(exts))


def _decompress(algorithm: int, data: bytes, limit: int) -> bytes:
    if algorithm == 1:
        d = zlib.decompressobj()
        out = d.decompress(data, limit + 1)
        return out
    if algorithm == 2:
        import brotli

        result: bytes = brotli.decompress(data)
        return result
    if algorithm == 3:
        import zstandard

        return zstandard.ZstdDecompressor().decompress(data, max_output_size=limit + 1)
    raise ValueError(f"unknown algorithm {algorithm}")


def _compressed_certificate(r: Reader, ctx: HandshakeContext) -> CompressedCertificate:
    algorithm = r.uint16("algorithm")
    length = r.uint24("uncompressed_length")
    data = r.vector(3, "compressed_certificate_message")
    try:
        plain = _decompress(algorithm, data, length)
    except Exception as exc:  # any library's failure is a fact about the message
        return CompressedCertificate(algorithm, length, len(data), None, f"{type(exc).__name__}: {exc}")
    if len(plain) != length:
        return CompressedCertificate(
            algorithm, length, len(data), None, f"decompressed to {len(plain)} bytes"
        )
    try:
        inner = Reader(plain)
        cert = _certificate(inner, HandshakeContext(0x0304))
        inner.expect_end("certificate")
    except TlsDecodeError as exc:
        return CompressedCertificate(algorithm, length, len(data), None, exc.reason)
    return CompressedCertificate(algorithm, length, len(data), cert, None)


def _dh_bits(p: bytes) -> int:
    return int.from_bytes(p, "big").bit_length()


def _signature(r: Reader, ctx: HandshakeContext) -> tuple[int | None, int | None]:
    if r.eof():
        return None, None  # anonymous suites sign nothing
    scheme = r.uint16("signature_scheme") if ctx.version is not None and ctx.version >= 0x0303 else None
    return scheme, len(r.vector(2, "signature"))


def _server_key_exchange(r: Reader, ctx: HandshakeContext) -> ServerKeyExchange:
    info = cipher_suite_info(ctx.cipher_suite) if ctx.cipher_suite is not None else None
    length = r.remaining
    if info is None or info.key_exchange is None:
        r.pos = r.end
        return ServerKeyExchange("unknown", length)
    kx, auth = info.key_exchange, info.authentication
    hint: bytes | None = None
    if auth == "PSK":
        hint = r.vector(2, "psk_identity_hint")
        if kx in ("PSK", "RSA"):
            return ServerKeyExchange("psk", length, psk_identity_hint=hint)
    if kx in ("ECDHE", "ECDH"):
        curve_type = r.uint8("curve_type")
        if curve_type != 3:  # named_curve; explicit curves (1, 2) are not parsed further
            r.pos = r.end
            return ServerKeyExchange("ecdhe", length, curve_type=curve_type, psk_identity_hint=hint)
        group = r.uint16("namedcurve")
        point = r.vector(1, "public")
        scheme, sig_len = _signature(r, ctx) if auth != "PSK" else (None, None)
        kind = "ecdhe_psk" if auth == "PSK" else "ecdhe"
        return ServerKeyExchange(kind, length, curve_type, group, len(point), psk_identity_hint=hint,
                                 signature_scheme=scheme, signature_length=sig_len)
    if kx in ("DHE", "DH"):
        p = r.vector(2, "dh_p")
        g = r.vector(2, "dh_g")
        ys = r.vector(2, "dh_Ys")
        scheme, sig_len = _signature(r, ctx) if auth != "PSK" else (None, None)
        kind = "dhe_psk" if auth == "PSK" else "dhe"
        return ServerKeyExchange(kind, length, public_key_length=len(ys), dh_p_bits=_dh_bits(p),
                                 dh_g=int.from_bytes(g[:8], "big"), psk_identity_hint=hint,
                                 signature_scheme=scheme, signature_length=sig_len)
    if kx == "RSA":  # RFC 4346 export: a temporary RSA key
        modulus = r.vector(2, "rsa_modulus")
        r.vector(2, "rsa_exponent")
        scheme, sig_len = _signature(r, ctx)
        return ServerKeyExchange("rsa", length, rsa_modulus_bits=_dh_bits(modulus),
                                 signature_scheme=scheme, signature_length=sig_len)
    r.pos = r.end
    return ServerKeyExchange("unknown", length)


def _certificate_request(r: Reader, ctx: HandshakeContext) -> CertificateRequest:
    if is_tls13(ctx.version):
        context = r.vector(1, "certificate_request_context")
        exts = parse_extensions(r, "certificate_request")
        found = find(exts, _SIGNATURE_ALGORITHMS)
        algs = found.value.schemes if found and isinstance(found.value, SignatureSchemeList) else None
        return CertificateRequest(certificate_request_context=context, extensions=exts,
                                  signature_algorithms=algs)
    types = r.uint8_list(1, "certificate_types")
    algs2: tuple[int, ...] | None = None
    if ctx.version is None or ctx.version >= 0x0303:
        algs2 = r.uint16_list(2, "supported_signature_algorithms")
    sub = r.block(2, "certificate_authorities")
    names = []
    while not sub.eof():
        names.append(sub.vector(2, "DistinguishedName"))
    return CertificateRequest(types, algs2, tuple(names))


def _certificate_verify(r: Reader, ctx: HandshakeContext) -> CertificateVerify:
    if ctx.version is None or ctx.version >= 0x0303:
        scheme = r.uint16("algorithm")
        return CertificateVerify(scheme, len(r.vector(2, "signature")))
    return CertificateVerify(None, len(r.vector(2, "signature")))


def _certificate_status(r: Reader, ctx: HandshakeContext) -> CertificateStatus:
    status_type = r.uint8("status_type")
    return CertificateStatus(status_type, r.vector(3, "response"))


_PARSERS: Final[dict[int, Callable[[Reader, HandshakeContext], HandshakeMessage]]] = {
    HandshakeType.hello_request: lambda r, c: HelloRequest(),
    HandshakeType.client_hello: _client_hello,
    HandshakeType.server_hello: _server_hello,
    HandshakeType.new_session_ticket: _new_session_ticket,
    HandshakeType.end_of_early_data: lambda r, c: EndOfEarlyData(),
    HandshakeType.encrypted_extensions: lambda r, c: EncryptedExtensions(
        parse_extensions(r, "encrypted_extensions")
    ),
    HandshakeType.certificate: _certificate,
    HandshakeType.compressed_certificate: _compressed_certificate,
    HandshakeType.server_key_exchange: _server_key_exchange,
    HandshakeType.certificate_request: _certificate_request,
    HandshakeType.server_hello_done: lambda r, c: ServerHelloDone(),
    HandshakeType.certificate_verify: _certificate_verify,
    HandshakeType.client_key_exchange: lambda r, c: ClientKeyExchange(r.rest()),
    HandshakeType.finished: lambda r, c: Finished(r.rest()),
    HandshakeType.certificate_status: _certificate_status,
    HandshakeType.key_update: lambda r, c: KeyUpdate(r.uint8("request_update")),
    HandshakeType.message_hash: lambda r, c: MessageHash(r.rest()),
}


#: message types whose bodies repeat from connection to connection (a server sends the
#: same chain, the same CA names, the same staple to every client), parsed once per body
#: and context: :data:`_REPEATED`; hellos and key exchanges carry fresh randoms and keys
REPEATING: Final = frozenset({
    HandshakeType.certificate, HandshakeType.certificate_request,
    HandshakeType.server_hello_done, HandshakeType.encrypted_extensions,
    HandshakeType.compressed_certificate, HandshakeType.certificate_status,
})
_REPEATED: dict[tuple[int, bytes, HandshakeContext], HandshakeMessage] = {}
_REPEATED_MAX: Final = 256
_TYPE_NAMES: Final = {int(t): t.name for t in HandshakeType}


def parse_handshake(
    msg_type: int, body: bytes, ctx: HandshakeContext = HandshakeContext()
) -> HandshakeMessage:
    """One handshake message body (without its 4-byte header) to a typed message.

    Raises :class:`TlsDecodeError` (with the offset in ``body``) when it is malformed.
    Messages of the :data:`REPEATING` types are immutable and shared: the same body in
    the same context gives the same object while it is remembered.
    """
    parser = _PARSERS.get(msg_type)
    if parser is None:
        return UnknownHandshake(msg_type, body)
    if msg_type in REPEATING:
        key = (msg_type, bytes(body), ctx)
        msg = _REPEATED.get(key)
        if msg is None:
            msg = _parse(parser, msg_type, body, ctx)
            if len(_REPEATED) >= _REPEATED_MAX:
                _REPEATED.clear()
            _REPEATED[key] = msg
        return msg
    return _parse(parser, msg_type, body, ctx)


def _parse(parser: Callable[[Reader, HandshakeContext], HandshakeMessage], msg_type: int,
           body: bytes, ctx: HandshakeContext) -> HandshakeMessage:
    r = Reader(body)
    msg = parser(r, ctx)
    if r.pos != r.end:
        r.expect_end(_TYPE_NAMES[msg_type])
    return msg


def split_handshake(data: bytes, offset: int = 0) -> tuple[list[tuple[int, bytes]], int]:
    """Cut whole messages (type, body) off the front of ``data[offset:]``.

    Returns the messages and the offset of the first incomplete byte.
    """
    out = []
    n = len(data)
    while n - offset >= 4:
        length = int.from_bytes(data[offset + 1 : offset + 4], "big")
        if n - offset - 4 < length:
            break
        out.append((data[offset], bytes(data[offset + 4 : offset + 4 + length])))
        offset += 4 + length
    return out, offset
