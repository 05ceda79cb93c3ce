"""No output of any command, in any format, contains a secret.

The secrets are read from the inputs themselves: the SDES keys from the capture's
raw bytes (`a=crypto:… inline:KEY`), the key-log secrets from the key log file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcaptls.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
SDES_UDP = CAPTURES / "kamailio-sip-udp-sdes.pcap"
SDES_TCP = CAPTURES / "kamailio-sip-tcp-sdes.pcap"
TLS = CAPTURES / "kamailio-tls12-register-v4.pcap"
TLS_KEYS = ROOT / "fixtures" / "keylogs" / "kamailio-tls12-register-v4.keys"
COMMANDS = ["analyze", "connections", "messages", "certs", "findings", "sip", "fleet", "report"]
FORMATS = ["table", "csv", "json", "markdown"]


def sdes_keys(capture: Path) -> set[str]:
    keys = set(re.findall(rb"inline:([A-Za-z0-9+/=]{20,})", capture.read_bytes()))
    assert keys, "the fixture must carry SDES keys in clear"
    return {k.decode() for k in keys}


def keylog_secrets() -> set[str]:
    out = set()
    for line in TLS_KEYS.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out.add(parts[2].lower())
            out.add(parts[2].upper())
    assert out
    return out


def outputs(capture: Path, *extra: str) -> list[str]:
    texts = []
    for command in COMMANDS:
        for fmt in FORMATS:
            if command == "report" and fmt != "markdown":
                continue
            r = CliRunner().invoke(main, [command, str(capture), "--format", fmt, *extra])
            assert r.exit_code == 0, (command, fmt, r.output)
            texts.append(r.stdout + r.stderr)
    return texts


@pytest.mark.parametrize("capture", [SDES_UDP, SDES_TCP], ids=["udp", "tcp"])
def test_sdes_keys_never_appear(capture: Path) -> None:
    keys = sdes_keys(capture)
    for text in outputs(capture):
        for key in keys:
            assert key not in text


def test_sdes_keys_are_reported_and_redacted() -> None:
    r = CliRunner().invoke(main, ["findings", str(SDES_UDP), "--format", "csv"])
    assert "SIP_SDES_KEYS_IN_PLAINTEXT" in r.stdout
    r = CliRunner().invoke(main, ["sip", str(SDES_UDP), "--format", "json"])
    assert '"has_sdes_keys": true' in r.stdout


def test_keylog_secrets_and_decrypted_sdes_never_appear() -> None:
    secrets = keylog_secrets()
    texts = outputs(TLS, "--keylog", str(TLS_KEYS))
    # the INVITE inside the TLS stream carries SDES keys; the sip table sees it decrypted
    assert any("INVITE" in t for t in texts)
    for text in texts:
        for s in secrets:
            assert s not in text
