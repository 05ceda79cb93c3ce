"""SDP bodies (RFC 4566/8866): media lines and the attributes that say how media is keyed.

SDES ``a=crypto`` (RFC 4568) is kept as its tag and suite and how many keys it
carried: the key material itself is never stored (see :mod:`._redact`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._redact import has_inline_keys, redact


@dataclass(frozen=True, slots=True)
class Crypto:
    """One ``a=crypto`` line: ``tag suite key-params [session-params]``, keys redacted."""

    tag: int | None
    suite: str
    key_count: int
    key_params: str  # redacted: "inline:<redacted>|2^20|1:32"
    session_params: str


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """``a=fingerprint:<hash> <value>`` (RFC 8122): the DTLS certificate hash."""

    hash_function: str
    value: str


@dataclass(frozen=True, slots=True)
class Media:
    """One ``m=`` section with the attributes that matter for media security."""

    media: str
    port: int | None
    proto: str
    formats: tuple[str, ...]
    connection: str | None  # the c= address in force (media level, else session level)
    crypto: tuple[Crypto, ...]
    fingerprints: tuple[Fingerprint, ...]  # media level, else session level
    setup: str | None
    zrtp_hash: str | None
    key_mgmt: bool  # a=key-mgmt (MIKEY) present

    @property
    def is_srtp(self) -> bool:
        """The transport profile is secure RTP (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP(F))."""
        return "SAVP" in self.proto.upper()

    @property
    def is_dtls_srtp(self) -> bool:
        """DTLS-SRTP profile (RFC 5764): UDP/TLS/RTP/SAVP(F)."""
        return self.proto.upper().startswith("UDP/TLS/")

    @property
    def is_plain_rtp(self) -> bool:
        """Active RTP media without SRTP (RTP/AVP or RTP/AVPF, port not 0)."""
        return self.proto.upper() in ("RTP/AVP", "RTP/AVPF") and self.port != 0


@dataclass(frozen=True, slots=True)
class Sdp:
    """A parsed SDP body."""

    origin: str | None
    connection: str | None
    media: tuple[Media, ...]
    has_sdes_keys: bool

    @property
    def plain_rtp_media(self) -> tuple[Media, ...]:
        """Media sections sent as RTP without SRTP."""
        return tuple(m for m in self.media if m.is_plain_rtp)


def _connection_address(value: str) -> str | None:
    parts = value.split()
    return parts[2].split("/", 1)[0] if len(parts) >= 3 else None


def _crypto(value: str) -> Crypto | None:
    parts = value.split()
    if len(parts) < 3:
        return None
    tag = int(parts[0]) if parts[0].isdigit() and len(parts[0]) <= 9 else None
    key_params = parts[2]
    return Crypto(
        tag=tag,
        suite=parts[1],
        key_count=sum(1 for kp in key_params.split(";") if has_inline_keys(kp)),
        key_params=redact(key_params),
        session_params=redact(" ".join(parts[3:])),
    )


def _fingerprint(value: str) -> Fingerprint | None:
    parts = value.split()
    return Fingerprint(parts[0].lower(), parts[1]) if len(parts) == 2 else None


class _MediaBuilder:
    """Collects one m= section's attributes while the lines go by."""

    def __init__(self, mline: str, connection: str | None) -> None:
        parts = mline.split()
        self.media = parts[0] if parts else ""
        port_text = parts[1] if len(parts) > 1 else ""
        port_str, _, _ = port_text.partition("/")
        self.port = int(port_str) if port_str.isdigit() and len(port_str) <= 5 else None
        self.proto = parts[2] if len(parts) > 2 else ""
        self.formats = tuple(parts[3:])
        self.connection = connection
        self.crypto: list[Crypto] = []
        self.fingerprints: list[Fingerprint] = []
        self.setup: str | None = None
        self.zrtp_hash: str | None = None
        self.key_mgmt = False

    def build(self, session_fps: list[Fingerprint], session_zrtp: str | None) -> Media:
        return Media(
            media=self.media,
            port=self.port,
            proto=self.proto,
            formats=self.formats,
            connection=self.connection,
            crypto=tuple(self.crypto),
            fingerprints=tuple(self.fingerprints or session_fps),
            setup=self.setup,
            zrtp_hash=self.zrtp_hash or session_zrtp,
            key_mgmt=self.key_mgmt,
        )


def parse_sdp(text: str) -> Sdp:
    """Parse an SDP body; unknown or malformed lines are skipped, never fatal."""
    origin: str | None = None
    session_c: str | None = None
    session_fps: list[Fingerprint] = []
    session_zrtp: str | None = None
    builders: list[_MediaBuilder] = []
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        cur = builders[-1] if builders else None
        if kind == "o":
            origin = redact(value)
        elif kind == "c":
            addr = _connection_address(value)
            if cur is None:
                session_c = addr
            else:
                cur.connection = addr
        elif kind == "m":
            builders.append(_MediaBuilder(value, session_c))
        elif kind == "a":
            name, _, aval = value.partition(":")
            name = name.lower()
            if name == "crypto" and cur is not None:
                c = _crypto(aval)
                if c is not None:
                    cur.crypto.append(c)
            elif name == "fingerprint":
                fp = _fingerprint(aval)
                if fp is not None:
                    (cur.fingerprints if cur else session_fps).append(fp)
            elif name == "zrtp-hash":
                if cur is None:
                    session_zrtp = aval.strip()
                else:
                    cur.zrtp_hash = aval.strip()
            elif name == "setup" and cur is not None:
                cur.setup = aval.strip()
            elif name == "key-mgmt" and cur is not None:
                cur.key_mgmt = True
    return Sdp(
        origin=origin,
        connection=session_c,
        media=tuple(b.build(session_fps, session_zrtp) for b in builders),
        has_sdes_keys=has_inline_keys(text),
    )
