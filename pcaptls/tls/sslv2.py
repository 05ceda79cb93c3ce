"""SSL 2.0 messages (draft-hickman-netscape-ssl-00) and the v2-compatible ClientHello.

Old clients opened with an SSLv2-format CLIENT-HELLO announcing SSL 3.0/TLS (RFC 5246
appendix E.2); a few servers still answered in pure SSLv2. Both are parsed here so
the analyzer can say so instead of calling the stream "not TLS".
"""

from __future__ import annotations

from dataclasses import dataclass

from pcaptls.tls.buffer import Reader
from pcaptls.tls.registry import Ssl2MessageType


@dataclass(frozen=True, slots=True)
class Ssl2ClientHello:
    """CLIENT-HELLO; ``version`` >= 0x0300 makes it a v2-compatible TLS ClientHello."""

    msg_type = Ssl2MessageType.client_hello
    version: int
    cipher_specs: tuple[int, ...]  # 3-byte kinds; 0x00XXXX are TLS cipher suites
    session_id: bytes
    challenge: bytes

    @property
    def v2_compatible(self) -> bool:
        return self.version >= 0x0300


@dataclass(frozen=True, slots=True)
class Ssl2ServerHello:
    msg_type = Ssl2MessageType.server_hello
    session_id_hit: int
    certificate_type: int
    version: int
    certificate: bytes
    cipher_specs: tuple[int, ...]
    connection_id: bytes


@dataclass(frozen=True, slots=True)
class Ssl2ClientMasterKey:
    msg_type = Ssl2MessageType.client_master_key
    cipher_kind: int
    clear_key_length: int
    encrypted_key_length: int
    key_arg_length: int


@dataclass(frozen=True, slots=True)
class Ssl2Error:
    msg_type = Ssl2MessageType.error
    error_code: int


@dataclass(frozen=True, slots=True)
class Ssl2Other:
    """Any other (or encrypted) SSLv2 record body, kept by length."""

    first_byte: int | None
    length: int


Ssl2Message = Ssl2ClientHello | Ssl2ServerHello | Ssl2ClientMasterKey | Ssl2Error | Ssl2Other


def _specs(raw: bytes) -> tuple[int, ...]:
    return tuple(int.from_bytes(raw[i : i + 3], "big") for i in range(0, len(raw) - 2, 3))


def parse_ssl2(body: bytes) -> Ssl2Message:
    """One cleartext SSLv2 record body. Raises TlsDecodeError when lengths do not fit."""
    r = Reader(body)
    if r.eof():
        return Ssl2Other(None, 0)
    msg_type = r.uint8("msg_type")
    if msg_type == Ssl2MessageType.client_hello:
        version = r.uint16("version")
        spec_len, sid_len, chal_len = r.uint16("cipher_specs_length"), r.uint16(), r.uint16()
        specs = r.raw(spec_len, "cipher_specs")
        sid = r.raw(sid_len, "session_id")
        challenge = r.raw(chal_len, "challenge")
        return Ssl2ClientHello(version, _specs(specs), sid, challenge)
    if msg_type == Ssl2MessageType.server_hello:
        hit, cert_type, version = r.uint8(), r.uint8(), r.uint16("server_version")
        cert_len, spec_len, cid_len = r.uint16(), r.uint16(), r.uint16()
        cert = r.raw(cert_len, "certificate")
        specs = r.raw(spec_len, "cipher_specs")
        cid = r.raw(cid_len, "connection_id")
        return Ssl2ServerHello(hit, cert_type, version, cert, _specs(specs), cid)
    if msg_type == Ssl2MessageType.client_master_key:
        kind = r.uint24("cipher_kind")
        clear, enc, arg = r.uint16(), r.uint16(), r.uint16()
        r.raw(clear + enc + arg, "key data")
        return Ssl2ClientMasterKey(kind, clear, enc, arg)
    if msg_type == Ssl2MessageType.error:
        return Ssl2Error(r.uint16("error_code"))
    return Ssl2Other(msg_type, len(body))
