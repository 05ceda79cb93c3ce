"""SIP rules: what the signalling says about the security of the call.

Plaintext SIP is judged by the SIP layer's facts (keys or ``sips:`` in clear); SIP
read from inside TLS is judged on where it sends replies and media next.
"""

from __future__ import annotations

from typing import Any

from pcaptls.diagnose.finding import Finding
from pcaptls.sip import insecure_hops, media_without_srtp, sip_facts


def sip_findings(conn_id: int | None, msg: Any, *, over_tls: bool) -> list[Finding]:
    out = [Finding.make(code, conn_id, msg.frame, msg.time_ns, summary)
           for code, summary in sip_facts(msg, over_tls=over_tls)]
    if not over_tls:
        return out
    what = f"{msg.method_or_status} (frame {msg.frame}, Call-ID {msg.call_id})"
    hops = insecure_hops(msg)
    if hops and msg.is_request:
        shown = "; ".join(f"{h.header}: {h.value}" for h in hops[:3])
        out.append(Finding.make(
            "SIP_TLS_PATH_LEAVES_TLS", conn_id, msg.frame, msg.time_ns,
            f"{what} arrived over TLS but names non-TLS hops: {shown}.",
        ))
    if media_without_srtp(msg):
        out.append(Finding.make(
            "SIP_MEDIA_WITHOUT_SRTP", conn_id, msg.frame, msg.time_ns,
            f"{what} offers RTP/AVP media without SRTP keys or a DTLS fingerprint over a TLS "
            "signalling path.",
        ))
    return out
