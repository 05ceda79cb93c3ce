"""NSS key logs (SSLKEYLOGFILE): parsing, merging, and session key lookup.

A key log is what lets a passive analyzer see a TLS 1.3 certificate, an encrypted
alert or the SIP inside. Logs come from files the user names and from pcapng
Decryption Secrets Blocks; the CLI and the capture reader hand us their bytes.
Bad lines are counted, never fatal: a half-written log still decrypts what it can.
Secrets never appear in a repr.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pcaptls.tls.decrypt import Tls12SessionKeys, Tls13SessionKeys, is_tls13
from pcaptls.tls.keys import SessionKeys
from pcaptls.tls.registry import cipher_suite_name
from pcaptls.tls.security_parameters import UnsupportedCipherSuite, security_parameters


class KeyLogLabel(StrEnum):
    """The NSS key log labels we use (NSS "Key Log Format"; draft-ietf-tls-keylogfile)."""

    CLIENT_RANDOM = "CLIENT_RANDOM"
    CLIENT_EARLY_TRAFFIC_SECRET = "CLIENT_EARLY_TRAFFIC_SECRET"
    CLIENT_HANDSHAKE_TRAFFIC_SECRET = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
    SERVER_HANDSHAKE_TRAFFIC_SECRET = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    CLIENT_TRAFFIC_SECRET_0 = "CLIENT_TRAFFIC_SECRET_0"
    SERVER_TRAFFIC_SECRET_0 = "SERVER_TRAFFIC_SECRET_0"
    EARLY_EXPORTER_SECRET = "EARLY_EXPORTER_SECRET"
    EXPORTER_SECRET = "EXPORTER_SECRET"


#: Labels that are valid key log syntax but give us nothing we can use.
UNSUPPORTED_LABELS = frozenset({"RSA", "RSA_SESSION_ID", "CLIENT_RANDOM_EARLY"})

_RANDOM_LENGTH = 32
_MASTER_SECRET_LENGTH = 48
_TLS13_SECRET_LENGTHS = frozenset({32, 48, 64})


@dataclass(frozen=True, slots=True, repr=False)
class KeyLogEntry:
    """One usable key log line. The secret stays out of every repr."""

    label: KeyLogLabel
    client_random: bytes
    secret: bytes
    line: int

    def __repr__(self) -> str:
        return (f"KeyLogEntry({self.label.value}, client_random={self.client_random.hex()}, "
                f"line={self.line}, secret=<redacted>)")


@dataclass(frozen=True, slots=True)
class KeyLogSourceStats:
    """What one source held: usable entries, unsupported lines, malformed lines."""

    source: str
    entries: int
    unsupported: int
    malformed: int
    first_malformed_line: int | None
    first_unsupported_line: int | None


@dataclass(frozen=True, slots=True)
class KeyLogParse:
    """Result of parsing one source."""

    entries: tuple[KeyLogEntry, ...]
    stats: KeyLogSourceStats

    def __repr__(self) -> str:
        return f"KeyLogParse({len(self.entries)} entries, stats={self.stats!r})"


def _hex(text: str) -> bytes | None:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        return None


def parse_keylog(data: bytes, source: str = "<key log>") -> KeyLogParse:
    """Parse NSS key log text; comments and blank lines are skipped, bad lines counted."""
    entries: list[KeyLogEntry] = []
    unsupported = malformed = 0
    first_malformed: int | None = None
    first_unsupported: int | None = None
    for number, raw in enumerate(data.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        entry = _parse_line(line, number)
        if isinstance(entry, KeyLogEntry):
            entries.append(entry)
        elif entry == "unsupported":
            unsupported += 1
            first_unsupported = first_unsupported or number
        else:
            malformed += 1
            first_malformed = first_malformed or number
    stats = KeyLogSourceStats(
        source=source,
        entries=len(entries),
        unsupported=unsupported,
        malformed=malformed,
        first_malformed_line=first_malformed,
        first_unsupported_line=first_unsupported,
    )
    return KeyLogParse(tuple(entries), stats)


def _parse_line(line: bytes, number: int) -> KeyLogEntry | str:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return "malformed"
    fields = text.split()
    if len(fields) != 3:
        return "malformed"
    label_text, random_hex, secret_hex = fields
    if label_text in UNSUPPORTED_LABELS:
        return "unsupported" if _hex(random_hex) and _hex(secret_hex) else "malformed"
    try:
        label = KeyLogLabel(label_text)
    except ValueError:
        # Well-formed but unknown (QUIC-only or future labels): not an error.
        shaped = label_text.isupper() and _hex(random_hex) and _hex(secret_hex)
        return "unsupported" if shaped else "malformed"
    client_random = _hex(random_hex)
    secret = _hex(secret_hex)
    if client_random is None or secret is None or len(client_random) != _RANDOM_LENGTH:
        return "malformed"
    if label is KeyLogLabel.CLIENT_RANDOM:
        if len(secret) != _MASTER_SECRET_LENGTH:
            return "malformed"
    elif len(secret) not in _TLS13_SECRET_LENGTHS:
        return "malformed"
    return KeyLogEntry(label, client_random, secret, number)


class KeyLog:
    """Secrets from any number of key logs, looked up by client random.

    Implements :class:`pcaptls.tls.keys.KeyProvider`. Remembers which client
    randoms were asked for and found, for the "matched N connections" summary and
    the ``KEYLOG_NO_MATCH`` finding.
    """

    def __init__(self) -> None:
        self._secrets: dict[bytes, dict[KeyLogLabel, bytes]] = {}
        self._sources: list[KeyLogSourceStats] = []
        self._matched: set[bytes] = set()
        self._unmatched: set[bytes] = set()
        self._unsupported_suites: dict[bytes, int] = {}

    @classmethod
    def from_sources(cls, sources: Iterable[tuple[str, bytes]]) -> KeyLog:
        """A key log merged from ``(source name, bytes)`` pairs, in order."""
        keylog = cls()
        for name, data in sources:
            keylog.add(data, name)
        return keylog

    def add(self, data: bytes, source: str = "<key log>") -> KeyLogSourceStats:
        """Merge one source; a later secret for the same label and random wins."""
        parsed = parse_keylog(data, source)
        for entry in parsed.entries:
            self._secrets.setdefault(entry.client_random, {})[entry.label] = entry.secret
        self._sources.append(parsed.stats)
        return parsed.stats

    @property
    def sources(self) -> tuple[KeyLogSourceStats, ...]:
        """Per-source counts, in the order the sources were added."""
        return tuple(self._sources)

    @property
    def client_randoms(self) -> frozenset[bytes]:
        """Every client random the logs hold a secret for."""
        return frozenset(self._secrets)

    @property
    def matched(self) -> frozenset[bytes]:
        """Client randoms asked for by :meth:`session` that the logs hold secrets for."""
        return frozenset(self._matched)

    @property
    def unmatched(self) -> frozenset[bytes]:
        """Client randoms asked for by :meth:`session` that no log covers."""
        return frozenset(self._unmatched)

    @property
    def unsupported_suites(self) -> Mapping[bytes, int]:
        """Matched client randoms whose cipher suite we cannot decrypt (random → suite)."""
        return dict(self._unsupported_suites)

    def labels(self, client_random: bytes) -> frozenset[KeyLogLabel]:
        """Which secrets the logs hold for a client random (never the secrets)."""
        return frozenset(self._secrets.get(client_random, {}))

    def __len__(self) -> int:
        return len(self._secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"KeyLog({len(self._secrets)} client randoms from {len(self._sources)} sources)"

    def session(
        self,
        client_random: bytes,
        server_random: bytes,
        version: int,
        cipher_suite: int,
        *,
        encrypt_then_mac: bool = False,
    ) -> SessionKeys | None:
        """The session's keys, or ``None`` if no log covers it or its suite is beyond us."""
        secrets = self._secrets.get(client_random)
        if not secrets:
            self._unmatched.add(client_random)
            return None
        self._matched.add(client_random)
        try:
            params = security_parameters(cipher_suite_name(cipher_suite))
        except UnsupportedCipherSuite:
            self._unsupported_suites[client_random] = cipher_suite
            return None
        if is_tls13(version):
            if not params.tls13:
                return None
            tls13 = {label.value: secret for label, secret in secrets.items()
                     if label is not KeyLogLabel.CLIENT_RANDOM}
            return Tls13SessionKeys(params, tls13) if tls13 else None
        master_secret = secrets.get(KeyLogLabel.CLIENT_RANDOM)
        if master_secret is None or params.tls13 or not 0x0300 <= version <= 0x0303:
            return None
        if version < 0x0303 and (params.cipher_type == "aead" or params.prf_hash != "sha256"):
            return None  # AEAD and SHA-384 suites exist only in TLS 1.2
        return Tls12SessionKeys.derive(params, version, master_secret, client_random,
                                       server_random, encrypt_then_mac=encrypt_then_mac)
