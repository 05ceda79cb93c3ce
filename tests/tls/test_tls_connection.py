"""TlsConnection: synthetic connections (values set by hand) and facts checked against
Zeek's logs and tshark's fields for the same corpus captures."""

from __future__ import annotations

import hashlib
import re

import pytest
import tshark
from tls.builders import (
    alpn,
    certificate12,
    certificate13,
    client_hello,
    ext,
    handshake,
    key_share_client,
    key_share_server,
    record,
    server_hello,
    sni,
    supported_versions_client,
    supported_versions_server,
    u16,
    vec,
)
from tls.corpus import EXTERNAL, expected_rows, run_capture, run_streams
from tls.test_tls_corpus import zeek_log

from pcaptls.tls.connection import TlsConnection
from pcaptls.tls.events import (
    AlertEvent,
    ApplicationDataEvent,
    EncryptedHandshakeEvent,
    GapEvent,
    HandshakeEvent,
    MalformedEvent,
    NotTlsEvent,
    ResyncEvent,
)
from pcaptls.tls.messages import Certificate, CertificateVerify, EncryptedExtensions, Finished
from pcaptls.tls.registry import alert_name, cipher_suite_name, group_name

# -- a fake key log: "decryption" strips a trailing inner content type --------------------


class FakeDecryptor:
    def decrypt(self, content_type: int, legacy_version: int, fragment: bytes) -> tuple[int, bytes] | None:
        if fragment.startswith(b"BAD"):
            return None
        return fragment[-1], fragment[:-1]


class FakeKeys:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def decryptor(self, sender: str, epoch: str, generation: int = 0) -> FakeDecryptor:
        self.calls.append((sender, epoch, generation))
        return FakeDecryptor()


class FakeProvider:
    def __init__(self) -> None:
        self.keys = FakeKeys()
        self.asked: list[tuple[bytes, bytes, int, int, bool]] = []

    def session(self, client_random: bytes, server_random: bytes, version: int, cipher_suite: int,
                *, encrypt_then_mac: bool = False) -> FakeKeys:
        self.asked.append((client_random, server_random, version, cipher_suite, encrypt_then_mac))
        return self.keys


def protected(inner_type: int, plaintext: bytes) -> bytes:
    return record(23, plaintext + bytes([inner_type]))


CH13 = client_hello([0x1301, 0x1302], [sni("sip.example.com"), supported_versions_client(0x0304, 0x0303),
                                      key_share_client(29), alpn("sip")], random=b"\x11" * 32)
SH13 = server_hello(0x1301, [supported_versions_server(0x0304), key_share_server(29)], random=b"\x22" * 32)


def test_tls13_with_a_key_log_decrypts_at_the_right_moments() -> None:
    provider = FakeProvider()
    conn = TlsConnection(provider)
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    conn.feed("server", record(22, SH13) + record(20, b"\x01"), 2, 20)
    flight = (handshake(8, vec(2, b"")) + certificate13(b"DER-LEAF", b"DER-CA")
              + handshake(15, u16(0x0804) + vec(2, b"s" * 64)) + handshake(20, b"f" * 32))
    conn.feed("server", protected(22, flight[:40]), 3, 30)  # CertificateVerify across two records
    conn.feed("server", protected(22, flight[40:]), 4, 40)
    conn.feed("client", record(20, b"\x01") + protected(22, handshake(20, b"c" * 32)), 5, 50)
    conn.feed("client", protected(23, b"REGISTER sip:example.com SIP/2.0\r\n\r\n"), 6, 60)
    conn.feed("client", protected(22, handshake(24, b"\x00")), 7, 70)
    conn.feed("client", protected(21, b"\x01\x00"), 8, 80)
    assert provider.asked == [(b"\x11" * 32, b"\x22" * 32, 0x0304, 0x1301, False)]
    assert provider.keys.calls == [
        ("client", "handshake", 0), ("server", "handshake", 0),
        ("server", "application", 0), ("client", "application", 0), ("client", "application", 1)]
    hs = [(ev.frame, type(ev.message).__name__) for ev in conn.events
          if isinstance(ev, HandshakeEvent) and ev.decrypted]
    assert hs == [(3, "EncryptedExtensions"), (3, "Certificate"), (4, "CertificateVerify"),
                  (4, "Finished"), (5, "Finished"), (7, "KeyUpdate")]
    assert conn.server_certificates[0].certificate_list == (b"DER-LEAF", b"DER-CA")
    data = [ev for ev in conn.events if isinstance(ev, ApplicationDataEvent)]
    assert [(d.side, d.frame, d.data[:8]) for d in data] == [("client", 6, b"REGISTER")]
    alerts = [ev.text for ev in conn.events if isinstance(ev, AlertEvent)]
    assert alerts == ["client:warning:close_notify"]
    assert (conn.version, conn.cipher_suite, conn.group) == (0x0304, 0x1301, 29)
    assert conn.sni == "sip.example.com" and conn.alpn_offered == ("sip",)
    assert conn.client_versions == (0x0304, 0x0303)
    assert conn.resumed is False and conn.hello_retry is False
    assert conn.client_cert_requested is False


