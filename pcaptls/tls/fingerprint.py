"""Client and server fingerprints: JA3, JA3S (Salesforce) and JA4 (FoxIO, BSD-3 part).

JA3/JA3S are the MD5 of decimal field lists with GREASE removed; JA4 follows
github.com/FoxIO-LLC/ja4 technical_details/JA4.md. JA4S and JA4X are deliberately not
implemented (FoxIO License, not BSD).
"""

from __future__ import annotations

import hashlib
from typing import Final, Literal

from pcaptls.tls.extensions import EcPointFormats, NamedGroupList
from pcaptls.tls.messages import ClientHello, ServerHello
from pcaptls.tls.registry import ExtensionType, is_grease

_JA4_VERSIONS: Final = {
    0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
    0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3",
}


def _dash(values: tuple[int, ...] | list[int]) -> str:
    return "-".join(str(v) for v in values if not is_grease(v))


def ja3_string(ch: ClientHello) -> str:
    """SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats."""
    groups = ch.ext(ExtensionType.supported_groups)
    formats = ch.ext(ExtensionType.ec_point_formats)
    return ",".join([
        str(ch.legacy_version),
        _dash(ch.cipher_suites),
        _dash([e.type for e in ch.extensions]),
        _dash(groups.groups) if isinstance(groups, NamedGroupList) else "",
        _dash(formats.formats) if isinstance(formats, EcPointFormats) else "",
    ])


def ja3(ch: ClientHello) -> str:
    return hashlib.md5(ja3_string(ch).encode(), usedforsecurity=False).hexdigest()


def ja3s_string(sh: ServerHello) -> str:
    """SSLVersion,Cipher,Extensions."""
    return f"{sh.legacy_version},{sh.cipher_suite},{_dash([e.type for e in sh.extensions])}"


def ja3s(sh: ServerHello) -> str:
    return hashlib.md5(ja3s_string(sh).encode(), usedforsecurity=False).hexdigest()


def _alpn_chars(first: bytes) -> str:
    if not first:
        return "00"
    a, b = first[0], first[-1]
    if chr(a).isascii() and chr(a).isalnum() and chr(b).isascii() and chr(b).isalnum():
        return chr(a) + chr(b)
    hexed = first.hex()
    return hexed[0] + hexed[-1]


def _first_alpn(ch: ClientHello) -> bytes:
    for ext in ch.extensions:
        if ext.type == ExtensionType.application_layer_protocol_negotiation and len(ext.data) >= 3:
            n = ext.data[2]
            return ext.data[3 : 3 + n]
    return b""


def _hash12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12] if text else "000000000000"


def ja4_parts(ch: ClientHello, transport: Literal["t", "q", "d"] = "t") -> tuple[str, str, str]:
    """(JA4_a, raw sorted cipher list, raw extension+signature string) before hashing."""
    versions = [v for v in ch.supported_versions or () if not is_grease(v)]
    version = max(versions) if versions else ch.legacy_version
    ciphers = [c for c in ch.cipher_suites if not is_grease(c)]
    exts = [e.type for e in ch.extensions if not is_grease(e.type)]
    sni = "d" if ExtensionType.server_name in exts else "i"
    a = (f"{transport}{_JA4_VERSIONS.get(version, '00')}{sni}"
         f"{min(len(ciphers), 99):02d}{min(len(exts), 99):02d}{_alpn_chars(_first_alpn(ch))}")
    b = ",".join(sorted(f"{c:04x}" for c in ciphers))
    ext_list = ",".join(sorted(f"{e:04x}" for e in exts
                               if e not in (ExtensionType.server_name,
                                            ExtensionType.application_layer_protocol_negotiation)))
    sigs = ",".join(f"{s:04x}" for s in ch.signature_algorithms or () if not is_grease(s))
    c = f"{ext_list}_{sigs}" if sigs and ext_list else ext_list
    return a, b, c


def ja4(ch: ClientHello, transport: Literal["t", "q", "d"] = "t") -> str:
    """JA4 of a ClientHello, e.g. ``t13d1516h2_8daaf6152771_e5627efa2ab1``."""
    a, b, c = ja4_parts(ch, transport)
    return f"{a}_{_hash12(b)}_{_hash12(c)}"


def ja4_r(ch: ClientHello, transport: Literal["t", "q", "d"] = "t") -> str:
    """JA4_r: the sorted raw lists before hashing."""
    a, b, c = ja4_parts(ch, transport)
    return f"{a}_{b}_{c}"
