"""Key derivation: from logged secrets to record keys.

TLS 1.3 (RFC 8446 §7.1, §7.3) expands traffic secrets with HKDF-Expand-Label;
TLS 1.0-1.2 (RFC 2246 §5, §6.3; RFC 5246 §5, §6.3) expand the master secret into a
key block with the PRF. Pure functions of bytes, so they can be checked against the
RFC 8448 traces and against real sessions.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}


def hash_length(hash_name: str) -> int:
    """Output length of a :mod:`hashlib` hash name."""
    return hashlib.new(hash_name).digest_size


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1): the ``HkdfLabel`` struct as HKDF info."""
    full_label = b"tls13 " + label
    info = (
        length.to_bytes(2, "big")
        + bytes([len(full_label)])
        + full_label
        + bytes([len(context)])
        + context
    )
    return HKDFExpand(_HASHES[hash_name](), length, info).derive(secret)


def traffic_key_iv(
    hash_name: str, traffic_secret: bytes, key_length: int, iv_length: int = 12
) -> tuple[bytes, bytes]:
    """``[sender]_write_key`` and ``[sender]_write_iv`` of a traffic secret (RFC 8446 §7.3)."""
    key = hkdf_expand_label(hash_name, traffic_secret, b"key", b"", key_length)
    iv = hkdf_expand_label(hash_name, traffic_secret, b"iv", b"", iv_length)
    return key, iv


def next_traffic_secret(hash_name: str, traffic_secret: bytes) -> bytes:
    """``application_traffic_secret_N+1`` after a KeyUpdate (RFC 8446 §7.2)."""
    return hkdf_expand_label(
        hash_name, traffic_secret, b"traffic upd", b"", hash_length(hash_name)
    )


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash (RFC 5246 §5): HMAC chained with A(i)."""
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, hash_name)
        out += hmac.digest(secret, a + seed, hash_name)
    return bytes(out[:length])


def prf_tls12(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.2 PRF (RFC 5246 §5) with the suite's PRF hash."""
    return p_hash(hash_name, secret, label + seed, length)


def prf_tls10(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.0/1.1 PRF (RFC 2246 §5): P_MD5 of one half xor P_SHA-1 of the other."""
    half = (len(secret) + 1) // 2
    md5 = p_hash("md5", secret[:half], label + seed, length)
    sha1 = p_hash("sha1", secret[len(secret) - half :], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha1, strict=True))


def ssl3_key_block(master_secret: bytes, client_random: bytes, server_random: bytes,
                   length: int) -> bytes:
    """The SSL 3.0 key block (RFC 6101 §6.2.2): MD5 over SHA-1 with 'A', 'BB', 'CCC', …"""
    out = bytearray()
    i = 1
    while len(out) < length:
        salt = bytes([0x40 + i]) * i
        inner = hashlib.sha1(salt + master_secret + server_random + client_random).digest()
        out += hashlib.md5(master_secret + inner).digest()
        i += 1
    return bytes(out[:length])


def key_block(
    version: int,
    prf_hash: str,
    master_secret: bytes,
    client_random: bytes,
    server_random: bytes,
    length: int,
) -> bytes:
    """The key block of a TLS <= 1.2 session (RFC 5246 §6.3), per version's PRF."""
    if version == 0x0300:
        return ssl3_key_block(master_secret, client_random, server_random, length)
    seed = server_random + client_random
    if version >= 0x0303:
        return prf_tls12(prf_hash, master_secret, b"key expansion", seed, length)
    return prf_tls10(master_secret, b"key expansion", seed, length)