def test_tls13_without_keys_infers_the_handshake_records() -> None:
    conn = TlsConnection()
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    conn.feed("server", record(22, SH13) + record(20, b"\x01") + record(23, b"x" * 900), 2, 20)
    conn.feed("client", record(20, b"\x01") + record(23, b"y" * 53), 3, 30)
    conn.feed("client", record(23, b"z" * 400), 4, 40)
    conn.feed("server", record(23, b"w" * 300), 5, 50)
    enc = [(ev.side, ev.frame, ev.inferred) for ev in conn.events
           if isinstance(ev, EncryptedHandshakeEvent)]
    assert enc == [("server", 2, True), ("client", 3, True)]
    assert (conn.app_data["client"].records, conn.app_data["client"].bytes) == (1, 400)
    assert (conn.app_data["server"].records, conn.app_data["server"].first_frame) == (1, 5)
    assert conn.client_cert_requested is None  # hidden in the encrypted flight


def test_tls13_client_plaintext_alert_after_server_hello() -> None:
    conn = TlsConnection()
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    conn.feed("server", record(22, SH13) + record(23, b"x" * 900), 2, 20)
    conn.feed("client", record(21, b"\x02\x30"), 3, 30)
    assert [ev.text for ev in conn.alerts] == ["client:fatal:unknown_ca"]


def _tls12_flight() -> tuple[bytes, bytes]:
    ch = client_hello([0xC02F, 0x00FF], [sni("pbx.example.net"), ext(23, b"")])
    ske = handshake(12, b"\x03" + u16(23) + vec(1, b"\x04" * 65) + u16(0x0401) + vec(2, b"s" * 256))
    sh = server_hello(0xC02F, [ext(0xFF01, b"\x00"), ext(23, b"")], session_id=b"\x05" * 32)
    server = record(22, sh + certificate12(b"LEAF") + ske + handshake(14, b""))
    return ch, server


def test_tls12_with_a_key_log() -> None:
    provider = FakeProvider()
    conn = TlsConnection(provider)
    ch, server = _tls12_flight()
    conn.feed("client", record(22, ch), 1, 10)
    conn.feed("server", server, 2, 20)
    conn.feed("client", record(22, handshake(16, vec(1, b"k" * 65))) + record(20, b"\x01")
              + record(22, handshake(20, b"v" * 12) + b"\x16"), 3, 30)
    conn.feed("server", record(20, b"\x01") + record(22, handshake(20, b"w" * 12) + b"\x16"), 4, 40)
    conn.feed("client", record(23, b"OPTIONS sip:x SIP/2.0\r\n\r\n\x17"), 5, 50)
    assert provider.keys.calls == [("client", "application", 0), ("server", "application", 0)]
    fins = [(ev.side, ev.frame) for ev in conn.events
            if isinstance(ev, HandshakeEvent) and isinstance(ev.message, Finished)]
    assert fins == [("client", 3), ("server", 4)]
    assert [ev.data[:7] for ev in conn.events if isinstance(ev, ApplicationDataEvent)] == [b"OPTIONS"]
    assert conn.group == 23 and conn.secure_renegotiation is True and conn.resumed is False
    assert conn.encrypt_then_mac is False and conn.state == "established"
    assert not [ev for ev in conn.events if isinstance(ev, MalformedEvent)]


