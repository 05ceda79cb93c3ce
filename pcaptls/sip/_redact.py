"""Redaction of SRTP key material (RFC 4568 SDES, RFC 4567 MIKEY) in SIP text.

Every text field of a parsed SIP message passes through :func:`redact` before it
is stored, so no output path can print a key by accident.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

# RFC 4568 §9.2: key-param = "inline:" key-salt ["|" lifetime] ["|" mki ":" length];
# the key-salt (base64) is the secret, the lifetime and MKI are kept.
# "<redacted>" is matched first so that redacting twice changes nothing.
_INLINE = re.compile(r"(?i)(inline:)(?:<redacted>|[ \t]*[^|\s;\">,]*)")
# RFC 4567: a=key-mgmt:mikey <base64 MIKEY message> (may carry an encrypted TEK).
_MIKEY = re.compile(r"(?i)(key-mgmt:[ \t]*mikey[ \t]+)(?:<redacted>|[^\s;\">,]*)")
# RFC 4566 k= line: a key in the clear (prompt/clear/base64/uri methods).
_K_LINE = re.compile(r"(?im)^([ \t]*k=)[^\r\n]*")


# RFC 8760/2617 digest credentials: the response hash allows an offline guess of the
# SIP password, so it is redacted too (in Authorization / Proxy-Authorization values).
_DIGEST_RESPONSE = re.compile(r'(?i)(\bresponse\s*=\s*)(?:"[^"]*"|[^\s,]+)')


def redact_credentials(value: str) -> str:
    """Redact the digest ``response=`` of an Authorization or Proxy-Authorization value."""
    return _DIGEST_RESPONSE.sub(r'\1"' + REDACTED + '"', value)


def redact(text: str) -> str:
    """Return ``text`` with every SRTP/SDP key replaced by ``<redacted>``."""
    text = _INLINE.sub(r"\1" + REDACTED, text)
    text = _MIKEY.sub(r"\1" + REDACTED, text)
    return _K_LINE.sub(r"\1" + REDACTED, text)


def has_inline_keys(text: str) -> bool:
    """True when ``text`` carries at least one non-empty SDES ``inline:`` key."""
    return any(
        m.group(0)[len(m.group(1)) :].strip() not in ("", REDACTED) for m in _INLINE.finditer(text)
    )
