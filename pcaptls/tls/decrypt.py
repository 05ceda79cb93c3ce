"""Removing TLS record protection with known keys (RFC 8446 §5.2, RFC 5246 §6.2.3).

One decryptor per direction and epoch keeps its own sequence number (and, for
TLS 1.0 CBC, the chained IV). Authentication is always checked: a wrong key gives
``None``, never garbage. A record that fails leaves the state untouched, so a
record fed to the wrong epoch (rejected 0-RTT data, say) does not derail the ones
after it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives.ciphers import (
    BlockCipherAlgorithm,
    Cipher,
    CipherContext,
    algorithms,
    modes,
)
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from pcaptls.tls.keys import Epoch, RecordDecryptor, Sender
from pcaptls.tls.keyschedule import key_block, next_traffic_secret, traffic_key_iv
from pcaptls.tls.security_parameters import (
    BulkCipherAlgorithm,
    SecurityParameters,
    UnsupportedCipherSuite,
    security_parameters,
)

APPLICATION_DATA = 23
CHANGE_CIPHER_SPEC = 20

_Aead = AESGCM | AESCCM | ChaCha20Poly1305


def _aead(params: SecurityParameters, key: bytes) -> _Aead:
    algorithm = params.bulk_cipher_algorithm
    if algorithm is BulkCipherAlgorithm.AES_GCM:
        return AESGCM(key)
    if algorithm is BulkCipherAlgorithm.AES_CCM:
        return AESCCM(key, tag_length=params.tag_length)
    if algorithm is BulkCipherAlgorithm.CHACHA20_POLY1305:
        return ChaCha20Poly1305(key)
    raise ValueError(f"{params.name} is not an AEAD suite")


def _xor_nonce(iv: bytes, seq: int) -> bytes:
    """Per-record nonce: the sequence number, left-padded, xor the IV (RFC 8446 §5.3)."""
    return (int.from_bytes(iv, "big") ^ seq).to_bytes(len(iv), "big")


class Tls13RecordDecryptor:
    """TLSCiphertext → TLSInnerPlaintext → (type, content) for one traffic secret."""

    __slots__ = ("_aead", "_iv", "seq")

    def __init__(self, params: SecurityParameters, traffic_secret: bytes) -> None:
        key, iv = traffic_key_iv(params.prf_hash, traffic_secret, params.enc_key_length)
        self._aead = _aead(params, key)
        self._iv = iv
        self.seq = 0

    def decrypt(
        self, content_type: int, legacy_version: int, fragment: bytes
    ) -> tuple[int, bytes] | None:
        """Decrypt one record; records other than application_data pass through as sent."""
        if content_type != APPLICATION_DATA:
            # ChangeCipherSpec (compatibility mode) and plaintext alerts are not protected.
            return content_type, fragment
        header = bytes([content_type]) + legacy_version.to_bytes(2, "big")
        header += len(fragment).to_bytes(2, "big")
        try:
            inner = self._aead.decrypt(_xor_nonce(self._iv, self.seq), fragment, header)
        except (InvalidTag, ValueError):
            return None
        stripped = inner.rstrip(b"\x00")
        if not stripped:
            return None  # all padding, no content type: not a valid TLSInnerPlaintext
        self.seq += 1
        return stripped[-1], stripped[:-1]

    def __repr__(self) -> str:
        return f"Tls13RecordDecryptor(seq={self.seq})"


def _seq_header(seq: int, content_type: int, version: int, length: int) -> bytes:
    """seq_num + type + version + length, as MACed and as AEAD additional data."""
    return (
        seq.to_bytes(8, "big")
        + bytes([content_type])
        + version.to_bytes(2, "big")
        + length.to_bytes(2, "big")
    )


class Tls12AeadDecryptor:
    """GCM/CCM (explicit nonce, RFC 5288/6655) and ChaCha20-Poly1305 (RFC 7905)."""

    __slots__ = ("_aead", "_iv", "_params", "seq")

    def __init__(self, params: SecurityParameters, key: bytes, iv: bytes) -> None:
        self._params = params
        self._aead = _aead(params, key)
        self._iv = iv
        self.seq = 0

    def decrypt(
        self, content_type: int, legacy_version: int, fragment: bytes
    ) -> tuple[int, bytes] | None:
        """Decrypt one record (AAD = seq, type, version, plaintext length)."""
        explicit = self._params.record_iv_length
        nonce = self._iv + fragment[:explicit] if explicit else _xor_nonce(self._iv, self.seq)
        ciphertext = fragment[explicit:]
        length = len(ciphertext) - self._params.tag_length
        if length < 0 or len(fragment) < explicit:
            return None
        aad = _seq_header(self.seq, content_type, legacy_version, length)
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError):
            return None
        self.seq += 1
        return content_type, plaintext

    def __repr__(self) -> str:
        return f"Tls12AeadDecryptor(seq={self.seq})"


_SSL3_PAD1 = b"\x36" * 48
_SSL3_PAD2 = b"\x5c" * 48


def _mac(
    version: int, mac_algorithm: str, mac_key: bytes, seq: int, content_type: int, data: bytes
) -> bytes:
    """The record MAC: HMAC for TLS (RFC 5246 §6.2.3.1), the SSL 3.0 MAC (RFC 6101 §5.2.3.1)."""
    if version == 0x0300:
        pad = 48 if mac_algorithm == "md5" else 40
        inner = hashlib.new(
            mac_algorithm,
            mac_key + _SSL3_PAD1[:pad] + seq.to_bytes(8, "big") + bytes([content_type])
            + len(data).to_bytes(2, "big") + data,
        ).digest()
        return hashlib.new(mac_algorithm, mac_key + _SSL3_PAD2[:pad] + inner).digest()
    header = _seq_header(seq, content_type, version, len(data))
    return hmac.digest(mac_key, header + data, mac_algorithm)


def _block_cipher(params: SecurityParameters, key: bytes) -> BlockCipherAlgorithm:
    algorithm = params.bulk_cipher_algorithm
    if algorithm is BulkCipherAlgorithm.AES:
        return algorithms.AES(key)
    if algorithm is BulkCipherAlgorithm.CAMELLIA:
        return decrepit.Camellia(key)
    if algorithm is BulkCipherAlgorithm.TRIPLE_DES:
        return decrepit.TripleDES(key)
    if algorithm is BulkCipherAlgorithm.DES:
        return decrepit.TripleDES(key * 3)  # EDE with one key is single DES
    if algorithm is BulkCipherAlgorithm.SEED:
        return decrepit.SEED(key)
    if algorithm is BulkCipherAlgorithm.IDEA:
        return decrepit.IDEA(key)
    raise ValueError(f"{params.name} is not a block cipher suite")


class Tls12BlockDecryptor:
    """CBC records: MAC-then-encrypt, or encrypt-then-MAC (RFC 7366) when negotiated.

    TLS >= 1.1 sends an explicit IV per record; TLS 1.0 and SSL 3.0 chain the IV
    from the key block through the last ciphertext block of each record.
    """

    __slots__ = ("_algorithm", "_etm", "_iv", "_mac_key", "_params", "_version", "seq")

    def __init__(
        self,
        params: SecurityParameters,
        version: int,
        key: bytes,
        mac_key: bytes,
        iv: bytes,
        *,
        encrypt_then_mac: bool,
    ) -> None:
        self._params = params
        self._version = version
        self._algorithm = _block_cipher(params, key)
        self._mac_key = mac_key
        self._iv = iv
        self._etm = encrypt_then_mac
        self.seq = 0

    def decrypt(
        self, content_type: int, legacy_version: int, fragment: bytes
    ) -> tuple[int, bytes] | None:
        """Decrypt one record; ``None`` unless MAC and padding check out."""
        block = self._params.block_length
        mac_length = self._params.mac_length
        mac_algorithm = self._params.mac_algorithm
        if mac_algorithm is None:
            return None
        if self._etm:
            if len(fragment) < mac_length:
                return None
            body, tag = fragment[:-mac_length], fragment[-mac_length:]
            expected = _mac(legacy_version, mac_algorithm, self._mac_key, self.seq,
                            content_type, body)
            if not hmac.compare_digest(expected, tag):
                return None
        else:
            body = fragment
        explicit_iv = self._version >= 0x0302
        if explicit_iv:
            iv, ciphertext = body[:block], body[block:]
        else:
            iv, ciphertext = self._iv, body
        if not ciphertext or len(ciphertext) % block or len(iv) != block:
            return None
        decryptor = Cipher(self._algorithm, modes.CBC(iv)).decryptor()
        plaintext = decryptor.update(ciphertext) + decryptor.finalize()
        padding_length = plaintext[-1]
        content_end = len(plaintext) - padding_length - 1
        if content_end < 0:
            return None
        if self._version == 0x0300:
            if padding_length >= block:
                return None
        elif plaintext[content_end:-1] != bytes([padding_length]) * padding_length:
            return None
        if not self._etm:
            content_end -= mac_length
            if content_end < 0:
                return None
            content = plaintext[:content_end]
            tag = plaintext[content_end : content_end + mac_length]
            expected = _mac(legacy_version, mac_algorithm, self._mac_key, self.seq,
                            content_type, content)
            if not hmac.compare_digest(expected, tag):
                return None
        else:
            content = plaintext[:content_end]
        if not explicit_iv:
            self._iv = ciphertext[-block:]
        self.seq += 1
        return content_type, content

    def __repr__(self) -> str:
        return f"Tls12BlockDecryptor(seq={self.seq}, encrypt_then_mac={self._etm})"


class Tls12StreamDecryptor:
    """RC4 (keystream carried across records) and the NULL cipher, each with its MAC."""

    __slots__ = ("_context", "_key", "_mac_key", "_offset", "_params", "seq")

    def __init__(self, params: SecurityParameters, key: bytes, mac_key: bytes) -> None:
        self._params = params
        self._key = key
        self._mac_key = mac_key
        self._offset = 0
        self._context: CipherContext | None = self._fresh_context()
        self.seq = 0

    def _fresh_context(self) -> CipherContext | None:
        if self._params.bulk_cipher_algorithm is BulkCipherAlgorithm.NULL:
            return None
        context = Cipher(decrepit.ARC4(self._key), mode=None).decryptor()
        context.update(bytes(self._offset))
        return context

    def decrypt(
        self, content_type: int, legacy_version: int, fragment: bytes
    ) -> tuple[int, bytes] | None:
        """Decrypt one record; ``None`` unless the MAC checks out."""
        plaintext = self._context.update(fragment) if self._context else fragment
        mac_length = self._params.mac_length
        mac_algorithm = self._params.mac_algorithm
        if mac_algorithm is None:  # TLS_NULL_WITH_NULL_NULL: nothing to check or remove
            self.seq += 1
            return content_type, plaintext
        content, tag = plaintext[: len(plaintext) - mac_length], plaintext[-mac_length:]
        expected = _mac(legacy_version, mac_algorithm, self._mac_key, self.seq,
                        content_type, content)
        if len(plaintext) < mac_length or not hmac.compare_digest(expected, tag):
            if self._context is not None:  # rewind the keystream to before this record
                self._context = self._fresh_context()
            return None
        self._offset += len(fragment)
        self.seq += 1
        return content_type, content

    def __repr__(self) -> str:
        return f"Tls12StreamDecryptor(seq={self.seq})"


def is_tls13(version: int) -> bool:
    """TLS 1.3 and the late drafts that share its record protection (draft 25+)."""
    return version == 0x0304 or 0x7F19 <= version <= 0x7F1C


#: NSS key log labels of the TLS 1.3 traffic secrets, per sender and epoch.
TLS13_LABELS: Mapping[tuple[Sender, Epoch], str] = {
    ("client", "early"): "CLIENT_EARLY_TRAFFIC_SECRET",
    ("client", "handshake"): "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    ("server", "handshake"): "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    ("client", "application"): "CLIENT_TRAFFIC_SECRET_0",
    ("server", "application"): "SERVER_TRAFFIC_SECRET_0",
}


@dataclass(frozen=True, slots=True, repr=False)
class Tls13SessionKeys:
    """A TLS 1.3 session's traffic secrets (whichever of them the key log holds)."""

    params: SecurityParameters
    secrets: Mapping[str, bytes]

    def decryptor(
        self, sender: Sender, epoch: Epoch, generation: int = 0
    ) -> RecordDecryptor | None:
        """A fresh decryptor; application generations follow KeyUpdates (RFC 8446 §7.2)."""
        label = TLS13_LABELS.get((sender, epoch))
        secret = self.secrets.get(label) if label else None
        if secret is None or (generation and epoch != "application"):
            return None
        for _ in range(generation):
            secret = next_traffic_secret(self.params.prf_hash, secret)
        return Tls13RecordDecryptor(self.params, secret)

    def __repr__(self) -> str:
        return f"Tls13SessionKeys({self.params.name}, labels={sorted(self.secrets)})"


