"""SIP header field grammar (RFC 3261 §7.3, §20, §25): names, lists, Via, URIs, name-addr.

Pure functions from header text to frozen values. They tolerate what real stacks
send (odd spacing, missing parts) and answer ``None`` for what does not parse,
never raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The whole "compact" column of the IANA "Header Fields" registry
# (sip-parameters, RFC 3261 §7.3.3 and the RFCs named), not a partial list.
COMPACT_FORMS: dict[str, str] = {
    "a": "Accept-Contact",  # RFC 3841
    "b": "Referred-By",  # RFC 3892
    "c": "Content-Type",  # RFC 3261
    "d": "Request-Disposition",  # RFC 3841
    "e": "Content-Encoding",  # RFC 3261
    "f": "From",  # RFC 3261
    "i": "Call-ID",  # RFC 3261
    "j": "Reject-Contact",  # RFC 3841
    "k": "Supported",  # RFC 3261
    "l": "Content-Length",  # RFC 3261
    "m": "Contact",  # RFC 3261
    "n": "Identity-Info",  # RFC 4474 (deprecated by RFC 8224)
    "o": "Event",  # RFC 6665
    "r": "Refer-To",  # RFC 3515
    "s": "Subject",  # RFC 3261
    "t": "To",  # RFC 3261
    "u": "Allow-Events",  # RFC 6665
    "v": "Via",  # RFC 3261
    "x": "Session-Expires",  # RFC 4028
    "y": "Identity",  # RFC 8224
}

# Header fields whose value is a comma-separated list (RFC 3261 §7.3.1) and that we
# split into elements. Others (Date, User-Agent, Subject …) may hold commas as text.
LIST_HEADERS = frozenset(
    {
        "via",
        "route",
        "record-route",
        "contact",
        "path",
        "service-route",
        "supported",
        "require",
        "allow",
        "proxy-require",
        "unsupported",
        "allow-events",
    }
)


def canonical_name(name: str) -> str:
    """Full header name, lower case (``v`` → ``via``), for lookups."""
    name = name.strip()
    full = COMPACT_FORMS.get(name.lower()) if len(name) == 1 else None
    return (full or name).lower()


def split_list(value: str) -> list[str]:
    """Split a header value on commas outside quotes and ``<…>`` (RFC 3261 §7.3.1)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def parse_params(text: str) -> tuple[tuple[str, str | None], ...]:
    """``;a=1;b`` → ``(("a", "1"), ("b", None))``; names lower-cased."""
    out: list[tuple[str, str | None]] = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        name, eq, val = item.partition("=")
        out.append((name.strip().lower(), val.strip().strip('"') if eq else None))
    return tuple(out)


def _param(params: tuple[tuple[str, str | None], ...], name: str) -> str | None:
    for key, val in params:
        if key == name:
            return val if val is not None else ""
    return None


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 5 else None


def _split_hostport(text: str) -> tuple[str, int | None]:
    """``host:port`` → (host, port); an IPv6 reference loses its brackets."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end > 0:
            rest = text[end + 1 :]
            return text[1:end], _port(rest[1:]) if rest.startswith(":") else None
    host, colon, port = text.rpartition(":")
    if colon and host and ":" not in host:
        return host, _port(port)
    return text, None


@dataclass(frozen=True, slots=True)
class SipUri:
    """A sip:/sips: URI (RFC 3261 §19.1); other schemes keep only ``scheme`` and ``text``."""

    text: str
    scheme: str
    user: str | None
    host: str | None
    port: int | None
    params: tuple[tuple[str, str | None], ...]

    @property
    def transport(self) -> str | None:
        """The ``transport`` URI parameter, lower case, or None."""
        val = _param(self.params, "transport")
        return val.lower() if val else None


def parse_uri(text: str) -> SipUri:
    """Parse a URI; anything unrecognised keeps its text with empty parts."""
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips"):
        return SipUri(text, scheme if colon else "", None, None, None, ())
    rest = rest.split("?", 1)[0]
    hostpart, _, params = rest.partition(";")
    user: str | None = None
    if "@" in hostpart:
        user, _, hostpart = hostpart.rpartition("@")
        user = user.split(":", 1)[0]  # never keep a password
    host, port = _split_hostport(hostpart)
    return SipUri(text, scheme, user, host or None, port, parse_params(params))


@dataclass(frozen=True, slots=True)
class NameAddr:
    """From/To/Contact/Route value: display name, URI and header parameters (tag …)."""

    display_name: str | None
    uri: SipUri
    params: tuple[tuple[str, str | None], ...]

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter (From/To), or None."""
        return _param(self.params, "tag")


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted-string opening at ``text[start]`` unescaped, and the index past it."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


def parse_name_addr(value: str) -> NameAddr:
    """``"Bob" <sip:bob@x>;tag=1`` or ``sip:bob@x;tag=1`` (RFC 3261 §20.10, §20.20)."""
    value = value.strip()
    display: str | None = None
    rest = value
    if value.startswith('"'):
        display, end = _quoted(value, 0)
        rest = value[end:]
    lt = rest.find("<")
    gt = rest.find(">", lt + 1) if lt >= 0 else -1
    if lt >= 0 and gt > lt:
        if display is None:
            display = rest[:lt].strip() or None
        return NameAddr(display, parse_uri(rest[lt + 1 : gt]), parse_params(rest[gt + 1 :]))
    # addr-spec form: parameters after the URI belong to the header (§20.10).
    uri, _, params = rest.partition(";")
    return NameAddr(display, parse_uri(uri), parse_params(params))


@dataclass(frozen=True, slots=True)
class Via:
    """One Via element (RFC 3261 §20.42, RFC 3581 rport)."""

    protocol: str
    transport: str
    host: str
    port: int | None
    branch: str | None
    received: str | None
    rport: str | None  # "" when present without a value
    params: tuple[tuple[str, str | None], ...]


_VIA = re.compile(r"\s*([^/\s]+)\s*/\s*([^/\s]+)\s*/\s*([^\s;]+)\s*([^;]*)(.*)", re.S)


def parse_via(value: str) -> Via | None:
    """Parse one Via element (``SIP/2.0/TLS host:port;branch=…``), None if malformed."""
    m = _VIA.fullmatch(value)
    if not m:
        return None
    host, port = _split_hostport(m.group(4))
    params = parse_params(m.group(5))
    return Via(
        protocol=f"{m.group(1)}/{m.group(2)}",
        transport=m.group(3).upper(),
        host=host,
        port=port,
        branch=_param(params, "branch"),
        received=_param(params, "received"),
        rport=_param(params, "rport"),
        params=params,
    )


@dataclass(frozen=True, slots=True)
class CSeq:
    """CSeq: sequence number and method (RFC 3261 §20.16)."""

    number: int
    method: str


def parse_cseq(value: str) -> CSeq | None:
    """``"2 INVITE"`` → CSeq(2, "INVITE"); None if malformed."""
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10:
        return None
    return CSeq(int(parts[0]), parts[1])
