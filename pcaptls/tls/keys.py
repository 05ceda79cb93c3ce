"""The seam between the TLS parser and decryption.

The parser (``pcaptls.tls.connection``) knows when each direction changes keys;
the key log and record protection code (``pcaptls.tls.keylog``,
``pcaptls.tls.decrypt``) know how to turn secrets into plaintext. They meet only
through these protocols, so the parser stays pure and testable without keys.
"""

from __future__ import annotations

from typing import Literal, Protocol

Sender = Literal["client", "server"]
#: "early" (0-RTT), "handshake" (TLS 1.3 handshake traffic keys) or "application"
#: (TLS 1.3 application traffic keys; TLS <= 1.2 keys after ChangeCipherSpec).
Epoch = Literal["early", "handshake", "application"]


class RecordDecryptor(Protocol):
    """Removes record protection for one direction and one epoch, record by record."""

    def decrypt(self, content_type: int, legacy_version: int, fragment: bytes) -> tuple[int, bytes] | None:
        """Return ``(inner content type, plaintext)``, or ``None`` when authentication fails.

        Sequence numbers are kept inside: call once per record, in stream order.
        """
        ...


class SessionKeys(Protocol):
    """The keys of one TLS session, as far as a key log revealed them."""

    def decryptor(self, sender: Sender, epoch: Epoch, generation: int = 0) -> RecordDecryptor | None:
        """A fresh decryptor for ``sender``'s records in ``epoch``.

        ``generation`` counts TLS 1.3 KeyUpdates of that sender (0 before any).
        ``None`` when the key log does not hold what this needs.
        """
        ...


class KeyProvider(Protocol):
    """Looks up a session's keys by its randoms once ServerHello fixed the parameters."""

    def session(
        self,
        client_random: bytes,
        server_random: bytes,
        version: int,
        cipher_suite: int,
        *,
        encrypt_then_mac: bool = False,
    ) -> SessionKeys | None: ...
