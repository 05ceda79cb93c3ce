"""What the rules look at: one connection's facts, already taken out of the parsers.

The analysis fills these from the TCP, TLS and x509 layers; the rules read only
these, so a rule can be written (and tested) from the protocol alone, without
packets or parser objects.

They are values: nothing changes one once it is made. They are not frozen dataclasses
all the same, because some are made for every message of every connection, and a frozen
dataclass's ``__init__`` costs several times as much (``ConnectionEvidence``, with its
sixty fields, ten times).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Message:
    """One handshake message, ChangeCipherSpec or alert, as the ``messages`` table shows it."""

    frame: int
    time_ns: int
    sender: str  # "client" | "server"
    record_version: str
    type: str  # "ClientHello", "Alert", "EncryptedHandshake", …
    detail: str = ""


@dataclass(slots=True)
class AlertSeen:
    frame: int
    time_ns: int
    sender: str
    level: str | None  # "fatal" | "warning" | None when encrypted
    description: str | None  # IANA name; None when encrypted and not decrypted
    after: str | None  # the type of the last message before it (either side)
    after_sender: str | None

    @property
    def label(self) -> str:
        if self.description is None:
            return f"{self.sender}:encrypted"
        return f"{self.sender}:{self.level or 'unknown'}:{self.description}"


@dataclass(slots=True)
class Gap:
    sender: str
    frame: int  # the frame after which bytes are missing
    length: int
    in_handshake: bool


@dataclass(slots=True)
class CertJudgement:
    """The x509 layer's verdict on one chain, in the words the rules need."""

    sender: str  # whose chain
    frame: int  # the Certificate message's frame
    verdict: str  # ok | expired | not_yet_valid | self_signed | incomplete_chain | untrusted | hostname_mismatch | bad_signature | eku_mismatch | parse_error | not_determined
    reason: str  # one line, concrete
    position: int | None = None  # which certificate (0 = leaf) is at fault
    subject: str | None = None  # of the certificate at fault (or the leaf)
    leaf_subject: str | None = None
    leaf_sans: tuple[str, ...] = ()
    leaf_issuer: str | None = None
    identity: str | None = None  # the name checked
    hostname_ok: bool | None = None  # None: not determined
    cn_only: bool = False
    missing_issuer: str | None = None
    aia_url: str | None = None
    chain_order_problem: str | None = None
    weak_keys: tuple[str, ...] = ()  # "leaf: RSA 1024 bits"
    weak_signatures: tuple[str, ...] = ()
    eku_problem: str | None = None
    days_left: float | None = None  # of the soonest-expiring certificate, at capture time
    expiring_subject: str | None = None
    not_after: str | None = None
    ocsp_problem: str | None = None
    ocsp_revoked: str | None = None
    parse_errors: tuple[str, ...] = ()


@dataclass(slots=True)
class ConnectionEvidence:
    conn_id: int
    client: str
    client_port: int
    server: str
    server_port: int
    first_frame: int
    last_frame: int
    start_ns: int
    end_ns: int
    # TCP
    syn_frames: tuple[int, ...] = ()
    synack_frame: int | None = None
    rst: tuple[tuple[str, int], ...] = ()  # (sender, frame)
    fin: tuple[tuple[str, int], ...] = ()
    midstream: bool = False
    sides_seen: tuple[str, ...] = ("client", "server")
    gaps: tuple[Gap, ...] = ()
    snapped_frames: tuple[int, ...] = ()
    overlaps_differ: tuple[int, ...] = ()
    # TLS
    tls_seen: bool = False
    not_tls: tuple[str, int, str] | None = None  # (sender, frame, first bytes as text)
    ssl2_client_hello: bool = False
    messages: tuple[Message, ...] = ()
    alerts: tuple[AlertSeen, ...] = ()
    malformed: tuple[tuple[str, int, str], ...] = ()  # (sender, frame, what)
    client_hello_frame: int | None = None
    server_hello_frame: int | None = None
    sni: str | None = None
    client_versions: tuple[str, ...] = ()
    version: str | None = None
    version_code: int | None = None
    cipher: str | None = None
    cipher_code: int | None = None
    cipher_properties: dict[str, object] = field(default_factory=dict)
    ciphers_offered: tuple[str, ...] = ()
    group: str | None = None
    alpn_offered: tuple[str, ...] = ()
    alpn: str | None = None
    resumed: bool = False
    hello_retry: bool = False
    client_cert_requested: bool = False
    certificate_request_frame: int | None = None
    client_cert_cas: tuple[str, ...] = ()  # the CertificateRequest's certificate_authorities
    client_cert_sent: bool | None = None  # None: not determined (encrypted)
    client_cert_frame: int | None = None
    server_cert_frame: int | None = None
    handshake_done: bool = False
    handshake_end_frame: int | None = None
    compression: int = 0
    client_reneg: bool = False
    server_reneg: bool = False
    fallback_scsv: bool = False
    dh_prime_bits: int | None = None
    ske_frame: int | None = None
    decrypted: bool = False
    server_cert: CertJudgement | None = None
    client_cert: CertJudgement | None = None
    app_data_frames: int = 0
