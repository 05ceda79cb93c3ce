"""Typed values of the TLS extensions an analyzer needs (RFC 8446 §4.2 and friends).

An extension keeps its number and raw bytes; :func:`parse_extension_value` adds a
typed value where we know the grammar. A value that does not parse leaves the
message intact: the error is kept beside the raw bytes (a passive analyzer must not
drop a ClientHello for one odd extension).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from pcaptls.tls.buffer import Reader, TlsDecodeError
from pcaptls.tls.registry import ExtensionType, extension_name

#: Where an extension appears; several extensions change shape with it.
ExtContext = Literal[
    "client_hello",
    "server_hello",
    "hello_retry_request",
    "encrypted_extensions",
    "certificate",
    "certificate_request",
    "new_session_ticket",
]


@dataclass(frozen=True, slots=True)
class ServerNameList:
    """server_name (RFC 6066 §3): (name_type, name) pairs; empty in a server's answer."""

    names: tuple[tuple[int, bytes], ...]

    @property
    def host_name(self) -> str | None:
        for name_type, name in self.names:
            if name_type == 0:
                return name.decode("ascii", "backslashreplace")
        return None


@dataclass(frozen=True, slots=True)
class SupportedVersions:
    """supported_versions, client form: the versions offered in order (RFC 8446 §4.2.1)."""

    versions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SelectedVersion:
    """supported_versions, ServerHello/HelloRetryRequest form."""

    version: int


@dataclass(frozen=True, slots=True)
class NamedGroupList:
    """supported_groups (RFC 8446 §4.2.7)."""

    groups: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EcPointFormats:
    """ec_point_formats (RFC 8422 §5.1.2)."""

    formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SignatureSchemeList:
    """signature_algorithms / signature_algorithms_cert (RFC 8446 §4.2.3)."""

    schemes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ProtocolNameList:
    """application_layer_protocol_negotiation (RFC 7301); one entry in a server's answer."""

    protocols: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    group: int
    key_exchange_length: int


@dataclass(frozen=True, slots=True)
class KeyShareClientHello:
    """key_share in ClientHello: the shares offered, in order."""

    client_shares: tuple[KeyShareEntry, ...]


@dataclass(frozen=True, slots=True)
class KeyShareServerHello:
    """key_share in ServerHello: the share chosen."""

    server_share: KeyShareEntry


@dataclass(frozen=True, slots=True)
class KeyShareHelloRetryRequest:
    """key_share in HelloRetryRequest: the group the server wants."""

    selected_group: int


@dataclass(frozen=True, slots=True)
class CertificateStatusRequest:
    """status_request (RFC 6066 §8); ``ocsp_response`` in a TLS 1.3 CertificateEntry."""

    status_type: int | None
    ocsp_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class CertificateStatusRequestV2:
    """status_request_v2 (RFC 6961): the status types asked for."""

    status_types: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """renegotiation_info (RFC 5746 §3.2): empty on an initial handshake."""

    renegotiated_connection: bytes


@dataclass(frozen=True, slots=True)
class Empty:
    """An extension whose presence is the whole message (extended_master_secret, ...)."""


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """session_ticket (RFC 5077 §3.2): a ticket offered by the client, or empty."""

    ticket: bytes


@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    """psk_key_exchange_modes (RFC 8446 §4.2.9)."""

    modes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OfferedPsks:
    """pre_shared_key in ClientHello: identities (with obfuscated ages) and binder count."""

    identities: tuple[tuple[bytes, int], ...]
    binders_count: int


@dataclass(frozen=True, slots=True)
class SelectedPsk:
    """pre_shared_key in ServerHello: the index of the identity accepted."""

    selected_identity: int


@dataclass(frozen=True, slots=True)
class EarlyDataIndication:
    """early_data (RFC 8446 §4.2.10); ``max_early_data_size`` only in NewSessionTicket."""

    max_early_data_size: int | None


@dataclass(frozen=True, slots=True)
class Cookie:
    """cookie (RFC 8446 §4.2.2)."""

    cookie: bytes


@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """record_size_limit (RFC 8449)."""

    limit: int


@dataclass(frozen=True, slots=True)
class Padding:
    """padding (RFC 7685): only its length matters."""

    length: int


@dataclass(frozen=True, slots=True)
class CertificateCompressionAlgorithms:
    """compress_certificate (RFC 8879 §3)."""

    algorithms: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EncryptedClientHello:
    """encrypted_client_hello (RFC 9849 §5): outer (0) or inner (1) form, or server retry configs."""

    ech_type: int | None
    kdf_id: int | None = None
    aead_id: int | None = None
    config_id: int | None = None
    enc_length: int | None = None
    payload_length: int | None = None
    retry_configs: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignedCertificateTimestamps:
    """signed_certificate_timestamp (RFC 6962 §3.3): the SCTs (empty in ClientHello)."""

    scts: tuple[bytes, ...]


