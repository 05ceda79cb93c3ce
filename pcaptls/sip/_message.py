"""SIP messages (RFC 3261 §7): start line, header fields, body; every text field redacted.

:func:`parse_head` reads the start line and header fields (what a framer needs to
find Content-Length); :func:`build_message` turns a head and its body into a
:class:`SipMessage`. The raw bytes are not kept, so no output can leak a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._headers import (
    COMPACT_FORMS,
    LIST_HEADERS,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_via,
    split_list,
)
from ._redact import has_inline_keys, redact, redact_credentials
from ._sdp import Media, Sdp, parse_sdp

_TOKEN = r"[!%*+\-.0-9A-Za-z_`'~]+"
REQUEST_LINE = re.compile(rf"({_TOKEN}) +(\S+) +[Ss][Ii][Pp]/(\d+\.\d+)")
STATUS_LINE = re.compile(r"[Ss][Ii][Pp]/(\d+\.\d+) +(\d{3})(?: +([^\r\n]*))?")


@dataclass(frozen=True, slots=True)
class Head:
    """Start line and header fields of one message, before the body is known."""

    method: str | None
    request_uri: str | None
    status_code: int | None
    reason: str | None
    version: str
    headers: tuple[tuple[str, str], ...]  # (canonical lower-case name, raw value)
    written: tuple[str, ...]  # each header's name as written, same order

    def values(self, name: str) -> list[str]:
        """All values of header ``name`` (lower case, full form), list headers split."""
        out: list[str] = []
        for key, val in self.headers:
            if key == name:
                out.extend(split_list(val) if name in LIST_HEADERS else [val])
        return out

    def first(self, name: str) -> str | None:
        """The first value of header ``name``, or None."""
        for key, val in self.headers:
            if key == name:
                return val
        return None

    @property
    def content_length(self) -> int | None:
        """Content-Length (``l``) as a number, None if absent or not a number."""
        val = self.first("content-length")
        if val is None:
            return None
        val = val.strip()
        return int(val) if val.isdigit() and len(val) <= 9 else None


def parse_start_line(line: str) -> tuple[str | None, str | None, int | None, str | None, str]:
    """(method, request_uri, status, reason, version) or raise ValueError."""
    line = line.rstrip()  # CR, and trailing blanks some stacks leave
    m = STATUS_LINE.fullmatch(line)
    if m:
        return None, None, int(m.group(2)), (m.group(3) or "").strip(), m.group(1)
    m = REQUEST_LINE.fullmatch(line)
    if m:
        return m.group(1), m.group(2), None, None, m.group(3)
    raise ValueError("not a SIP start line")


def is_start_line(line: str) -> bool:
    """True for a SIP request line or status line (without its line end)."""
    try:
        parse_start_line(line)
    except ValueError:
        return False
    return True


def parse_head(head: bytes) -> Head | None:
    """Parse start line and header fields (folded lines joined), None if not SIP."""
    text = head.decode("utf-8", errors="replace")
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    try:
        method, uri, status, reason, version = parse_start_line(lines[0])
    except ValueError:
        return None
    fields: list[tuple[str, str]] = []
    written: list[str] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:  # folding, RFC 3261 §7.3.1
            name, val = fields[-1]
            fields[-1] = (name, f"{val} {line.strip()}".strip())
            continue
        name, colon, val = line.partition(":")
        if colon and name.strip():
            fields.append((canonical_name(name), val.strip()))
            written.append(name.strip())
    return Head(method, uri, status, reason, version, tuple(fields), tuple(written))


_FULL_NAMES = {v.lower(): v for v in COMPACT_FORMS.values()} | {
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
}


def display_name(name: str, written: str) -> str:
    """The registered spelling of a known name (``v`` → ``Via``), else the name as written."""
    return _FULL_NAMES.get(name) or written


@dataclass(frozen=True, slots=True)
class SipMessage:
    """One SIP request or response. Every text field is already redacted."""

    frame: int  # frame that completed the message
    time_ns: int
    first_frame: int  # frame that carried its first byte
    method: str | None
    request_uri: str | None
    status_code: int | None
    reason: str | None
    version: str
    headers: tuple[tuple[str, str], ...]  # (full name, redacted value), in order
    vias: tuple[Via, ...]
    route: tuple[NameAddr, ...]
    record_route: tuple[NameAddr, ...]
    contacts: tuple[NameAddr, ...]
    from_addr: NameAddr | None
    to_addr: NameAddr | None
    call_id: str | None
    cseq: CSeq | None
    content_type: str | None
    content_length: int | None
    user_agent: str | None
    server: str | None
    body: str
    sdp: Sdp | None
    size: int  # bytes of head and body
    has_sdes_keys: bool  # SDES inline keys were present (now redacted)

    @property
    def is_request(self) -> bool:
        """True for a request, False for a response."""
        return self.method is not None

    @property
    def method_or_status(self) -> str:
        """``INVITE`` for a request, ``200 OK`` for a response."""
        if self.method is not None:
            return self.method
        return f"{self.status_code} {self.reason}".strip()

    @property
    def top_via(self) -> Via | None:
        """The first Via: the hop that sent this message (request) or will get it."""
        return self.vias[0] if self.vias else None

    @property
    def via_transport(self) -> str | None:
        """Transport of the top Via (``UDP``, ``TCP``, ``TLS``, ``WSS`` …)."""
        return self.vias[0].transport if self.vias else None

    @property
    def uses_sips(self) -> bool:
        """A sips: URI in the request-URI, To, From, Contact, Route or Record-Route."""
        if self.request_uri is not None and self.request_uri.lower().startswith("sips:"):
            return True
        addrs = [*self.contacts, *self.route, *self.record_route]
        addrs += [a for a in (self.from_addr, self.to_addr) if a is not None]
        return any(a.uri.scheme == "sips" for a in addrs)

    @property
    def plain_rtp_media(self) -> tuple[Media, ...]:
        """Active SDP media offered or answered as RTP without SRTP (RTP/AVP)."""
        return self.sdp.plain_rtp_media if self.sdp is not None else ()


_BOUNDARY = re.compile(r'(?i);\s*boundary\s*=\s*"?([^";]+)"?')
_PART_HEAD_END = re.compile(r"\r?\n\r?\n")


def _find_sdp(content_type: str, body: str) -> Sdp | None:
    """The SDP of an application/sdp body, or of the first such part of a multipart one
    (RFC 5621: SIP-I, emergency calls and others wrap SDP in multipart/mixed)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/sdp":
        return parse_sdp(body)
    m = _BOUNDARY.search(content_type)
    if not ctype.startswith("multipart/") or m is None:
        return None
    for part in body.split("--" + m.group(1).strip())[1:]:
        end = _PART_HEAD_END.search(part)
        if end is None:
            continue
        for line in part[: end.start()].splitlines():
            name, _, val = line.partition(":")
            part_type = val.split(";", 1)[0].strip().lower()
            if canonical_name(name) == "content-type" and part_type == "application/sdp":
                return parse_sdp(part[end.end() :])
    return None


