"""Facts about a SIP message that the diagnose layer turns into findings.

Each answers a yes/no question about signalling or media security that a support
engineer asks of SIP over TLS: are keys exposed, does a hop fall back to a
plaintext transport, is media sent without SRTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._message import SipMessage

# Transports that are not protected by TLS (RFC 3261 §18, RFC 4168, RFC 7118).
PLAINTEXT_TRANSPORTS = frozenset({"UDP", "TCP", "SCTP", "WS"})


@dataclass(frozen=True, slots=True)
class InsecureHop:
    """A Via, Record-Route, Route or Contact that names a plaintext transport."""

    header: str  # "Via", "Record-Route", "Route", "Contact"
    index: int  # position among that header's values, from 0
    transport: str  # "UDP", "TCP", …
    value: str  # the hop as written (redacted), for the evidence


def insecure_hops(msg: SipMessage) -> tuple[InsecureHop, ...]:
    """Hops of this message that leave TLS: a Via sent over UDP/TCP/SCTP/WS, or a
    sip: URI in Record-Route, Route or Contact with ``;transport=udp|tcp|sctp|ws``.

    On a message received over TLS each one is a place where the path, or the
    next request of the dialog, is no longer protected.
    """
    hops: list[InsecureHop] = []
    for i, via in enumerate(msg.vias):
        if via.transport in PLAINTEXT_TRANSPORTS:
            port = f":{via.port}" if via.port is not None else ""
            hops.append(
                InsecureHop(
                    "Via", i, via.transport, f"{via.protocol}/{via.transport} {via.host}{port}"
                )
            )
    groups = (("Record-Route", msg.record_route), ("Route", msg.route), ("Contact", msg.contacts))
    for header, addrs in groups:
        for i, addr in enumerate(addrs):
            t = addr.uri.transport
            if addr.uri.scheme == "sip" and t is not None and t.upper() in PLAINTEXT_TRANSPORTS:
                hops.append(InsecureHop(header, i, t.upper(), addr.uri.text))
    return tuple(hops)


def leaves_tls(msg: SipMessage) -> bool:
    """True when any Via/Record-Route/Route/Contact names a plaintext transport."""
    return bool(insecure_hops(msg))


def sips_over_insecure_transport(msg: SipMessage) -> bool:
    """``sips:`` URIs or a ``SIP/2.0/TLS`` top Via in a message seen in plaintext.

    Only meaningful for messages that were not carried by TLS (the caller knows).
    """
    return msg.uses_sips or msg.via_transport in ("TLS", "WSS")


def media_without_srtp(msg: SipMessage) -> bool:
    """The SDP offers or answers active media as plain RTP (RTP/AVP, RTP/AVPF)."""
    return bool(msg.plain_rtp_media)


def sip_facts(msg: SipMessage, *, over_tls: bool) -> list[tuple[str, str]]:
    """Findings (code, one-line summary) this message supports, per DESIGN.md's codes.

    ``over_tls`` says whether the message was carried by TLS (decrypted) or seen in
    plaintext. Summaries are built from redacted fields only.
    """
    if over_tls:
        return []
    what = f"{msg.method_or_status} (Call-ID {msg.call_id})"
    out: list[tuple[str, str]] = []
    if msg.has_sdes_keys:
        out.append(
            (
                "SIP_SDES_KEYS_IN_PLAINTEXT",
                f"{what} carries SDES SRTP keys (a=crypto inline:) in plaintext SIP: "
                "anyone on the path can decrypt the media",
            )
        )
    if sips_over_insecure_transport(msg):
        seen = "sips: URI" if msg.uses_sips else f"Via SIP/2.0/{msg.via_transport}"
        out.append(
            (
                "SIP_SIPS_OVER_INSECURE_TRANSPORT",
                f"{what} has a {seen} but was sent without TLS",
            )
        )
    return out
