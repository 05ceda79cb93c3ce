"""SIP layer: sans-IO framing and parsing of SIP messages (plaintext or decrypted TLS).

Bytes in, frozen :class:`SipMessage` values out; SRTP keys never survive into any
field (:func:`redact`).
"""

from ._facts import (
    PLAINTEXT_TRANSPORTS,
    InsecureHop,
    insecure_hops,
    leaves_tls,
    media_without_srtp,
    sip_facts,
    sips_over_insecure_transport,
)
from ._headers import (
    COMPACT_FORMS,
    CSeq,
    NameAddr,
    SipUri,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_uri,
    parse_via,
    split_list,
)
from ._message import SipMessage, parse_message
from ._redact import REDACTED, redact, redact_credentials
from ._row import SIP_COLUMNS, sip_row
from ._sdp import Crypto, Fingerprint, Media, Sdp, parse_sdp
from ._stream import MAX_MESSAGE, NoteKind, SipStream, StreamNote, parse_datagram

__all__ = [
    "COMPACT_FORMS",
    "MAX_MESSAGE",
    "PLAINTEXT_TRANSPORTS",
    "REDACTED",
    "SIP_COLUMNS",
    "CSeq",
    "Crypto",
    "Fingerprint",
    "InsecureHop",
    "Media",
    "NameAddr",
    "NoteKind",
    "Sdp",
    "SipMessage",
    "SipStream",
    "SipUri",
    "StreamNote",
    "Via",
    "canonical_name",
    "insecure_hops",
    "leaves_tls",
    "media_without_srtp",
    "parse_cseq",
    "parse_datagram",
    "parse_message",
    "parse_name_addr",
    "parse_sdp",
    "parse_uri",
    "parse_via",
    "redact",
    "redact_credentials",
    "sip_facts",
    "sip_row",
    "sips_over_insecure_transport",
    "split_list",
]
