"""What a :class:`~pcaptls.tls.connection.TlsConnection` reports, one event per thing seen.

``side`` is the TLS role ("client" = the ClientHello sender) once a ClientHello was
seen, else the side label the bytes were fed with. ``frame`` is the frame that
completed the record or message (as tshark reports it).

Events are values: nothing changes one once it is made. They are not frozen
dataclasses all the same, because one is made per record or message of every
handshake, and a frozen dataclass's ``__init__`` costs several times as much.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pcaptls.tls.keys import Sender
from pcaptls.tls.messages import HandshakeMessage
from pcaptls.tls.registry import alert_name
from pcaptls.tls.sslv2 import Ssl2Message

_LEVELS = {1: "warning", 2: "fatal"}


@dataclass(slots=True)
class HandshakeEvent:
    """A handshake message in the clear (or decrypted with a key log: ``decrypted``)."""

    side: Sender
    frame: int
    time_ns: int
    record_version: int
    message: HandshakeMessage
    decrypted: bool = False


@dataclass(slots=True)
class Ssl2Event:
    """An SSLv2 record: a cleartext message, or ``Ssl2Other`` once encrypted."""

    side: Sender
    frame: int
    time_ns: int
    message: Ssl2Message
    encrypted: bool = False


@dataclass(slots=True)
class ChangeCipherSpecEvent:
    side: Sender
    frame: int
    time_ns: int
    record_version: int


@dataclass(slots=True)
class AlertEvent:
    """An alert; ``level``/``description`` are None when it is encrypted and not decrypted."""

    side: Sender
    frame: int
    time_ns: int
    record_version: int
    level: int | None
    description: int | None
    encrypted: bool = False
    decrypted: bool = False

    @property
    def text(self) -> str:
        """'client:fatal:unknown_ca' or 'server:encrypted' (DESIGN.md alert column)."""
        if self.description is None or self.level is None:
            return f"{self.side}:encrypted"
        level = _LEVELS.get(self.level, f"0x{self.level:02x}")
        return f"{self.side}:{level}:{alert_name(self.description)}"


@dataclass(slots=True)
class EncryptedHandshakeEvent:
    """A protected record that carries handshake messages we cannot read.

    ``inferred`` when the record type does not say so (TLS 1.3 hides it behind
    application_data): the record came in the handshake phase of its sender."""

    side: Sender
    frame: int
    time_ns: int
    record_version: int
    length: int
    inferred: bool = False


@dataclass(slots=True)
class ApplicationDataEvent:
    """Decrypted application data (the SIP layer reads ``data``)."""

    side: Sender
    frame: int
    time_ns: int
    data: bytes


@dataclass(slots=True)
class HeartbeatEvent:
    side: Sender
    frame: int
    time_ns: int
    message_type: int | None
    payload_length: int | None
    encrypted: bool


@dataclass(slots=True)
class NotTlsEvent:
    """The first bytes of this side are not TLS (plain SIP on a TLS port, say)."""

    side: Sender
    frame: int
    time_ns: int
    first_bytes: bytes


@dataclass(slots=True)
class ResyncEvent:
    """Bytes skipped to find a record header: a mid-stream start, a gap, a broken header."""

    side: Sender
    frame: int
    time_ns: int
    reason: Literal["midstream", "gap", "bad_header", "after_plaintext"]
    skipped: int


@dataclass(slots=True)
class GapEvent:
    """Bytes of this side missing from the capture."""

    side: Sender
    frame: int
    length: int
    inside_record: bool


@dataclass(slots=True)
class DamagedRecordEvent:
    """A record cut by a gap (missing segment, snap length). For a cleartext handshake
    record, ``message_types`` lists the message headers visible before the cut."""

    side: Sender
    frame: int
    time_ns: int
    content_type: int
    length: int
    message_types: tuple[int, ...] = ()


@dataclass(slots=True)
class MalformedEvent:
    """Evidence for TLS_MALFORMED: a record, message or order that breaks the protocol.

    ``kind``: "record" (header or alert/CCS body), "handshake" (a message body),
    "order" (a message the handshake state does not allow)."""

    side: Sender
    frame: int
    time_ns: int
    kind: Literal["record", "handshake", "order"]
    reason: str
    offset: int | None = None
    message_type: int | None = None


TlsEvent = (
    HandshakeEvent
    | Ssl2Event
    | ChangeCipherSpecEvent
    | AlertEvent
    | EncryptedHandshakeEvent
    | ApplicationDataEvent
    | HeartbeatEvent
    | NotTlsEvent
    | ResyncEvent
    | GapEvent
    | DamagedRecordEvent
    | MalformedEvent
)
