"""Names and derived facts for TLS registry values.

The tables come from :mod:`pcaptls.tls.registry_generated` (generated from IANA,
tshark and OpenSSL data). This module only adds what a table cannot hold: GREASE
(RFC 8701) recognition, the display spelling the output tables use, and per-suite
properties derived from the IANA name (``TLS_<kx>_<auth>_WITH_<cipher>_<mac>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

from pcaptls.tls.registry_generated import (
    ALERTDESCRIPTION_NAMES,
    CIPHERSUITE_NAMES,
    CONTENTTYPE_NAMES,
    EXTENSIONTYPE_NAMES,
    HANDSHAKETYPE_NAMES,
    NAMEDGROUP_NAMES,
    OPENSSL_CIPHER_NAMES,
    PROTOCOLVERSION_NAMES,
    SIGNATURESCHEME_NAMES,
    SSL2CIPHERKIND_NAMES,
    SSL2MESSAGETYPE_NAMES,
    AlertDescription,
    CipherSuite,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    Ssl2CipherKind,
    Ssl2MessageType,
)

__all__ = [
    "GREASE_VALUES",
    "AlertDescription",
    "CipherSuite",
    "CipherSuiteInfo",
    "ContentType",
    "ExtensionType",
    "HandshakeType",
    "NamedGroup",
    "ProtocolVersion",
    "SignatureScheme",
    "Ssl2CipherKind",
    "Ssl2MessageType",
    "alert_name",
    "cipher_suite_info",
    "cipher_suite_name",
    "content_type_name",
    "extension_name",
    "group_name",
    "handshake_type_name",
    "is_grease",
    "signature_scheme_name",
    "ssl2_cipher_kind_name",
    "ssl2_message_type_name",
    "version_name",
]

#: RFC 8701 section 2: 0x0A0A, 0x1A1A, ... 0xFAFA (cipher suites, groups, extensions,
#: versions, signature algorithms all use these 16 values).
GREASE_VALUES: Final[frozenset[int]] = frozenset(0x0A0A + 0x1010 * i for i in range(16))


def is_grease(value: int) -> bool:
    """True for the RFC 8701 GREASE values (16-bit registries)."""
    return value in GREASE_VALUES


def _hex4(value: int) -> str:
    return f"0x{value:04x}"


def _name16(table: dict[int, str], value: int) -> str:
    if value in GREASE_VALUES:
        return "GREASE"
    return table.get(value) or _hex4(value)


def version_name(value: int) -> str:
    """'TLS 1.2', 'TLS 1.3 (draft 23)', 'GREASE' or '0x5a5b'."""
    return _name16(PROTOCOLVERSION_NAMES, value)


def cipher_suite_name(value: int) -> str:
    """IANA name, 'GREASE' or '0x5a5b'."""
    return _name16(CIPHERSUITE_NAMES, value)


def group_name(value: int) -> str:
    """IANA supported-group name ('x25519'), 'GREASE' or '0x5a5b'."""
    return _name16(NAMEDGROUP_NAMES, value)


def signature_scheme_name(value: int) -> str:
    """IANA SignatureScheme name ('rsa_pss_rsae_sha256'), 'GREASE' or '0x5a5b'."""
    return _name16(SIGNATURESCHEME_NAMES, value)


def extension_name(value: int) -> str:
    """Extension name ('server_name'), 'GREASE' or '0x5a5b'."""
    return _name16(EXTENSIONTYPE_NAMES, value)


def alert_name(value: int) -> str:
    """AlertDescription name ('unknown_ca') or hex for unassigned codes."""
    return ALERTDESCRIPTION_NAMES.get(value) or f"0x{value:02x}"


def handshake_type_name(value: int) -> str:
    """HandshakeType name ('client_hello') or hex."""
    return HANDSHAKETYPE_NAMES.get(value) or f"0x{value:02x}"


def content_type_name(value: int) -> str:
    """ContentType name ('handshake') or hex."""
    return CONTENTTYPE_NAMES.get(value) or f"0x{value:02x}"


def ssl2_message_type_name(value: int) -> str:
    """SSLv2 message type name ('client_master_key') or hex."""
    return SSL2MESSAGETYPE_NAMES.get(value) or f"0x{value:02x}"


def ssl2_cipher_kind_name(value: int) -> str:
    """SSL_CK_ name of a 3-byte SSLv2 cipher kind; a kind 0x00XXXX is a TLS suite."""
    if value in SSL2CIPHERKIND_NAMES:
        return SSL2CIPHERKIND_NAMES[value]
    if value <= 0xFFFF:
        return cipher_suite_name(value)
    return f"0x{value:06x}"


Mode = Literal["CBC", "GCM", "CCM", "CCM_8", "ChaCha20-Poly1305", "stream", "NULL", "other"]

_HASHES: Final = frozenset({"MD5", "SHA", "SHA256", "SHA384", "SHA512", "SM3", "IMIT", "OMAC"})
_AUTHS: Final = frozenset({"RSA", "DSS", "ECDSA", "anon", "PSK", "SHA", "SHA_RSA", "SHA_DSS"})


@dataclass(frozen=True, slots=True)
class CipherSuiteInfo:
    """Facts read from an IANA cipher suite name; ``None`` where the name does not say."""

    value: int
    name: str
    openssl_name: str | None
    tls13: bool
    scsv: bool
    key_exchange: str | None  # "RSA", "DHE", "ECDHE", "DH", "ECDH", "PSK", "SRP", "KRB5", "any"
    authentication: str | None  # "RSA", "ECDSA", "DSS", "anon", "PSK", "any", ...
    cipher: str | None  # "AES_128", "3DES_EDE", "RC4_128", "CHACHA20", "NULL", ...
    mode: Mode | None
    mac: str | None  # "SHA", "SHA256", "MD5", "AEAD"
    forward_secrecy: bool
    export: bool
    anonymous: bool

    @property
    def aead(self) -> bool:
        return self.mode in ("GCM", "CCM", "CCM_8", "ChaCha20-Poly1305")


def _split_kx(kx: str) -> tuple[str, str, bool]:
    """'ECDHE_RSA' -> ('ECDHE', 'RSA', export=False)."""
    export = "EXPORT" in kx
    parts = [p for p in kx.split("_") if not p.startswith("EXPORT")]
    if not parts:
        return "?", "?", export
    head, rest = parts[0], "_".join(parts[1:])
    if head == "GOSTR341112":
        return kx, kx, export
    if head == "PSK" and rest == "DHE":  # RFC 6655 TLS_PSK_DHE_WITH_...: DHE key, PSK auth
        return "DHE", "PSK", export
    if head == "SRP":
        return "SRP", rest.removeprefix("SHA_") if rest != "SHA" else "SRP", export
    if head in ("RSA", "PSK", "KRB5", "ECCPWD") and not rest:
        return head, head, export
    if head == "RSA" and rest == "PSK":
        return "RSA", "PSK", export
    return head, rest or head, export


def _split_cipher(spec: str) -> tuple[str, Mode, str | None]:
    tokens = spec.split("_")
    mac: str | None = None
    if len(tokens) > 1 and tokens[-1] in _HASHES and not spec.endswith("CTR_OMAC"):
        mac = tokens[-1]
        tokens = tokens[:-1]
    body = "_".join(tokens)
    mode: Mode
    if body in ("NULL", "NULL_NULL") or body in _HASHES:  # RFC 9150 TLS_SHA256_SHA256
        mode, body = "NULL", "NULL"
    elif body.startswith("CHACHA20_POLY1305"):
        mode, body = "ChaCha20-Poly1305", "CHACHA20"
    elif body.endswith("_CCM_8"):
        mode, body = "CCM_8", body.removesuffix("_CCM_8")
    elif body.endswith("_CCM"):
        mode, body = "CCM", body.removesuffix("_CCM")
    elif body.endswith("_GCM"):
        mode, body = "GCM", body.removesuffix("_GCM")
    elif "_CBC" in body:
        mode, body = "CBC", body.replace("_CBC", "")
    elif body.startswith("RC4"):
        mode = "stream"
    else:
        mode = "other"
    if mode in ("GCM", "CCM", "CCM_8", "ChaCha20-Poly1305") or body.startswith("AEGIS"):
        mac = "AEAD"
    return body, mode, mac


@cache
def cipher_suite_info(value: int) -> CipherSuiteInfo | None:
    """Derived properties of a registered suite; ``None`` for GREASE/unassigned values."""
    name = CIPHERSUITE_NAMES.get(value)
    if name is None or value in GREASE_VALUES:
        return None
    openssl = OPENSSL_CIPHER_NAMES.get(value)
    if name.endswith("_SCSV"):
        return CipherSuiteInfo(value, name, openssl, False, True, None, None, None, None, None,
                               False, False, False)
    if "_WITH_" not in name:
        # TLS 1.3 (RFC 8446 B.4, RFC 9150): TLS_<AEAD>_<HASH>; key exchange is negotiated apart.
        cipher, mode, mac = _split_cipher(name.removeprefix("TLS_"))
        return CipherSuiteInfo(value, name, openssl, True, False, "any", "any", cipher, mode,
                               mac, True, False, False)
    kx_part, spec = name.removeprefix("TLS_").split("_WITH_", 1)
    if kx_part == "NULL":  # TLS_NULL_WITH_NULL_NULL, the initial state
        return CipherSuiteInfo(value, name, openssl, False, False, None, None, "NULL", "NULL",
                               None, False, False, False)
    kx, auth, export = _split_kx(kx_part)
    cipher, mode, mac = _split_cipher(spec)
    export = export or "EXPORT" in spec or "_40" in spec
    anonymous = auth == "anon"
    fs = kx in ("DHE", "ECDHE") or (anonymous and kx in ("DH", "ECDH"))
    return CipherSuiteInfo(value, name, openssl, False, False, kx, auth, cipher, mode, mac,
                           fs, export, anonymous)