def test_tls12_without_keys_skips_protected_bodies() -> None:
    conn = TlsConnection()
    ch, server = _tls12_flight()
    conn.feed("client", record(22, ch), 1, 10)
    conn.feed("server", server, 2, 20)
    conn.feed("client", record(22, handshake(16, vec(1, b"k" * 65))) + record(20, b"\x01")
              + record(22, b"e" * 40), 3, 30)
    big = record(23, b"a" * 5000)
    conn.feed("client", big[:100], 4, 40)
    assert not conn.wants_bytes("client") and conn.skippable("client") == len(big) - 100
    conn.skip("client", len(big) - 200, 5, 50)
    conn.feed("client", big[-100:], 6, 60)
    enc = [(ev.side, ev.frame) for ev in conn.events if isinstance(ev, EncryptedHandshakeEvent)]
    assert enc == [("client", 3)]
    stats = conn.app_data["client"]
    assert (stats.records, stats.bytes, stats.first_frame, stats.last_frame) == (1, 5000, 6, 6)


def test_plain_sip_on_the_tls_port_is_not_tls() -> None:
    conn = TlsConnection()
    sip = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1:5061\r\n\r\n"
    events = conn.feed("client", sip, 4, 40)
    assert [type(ev) for ev in events] == [NotTlsEvent]
    assert isinstance(events[0], NotTlsEvent) and events[0].first_bytes.startswith(b"REGISTER sip:")
    assert conn.not_tls and events[0].frame == 4


def test_short_garbage_is_not_tls_at_the_end_of_the_stream() -> None:
    conn = TlsConnection()
    assert conn.feed("client", b"\x00\x01", 1, 1) == []
    events = conn.eof("client", 2, 2)
    assert [type(ev) for ev in events] == [NotTlsEvent] and conn.not_tls


def test_client_hello_from_the_side_fed_as_server() -> None:
    conn = TlsConnection()
    conn.feed("server", record(22, CH13, 0x0301), 1, 10)
    conn.feed("client", record(22, SH13), 2, 20)
    assert conn.hello_sender == "server"
    sides = [(ev.side, type(ev.message).__name__) for ev in conn.events if isinstance(ev, HandshakeEvent)]
    assert sides == [("client", "ClientHello"), ("server", "ServerHello")]
    assert conn.version == 0x0304


def test_midstream_start_resyncs_on_the_next_record() -> None:
    conn = TlsConnection()
    tail = b"\x99" * 9
    events = conn.feed("server", tail + record(23, b"x" * 40) + record(23, b"y" * 10), 7, 70)
    assert [type(ev) for ev in events] == [ResyncEvent]
    assert isinstance(events[0], ResyncEvent) and events[0].reason == "midstream"
    assert events[0].skipped == 9
    assert conn.app_data["server"].records == 2


