"""Registries: generated module up to date, equal to the data files, and spot-checked
against the tools themselves (tshark -G values, openssl ciphers) at test time."""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pcaptls.tls import registry_generated as gen
from pcaptls.tls.registry import (
    GREASE_VALUES,
    alert_name,
    cipher_suite_info,
    cipher_suite_name,
    extension_name,
    group_name,
    handshake_type_name,
    signature_scheme_name,
    ssl2_cipher_kind_name,
    version_name,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "pcaptls" / "tls" / "registry_data"


def test_generated_module_is_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_registries", ROOT / "tools" / "gen_registries.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target = tmp_path / "out.py"
    module.main(["gen", str(target)])
    assert target.read_text() == (ROOT / "pcaptls" / "tls" / "registry_generated.py").read_text()


def _iana(name: str) -> dict[int, str]:
    out = {}
    with (DATA / name).open(newline="") as fh:
        for rec in csv.DictReader(fh):
            value, desc = rec["Value"], " ".join(rec["Description"].split())
            if "-" in value or desc.startswith(("Reserved", "Unassigned")):
                continue
            parts = value.split(",")
            out[int(parts[0], 16) << 8 | int(parts[1], 16) if len(parts) == 2 else int(value, 0)] = desc
    return out


@pytest.mark.parametrize(("csv_name", "table"), [
    ("tls-parameters-4.csv", gen.CIPHERSUITE_NAMES),
    ("tls-parameters-8.csv", gen.NAMEDGROUP_NAMES),
    ("tls-signaturescheme.csv", gen.SIGNATURESCHEME_NAMES),
])
def test_tables_equal_iana_files(csv_name: str, table: dict[int, str]) -> None:
    assert table == _iana(csv_name)


def _tshark_values() -> dict[str, list[tuple[int, str]]]:
    out = subprocess.run(["tshark", "-G", "values"], capture_output=True, check=True).stdout
    rows: dict[str, list[tuple[int, str]]] = {}
    for line in out.decode().splitlines():
        parts = line.split("\t")
        if len(parts) == 4 and parts[0] == "V" and parts[1].startswith("tls."):
            rows.setdefault(parts[1], []).append((int(parts[2], 0), parts[3]))
    return rows


@pytest.fixture(scope="module")
def tshark_values() -> dict[str, list[tuple[int, str]]]:
    return _tshark_values()


def test_extension_names_equal_tshark(tshark_values: dict[str, list[tuple[int, str]]]) -> None:
    for value, name in tshark_values["tls.handshake.extension.type"]:
        expected = "GREASE" if "GREASE" in name else name
        if name.startswith("Reserved (") and "GREASE" not in name:
            continue
        assert extension_name(value) == expected


def test_alert_names_are_tsharks_in_rfc_spelling(tshark_values: dict[str, list[tuple[int, str]]]) -> None:
    for value, name in tshark_values["tls.alert_message.desc"]:
        assert alert_name(value) == name.lower().replace(" ", "_")
    assert alert_name(48) == "unknown_ca" and alert_name(116) == "certificate_required"


def test_handshake_and_version_names(tshark_values: dict[str, list[tuple[int, str]]]) -> None:
    assert handshake_type_name(1) == "client_hello"
    assert handshake_type_name(25) == "compressed_certificate"
    assert handshake_type_name(254) == "message_hash"  # RFC 8446, not in tshark 4.0
    for value, name in tshark_values["tls.handshake.version"]:
        assert version_name(value) == ("GREASE" if "GREASE" in name else name)
    assert version_name(0x7F17) == "TLS 1.3 (draft 23)"
    assert version_name(0x5A5B) == "0x5a5b"


def test_cipher_names_agree_with_tshark_where_both_use_iana(
    tshark_values: dict[str, list[tuple[int, str]]],
) -> None:
    agree = 0
    for value, name in tshark_values["tls.handshake.ciphersuite"]:
        if value in gen.CIPHERSUITE_NAMES and name == gen.CIPHERSUITE_NAMES[value]:
            agree += 1
    assert agree > 300
    assert cipher_suite_name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert cipher_suite_name(0x0A0A) == "GREASE" and cipher_suite_name(0x5A5B) == "0x5a5b"


def test_ssl2_kinds_from_tshark(tshark_values: dict[str, list[tuple[int, str]]]) -> None:
    kinds = {v: n for v, n in tshark_values["tls.handshake.cipherspec"] if v > 0xFFFF}
    assert kinds[0x0700C0] == "SSL2_DES_192_EDE3_CBC_WITH_MD5"
    for value, name in kinds.items():
        assert ssl2_cipher_kind_name(value) == "SSL_CK_" + name.removeprefix("SSL2_")
    assert ssl2_cipher_kind_name(0x000004) == "TLS_RSA_WITH_RC4_128_MD5"


def test_grease_recognised_in_every_registry() -> None:
    assert len(GREASE_VALUES) == 16 and 0x0A0A in GREASE_VALUES and 0xFAFA in GREASE_VALUES
    for value in GREASE_VALUES:
        for fn in (cipher_suite_name, group_name, signature_scheme_name, extension_name, version_name):
            assert fn(value) == "GREASE"
    assert group_name(29) == "x25519" and signature_scheme_name(0x0804) == "rsa_pss_rsae_sha256"


def test_openssl_names_equal_openssl_itself() -> None:
    out = subprocess.run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, check=True, text=True).stdout
    pairs = {int(a + b, 16): name for a, b, name in
             re.findall(r"0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)", out)}
    assert pairs and pairs == gen.OPENSSL_CIPHER_NAMES


