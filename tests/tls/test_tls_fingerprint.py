"""JA3/JA3S against tshark's own fields; JA4 against the values FoxIO ships with the ja4 repo."""

from __future__ import annotations

import json
import re

import pytest
import tshark
from tls.corpus import EXPECTED, EXTERNAL, run_capture

from pcaptls.tls.events import HandshakeEvent
from pcaptls.tls.fingerprint import ja3, ja3s, ja4, ja4_r
from pcaptls.tls.messages import ClientHello, ServerHello

JA3_CAPTURES = [
    "zeek/tls1.2.pcap", "zeek/hrr.pcap", "zeek/tls13-ech.pcap", "zeek/ssl.v3.pcap",
    "zeek/chrome-1250-tls-x25519-kyber.pcap", "ndpi/ja3_lots_of_cipher_suites.pcap",
    "ndpi/imaps.pcap", "suricata-verify/tls-duplicate-hello/input.pcap", "ja4/browsers-x509.pcapng",
]


def _hellos(capture: str) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for conn in run_capture(capture).values():
        for ev in conn.events:
            if isinstance(ev, HandshakeEvent) and isinstance(ev.message, ClientHello):
                out[ev.frame] = (ja3(ev.message), "")
            elif isinstance(ev, HandshakeEvent) and isinstance(ev.message, ServerHello):
                out[ev.frame] = ("", ja3s(ev.message))
    return out


@pytest.mark.parametrize("capture", JA3_CAPTURES)
def test_ja3_and_ja3s_equal_tshark(capture: str) -> None:
    rows = tshark.fields(str(EXTERNAL / capture), "frame.number", "tls.handshake.ja3",
                         "tls.handshake.ja3s")
    theirs = {int(r[0]): (r[1], r[2]) for r in rows if len(r) == 3 and (r[1] or r[2])}
    assert theirs, "tshark computed no JA3 here"
    assert _hellos(capture) == theirs


def _python_ja4(name: str) -> set[tuple[int, str]]:
    data = json.loads((EXPECTED / "ja4" / f"{name}.ja4-python.json").read_text())
    return {(e["stream"], v) for e in data for k, v in e.items() if k.startswith("JA4.")}


def _rust_ja4(name: str) -> set[tuple[int, str]]:
    text = (EXPECTED / "ja4" / f"{name}.ja4-rust.snap").read_text()
    out = set()
    for block in text.split("\n- ")[1:]:
        stream = int(re.search(r"stream: (\d+)", block).group(1))  # type: ignore[union-attr]
        if "transport: tcp" in block:
            out |= {(stream, m) for m in re.findall(r"\bja4: (\S+)", block)}
    return out


@pytest.mark.parametrize("name", [
    "tls12.pcap", "ipv6.pcapng", "badcurveball.pcap", "browsers-x509.pcapng",
    "chrome-cloudflare-quic-with-secrets.pcapng",
])
def test_ja4_equals_foxio_reference(name: str) -> None:
    ours = set()
    for stream, conn in run_capture(f"ja4/{name}").items():
        if conn.client_hello is not None:
            ours.add((stream, ja4(conn.client_hello)))
    assert ours == _python_ja4(name) == _rust_ja4(name)


def test_ja4_r_matches_python_raw_output() -> None:
    data = json.loads((EXPECTED / "ja4" / "tls12.pcap.ja4-python.json").read_text())
    conn = run_capture("ja4/tls12.pcap")[0]
    assert conn.client_hello is not None
    assert ja4_r(conn.client_hello) == data[0]["JA4_r.1"]