def test_gap_inside_a_record_keeps_sync_and_across_records_resyncs() -> None:
    conn = TlsConnection()
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    conn.feed("server", record(22, SH13), 2, 20)
    rec = record(23, b"a" * 100)
    conn.feed("server", rec[:30], 3, 30)
    conn.gap("server", 50, 4)
    conn.feed("server", rec[80:] + record(23, b"b" * 10), 5, 50)
    gaps = [ev for ev in conn.events if isinstance(ev, GapEvent)]
    assert [(g.length, g.inside_record) for g in gaps] == [(50, True)]
    assert not [ev for ev in conn.events if isinstance(ev, ResyncEvent)]
    conn.gap("server", 200, 6)
    conn.feed("server", b"\x00" * 7 + record(23, b"c" * 20), 7, 70)
    resync = [ev for ev in conn.events if isinstance(ev, ResyncEvent)]
    assert [(r.reason, r.skipped, r.frame) for r in resync] == [("gap", 7, 7)]


def test_message_across_records_and_segments_reports_the_completing_frame() -> None:
    conn = TlsConnection()
    body = CH13
    recs = record(22, body[:20], 0x0301) + record(22, body[20:], 0x0301)
    conn.feed("client", recs[:10], 1, 10)
    conn.feed("client", recs[10:60], 2, 20)
    conn.feed("client", recs[60:], 3, 30)
    hs = [ev for ev in conn.events if isinstance(ev, HandshakeEvent)]
    assert [(ev.frame, ev.message.msg_type) for ev in hs] == [(3, 1)]


def test_several_messages_in_one_record() -> None:
    conn = TlsConnection()
    ch, server = _tls12_flight()
    conn.feed("client", record(22, ch), 1, 10)
    conn.feed("server", server, 2, 20)
    names = [type(ev.message).__name__ for ev in conn.events if isinstance(ev, HandshakeEvent)]
    assert names == ["ClientHello", "ServerHello", "Certificate", "ServerKeyExchange", "ServerHelloDone"]


def test_malformed_hello_is_an_event_not_an_exception() -> None:
    conn = TlsConnection()
    events = conn.feed("client", record(22, handshake(1, b"\x03\x03" + b"\x00" * 10)), 1, 10)
    assert [type(ev) for ev in events] == [MalformedEvent]
    assert isinstance(events[0], MalformedEvent) and events[0].kind == "handshake"
    assert events[0].frame == 1 and events[0].message_type == 1


def test_messages_parsed_in_decrypted_flight_are_typed() -> None:
    conn = TlsConnection(FakeProvider())
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    conn.feed("server", record(22, SH13), 2, 20)
    conn.feed("server", protected(22, handshake(8, vec(2, alpn("sip")[0:0])) + certificate13(b"A")
                                  + handshake(15, u16(0x0403) + vec(2, b"q" * 70))), 3, 30)
    msgs = [ev.message for ev in conn.events if isinstance(ev, HandshakeEvent) and ev.decrypted]
    assert isinstance(msgs[0], EncryptedExtensions) and isinstance(msgs[1], Certificate)
    assert isinstance(msgs[2], CertificateVerify) and msgs[2].signature_scheme == 0x0403


# -- facts against Zeek's logs --------------------------------------------------------------

ZEEK_LOGS = [
    ("zeek/tls1.2.pcap", "zeek/tls1.2.pcap.zeek.ssl.log"),
    ("zeek/tls1_1.pcap", "zeek/tls1_1.pcap.zeek.ssl.log"),
    ("zeek/dhe.pcap", "zeek/dhe.pcap.zeek.ssl.log"),
    ("zeek/ecdsa-cert.pcap", "zeek/ecdsa-cert.pcap.zeek.ssl.log"),
    ("zeek/hrr.pcap", "zeek/hrr.pcap.zeek.ssl.log"),
    ("zeek/tls13_psk_succesfull.pcap", "zeek/tls13_psk_succesfull.pcap.zeek.ssl.log"),
    ("zeek/tls13draft16-ff52.a01.pcap", "zeek/tls13draft16-ff52.a01.pcap.zeek.ssl.log"),
    ("zeek/tls13draft16-ff52.a01-aborted.pcap", "zeek/tls13draft16-ff52.a01-aborted.pcap.zeek.ssl.log"),
    ("zeek/chrome-1250-tls-x25519-kyber.pcap", "zeek/chrome-1250-tls-x25519-kyber.pcap.zeek.ssl.log"),
    ("zeek/tls-1.2-handshake-failure.pcap", "zeek/tls-1.2-handshake-failure.pcap.zeek.ssl.log"),
    ("zeek/missing-intermediate.pcap", "zeek/missing-intermediate.pcap.zeek.ssl-validate-certs.log"),
    ("zeek/tls-expired-cert.pcap", "zeek/tls-expired-cert.pcap.zeek.ssl-validate-certs.log"),
    ("zeek/ssl.v3.pcap", "zeek/ssl.v3.pcap.zeek.ssl-keyexchange.log"),
    ("zeek/ml-dsa-44-cert.pcap", "zeek/ml-dsa-44-cert.pcap.zeek.ssl.log"),
]