ExtensionValue = (
    ServerNameList
    | SupportedVersions
    | SelectedVersion
    | NamedGroupList
    | EcPointFormats
    | SignatureSchemeList
    | ProtocolNameList
    | KeyShareClientHello
    | KeyShareServerHello
    | KeyShareHelloRetryRequest
    | CertificateStatusRequest
    | CertificateStatusRequestV2
    | RenegotiationInfo
    | Empty
    | SessionTicket
    | PskKeyExchangeModes
    | OfferedPsks
    | SelectedPsk
    | EarlyDataIndication
    | Cookie
    | RecordSizeLimit
    | Padding
    | CertificateCompressionAlgorithms
    | EncryptedClientHello
    | SignedCertificateTimestamps
)


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension as sent: number, raw bytes, typed value (or why it has none)."""

    type: int
    data: bytes
    value: ExtensionValue | None = None
    error: str | None = None

    @property
    def name(self) -> str:
        return extension_name(self.type)


def _server_name(r: Reader, ctx: ExtContext) -> ServerNameList:
    if r.eof():
        return ServerNameList(())
    sub = r.block(2, "server_name_list")
    names = []
    while not sub.eof():
        name_type = sub.uint8("name_type")
        names.append((name_type, sub.vector(2, "host_name")))
    return ServerNameList(tuple(names))


def _supported_versions(r: Reader, ctx: ExtContext) -> SupportedVersions | SelectedVersion:
    if ctx == "client_hello":
        sub = r.block(1, "supported_versions")
        if sub.remaining % 2:
            raise TlsDecodeError("supported_versions: odd length", sub.pos)
        return SupportedVersions(tuple(sub.uint16() for _ in range(sub.remaining // 2)))
    return SelectedVersion(r.uint16("selected_version"))


def _key_share(
    r: Reader, ctx: ExtContext
) -> KeyShareClientHello | KeyShareServerHello | KeyShareHelloRetryRequest:
    if ctx == "hello_retry_request":
        return KeyShareHelloRetryRequest(r.uint16("selected_group"))
    if ctx == "server_hello":
        group = r.uint16("group")
        return KeyShareServerHello(KeyShareEntry(group, len(r.vector(2, "key_exchange"))))
    sub = r.block(2, "client_shares")
    shares = []
    while not sub.eof():
        group = sub.uint16("group")
        shares.append(KeyShareEntry(group, len(sub.vector(2, "key_exchange"))))
    return KeyShareClientHello(tuple(shares))


def _alpn(r: Reader, ctx: ExtContext) -> ProtocolNameList:
    sub = r.block(2, "protocol_name_list")
    names = []
    while not sub.eof():
        names.append(sub.vector(1, "protocol_name").decode("ascii", "backslashreplace"))
    return ProtocolNameList(tuple(names))


def _status_request(r: Reader, ctx: ExtContext) -> CertificateStatusRequest:
    if r.eof():
        return CertificateStatusRequest(None)
    status_type = r.uint8("status_type")
    if ctx == "certificate":  # RFC 8446 §4.4.2.1: a CertificateStatus body
        return CertificateStatusRequest(status_type, r.vector(3, "ocsp_response"))
    r.pos = r.end  # responder_id_list and request_extensions: not needed
    return CertificateStatusRequest(status_type)


def _status_request_v2(r: Reader, ctx: ExtContext) -> CertificateStatusRequestV2:
    if r.eof():
        return CertificateStatusRequestV2(())
    sub = r.block(2, "certificate_status_req_list")
    types = []
    while not sub.eof():
        types.append(sub.uint8("status_type"))
        sub.vector(2, "request")
    return CertificateStatusRequestV2(tuple(types))


def _pre_shared_key(r: Reader, ctx: ExtContext) -> OfferedPsks | SelectedPsk:
    if ctx == "server_hello":
        return SelectedPsk(r.uint16("selected_identity"))
    ids = r.block(2, "identities")
    identities = []
    while not ids.eof():
        identity = ids.vector(2, "identity")
        identities.append((identity, ids.uint32("obfuscated_ticket_age")))
    binders = r.block(2, "binders")
    count = 0
    while not binders.eof():
        binders.vector(1, "binder")
        count += 1
    return OfferedPsks(tuple(identities), count)


def _early_data(r: Reader, ctx: ExtContext) -> EarlyDataIndication:
    if ctx == "new_session_ticket":
        return EarlyDataIndication(r.uint32("max_early_data_size"))
    return EarlyDataIndication(None)


def _ech(r: Reader, ctx: ExtContext) -> EncryptedClientHello:
    if ctx != "client_hello":
        return EncryptedClientHello(None, retry_configs=r.rest())
    ech_type = r.uint8("ech_type")
    if ech_type != 0:
        return EncryptedClientHello(ech_type)
    kdf, aead, config_id = r.uint16("kdf_id"), r.uint16("aead_id"), r.uint8("config_id")
    enc = r.vector(2, "enc")
    payload = r.vector(2, "payload")
    return EncryptedClientHello(0, kdf, aead, config_id, len(enc), len(payload))


def _sct(r: Reader, ctx: ExtContext) -> SignedCertificateTimestamps:
    if r.eof():
        return SignedCertificateTimestamps(())
    sub = r.block(2, "signed_certificate_timestamp_list")
    scts = []
    while not sub.eof():
        scts.append(sub.vector(2, "sct"))
    return SignedCertificateTimestamps(tuple(scts))


def _empty(r: Reader, ctx: ExtContext) -> Empty:
    return Empty()


_E = ExtensionType
_PARSERS = {
    _E.server_name: _server_name,
    _E.supported_versions: _supported_versions,
    _E.supported_groups: lambda r, c: NamedGroupList(r.uint16_list(2, "named_group_list")),
    _E.ec_point_formats: lambda r, c: EcPointFormats(r.uint8_list(1, "ec_point_format_list")),
    _E.signature_algorithms: lambda r, c: SignatureSchemeList(
        r.uint16_list(2, "supported_signature_algorithms")
    ),
    _E.signature_algorithms_cert: lambda r, c: SignatureSchemeList(
        r.uint16_list(2, "supported_signature_algorithms")
    ),
    _E.application_layer_protocol_negotiation: _alpn,
    _E.key_share: _key_share,
    0x0028: _key_share,  # key_share before TLS 1.3 draft 23 (RFC 8446 moved it to 51)
    _E.status_request: _status_request,
    _E.status_request_v2: _status_request_v2,
    _E.renegotiation_info: lambda r, c: RenegotiationInfo(r.vector(1, "renegotiated_connection")),
    _E.extended_master_secret: _empty,
    _E.encrypt_then_mac: _empty,
    _E.post_handshake_auth: _empty,
    _E.session_ticket: lambda r, c: SessionTicket(r.rest()),
    _E.psk_key_exchange_modes: lambda r, c: PskKeyExchangeModes(r.uint8_list(1, "ke_modes")),
    _E.pre_shared_key: _pre_shared_key,
    _E.early_data: _early_data,
    _E.cookie: lambda r, c: Cookie(r.vector(2, "cookie")),
    _E.record_size_limit: lambda r, c: RecordSizeLimit(r.uint16("record_size_limit")),
    _E.padding: lambda r, c: Padding(len(r.rest())),
    _E.compress_certificate: lambda r, c: CertificateCompressionAlgorithms(
        r.uint16_list(1, "algorithms")
    ),
    _E.encrypted_client_hello: _ech,
    _E.signed_certificate_timestamp: _sct,
}


def parse_extension_value(ext_type: int, data: bytes, ctx: ExtContext) -> ExtensionValue | None:
    """The typed value of one extension body; ``None`` for types we keep only as bytes.

    Raises :class:`TlsDecodeError` when the body breaks the extension's grammar.
    """
    parser = _PARSERS.get(ext_type)
    if parser is None:
        return None
    r = Reader(data)
    value: ExtensionValue = parser(r, ctx)
    r.expect_end(extension_name(ext_type))
    return value


#: extensions whose bytes differ on every handshake (keys, tickets, binders): not remembered
FRESH_EACH_TIME: Final = frozenset({
    _E.key_share, _E.pre_shared_key, _E.session_ticket, _E.cookie, _E.encrypted_client_hello,
})
#: extensions parsed lately, by (type, bytes, context): the clients of a capture send the
#: same groups, algorithms, names and versions on every connection, so each is parsed once
#: and held once (an Extension and its value are immutable)
_SEEN: dict[tuple[int, bytes, str], Extension] = {}
_SEEN_MAX: Final = 4096


def _extension(ext_type: int, data: bytes, ctx: ExtContext) -> Extension:
    try:
        return Extension(ext_type, data, parse_extension_value(ext_type, data, ctx))
    except TlsDecodeError as exc:
        return Extension(ext_type, data, None, exc.reason)


def parse_extensions(r: Reader, ctx: ExtContext) -> tuple[Extension, ...]:
    """extensions<0..2^16-1>; an absent block (old SSL 3.0 hellos) gives ()."""
    if r.eof():
        return ()
    block = r.block(2, "extensions")
    out = []
    seen = _SEEN
    buf, pos, end = block.data, block.pos, block.end
    while pos < end:
        if pos + 4 <= end and pos + 4 + ((buf[pos + 2] << 8) | buf[pos + 3]) <= end:
            # The header read by hand (this runs for every extension of every hello).
            n = (buf[pos + 2] << 8) | buf[pos + 3]
            ext_type = (buf[pos] << 8) | buf[pos + 1]
            data = bytes(buf[pos + 4 : pos + 4 + n])
            pos += 4 + n
        else:  # it does not fit: the reader says what is wrong, and where
            block.pos = pos
            ext_type = block.uint16("extension_type")
            data = block.vector(2, "extension_data")
            pos = block.pos
        if ext_type in FRESH_EACH_TIME:
            out.append(_extension(ext_type, data, ctx))
            continue
        key = (ext_type, data, ctx)
        ext = seen.get(key)
        if ext is None:
            ext = _extension(ext_type, data, ctx)
            if len(seen) >= _SEEN_MAX:
                seen.clear()
            seen[key] = ext
        out.append(ext)
    block.pos = pos
    return tuple(out)


def find(extensions: tuple[Extension, ...], ext_type: int) -> Extension | None:
    """The first extension of ``ext_type``, if sent."""
    for ext in extensions:
        if ext.type == ext_type:
            return ext
    return None