def _redact_header(name: str, value: str) -> str:
    if name in ("authorization", "proxy-authorization"):
        return redact(redact_credentials(value))
    return redact(value)


def _addrs(head: Head, name: str) -> tuple[NameAddr, ...]:
    return tuple(parse_name_addr(redact(v)) for v in head.values(name) if v.strip() != "*")


def build_message(
    head: Head, body: bytes, frame: int, time_ns: int, first_frame: int, size: int
) -> SipMessage:
    """Make the redacted :class:`SipMessage` from a parsed head and its body bytes."""
    raw_body = body.decode("utf-8", errors="replace")
    content_type = head.first("content-type")
    sdp = _find_sdp(content_type or "", raw_body)
    vias = tuple(v for v in (parse_via(redact(x)) for x in head.values("via")) if v is not None)
    from_v, to_v = head.first("from"), head.first("to")
    cseq_v, call_id = head.first("cseq"), head.first("call-id")
    ua, server = head.first("user-agent"), head.first("server")
    return SipMessage(
        frame=frame,
        time_ns=time_ns,
        first_frame=first_frame,
        method=head.method,
        request_uri=redact(head.request_uri) if head.request_uri is not None else None,
        status_code=head.status_code,
        reason=redact(head.reason) if head.reason is not None else None,
        version=head.version,
        headers=tuple(
            (display_name(n, w), _redact_header(n, v))
            for (n, v), w in zip(head.headers, head.written, strict=True)
        ),
        vias=vias,
        route=_addrs(head, "route"),
        record_route=_addrs(head, "record-route"),
        contacts=_addrs(head, "contact"),
        from_addr=parse_name_addr(redact(from_v)) if from_v is not None else None,
        to_addr=parse_name_addr(redact(to_v)) if to_v is not None else None,
        call_id=redact(call_id) if call_id is not None else None,
        cseq=parse_cseq(redact(cseq_v)) if cseq_v is not None else None,
        content_type=redact(content_type) if content_type is not None else None,
        content_length=head.content_length,
        user_agent=redact(ua) if ua is not None else None,
        server=redact(server) if server is not None else None,
        body=redact(raw_body),
        sdp=sdp,
        size=size,
        has_sdes_keys=has_inline_keys(raw_body),
    )


def parse_message(data: bytes, frame: int, time_ns: int) -> SipMessage | None:
    """Parse one whole message (head, blank line, body); None if it is not SIP."""
    m = re.search(rb"\r?\n\r?\n", data)
    head_bytes, body = (data[: m.start()], data[m.end() :]) if m else (data, b"")
    head = parse_head(head_bytes)
    if head is None:
        return None
    length = head.content_length
    if length is not None and length < len(body):
        body = body[:length]  # RFC 3261 §18.3: octets past Content-Length are ignored
    return build_message(head, body, frame, time_ns, frame, len(data))