def _zeek_version(text: str) -> int | None:
    m = re.fullmatch(r"TLSv1(\d)(?:-draft(\d+))?", text)
    if m is None:
        return {"SSLv3": 0x0300, "SSLv2": 0x0002}.get(text)
    return 0x7F00 | int(m[2]) if m[2] else 0x0301 + int(m[1])


@pytest.mark.parametrize(("capture", "log"), ZEEK_LOGS)
def test_negotiated_facts_equal_zeek(capture: str, log: str) -> None:
    streams = {(st.client[1], st.server[1]): conn for st, conn in run_streams(capture).values()}
    for row in zeek_log(log):
        conn = streams[(int(row["id.orig_p"]), int(row["id.resp_p"]))]
        assert conn.version == _zeek_version(row["version"])
        assert (cipher_suite_name(conn.cipher_suite) if conn.cipher_suite else "-") == row["cipher"]
        curve = group_name(conn.group).removesuffix(" (OBSOLETE)") if conn.group else "-"
        assert curve == row["curve"]
        assert (conn.sni or "-") == row["server_name"]
        assert bool(conn.resumed) == (row["resumed"] == "T")
        plain = [a for a in conn.alerts if a.description is not None]
        assert (alert_name(plain[-1].description) if plain else "-") == row["last_alert"]  # type: ignore[arg-type]
        chain = conn.server_certificates[0].certificate_list if conn.server_certificates else ()
        fps = ",".join(hashlib.sha256(d).hexdigest() for d in chain) or "-"
        assert fps == row["cert_chain_fps"]


# -- facts against tshark's fields ------------------------------------------------------------


@pytest.mark.parametrize(("capture", "requested", "sent"), [
    ("zeek/client-certificate.pcap", True, True),
    ("suricata-verify/tls-store-02/tls-client-auth.pcap", True, True),
    ("zeek/certificate-request-failed.pcap", True, False),
    ("zeek/tls1.2.pcap", False, None),
])
def test_client_certificate_facts_equal_tshark(capture: str, requested: bool, sent: bool | None) -> None:
    """tshark: a CertificateRequest (13) from the server; the client's Certificate (11) and
    its certificates_length (0 = empty). The parametrized values restate what tshark shows."""
    rows = tshark.fields(str(EXTERNAL / capture), "tcp.srcport", "tls.handshake.type",
                         "tls.handshake.certificates_length")
    client = next(r[0] for r in rows if len(r) == 3 and r[1].split(",")[0] == "1")
    server_types = {t for r in rows if len(r) == 3 and r[0] != client for t in r[1].split(",")}
    client_cert_lengths = [r[2] for r in rows if len(r) == 3 and r[0] == client
                           and "11" in r[1].split(",")]
    assert ("13" in server_types) is requested
    if sent is None:
        assert client_cert_lengths == []
    elif sent:
        assert client_cert_lengths and client_cert_lengths[0] != "0"
    else:
        assert client_cert_lengths == ["0"]
    conn = run_capture(capture)[0]
    assert conn.client_cert_requested is requested
    assert conn.client_cert_sent is sent