def _openssl_props() -> dict[int, dict[str, str]]:
    out = subprocess.run(["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, check=True, text=True).stdout
    props = {}
    for m in re.finditer(r"0x([0-9A-F]{2}),0x([0-9A-F]{2}) - \S+\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)\s+"
                         r"Enc=(\S+)\s+Mac=(\S+)", out):
        props[int(m[1] + m[2], 16)] = {"kx": m[4], "au": m[5], "enc": m[6], "mac": m[7]}
    return props


def test_suite_properties_agree_with_openssl() -> None:
    """Properties derived from IANA names against OpenSSL's own Kx/Au/Enc/Mac columns."""
    kx_map = {"RSA": "RSA", "DH": "DHE", "ECDH": "ECDHE", "PSK": "PSK", "RSAPSK": "RSA",
              "DHEPSK": "DHE", "ECDHEPSK": "ECDHE", "SRP": "SRP", "any": "any"}
    checked = 0
    for value, p in _openssl_props().items():
        info = cipher_suite_info(value)
        assert info is not None, hex(value)
        if p["kx"] in kx_map:  # IANA calls anonymous ephemeral DH "DH_anon", OpenSSL "DH"
            expected = kx_map[p["kx"]]
            expected = expected.removesuffix("E") if info.anonymous else expected
            assert info.key_exchange == expected, (hex(value), p)
        enc = p["enc"]
        mode = ("GCM" if "GCM" in enc else "CCM_8" if "CCM8" in enc else "CCM" if "CCM" in enc
                else "ChaCha20-Poly1305" if "CHACHA20" in enc else "NULL" if enc == "None"
                else "stream" if "RC4" in enc else "other" if "ARIA" in enc and "GCM" in enc
                else "CBC")
        assert info.mode == mode, (hex(value), enc, info.mode)
        assert info.aead == (p["mac"] == "AEAD"), hex(value)
        assert info.anonymous == (p["au"] == "None"), hex(value)
        assert info.forward_secrecy == (p["kx"] in ("DH", "ECDH", "DHEPSK", "ECDHEPSK", "any")), hex(value)
        checked += 1
    assert checked > 100


def test_weak_properties() -> None:
    rc4 = cipher_suite_info(0x0004)
    assert rc4 and rc4.mode == "stream" and not rc4.forward_secrecy and rc4.mac == "MD5"
    export = cipher_suite_info(0x0003)
    assert export and export.export
    anon = cipher_suite_info(0x0018)
    assert anon and anon.anonymous
    scsv = cipher_suite_info(0x5600)
    assert scsv and scsv.scsv
    assert cipher_suite_info(0x0A0A) is None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
