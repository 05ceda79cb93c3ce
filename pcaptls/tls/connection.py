"""One TLS connection seen from the wire: both directions, the handshake state, the facts.

A :class:`TlsConnection` is fed each direction's reassembled bytes (``feed``), gaps
(``gap``) and the end of each stream (``eof``). It never raises on what a peer sent:
broken records or messages become :class:`~pcaptls.tls.events.MalformedEvent`.
It knows when each direction becomes protected (TLS 1.3: after ServerHello; TLS ≤ 1.2:
after that side's ChangeCipherSpec), and, given a :class:`~pcaptls.tls.keys.KeyProvider`,
asks for decryptors at those moments and parses the inner records like plaintext ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from pcaptls.tls.buffer import Reader, TlsDecodeError
from pcaptls.tls.events import (
    AlertEvent,
    ApplicationDataEvent,
    ChangeCipherSpecEvent,
    DamagedRecordEvent,
    EncryptedHandshakeEvent,
    GapEvent,
    HandshakeEvent,
    HeartbeatEvent,
    MalformedEvent,
    NotTlsEvent,
    ResyncEvent,
    Ssl2Event,
    TlsEvent,
)
from pcaptls.tls.extensions import RenegotiationInfo
from pcaptls.tls.keys import KeyProvider, RecordDecryptor, Sender, SessionKeys
from pcaptls.tls.messages import (
    Certificate,
    CertificateRequest,
    ClientHello,
    CompressedCertificate,
    Finished,
    HandshakeContext,
    HandshakeMessage,
    KeyUpdate,
    ServerHello,
    ServerKeyExchange,
    is_tls13,
    parse_handshake,
    split_handshake,
)
from pcaptls.tls.record import (
    BadRecordHeader,
    NotTls,
    Record,
    RecordEvent,
    RecordReader,
    Resync,
    Ssl2Record,
    StreamGap,
)
from pcaptls.tls.registry import (
    ContentType,
    ExtensionType,
    handshake_type_name,
)
from pcaptls.tls.sslv2 import (
    Ssl2ClientHello,
    Ssl2ClientMasterKey,
    Ssl2Other,
    Ssl2ServerHello,
    parse_ssl2,
)

_OTHER: Final[dict[Sender, Sender]] = {"client": "server", "server": "client"}
_ROLES: Final[tuple[Sender, Sender]] = ("client", "server")
_CCS: Final = "change_cipher_spec"
# Content types as plain ints (an enum member costs a descriptor call per use).
_CT_ALERT: Final = int(ContentType.alert)
_CT_APPLICATION_DATA: Final = int(ContentType.application_data)
_CT_CHANGE_CIPHER_SPEC: Final = int(ContentType.change_cipher_spec)
_CT_HANDSHAKE: Final = int(ContentType.handshake)
_CT_HEARTBEAT: Final = int(ContentType.heartbeat)
#: Plaintext handshake messages longer than this are not believed (nor buffered).
MAX_HANDSHAKE_LENGTH: Final = 1 << 20

# The handshake as a table (RFC 5246 §7.3, RFC 8446 §2): (state, sender, step) -> next
# state. A step is a handshake type name, "change_cipher_spec", "server_hello_tls13",
# "hello_retry_request" or "encrypted_handshake". States the table does not know stop
# the order check (renegotiation, midstream starts) rather than raise false alarms.
_S: Final[Sender] = "server"
_C: Final[Sender] = "client"
TRANSITIONS: Final[dict[tuple[str, Sender, str], str]] = {
    ("start", _C, "client_hello"): "wait_server_hello",
    ("wait_server_hello", _S, "server_hello"): "server_hello",
    ("wait_server_hello", _S, "server_hello_tls13"): "tls13_protected",
    ("wait_server_hello", _S, "hello_retry_request"): "wait_client_hello_2",
    ("wait_server_hello", _C, _CCS): "wait_server_hello",  # RFC 8446 §D.4 compatibility
    ("wait_client_hello_2", _C, "client_hello"): "wait_server_hello_2",
    ("wait_client_hello_2", _C, _CCS): "wait_client_hello_2",
    ("wait_client_hello_2", _S, _CCS): "wait_client_hello_2",
    ("wait_server_hello_2", _C, _CCS): "wait_server_hello_2",
    ("wait_server_hello_2", _S, "server_hello_tls13"): "tls13_protected",
    ("wait_server_hello_2", _S, _CCS): "wait_server_hello_2",
    # TLS <= 1.2 full handshake, server flight
    ("server_hello", _S, "certificate"): "server_certificate",
    ("server_hello", _S, "server_key_exchange"): "server_key_exchange",
    ("server_hello", _S, "server_hello_done"): "server_hello_done",
    ("server_certificate", _S, "certificate_status"): "certificate_status",
    ("server_certificate", _S, "server_key_exchange"): "server_key_exchange",
    ("server_certificate", _S, "certificate_request"): "certificate_request",
    ("server_certificate", _S, "server_hello_done"): "server_hello_done",
    ("certificate_status", _S, "server_key_exchange"): "server_key_exchange",
    ("certificate_status", _S, "certificate_request"): "certificate_request",
    ("certificate_status", _S, "server_hello_done"): "server_hello_done",
    ("server_key_exchange", _S, "certificate_request"): "certificate_request",
    ("server_key_exchange", _S, "server_hello_done"): "server_hello_done",
    ("certificate_request", _S, "server_hello_done"): "server_hello_done",
    # client flight
    ("server_hello_done", _C, "certificate"): "client_certificate",
    ("server_hello_done", _C, "client_key_exchange"): "client_key_exchange",
    ("client_certificate", _C, "client_key_exchange"): "client_key_exchange",
    ("client_key_exchange", _C, "certificate_verify"): "certificate_verify",
    ("client_key_exchange", _C, _CCS): "client_ccs",
    ("certificate_verify", _C, _CCS): "client_ccs",
    ("client_ccs", _C, "encrypted_handshake"): "client_finished",
    ("client_ccs", _C, "finished"): "client_finished",
    ("client_finished", _C, "encrypted_handshake"): "client_finished",  # NPN, Channel ID
    ("client_finished", _S, "new_session_ticket"): "server_ticket",
    ("client_finished", _S, _CCS): "server_ccs",
    ("server_ticket", _S, _CCS): "server_ccs",
    ("server_ccs", _S, "encrypted_handshake"): "established",
    ("server_ccs", _S, "finished"): "established",
    # abbreviated handshake (resumption, RFC 5246 §7.3 figure 2; RFC 5077 §3.1)
    ("server_hello", _S, "new_session_ticket"): "resumed_ticket",
    ("server_hello", _S, _CCS): "resumed_server_ccs",
    ("resumed_ticket", _S, _CCS): "resumed_server_ccs",
    ("resumed_server_ccs", _S, "encrypted_handshake"): "resumed_server_finished",
    ("resumed_server_ccs", _S, "finished"): "resumed_server_finished",
    ("resumed_server_finished", _C, _CCS): "resumed_client_ccs",
    ("resumed_client_ccs", _C, "encrypted_handshake"): "established",
    ("resumed_client_ccs", _C, "finished"): "established",
}
#: States in which the order check applies (others: renegotiation, TLS 1.3 protected...).
_CHECKED_STATES: Final = frozenset(state for state, _, _ in TRANSITIONS)
#: parse contexts by (version, suite): immutable, and a capture has a handful
_CONTEXTS: dict[tuple[int | None, int | None], HandshakeContext] = {}
_CONTEXTS_MAX: Final = 1024


def _visible_message_types(prefix: bytes, record_length: int) -> tuple[int, ...]:
    """Handshake message types whose headers lie in the captured start of a record."""
    types = []
    pos = 0
    while pos + 4 <= len(prefix) and pos < record_length:
        types.append(prefix[pos])
        pos += 4 + int.from_bytes(prefix[pos + 1 : pos + 4], "big")
    return tuple(types)


@dataclass(slots=True)
class ApplicationDataStats:
    """Protected application_data records of one side (bodies are not kept)."""

    records: int = 0
    bytes: int = 0
    first_frame: int | None = None
    last_frame: int | None = None
    last_length: int | None = None
    max_length: int = 0

    def add(self, length: int, frame: int) -> None:
        self.records += 1
        self.bytes += length
        self.max_length = max(self.max_length, length)
        if self.first_frame is None:
            self.first_frame = frame
        self.last_frame = frame
        self.last_length = length


@dataclass(slots=True)
class MessageSeen:
    """One entry of the handshake message list: who, where, what (not frozen, as the
    events are not: see :mod:`pcaptls.tls.events`)."""

    side: Sender
    frame: int
    name: str


@dataclass(slots=True)
class _Direction:
    """Per-role state of one direction."""

    reader: RecordReader = field(default_factory=RecordReader)
    handshake_buf: bytearray = field(default_factory=bytearray)
    protected: bool = False
    decryptor: RecordDecryptor | None = None
    decrypt_failed: bool = False
    generation: int = 0
    handshake_done: bool = False  # TLS 1.3: its Finished seen (or inferred)
    seen_protected: bool = False
    midstream: bool = False
    midstream_decided: bool = False
    ssl2_encrypted: bool = False


class TlsConnection:
    """Both directions of one TLS connection; see the module docstring."""

    # Slots: a capture keeps one of these per open connection (thousands at once).
    __slots__ = (
        "_dirs", "_swap", "_version", "_version_of", "alerts", "app_data", "ccs_seen",
        "certificate_request", "client_certificates", "client_hello", "client_hellos", "events",
        "first_frame", "hello_retry_request", "hello_sender", "keep_events", "key_provider",
        "keys", "last_handshake_frame", "messages", "not_tls", "server_certificates",
        "server_hello", "server_key_exchange", "ssl2_cipher_kind", "ssl2_client_hello",
        "ssl2_server_hello", "state",
    )

    def __init__(self, key_provider: KeyProvider | None = None, *, keep_events: bool = True) -> None:
        """``keep_events=False``: events are only returned by ``feed``/``gap``/``eof`` (a
        long decrypted call then does not pile up its plaintext in ``events``)."""
        self.key_provider = key_provider
        self.keep_events = keep_events
        self.events: list[TlsEvent] = []
        self._dirs: dict[Sender, _Direction] = {"client": _Direction(), "server": _Direction()}
        self._swap = False  # True when the ClientHello came from the side fed as "server"
        self.state = "start"
        self.keys: SessionKeys | None = None
        # facts
        self.hello_sender: Sender | None = None
        self.not_tls: bool = False
        self.client_hello: ClientHello | None = None  # the one the server answered (CH2 after HRR)
        self.client_hellos: list[ClientHello] = []  # every ClientHello, in order (JA4 per hello)
        self.ssl2_client_hello: Ssl2ClientHello | None = None
        self.ssl2_server_hello: Ssl2ServerHello | None = None
        self.ssl2_cipher_kind: int | None = None
        self.server_hello: ServerHello | None = None
        self.hello_retry_request: ServerHello | None = None
        self.server_key_exchange: ServerKeyExchange | None = None
        self.certificate_request: CertificateRequest | None = None
        self.server_certificates: list[Certificate] = []
        self.client_certificates: list[Certificate] = []
        self.messages: list[MessageSeen] = []
        self.alerts: list[AlertEvent] = []
        self.app_data: dict[Sender, ApplicationDataStats] = {
            "client": ApplicationDataStats(), "server": ApplicationDataStats()}
        self.ccs_seen: dict[Sender, int | None] = {"client": None, "server": None}
        self.first_frame: int | None = None
        self.last_handshake_frame: int | None = None
        self._version_of: ServerHello | None = None  # the hello ``_version`` was read from
        self._version = 0

    # -- feeding -----------------------------------------------------------------------

    def _role(self, side: Sender) -> Sender:
        return _OTHER[side] if self._swap else side

    def feed(self, side: Sender, data: bytes, frame: int, time_ns: int) -> list[TlsEvent]:
        """Stream bytes of ``side`` in order; ``frame`` is the frame that completed them."""
        if self.first_frame is None:
            self.first_frame = frame
        d = self._dirs[self._role(side)]
        return self._run(side, d.reader.feed(data, frame, time_ns))

    def gap(self, side: Sender, length: int, frame: int) -> list[TlsEvent]:
        """``length`` bytes of ``side`` are missing from the capture."""
        d = self._dirs[self._role(side)]
        d.handshake_buf.clear()
        return self._run(side, d.reader.gap(length, frame))

    def skippable(self, side: Sender) -> int:
        """How many next bytes of ``side`` would be discarded unread (protected bodies)."""
        return self._dirs[self._role(side)].reader.skippable()

    def skip(self, side: Sender, length: int, frame: int, time_ns: int) -> list[TlsEvent]:
        """Bytes that exist but are not delivered; at most :meth:`skippable`."""
        return self._run(side, self._dirs[self._role(side)].reader.skip(length, frame, time_ns))

    def wants_bytes(self, side: Sender) -> bool:
        """False when the bytes of ``side`` are only counted, never read (skip them)."""
        return self.skippable(side) == 0

    def eof(self, side: Sender, frame: int, time_ns: int) -> list[TlsEvent]:
        """The stream of ``side`` ended: decide 'not TLS' on what little arrived."""
        return self._run(side, self._dirs[self._role(side)].reader.finish(frame, time_ns))

    def _run(self, side: Sender, revents: list[RecordEvent]) -> list[TlsEvent]:
        out: list[TlsEvent] = []
        for ev in revents:
            role = _OTHER[side] if self._swap else side  # _role(), inline: it may change
            try:
                if type(ev) is Record:  # _record_event() for the common case, inline
                    self._record(role, ev, out)
                    d = self._dirs[role]
                    d.reader.skip_bodies = d.protected and d.decryptor is None
                else:
                    self._record_event(role, ev, out)
            except TlsDecodeError as exc:  # safety net: every decode error becomes evidence
                frame = getattr(ev, "frame", 0)
                out.append(MalformedEvent(role, frame, getattr(ev, "time_ns", 0), "record",
                                          exc.reason, exc.offset))
        if self.keep_events:
            self.events.extend(out)
        return out

    # -- records -----------------------------------------------------------------------

    def _record_event(self, role: Sender, ev: RecordEvent, out: list[TlsEvent]) -> None:
        d = self._dirs[role]
        if isinstance(ev, Record):
            self._record(role, ev, out)
        elif isinstance(ev, Ssl2Record):
            self._ssl2(role, ev, out)
        elif isinstance(ev, NotTls):
            if d.reader.records_seen == 0:
                self.not_tls = True
            out.append(NotTlsEvent(role, ev.frame, ev.time_ns, ev.first_bytes))
        elif isinstance(ev, Resync):
            if ev.reason == "midstream" and not d.midstream_decided:
                d.midstream = True
            out.append(ResyncEvent(role, ev.frame, ev.time_ns, ev.reason, ev.skipped))
            if ev.reason != "after_plaintext":
                self.state = "unchecked"
        elif isinstance(ev, StreamGap):
            out.append(GapEvent(role, ev.frame, ev.length, ev.inside_record))
            self.state = "unchecked"  # a lost message would make the order check lie
        elif isinstance(ev, BadRecordHeader):
            out.append(MalformedEvent(role, ev.frame, ev.time_ns, "record",
                                      f"not a record header: {ev.header.hex()}", ev.offset))
        self._update_skip(role)

    def _update_skip(self, role: Sender) -> None:
        d = self._dirs[role]
        d.reader.skip_bodies = d.protected and d.decryptor is None

    def _record(self, role: Sender, rec: Record, out: list[TlsEvent]) -> None:
        d = self._dirs[role]
        ctype = rec.content_type
        if rec.damaged and d.protected and not (
                ctype == _CT_HANDSHAKE and is_tls13(self.version)):
            # Type and length are all we need. (TLS 1.3 protects nothing as handshake: a
            # cut handshake record there began before the keys changed.)
            self._protected_record(role, rec, out)
            return
        if rec.damaged and ctype == _CT_APPLICATION_DATA:
            self.app_data[role].add(rec.length, rec.frame)
            return
        if rec.damaged or (rec.fragment is None and not d.protected):
            starts_message = not d.handshake_buf
            d.handshake_buf.clear()
            types: tuple[int, ...] = ()
            if ctype == _CT_HANDSHAKE and starts_message:
                types = _visible_message_types(rec.visible, rec.length)
            out.append(DamagedRecordEvent(role, rec.frame, rec.time_ns, ctype, rec.length, types))
            return
        # RFC 8446 §5: protected records are application_data; CCS stays plain, and a
        # client may still send a plaintext alert before switching keys.
        tls13_plain = ctype == _CT_CHANGE_CIPHER_SPEC or (
            ctype == _CT_ALERT and rec.length == 2)
        if d.midstream and not d.midstream_decided:
            # Picked up mid-stream: unless the first record starts a hello (a protocol
            # prefix like PostgreSQL's SSLRequest), the handshake is behind us.
            d.midstream_decided = True
            frag = rec.fragment or b""
            hello = ctype == _CT_HANDSHAKE and frag[:1] in (b"\x01", b"\x02") and (
                len(frag) >= 4 and int.from_bytes(frag[1:4], "big") >= 38)
            d.protected = not hello
            d.midstream = not hello
        protected = d.protected and not (
            tls13_plain and is_tls13(self.version) and not d.midstream)
        if not protected:
            self._plaintext(role, ctype, rec.version, rec.fragment or b"", rec.frame, rec.time_ns,
                            out, decrypted=False)
            return
        d.seen_protected = True
        if d.decryptor is not None and rec.fragment is not None and not d.decrypt_failed:
            result = d.decryptor.decrypt(ctype, rec.version, rec.fragment)
            if result is not None:
                inner_type, plaintext = result
                self._plaintext(role, inner_type, rec.version, plaintext, rec.frame, rec.time_ns,
                                out, decrypted=True)
                return
            d.decrypt_failed = True
        self._protected_record(role, rec, out)

    def _protected_record(self, role: Sender, rec: Record, out: list[TlsEvent]) -> None:
        d = self._dirs[role]
        ctype = rec.content_type
        if ctype == _CT_HANDSHAKE:
            out.append(EncryptedHandshakeEvent(role, rec.frame, rec.time_ns, rec.version, rec.length))
            self._step(role, "encrypted_handshake", rec.frame, rec.time_ns, out)
            self.last_handshake_frame = rec.frame
            self.messages.append(MessageSeen(role, rec.frame, "encrypted_handshake"))
        elif ctype == _CT_ALERT:
            ev = AlertEvent(role, rec.frame, rec.time_ns, rec.version, None, None, encrypted=True)
            self.alerts.append(ev)
            out.append(ev)
        elif ctype == _CT_HEARTBEAT:
            out.append(HeartbeatEvent(role, rec.frame, rec.time_ns, None, None, True))
        elif ctype == _CT_CHANGE_CIPHER_SPEC:
            out.append(ChangeCipherSpecEvent(role, rec.frame, rec.time_ns, rec.version))
        elif is_tls13(self.version) and not d.handshake_done and not d.midstream:
            # TLS 1.3 without keys: the server's records up to the client's first
            # protected record are its handshake flight; the client's first one is its.
            other = self._dirs[_OTHER[role]]
            if role == "server" and other.seen_protected:
                d.handshake_done = True
                self.app_data[role].add(rec.length, rec.frame)
                return
            if role == "client":
                d.handshake_done = True
                self._dirs["server"].handshake_done = True
            out.append(EncryptedHandshakeEvent(role, rec.frame, rec.time_ns, rec.version,
                                               rec.length, inferred=True))
            self.last_handshake_frame = rec.frame
            self.messages.append(MessageSeen(role, rec.frame, "encrypted_handshake"))
        else:
            self.app_data[role].add(rec.length, rec.frame)

    def _plaintext(self, role: Sender, ctype: int, version: int, data: bytes, frame: int,
                   time_ns: int, out: list[TlsEvent], *, decrypted: bool) -> None:
        d = self._dirs[role]
        if ctype == _CT_HANDSHAKE:
            if not d.handshake_buf and type(data) is bytes:
                # Nothing pending: cut the record itself, buffer only an unfinished tail.
                msgs, used = split_handshake(data)
                if used < len(data):
                    d.handshake_buf += data[used:]
            else:
                d.handshake_buf += data
                msgs, used = split_handshake(bytes(d.handshake_buf))
                del d.handshake_buf[:used]
            for msg_type, body in msgs:
                self._handshake(role, msg_type, body, version, frame, time_ns, out, decrypted)
            if len(d.handshake_buf) >= 4:
                claimed = int.from_bytes(d.handshake_buf[1:4], "big")
                if claimed > MAX_HANDSHAKE_LENGTH:
                    out.append(MalformedEvent(role, frame, time_ns, "handshake",
                                              f"handshake message claims {claimed} bytes",
                                              None, d.handshake_buf[0]))
                    d.handshake_buf.clear()
        elif ctype == _CT_CHANGE_CIPHER_SPEC:
            if data != b"\x01":
                out.append(MalformedEvent(role, frame, time_ns, "record",
                                          f"ChangeCipherSpec body {data[:8].hex()}"))
            out.append(ChangeCipherSpecEvent(role, frame, time_ns, version))
            self._change_cipher_spec(role, frame, time_ns, out)
        elif ctype == _CT_ALERT:
            if len(data) != 2 and not decrypted:
                # Not a plaintext alert (RFC 8446 §6: level + description): it is protected
                # by keys we did not see start (renegotiation, a mid-stream pick-up).
                ev = AlertEvent(role, frame, time_ns, version, None, None, encrypted=True)
                self.alerts.append(ev)
                out.append(ev)
                return
            for i in range(0, len(data) - 1, 2):
                ev = AlertEvent(role, frame, time_ns, version, data[i], data[i + 1],
                                encrypted=decrypted, decrypted=decrypted)
                self.alerts.append(ev)
                out.append(ev)
        elif ctype == _CT_APPLICATION_DATA:
            if decrypted:
                out.append(ApplicationDataEvent(role, frame, time_ns, data))
            self.app_data[role].add(len(data), frame)
        elif ctype == _CT_HEARTBEAT:
            r = Reader(data)
            try:
                out.append(HeartbeatEvent(role, frame, time_ns, r.uint8(), r.uint16(), False))
            except TlsDecodeError:
                out.append(HeartbeatEvent(role, frame, time_ns, None, None, False))
        else:
            out.append(MalformedEvent(role, frame, time_ns, "record", f"content type {ctype}"))

    # -- SSLv2 -------------------------------------------------------------------------

    def _ssl2(self, role: Sender, rec: Ssl2Record, out: list[TlsEvent]) -> None:
        d = self._dirs[role]
        body = rec.body or b""
        if d.ssl2_encrypted:
            out.append(Ssl2Event(role, rec.frame, rec.time_ns, Ssl2Other(None, rec.length), True))
            return
        try:
            msg = parse_ssl2(body)
        except TlsDecodeError as exc:
            out.append(MalformedEvent(role, rec.frame, rec.time_ns, "handshake", exc.reason, exc.offset,
                                      body[0] if body else None))
            return
        if isinstance(msg, Ssl2ClientHello):
            role = self._hello_from(role)
            self.ssl2_client_hello = msg
            self.state = "wait_server_hello"
        elif isinstance(msg, Ssl2ServerHello):
            self.ssl2_server_hello = msg
        elif isinstance(msg, Ssl2ClientMasterKey):
            self.ssl2_cipher_kind = msg.cipher_kind
            self._dirs["client"].ssl2_encrypted = True
            self._dirs["server"].ssl2_encrypted = True
        self.messages.append(MessageSeen(role, rec.frame, f"ssl2_{type(msg).__name__[4:]}"))
        self.last_handshake_frame = rec.frame
        out.append(Ssl2Event(role, rec.frame, rec.time_ns, msg))

    def _hello_from(self, role: Sender) -> Sender:
        """The first ClientHello fixes who the client is; swap the roles if needed."""
        if self.hello_sender is None:
            self.hello_sender = role
            if role == "server":
                self._swap = True
                self._dirs = {"client": self._dirs["server"], "server": self._dirs["client"]}
                return "client"
        return role

    # -- handshake ---------------------------------------------------------------------

    def _context(self) -> HandshakeContext:
        sh = self.server_hello
        key = (self.version, sh.cipher_suite if sh else None)
        ctx = _CONTEXTS.get(key)
        if ctx is None:
            if len(_CONTEXTS) >= _CONTEXTS_MAX:
                _CONTEXTS.clear()
            ctx = _CONTEXTS[key] = HandshakeContext(*key)
        return ctx

    def _handshake(self, role: Sender, msg_type: int, body: bytes, version: int, frame: int,
                   time_ns: int, out: list[TlsEvent], decrypted: bool) -> None:
        try:
            msg = parse_handshake(msg_type, body, self._context())
        except TlsDecodeError as exc:
            out.append(MalformedEvent(role, frame, time_ns, "handshake",
                                      f"{handshake_type_name(msg_type)}: {exc.reason}",
                                      exc.offset, msg_type))
            self.messages.append(MessageSeen(role, frame, handshake_type_name(msg_type)))
            return
        if isinstance(msg, ClientHello):
            role = self._hello_from(role)
        name = handshake_type_name(msg_type)
        step = name
        if isinstance(msg, ServerHello):
            if msg.is_hello_retry_request:
                step = name = "hello_retry_request"
            elif is_tls13(msg.selected_version):
                step = "server_hello_tls13"
        self._step(role, step, frame, time_ns, out, msg_type)
        self.messages.append(MessageSeen(role, frame, name))
        self.last_handshake_frame = frame
        out.append(HandshakeEvent(role, frame, time_ns, version, msg, decrypted))
        self._apply(role, msg, out)

    def _step(self, role: Sender, step: str, frame: int, time_ns: int, out: list[TlsEvent],
              msg_type: int | None = None) -> None:
        nxt = TRANSITIONS.get((self.state, role, step))
        if nxt is not None:
            self.state = nxt
        elif self.state in _CHECKED_STATES and self._dirs[_OTHER[role]].reader.records_seen:
            out.append(MalformedEvent(role, frame, time_ns, "order",
                                      f"{step} from {role} in state {self.state}", None, msg_type))
            self.state = "unchecked"

    def _apply(self, role: Sender, msg: HandshakeMessage, out: list[TlsEvent]) -> None:
        """Facts and key changes that follow from one message."""
        d = self._dirs[role]
        if isinstance(msg, ClientHello):
            self.client_hellos.append(msg)
            if self.client_hello is None or self.hello_retry_request is not None:
                self.client_hello = msg
        elif isinstance(msg, ServerHello):
            if msg.is_hello_retry_request:
                self.hello_retry_request = msg
                return
            self.server_hello = msg
            if is_tls13(msg.selected_version):
                self._lookup_keys()
                for r in _ROLES:
                    self._dirs[r].protected = True
                    self._new_decryptor(r, "handshake")
        elif isinstance(msg, ServerKeyExchange):
            self.server_key_exchange = msg
        elif isinstance(msg, CertificateRequest):
            self.certificate_request = msg
        elif isinstance(msg, Certificate | CompressedCertificate):
            cert = msg if isinstance(msg, Certificate) else msg.certificate
            if cert is not None:
                (self.server_certificates if role == "server" else self.client_certificates).append(cert)
        elif isinstance(msg, Finished):
            if is_tls13(self.version):
                d.handshake_done = True
                self._new_decryptor(role, "application")
        elif isinstance(msg, KeyUpdate):
            d.generation += 1
            self._new_decryptor(role, "application")

    def _change_cipher_spec(self, role: Sender, frame: int, time_ns: int, out: list[TlsEvent]) -> None:
        if self.ccs_seen[role] is None:
            self.ccs_seen[role] = frame
        self.messages.append(MessageSeen(role, frame, _CCS))
        self.last_handshake_frame = frame
        if ((self.server_hello is None and not any(m.name == "client_key_exchange"
                                                  for m in self.messages))
                or is_tls13(self.version)):
            # Before the server answered (a TLS 1.3 client's compatibility CCS, RFC 8446
            # §D.4) or anywhere in TLS 1.3: no key change. (A client CCS after its
            # ClientKeyExchange does change keys even when the server side is not captured.)
            if self.server_hello is None:
                self._step(role, _CCS, frame, time_ns, out)
            return
        self._step(role, _CCS, frame, time_ns, out)
        self._dirs[role].protected = True
        if self.keys is None and self.server_hello is not None:
            self._lookup_keys()
        self._new_decryptor(role, "application")

    # -- keys --------------------------------------------------------------------------

    def _lookup_keys(self) -> None:
        ch, sh = self.client_hello, self.server_hello
        if ch is None or sh is None:
            return
        if self.key_provider is not None:
            etm = sh.has_ext(ExtensionType.encrypt_then_mac) and ch.has_ext(ExtensionType.encrypt_then_mac)
            self.keys = self.key_provider.session(ch.random, sh.random, sh.selected_version,
                                                  sh.cipher_suite, encrypt_then_mac=etm)
        if self.keys is None:
            # A NULL bulk cipher protects nothing: its records are read without a key.
            from pcaptls.tls.decrypt import null_cipher_keys

            self.keys = null_cipher_keys(sh.selected_version, sh.cipher_suite)

    def _new_decryptor(self, role: Sender, epoch: str) -> None:
        d = self._dirs[role]
        d.decryptor = None
        if self.keys is not None:
            if epoch == "handshake":
                d.decryptor = self.keys.decryptor(role, "handshake", 0)
            else:
                d.decryptor = self.keys.decryptor(role, "application", d.generation)
            d.decrypt_failed = False
        self._update_skip(role)

    # -- negotiated facts ---------------------------------------------------------------

    def is_protected(self, side: Sender) -> bool:
        """Has this side (TLS role) switched to protected records?"""
        return self._dirs[side].protected

    @property
    def version(self) -> int | None:
        """Negotiated version: ServerHello's supported_versions, else its legacy_version."""
        sh = self.server_hello
        if sh is not None:
            if sh is not self._version_of:  # asked for every record: found once per hello
                self._version_of = sh
                self._version = sh.selected_version
            return self._version
        if self.ssl2_server_hello is not None:
            return 0x0002
        return None

    @property
    def cipher_suite(self) -> int | None:
        if self.server_hello is not None:
            return self.server_hello.cipher_suite
        return self.ssl2_cipher_kind

    @property
    def group(self) -> int | None:
        sh = self.server_hello
        if sh is not None and sh.key_share_group is not None:
            return sh.key_share_group
        ske = self.server_key_exchange
        return ske.named_group if ske is not None else None

    @property
    def sni(self) -> str | None:
        return self.client_hello.server_name if self.client_hello else None

    @property
    def alpn_offered(self) -> tuple[str, ...]:
        ch = self.client_hello
        return (ch.alpn_protocols or ()) if ch else ()

    @property
    def alpn(self) -> str | None:
        return self.server_hello.alpn_protocol if self.server_hello else None

    @property
    def client_versions(self) -> tuple[int, ...]:
        """supported_versions as offered, else the legacy version (or the SSLv2 hello's)."""
        ch = self.client_hello
        if ch is not None:
            return ch.supported_versions or (ch.legacy_version,)
        if self.ssl2_client_hello is not None:
            return (self.ssl2_client_hello.version,)
        return ()

    @property
    def ciphers_offered(self) -> tuple[int, ...]:
        """The client's suites in order (3-byte kinds for an SSLv2-format hello)."""
        if self.client_hello is not None:
            return self.client_hello.cipher_suites
        if self.ssl2_client_hello is not None:
            return self.ssl2_client_hello.cipher_specs
        return ()

    @property
    def hello_retry(self) -> bool:
        return self.hello_retry_request is not None

    @property
    def resumed(self) -> bool | None:
        """TLS 1.3: pre_shared_key accepted; TLS ≤ 1.2: server CCS with no Certificate
        before it. None until the server's answer shows it."""
        sh = self.server_hello
        if sh is None:
            return None
        if is_tls13(sh.selected_version):
            return sh.selected_psk is not None
        if self.ccs_seen["server"] is None:
            return None
        return not any(m.name in ("certificate", "server_key_exchange", "server_hello_done")
                       and m.side == "server" for m in self.messages)

    @property
    def client_cert_requested(self) -> bool | None:
        if self.certificate_request is not None:
            return True
        if is_tls13(self.version) and self.keys is None:
            return None  # hidden in the encrypted flight
        return False if self.server_hello is not None else None

    @property
    def client_cert_sent(self) -> bool | None:
        """True: a non-empty client Certificate; False: empty or none after a request."""
        if any(c.certificate_list for c in self.client_certificates):
            return True
        if self.client_certificates:
            return False
        if self.certificate_request is not None and self.ccs_seen["client"] is not None:
            return False
        return None

    @property
    def secure_renegotiation(self) -> bool | None:
        """RFC 5746 on both sides: renegotiation_info or the SCSV from the client, the
        extension from the server. None before the ServerHello (or for TLS 1.3)."""
        ch, sh = self.client_hello, self.server_hello
        if ch is None or sh is None or is_tls13(sh.selected_version):
            return None
        client = 0x00FF in ch.cipher_suites or isinstance(ch.ext(ExtensionType.renegotiation_info),
                                                          RenegotiationInfo)
        server = sh.has_ext(ExtensionType.renegotiation_info)
        return client and server

    @property
    def fallback_scsv(self) -> bool:
        return 0x5600 in self.ciphers_offered

    @property
    def compression(self) -> int | None:
        return self.server_hello.compression_method if self.server_hello else None

    @property
    def dh_prime_bits(self) -> int | None:
        ske = self.server_key_exchange
        return ske.dh_p_bits if ske is not None else None

    @property
    def encrypt_then_mac(self) -> bool:
        ch, sh = self.client_hello, self.server_hello
        return bool(ch and sh and ch.has_ext(ExtensionType.encrypt_then_mac)
                    and sh.has_ext(ExtensionType.encrypt_then_mac))