def test_dh_prime_bits_equal_tshark() -> None:
    rows = tshark.fields(str(EXTERNAL / "zeek/dhe.pcap"), "tls.handshake.p")
    p = next(r[0] for r in rows if r and r[0])
    conn = run_capture("zeek/dhe.pcap")[0]
    assert conn.dh_prime_bits == int(p.replace(":", ""), 16).bit_length()


@pytest.mark.parametrize("capture", ["zeek/tls1_1.pcap", "zeek/ecdsa-cert.pcap", "ndpi/imaps.pcap"])
def test_server_named_curve_equals_tshark(capture: str) -> None:
    rows = tshark.fields(str(EXTERNAL / capture), "tcp.stream", "tls.handshake.server_named_curve")
    theirs = {int(r[0]): int(r[1], 0) for r in rows if len(r) == 2 and r[1]}
    ours = {i: c.server_key_exchange.named_group for i, c in run_capture(capture).items()
            if c.server_key_exchange is not None}
    assert theirs and ours == theirs


@pytest.mark.parametrize("capture", ["zeek/hrr.pcap", "suricata-verify/bug-5758/input.pcap",
                                     "ndpi/pgsql2.pcapng", "zeek/tls13-ech.pcap"])
def test_hello_retry_equals_tshark(capture: str) -> None:
    rows = tshark.fields(str(EXTERNAL / capture), "tcp.stream", "tls.handshake.random")
    hrr = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"  # RFC 8446 §4.1.3
    theirs = {int(r[0]) for r in rows if len(r) == 2 and hrr in r[1]}
    ours = {i for i, c in run_capture(capture).items() if c.hello_retry}
    assert ours == theirs


@pytest.mark.parametrize("capture", ["ndpi/imaps.pcap", "suricata-verify/linktype-228/flow-test-01.pcap",
                                     "zeek/tls1.2.pcap", "ja4/ipv6.pcapng"])
def test_tls12_resumption_equals_tshark_session_ids(capture: str) -> None:
    """Abbreviated handshake: the ServerHello echoes the client's session id (or the
    client offered a ticket) and the server sends no Certificate (tshark's fields)."""
    rows = tshark.fields(str(EXTERNAL / capture), "tcp.stream", "tls.handshake.type",
                         "tls.handshake.session_id", "tls.handshake.extension.type")
    by_stream: dict[int, list[list[str]]] = {}
    for r in rows:
        if len(r) == 4 and r[1]:
            by_stream.setdefault(int(r[0]), []).append(r)
    theirs = set()
    for stream, rs in by_stream.items():
        types = ",".join(r[1] for r in rs).split(",")
        ch = next((r for r in rs if r[1].split(",")[0] == "1"), None)
        sh = next((r for r in rs if "2" in r[1].split(",")), None)
        if ch and sh and "11" not in types and ((ch[2] and ch[2] == sh[2]) or "35" in ch[3].split(",")):
            theirs.add(stream)
    ours = {i for i, c in run_capture(capture).items() if c.resumed}
    assert ours == theirs


@pytest.mark.parametrize("capture", ["zeek/tls13-ech.pcap", "ndpi/vxlan.pcap", "ja4/browsers-x509.pcapng"])
def test_alpn_equals_tshark(capture: str) -> None:
    rows = tshark.fields(str(EXTERNAL / capture), "tcp.stream", "tls.handshake.type",
                         "tls.handshake.extensions_alpn_str")
    offered: dict[int, tuple[str, ...]] = {}
    chosen: dict[int, str] = {}
    for r in rows:
        if len(r) == 3 and r[2]:
            if r[1].split(",")[0] == "1" and int(r[0]) not in offered:
                offered[int(r[0])] = tuple(r[2].split(","))
            elif r[1].split(",")[0] == "2":
                chosen[int(r[0])] = r[2]
    conns = run_capture(capture)
    assert {i: c.alpn_offered for i, c in conns.items() if c.alpn_offered} == offered
    assert {i: c.alpn for i, c in conns.items() if c.alpn} == chosen


