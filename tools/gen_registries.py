#!/usr/bin/env python3
"""Generate pcaptls/tls/registry_generated.py from the data files in pcaptls/tls/registry_data.

Registries are never typed by hand: this script reads IANA's CSV files, tshark's value
strings, OpenSSL's cipher list and a short list of RFC additions (see the README.md
beside them) and writes IntEnums plus name tables.

Usage: python tools/gen_registries.py [OUTPUT]   (default: the module in the package)
"""

from __future__ import annotations

import csv
import keyword
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "pcaptls" / "tls" / "registry_data"
DEFAULT_OUT = ROOT / "pcaptls" / "tls" / "registry_generated.py"

GREASE = frozenset(0x0A0A + 0x1010 * i for i in range(16))


def _identifier(name: str) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_")
    if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "_" + ident
    return ident


def _snake(name: str) -> str:
    """'Unknown CA' -> 'unknown_ca': tshark's title case back to the RFC spelling."""
    return re.sub(r"\s+", "_", name.strip()).lower()


def _iana_rows(path: Path) -> list[tuple[int, str]]:
    """(value, name) for the single-value, named rows of an IANA CSV."""
    rows: list[tuple[int, str]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            raw = rec["Value"].strip()
            desc = " ".join(rec["Description"].split())
            if "-" in raw or not desc or desc.startswith(("Reserved", "Unassigned")):
                continue
            if "," in raw:
                hi, lo = (int(p, 16) for p in raw.split(","))
                value = hi << 8 | lo
            else:
                value = int(raw, 0)
            rows.append((value, desc))
    return rows


def _tshark_rows() -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for line in (DATA / "tshark-values.tsv").read_text(encoding="utf-8").splitlines():
        if not line.startswith("V\t"):
            continue
        _, field, value, name = line.split("\t")
        out.setdefault(field, []).append((int(value, 0), name))
    return out


def _rfc_rows() -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for line in (DATA / "rfc-additions.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        registry, value, name, _ref = line.split("\t")
        out.setdefault(registry, []).append((int(value), name))
    return out


def _openssl_rows() -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    pat = re.compile(r"^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})\s+-\s+(\S+)")
    for line in (DATA / "openssl-ciphers.txt").read_text(encoding="utf-8").splitlines():
        m = pat.match(line)
        if m:
            rows.append((int(m[1], 16) << 8 | int(m[2], 16), m[3]))
    return rows


def _dedupe(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """First name per value wins; GREASE rows and 'Reserved (...)' placeholders dropped."""
    seen: dict[int, str] = {}
    for value, name in rows:
        if value in GREASE or name.startswith("Reserved") or value in seen:
            continue
        seen[value] = name
    return sorted(seen.items())


def _enum(cls: str, doc: str, rows: list[tuple[int, str]], width: int) -> list[str]:
    lines = [f"class {cls}(IntEnum):", f'    """{doc}"""', ""]
    used: set[str] = set()
    for value, name in rows:
        ident = _identifier(name)
        while ident in used:
            ident += "_"
        used.add(ident)
        lines.append(f"    {ident} = 0x{value:0{width}X}")
    lines += ["", ""]
    lines.append(f"{cls.upper()}_NAMES: Final[dict[int, str]] = {{")
    lines += [f"    0x{value:0{width}X}: {name!r}," for value, name in rows]
    lines += ["}", "", ""]
    return lines


def _split_handshake_types(rows: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """tshark lists SSLv2 message types first, then TLS ones, under one field name."""
    second_zero = next(i for i, (v, _) in enumerate(rows) if v == 0 and i > 0)
    return rows[:second_zero], rows[second_zero:]


def generate() -> str:
    ts = _tshark_rows()
    rfc = _rfc_rows()
    ssl2_types, tls_types = _split_handshake_types(ts["tls.handshake.type"])
    registries = [
        ("CipherSuite", "TLS cipher suites (IANA tls-parameters-4.csv).",
         _dedupe(_iana_rows(DATA / "tls-parameters-4.csv")), 4),
        ("NamedGroup", "TLS supported groups (IANA tls-parameters-8.csv).",
         _dedupe(_iana_rows(DATA / "tls-parameters-8.csv")), 4),
        ("SignatureScheme", "TLS SignatureScheme (IANA tls-signaturescheme.csv).",
         _dedupe(_iana_rows(DATA / "tls-signaturescheme.csv")), 4),
        ("ExtensionType", "TLS ExtensionType (tshark 4.0.17 value strings + RFC additions).",
         _dedupe(ts["tls.handshake.extension.type"] + rfc.get("extension_type", [])), 4),
        ("AlertDescription", "TLS AlertDescription (tshark 4.0.17 value strings, RFC spelling).",
         _dedupe([(v, _snake(n)) for v, n in ts["tls.alert_message.desc"]]), 2),
        ("HandshakeType", "TLS HandshakeType (tshark 4.0.17 value strings, RFC spelling).",
         _dedupe([(v, _snake(n)) for v, n in tls_types] + rfc.get("handshake_type", [])), 2),
        ("ContentType", "TLS ContentType (tshark 4.0.17 value strings, RFC spelling).",
         _dedupe([(v, _snake(n)) for v, n in ts["tls.record.content_type"]]), 2),
        ("ProtocolVersion", "SSL/TLS/DTLS versions (tshark 4.0.17 value strings, names as shown).",
         _dedupe(ts["tls.handshake.version"]), 4),
        ("Ssl2MessageType", "SSLv2 message types (tshark 4.0.17 value strings).",
         _dedupe([(v, _snake(n)) for v, n in ssl2_types]), 2),
        ("Ssl2CipherKind", "SSLv2 cipher kinds, SSL_CK_ names (tshark's SSL2_ value strings).",
         _dedupe([(v, "SSL_CK_" + n.removeprefix("SSL2_"))
                  for v, n in ts["tls.handshake.cipherspec"] if v > 0xFFFF]), 6),
    ]
    out = [
        '"""Generated by tools/gen_registries.py from pcaptls/tls/registry_data; do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from enum import IntEnum",
        "from typing import Final",
        "",
        "",
    ]
    for cls, doc, rows, width in registries:
        out += _enum(cls, doc, rows, width)
    out.append("OPENSSL_CIPHER_NAMES: Final[dict[int, str]] = {")
    out += [f"    0x{v:04X}: {n!r}," for v, n in sorted(dict(_openssl_rows()).items())]
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    target.write_text(generate(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
