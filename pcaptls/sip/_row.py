"""The ``sip`` table row (DESIGN.md "Tables") made from one :class:`SipMessage`."""

from __future__ import annotations

from ._message import SipMessage

SIP_COLUMNS = (
    "conn_id",
    "frame",
    "time",
    "direction",
    "method_or_status",
    "call_id",
    "via_transport",
    "request_uri",
    "record_route",
    "has_sdes_keys",
)


def sip_row(msg: SipMessage) -> dict[str, object]:
    """The row without ``conn_id`` and ``direction`` (the caller knows those).

    ``time`` is int nanoseconds since the epoch (the report layer formats it);
    ``record_route`` is a list of URIs. Every text is already redacted.
    """
    return {
        "frame": msg.frame,
        "time": msg.time_ns,
        "method_or_status": msg.method_or_status,
        "call_id": msg.call_id,
        "via_transport": msg.via_transport,
        "request_uri": msg.request_uri,
        "record_route": [rr.uri.text for rr in msg.record_route],
        "has_sdes_keys": msg.has_sdes_keys,
    }
