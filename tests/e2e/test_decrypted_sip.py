"""With a key log, what was encrypted is read: TLS 1.3 certificates and the SIP inside.

Expected values come from tshark with the same key log (`-o tls.keylog_file`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import pcaptls

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
KEYS = ROOT / "fixtures" / "keylogs"
TRUST = str(ROOT / "fixtures" / "trust")
CASES = ["kamailio-tls13-register-v4", "kamailio-tls12-register-v6", "kamailio-tls13-register-sll2",
         "sip-tls-rtp-avp"]


def tshark(capture: Path, keylog: Path, *fields: str, display: str) -> list[list[str]]:
    with tempfile.TemporaryDirectory() as cfg:
        r = subprocess.run(
            ["tshark", "-n", "-r", str(capture), "-o", f"tls.keylog_file:{keylog}",
             "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", display, "-T", "fields",
             "-E", "separator=\t", "-E", "occurrence=a", *[x for f in fields for x in ("-e", f)]],
            capture_output=True, text=True, check=True, env={**os.environ, "WIRESHARK_CONFIG_DIR": cfg},
        )
    return [line.split("\t") for line in r.stdout.splitlines()]


@pytest.mark.parametrize("case", CASES)
def test_every_sip_message_tshark_decrypts_is_in_the_sip_table(case: str) -> None:
    capture = CAPTURES / f"{case}.pcap"
    keylog = KEYS / f"{case}.keys"
    expected = []
    for frame, method, status in tshark(capture, keylog, "frame.number", "sip.Method", "sip.Status-Code",
                                        display="sip"):
        # several SIP messages in one frame come as comma-joined occurrences
        for m, s in zip(method.split(",") if method else [""] * max(1, len(status.split(","))),
                        status.split(",") if status else [""] * len(method.split(",")), strict=True):
            expected.append((int(frame), m or s))
    a = pcaptls.analyze(capture, keylogs=(str(keylog),), ca_bundle=TRUST)
    got = [(r["frame"], r["method_or_status"].split(" ")[0]) for r in a.tables["sip"].rows]
    assert got == expected


@pytest.mark.parametrize("case", ["kamailio-tls13-register-v4", "gnutls-tls13-to-kamailio"])
def test_tls13_certificates_appear_with_the_key_log(case: str) -> None:
    capture = CAPTURES / f"{case}.pcap"
    keylog = KEYS / f"{case}.keys"
    rows = tshark(capture, keylog, "frame.number", "x509sat.uTF8String", "x509sat.printableString",
                  display="tls.handshake.type == 11")
    assert rows, "tshark decrypts a Certificate"
    without = pcaptls.analyze(capture, ca_bundle=TRUST)
    assert without.tables["certificates"].rows == []
    with_keys = pcaptls.analyze(capture, keylogs=(str(keylog),), ca_bundle=TRUST)
    certs = with_keys.tables["certificates"].rows
    assert {r["frame"] for r in certs} == {int(rows[0][0])}
    assert certs[0]["verdict"] == "ok"
    assert "CERT_NOT_VISIBLE" not in {r["code"] for r in with_keys.tables["findings"].rows}
