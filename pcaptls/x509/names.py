"""Distinguished names sent bare (a CertificateRequest's certificate_authorities).

pyca/cryptography parses names only inside certificates, so this walks the DER of
a ``Name`` (SEQUENCE OF SET OF SEQUENCE {OID, value}) and hands the parts back to
``x509.Name`` to be written as RFC 4514, the same spelling the certificates table uses.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

_STRING_TAGS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be",
                0x1C: "utf-32-be", 0x12: "ascii", 0x1A: "ascii"}


class NameDecodeError(ValueError):
    """The bytes are not a DER-encoded Name."""


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, value, next position) of the TLV at ``pos``; never reads past ``data``."""
    if pos + 2 > len(data):
        raise NameDecodeError("truncated header")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(data):
            raise NameDecodeError("bad length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise NameDecodeError("value runs past the end")
    return tag, data[pos : pos + length], pos + length


def _oid(body: bytes) -> str:
    if not body:
        raise NameDecodeError("empty OID")
    first, rest = divmod(body[0], 40) if body[0] < 80 else (2, body[0] - 80)
    arcs = [first, rest]
    value = 0
    for b in body[1:]:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(a) for a in arcs)


def _items(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        tag, value, pos = _tlv(data, pos)
        out.append((tag, value))
    return out


def name_from_der(der: bytes) -> str:
    """RFC 4514 text of a DER ``Name``; :class:`NameDecodeError` when it is not one."""
    tag, body, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise NameDecodeError("not a SEQUENCE")
    rdns = []
    for set_tag, set_body in _items(body):
        if set_tag != 0x31:
            raise NameDecodeError("RDN is not a SET")
        attrs = []
        for seq_tag, seq_body in _items(set_body):
            parts = _items(seq_body)
            if seq_tag != 0x30 or len(parts) != 2 or parts[0][0] != 0x06:
                raise NameDecodeError("bad attribute")
            (_, oid), (vtag, value) = parts
            encoding = _STRING_TAGS.get(vtag)
            text = value.decode(encoding, "replace") if encoding else value.hex()
            try:
                attrs.append(x509.NameAttribute(ObjectIdentifier(_oid(oid)), text,
                                                _validate=False))
            except ValueError as e:
                raise NameDecodeError(str(e)) from None
        if attrs:
            rdns.append(x509.RelativeDistinguishedName(attrs))
    return x509.Name(rdns).rfc4514_string()