@dataclass(frozen=True, slots=True, repr=False)
class _Direction:
    mac_key: bytes
    key: bytes
    iv: bytes


@dataclass(frozen=True, slots=True, repr=False)
class Tls12SessionKeys:
    """A TLS <= 1.2 session's key block, cut into the write keys of each side."""

    params: SecurityParameters
    version: int
    encrypt_then_mac: bool
    _client: _Direction = field(repr=False)
    _server: _Direction = field(repr=False)

    @classmethod
    def derive(
        cls,
        params: SecurityParameters,
        version: int,
        master_secret: bytes,
        client_random: bytes,
        server_random: bytes,
        *,
        encrypt_then_mac: bool = False,
    ) -> Tls12SessionKeys:
        """Expand the master secret into the key block (RFC 5246 §6.3)."""
        mac_len = params.mac_length
        key_len = params.enc_key_length
        iv_len = params.fixed_iv_length
        if params.cipher_type == "block" and version >= 0x0302:
            iv_len = 0  # TLS 1.1+ CBC: IVs travel in the records
        block = key_block(version, params.prf_hash, master_secret, client_random,
                          server_random, 2 * (mac_len + key_len + iv_len))
        parts: list[bytes] = []
        offset = 0
        for length in (mac_len, mac_len, key_len, key_len, iv_len, iv_len):
            parts.append(block[offset : offset + length])
            offset += length
        client = _Direction(mac_key=parts[0], key=parts[2], iv=parts[4])
        server = _Direction(mac_key=parts[1], key=parts[3], iv=parts[5])
        return cls(params, version, encrypt_then_mac and params.cipher_type == "block",
                   client, server)

    def decryptor(
        self, sender: Sender, epoch: Epoch, generation: int = 0
    ) -> RecordDecryptor | None:
        """A fresh decryptor for the records after ``sender``'s ChangeCipherSpec."""
        if epoch != "application" or generation:
            return None
        keys = self._client if sender == "client" else self._server
        if self.params.cipher_type == "aead":
            return Tls12AeadDecryptor(self.params, keys.key, keys.iv)
        if self.params.cipher_type == "block":
            return Tls12BlockDecryptor(self.params, self.version, keys.key, keys.mac_key,
                                       keys.iv, encrypt_then_mac=self.encrypt_then_mac)
        return Tls12StreamDecryptor(self.params, keys.key, keys.mac_key)

    def __repr__(self) -> str:
        return (f"Tls12SessionKeys({self.params.name}, version=0x{self.version:04x}, "
                f"encrypt_then_mac={self.encrypt_then_mac})")


