"""Record protection parameters of a cipher suite, read off its IANA name.

Decryption needs what RFC 5246 §6.1 calls the SecurityParameters (bulk cipher,
key and IV lengths, MAC, PRF); the key exchange does not matter once a key log
gives the master secret. IANA names are systematic (``TLS_<kx>_WITH_<bulk>_<mac>``,
``TLS_<aead>_<hash>`` for TLS 1.3), so the parameters are derived from the name
instead of from a second hand-typed table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

CipherType = Literal["stream", "block", "aead"]


class BulkCipherAlgorithm(Enum):
    """The bulk ciphers we can run (RFC 5246 §6.1 names, plus the AEADs)."""

    NULL = "null"
    RC4 = "rc4"
    DES = "des"
    TRIPLE_DES = "3des"
    IDEA = "idea"
    SEED = "seed"
    AES = "aes"
    CAMELLIA = "camellia"
    AES_GCM = "aes_gcm"
    AES_CCM = "aes_ccm"
    CHACHA20_POLY1305 = "chacha20_poly1305"


@dataclass(frozen=True, slots=True)
class SecurityParameters:
    """What record protection needs from a suite (RFC 5246 §6.1, RFC 8446 §5.2).

    ``mac_algorithm`` is a :mod:`hashlib` name (``None`` for AEAD suites and for
    the NULL-NULL suite); ``prf_hash`` is the TLS 1.2 PRF / TLS 1.3 HKDF hash.
    """

    name: str
    tls13: bool
    bulk_cipher_algorithm: BulkCipherAlgorithm
    cipher_type: CipherType
    enc_key_length: int
    block_length: int
    fixed_iv_length: int
    record_iv_length: int
    mac_algorithm: str | None
    mac_length: int
    tag_length: int
    prf_hash: str


class UnsupportedCipherSuite(Exception):
    """A suite whose record protection we cannot remove (export, ARIA, GOST, …)."""


_MAC_LENGTHS = {"md5": 16, "sha1": 20, "sha256": 32, "sha384": 48}
_MAC_TOKENS = {"MD5": "md5", "SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384"}

#: bulk name in the suite → (algorithm, type, key length, block length, fixed IV, record IV, tag)
_BULK: dict[str, tuple[BulkCipherAlgorithm, CipherType, int, int, int, int, int]] = {
    "NULL": (BulkCipherAlgorithm.NULL, "stream", 0, 0, 0, 0, 0),
    "RC4_128": (BulkCipherAlgorithm.RC4, "stream", 16, 0, 0, 0, 0),
    "DES_CBC": (BulkCipherAlgorithm.DES, "block", 8, 8, 8, 8, 0),
    "3DES_EDE_CBC": (BulkCipherAlgorithm.TRIPLE_DES, "block", 24, 8, 8, 8, 0),
    "IDEA_CBC": (BulkCipherAlgorithm.IDEA, "block", 16, 8, 8, 8, 0),
    "SEED_CBC": (BulkCipherAlgorithm.SEED, "block", 16, 16, 16, 16, 0),
    "AES_128_CBC": (BulkCipherAlgorithm.AES, "block", 16, 16, 16, 16, 0),
    "AES_256_CBC": (BulkCipherAlgorithm.AES, "block", 32, 16, 16, 16, 0),
    "CAMELLIA_128_CBC": (BulkCipherAlgorithm.CAMELLIA, "block", 16, 16, 16, 16, 0),
    "CAMELLIA_256_CBC": (BulkCipherAlgorithm.CAMELLIA, "block", 32, 16, 16, 16, 0),
    # RFC 5288: 4-byte salt from the key block, 8-byte explicit nonce per record.
    "AES_128_GCM": (BulkCipherAlgorithm.AES_GCM, "aead", 16, 0, 4, 8, 16),
    "AES_256_GCM": (BulkCipherAlgorithm.AES_GCM, "aead", 32, 0, 4, 8, 16),
    # RFC 6655 / RFC 7251.
    "AES_128_CCM": (BulkCipherAlgorithm.AES_CCM, "aead", 16, 0, 4, 8, 16),
    "AES_256_CCM": (BulkCipherAlgorithm.AES_CCM, "aead", 32, 0, 4, 8, 16),
    "AES_128_CCM_8": (BulkCipherAlgorithm.AES_CCM, "aead", 16, 0, 4, 8, 8),
    "AES_256_CCM_8": (BulkCipherAlgorithm.AES_CCM, "aead", 32, 0, 4, 8, 8),
    # RFC 7905: 12-byte IV from the key block, no explicit nonce.
    "CHACHA20_POLY1305": (BulkCipherAlgorithm.CHACHA20_POLY1305, "aead", 32, 0, 12, 0, 16),
}

#: TLS 1.3 AEADs (RFC 8446 §5.3: 12-byte IV, nonce = IV xor sequence number).
_BULK13: dict[str, tuple[BulkCipherAlgorithm, int, int]] = {
    "AES_128_GCM": (BulkCipherAlgorithm.AES_GCM, 16, 16),
    "AES_256_GCM": (BulkCipherAlgorithm.AES_GCM, 32, 16),
    "AES_128_CCM": (BulkCipherAlgorithm.AES_CCM, 16, 16),
    "AES_128_CCM_8": (BulkCipherAlgorithm.AES_CCM, 16, 8),
    "CHACHA20_POLY1305": (BulkCipherAlgorithm.CHACHA20_POLY1305, 32, 16),
}


def security_parameters(name: str) -> SecurityParameters:
    """Derive the record protection parameters from an IANA cipher suite name.

    Raises :class:`UnsupportedCipherSuite` for names we cannot decrypt.
    """
    if not name.startswith("TLS_") and not name.startswith("SSL_"):
        raise UnsupportedCipherSuite(name)
    if "_WITH_" not in name:
        return _tls13_parameters(name)
    kx, _, rest = name[4:].partition("_WITH_")
    if "EXPORT" in kx or "GOST" in kx:
        raise UnsupportedCipherSuite(name)
    tokens = rest.split("_")
    mac_token = tokens[-1]
    if mac_token in _MAC_TOKENS:
        bulk_name = "_".join(tokens[:-1])
    elif mac_token == "NULL" and len(tokens) == 2:  # TLS_NULL_WITH_NULL_NULL
        bulk_name = "NULL"
    else:  # CCM suites carry no hash: their PRF is SHA-256 (RFC 6655 §3)
        bulk_name, mac_token = rest, "SHA256"
    if bulk_name not in _BULK:
        raise UnsupportedCipherSuite(name)
    algorithm, cipher_type, key_len, block_len, fixed_iv, record_iv, tag = _BULK[bulk_name]
    prf_hash = "sha384" if mac_token == "SHA384" else "sha256"
    mac: str | None = None
    if cipher_type != "aead" and rest != "NULL_NULL":
        mac = _MAC_TOKENS[mac_token]
    return SecurityParameters(
        name=name,
        tls13=False,
        bulk_cipher_algorithm=algorithm,
        cipher_type=cipher_type,
        enc_key_length=key_len,
        block_length=block_len,
        fixed_iv_length=fixed_iv,
        record_iv_length=record_iv,
        mac_algorithm=mac,
        mac_length=_MAC_LENGTHS[mac] if mac else 0,
        tag_length=tag,
        prf_hash=prf_hash,
    )


def _tls13_parameters(name: str) -> SecurityParameters:
    tokens = name[4:].split("_")
    hash_token = tokens[-1]
    bulk_name = "_".join(tokens[:-1])
    if bulk_name not in _BULK13 or hash_token not in ("SHA256", "SHA384"):
        raise UnsupportedCipherSuite(name)
    algorithm, key_len, tag = _BULK13[bulk_name]
    return SecurityParameters(
        name=name,
        tls13=True,
        bulk_cipher_algorithm=algorithm,
        cipher_type="aead",
        enc_key_length=key_len,
        block_length=0,
        fixed_iv_length=12,
        record_iv_length=0,
        mac_algorithm=None,
        mac_length=0,
        tag_length=tag,
        prf_hash=hash_token.lower(),
    )