def test_heartbeat_and_events_not_kept() -> None:
    conn = TlsConnection(keep_events=False)
    conn.feed("client", record(22, CH13, 0x0301), 1, 10)
    returned = conn.feed("client", record(24, b"\x01" + u16(16) + b"p" * 16 + b"\x00" * 16), 2, 20)
    assert conn.events == []
    assert [(type(ev).__name__, getattr(ev, "payload_length", None)) for ev in returned] == [
        ("HeartbeatEvent", 16)]


def test_pure_sslv2_handshake_from_zeek_trace() -> None:
    """zeek/ssl-v2.pcap: tshark shows CLIENT-HELLO (1), SERVER-HELLO (4) with one
    certificate, CLIENT-MASTER-KEY (2) choosing 0x0700c0; then everything is encrypted."""
    conn = run_capture("zeek/ssl-v2.pcap")[0]
    rows = expected_rows("zeek/ssl-v2.pcap")[0]
    assert conn.version == 0x0002 and conn.cipher_suite == int(rows[2][6], 16)
    assert conn.ssl2_server_hello is not None and conn.ssl2_server_hello.certificate
    assert conn.client_versions == (0x0002,)
    assert [m.name for m in conn.messages] == [
        "ssl2_ClientHello", "ssl2_ServerHello", "ssl2_ClientMasterKey"]


def test_client_compatibility_ccs_before_server_hello_changes_no_keys() -> None:
    """RFC 8446 §D.4: a client may send CCS right after its ClientHello; its second
    ClientHello (after a HelloRetryRequest) is still in the clear."""
    hrr_random = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
    conn = TlsConnection()
    conn.feed("client", record(22, CH13, 0x0301) + record(20, b"\x01"), 1, 10)
    conn.feed("server", record(22, server_hello(0x1301, [supported_versions_server(0x0304),
                                                         ext(51, u16(23))], random=hrr_random)), 2, 20)
    conn.feed("client", record(22, CH13), 3, 30)
    conn.feed("server", record(22, SH13), 4, 40)
    names = [m.name for m in conn.messages]
    assert names == ["client_hello", "change_cipher_spec", "hello_retry_request", "client_hello",
                     "server_hello"]
    assert conn.hello_retry and conn.version == 0x0304 and len(conn.client_hellos) == 2
    assert not [ev for ev in conn.events if isinstance(ev, MalformedEvent)]


def test_snap_length_cut_segments_keep_record_sync() -> None:
    """Every segment cut after 30 bytes (tcpdump -s 96): each segment still starts
    with a record header, so types, lengths and the visible message headers survive."""
    from pcaptls.tls.events import DamagedRecordEvent

    ch, server = _tls12_flight()
    segments = [
        ("client", record(22, ch)),
        ("server", server),
        ("client", record(23, b"R" * 400)),
        ("server", record(23, b"S" * 300)),
        ("client", record(23, b"T" * 200)),
    ]
    conn = TlsConnection()
    for frame, (side, seg) in enumerate(segments, start=1):
        conn.feed(side, seg[:30], frame, frame)  # type: ignore[arg-type]
        conn.gap(side, len(seg) - 30, frame)  # type: ignore[arg-type]
    damaged = [(ev.side, ev.frame, ev.content_type, ev.message_types) for ev in conn.events
               if isinstance(ev, DamagedRecordEvent)]
    assert damaged[:2] == [("client", 1, 22, (1,)), ("server", 2, 22, (2,))]
    assert (conn.app_data["client"].records, conn.app_data["client"].bytes) == (2, 600)
    assert conn.app_data["server"].records == 1
    assert not [ev for ev in conn.events if isinstance(ev, ResyncEvent | MalformedEvent)]