class NullCipherDecryptor:
    """TLS ≤ 1.2 records under a NULL bulk cipher: plaintext followed by the MAC.

    No key is needed to read them; without the MAC key the MAC is only stripped,
    not checked.
    """

    def __init__(self, mac_length: int) -> None:
        self._mac_length = mac_length

    def decrypt(self, content_type: int, legacy_version: int, fragment: bytes) -> tuple[int, bytes] | None:
        if len(fragment) < self._mac_length:
            return None
        return content_type, fragment[: len(fragment) - self._mac_length]


class NullCipherSessionKeys:
    """:class:`~pcaptls.tls.keys.SessionKeys` for a NULL-cipher session, without a key log."""

    def __init__(self, mac_length: int) -> None:
        self._mac_length = mac_length

    def decryptor(self, sender: Sender, epoch: Epoch, generation: int = 0) -> NullCipherDecryptor | None:
        return NullCipherDecryptor(self._mac_length) if epoch == "application" else None


#: (version, suite) -> the MAC length of a NULL-cipher suite, or None: asked at every
#: TLS <= 1.2 handshake without a key, and a handful of pairs make a capture
_NULL_MAC: dict[tuple[int, int], int | None] = {}
_NULL_MAC_MAX = 4096


def null_cipher_keys(version: int, cipher_suite: int) -> NullCipherSessionKeys | None:
    """Keys for reading a TLS ≤ 1.2 session whose suite encrypts nothing; else ``None``."""
    key = (version, cipher_suite)
    if key in _NULL_MAC:
        mac_length = _NULL_MAC[key]
    else:
        mac_length = _null_mac_length(version, cipher_suite)
        if len(_NULL_MAC) >= _NULL_MAC_MAX:
            _NULL_MAC.clear()
        _NULL_MAC[key] = mac_length
    return NullCipherSessionKeys(mac_length) if mac_length is not None else None


def _null_mac_length(version: int, cipher_suite: int) -> int | None:
    from pcaptls.tls.registry import cipher_suite_name

    if is_tls13(version) or version < 0x0300:
        return None
    try:
        params = security_parameters(cipher_suite_name(cipher_suite))
    except UnsupportedCipherSuite:
        return None
    if params.bulk_cipher_algorithm.value != "null" or params.mac_algorithm is None:
        return None
    return params.mac_length
