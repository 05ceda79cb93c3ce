"""Record decryption checked against tshark decrypting the same captures with the same keys.

Captures: the illustrated TLS 1.2/1.3 connections (fixtures/external), a Chrome
session whose secrets sit in a pcapng Decryption Secrets Block, and our own OpenSSL
sessions (fixtures/captures/keylog, made by fixtures/make_keylog_captures.sh).
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
from tls.records_helper import (
    Connection,
    application_data,
    connections,
    decrypt_connection,
    handshake_types,
    pcapng_decryption_secrets,
    tshark_follow_tls,
)

from pcaptls.tls.decrypt import Tls12SessionKeys, Tls13SessionKeys
from pcaptls.tls.keylog import KeyLog
from pcaptls.tls.registry import cipher_suite_name
from pcaptls.tls.security_parameters import security_parameters

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "fixtures" / "external"
OWN = ROOT / "fixtures" / "captures" / "keylog"
CHROME = EXTERNAL / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"

OWN_CASES = sorted(p.stem for p in OWN.glob("*.pcap"))
CASES = [
    (EXTERNAL / "illustrated-tls12" / "capture.pcap", EXTERNAL / "illustrated-tls12" / "keylog.txt"),
    (EXTERNAL / "illustrated-tls13" / "capture.pcap", EXTERNAL / "illustrated-tls13" / "keylog.txt"),
] + [(OWN / f"{name}.pcap", OWN / f"{name}.keylog") for name in OWN_CASES]



def _keylog(path: Path) -> KeyLog:
    return KeyLog.from_sources([(str(path), path.read_bytes())])


def _endpoint(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _by_side(conn: Connection, follow: dict[str, bytes]) -> dict[str, bytes]:
    node0 = next(k for k in follow if k != "other")
    if node0 == _endpoint(conn.client):
        return {"client": follow[node0], "server": follow["other"]}
    assert node0 == _endpoint(conn.server)
    return {"client": follow["other"], "server": follow[node0]}


def test_own_captures_cover_the_suites() -> None:
    """The regeneration script made every case it lists (a missing capture is a test gap)."""
    script = (ROOT / "fixtures" / "make_keylog_captures.sh").read_text()
    listed = set(re.findall(r"^(?:[A-Z]+=1 )?capture (\S+)", script, re.MULTILINE))
    assert listed == set(OWN_CASES)
    assert len(OWN_CASES) >= 15


@pytest.mark.parametrize(("pcap", "keyfile"), CASES, ids=lambda p: p.parent.name + "/" + p.stem)
def test_application_data_matches_tshark(pcap: Path, keyfile: Path) -> None:
    """Every record authenticates, and the plaintext equals tshark's follow,tls,raw."""
    keylog = _keylog(keyfile)
    conns = connections(pcap)
    assert conns
    follow = tshark_follow_tls(pcap, keyfile, len(conns))
    for index, conn in enumerate(conns):
        plain, failures = decrypt_connection(conn, keylog)
        assert failures == 0
        expected = _by_side(conn, follow[index])
        assert expected["client"] and expected["server"], "tshark decrypted nothing"
        assert application_data(plain, "client") == expected["client"]
        assert application_data(plain, "server") == expected["server"]
    assert keylog.matched == {c.client_random for c in conns}


def _tshark_handshake_types(pcap: Path, keyfile: Path) -> dict[str, list[int]]:
    out = subprocess.run(
        ["tshark", "-r", str(pcap), "-o", "tcp.reassemble_out_of_order:TRUE",
         "-o", f"tls.keylog_file:{keyfile}", "-Y", "tls.handshake.type", "-T", "fields",
         "-E", "occurrence=a", "-E", "aggregator=,", "-e", "tcp.stream", "-e", "tcp.srcport",
         "-e", "tls.handshake.type"],
        capture_output=True, text=True, check=True,
    ).stdout
    types: dict[str, list[int]] = {}
    for line in out.splitlines():
        stream, port, values = line.split("\t")
        types.setdefault(f"{stream}:{port}", []).extend(int(v) for v in values.split(","))
    return types


@pytest.mark.parametrize("name", [n for n in OWN_CASES if n.startswith("tls13")])
def test_tls13_handshake_messages_match_tshark(name: str) -> None:
    """The decrypted TLS 1.3 handshake (EncryptedExtensions … KeyUpdate) is what tshark sees."""
    pcap, keyfile = OWN / f"{name}.pcap", OWN / f"{name}.keylog"
    expected = _tshark_handshake_types(pcap, keyfile)
    for stream, conn in enumerate(connections(pcap)):
        plain, failures = decrypt_connection(conn, _keylog(keyfile))
        assert failures == 0
        assert handshake_types(plain, "client") == expected[f"{stream}:{conn.client[1]}"]
        assert handshake_types(plain, "server") == expected[f"{stream}:{conn.server[1]}"]


def test_early_data() -> None:
    """0-RTT records decrypt with CLIENT_EARLY_TRAFFIC_SECRET, up to EndOfEarlyData."""
    pcap, keyfile = OWN / "tls13-early-data.pcap", OWN / "tls13-early-data.keylog"
    _, resumed = connections(pcap)
    plain, failures = decrypt_connection(resumed, _keylog(keyfile))
    assert failures == 0
    assert 5 in handshake_types(plain, "client")  # EndOfEarlyData, as tshark shows
    follow = _by_side(resumed, tshark_follow_tls(pcap, keyfile, 2)[1])
    assert follow["client"].startswith(b"OPTIONS sip:early@")
    assert application_data(plain, "client") == follow["client"]


def test_key_update_is_followed() -> None:
    """After each side's KeyUpdate, generation 1 keys decrypt the rest (tshark agrees)."""
    pcap, keyfile = OWN / "tls13-keyupdate.pcap", OWN / "tls13-keyupdate.keylog"
    (conn,) = connections(pcap)
    plain, failures = decrypt_connection(conn, _keylog(keyfile))
    assert failures == 0
    assert 24 in handshake_types(plain, "client") and 24 in handshake_types(plain, "server")
    follow = _by_side(conn, tshark_follow_tls(pcap, keyfile, 1)[0])
    assert b"after key update" in follow["client"]
    assert application_data(plain, "client") == follow["client"]


def test_illustrated_tls13_handshake_matches_corpus_expected() -> None:
    """Server messages decrypted equal the corpus expected/*.keylog.tsv (tshark with keys)."""
    tsv = EXTERNAL / "expected" / "illustrated-tls13" / "capture.pcap.keylog.tsv"
    with tsv.open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    base = EXTERNAL / "illustrated-tls13"
    (conn,) = connections(base / "capture.pcap")
    plain, _ = decrypt_connection(conn, _keylog(base / "keylog.txt"))
    for side, port in (("client", conn.client[1]), ("server", conn.server[1])):
        expected = [int(r["handshake_type"]) for r in rows
                    if r["handshake_type"] and int(r["srcport"]) == port]
        assert handshake_types(plain, side) == expected


def test_secrets_from_pcapng_decryption_secrets_block() -> None:
    """Chrome's DSB key log decrypts the HTTP/2 over TLS 1.3 stream as tshark does."""
    (dsb,) = pcapng_decryption_secrets(CHROME.read_bytes())
    keylog = KeyLog()
    stats = keylog.add(dsb, f"{CHROME.name} (decryption secrets block 1)")
    assert stats.malformed == 0 and stats.entries > 0
    (conn,) = connections(CHROME)
    plain, failures = decrypt_connection(conn, keylog)
    assert failures == 0
    expected = _by_side(conn, tshark_follow_tls(CHROME, None, 1)[0])
    assert application_data(plain, "client") == expected["client"]
    assert application_data(plain, "server") == expected["server"]
    assert application_data(plain, "client").startswith(b"PRI * HTTP/2.0")


def _flip(secret_hex: str) -> str:
    return ("0" if secret_hex[0] != "0" else "1") + secret_hex[1:]


@pytest.mark.parametrize(("pcap", "keyfile"), CASES, ids=lambda p: p.parent.name + "/" + p.stem)
def test_wrong_key_gives_none(pcap: Path, keyfile: Path) -> None:
    """With every secret altered, no protected record decrypts: None, never garbage."""
    lines = []
    for line in keyfile.read_text().splitlines():
        if line.startswith("#"):
            continue
        label, random, secret = line.split()
        lines.append(f"{label} {random} {_flip(secret)}")
    keylog = KeyLog()
    keylog.add("\n".join(lines).encode())
    for conn in connections(pcap):
        session = keylog.session(conn.client_random, conn.server_random, conn.version,
                                 conn.cipher_suite, encrypt_then_mac=conn.encrypt_then_mac)
        assert session is not None
        protected = _protected_records(conn)
        assert protected
        for sender, records in protected.items():
            for epoch in ("handshake", "application"):
                decryptor = session.decryptor(sender, epoch)  # type: ignore[arg-type]
                if decryptor is None:
                    continue
                for record in records:
                    assert decryptor.decrypt(record.content_type, record.version,
                                             record.fragment) is None


def _protected_records(conn: Connection) -> dict[str, list]:  # type: ignore[type-arg]
    """Records after each side's ChangeCipherSpec (1.2) / type 23 records (1.3)."""
    out: dict[str, list] = {"client": [], "server": []}  # type: ignore[type-arg]
    switched = {"client": False, "server": False}
    for record in conn.records:
        if conn.version == 0x0304:
            if record.content_type == 23:
                out[record.sender].append(record)
        elif record.content_type == 20:
            switched[record.sender] = True
        elif switched[record.sender]:
            out[record.sender].append(record)
    return out


def test_failed_record_leaves_state_intact() -> None:
    """A corrupted record gives None and the next records still decrypt (TLS 1.0 chaining too)."""
    for name in ("tls10-aes256cbc-noetm", "tls12-aes128gcm", "tls13-chacha20",
                 "tls12-null-sha256", "tls12-aes256cbc-sha384-etm"):
        pcap, keyfile = OWN / f"{name}.pcap", OWN / f"{name}.keylog"
        (conn,) = connections(pcap)
        keylog = _keylog(keyfile)
        session = keylog.session(conn.client_random, conn.server_random, conn.version,
                                 conn.cipher_suite, encrypt_then_mac=conn.encrypt_then_mac)
        assert session is not None
        records = _protected_records(conn)["client"]
        epoch = "handshake" if conn.version == 0x0304 else "application"
        decryptor = session.decryptor("client", epoch)
        assert decryptor is not None
        first = records[0]
        damaged = first.fragment[:-1] + bytes([first.fragment[-1] ^ 1])
        assert decryptor.decrypt(first.content_type, first.version, damaged) is None
        result = decryptor.decrypt(first.content_type, first.version, first.fragment)
        assert result is not None and result[0] == 22  # the client's Finished
        assert result[1][0] == 20


def test_tls12_session_keys_by_version_and_suite() -> None:
    """Sessions come back typed by version; the resumed session reuses the master secret."""
    keyfile = OWN / "tls12-resumed.keylog"
    keylog = _keylog(keyfile)
    first, resumed = connections(OWN / "tls12-resumed.pcap")
    secrets = [line.split()[2] for line in keyfile.read_text().splitlines()
               if line.startswith("CLIENT_RANDOM")]
    assert len(secrets) == 2 and secrets[0] == secrets[1]
    for conn in (first, resumed):
        session = keylog.session(conn.client_random, conn.server_random, conn.version,
                                 conn.cipher_suite)
        assert isinstance(session, Tls12SessionKeys)
        assert session.decryptor("client", "handshake") is None
        assert session.decryptor("client", "application", 1) is None
    tls13 = connections(OWN / "tls13-aes128gcm.pcap")[0]
    session13 = _keylog(OWN / "tls13-aes128gcm.keylog").session(
        tls13.client_random, tls13.server_random, tls13.version, tls13.cipher_suite)
    assert isinstance(session13, Tls13SessionKeys)
    assert session13.decryptor("server", "early") is None
    assert session13.decryptor("client", "early") is None  # no 0-RTT in this log
    assert session13.decryptor("server", "application", 2) is not None


def test_security_parameters_against_openssl() -> None:
    """Key lengths and MAC lengths derived from IANA names agree with `openssl ciphers -v`."""
    out = subprocess.run(
        ["openssl", "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
        capture_output=True, text=True, check=True,
    ).stdout
    checked = 0
    for line in out.splitlines():
        fields = line.split()
        code = int(fields[0].replace(",0x", "")[2:], 16)
        enc = next(f for f in fields if f.startswith("Enc="))[4:]
        mac = next(f for f in fields if f.startswith("Mac="))[4:]
        if "ARIA" in enc:
            continue
        params = security_parameters(cipher_suite_name(code))
        bits = 0 if enc == "None" else int(enc[enc.index("(") + 1 : enc.index(")")])
        assert params.enc_key_length * 8 == bits, line
        if mac == "AEAD":
            assert params.cipher_type == "aead" and params.mac_algorithm is None, line
            expected_tag = 8 if "CCM8" in enc or "CCM_8" in line else 16
            assert params.tag_length == expected_tag, line
        else:
            assert params.mac_algorithm == {"SHA1": "sha1", "SHA256": "sha256",
                                            "SHA384": "sha384", "MD5": "md5"}[mac], line
        checked += 1
    assert checked > 50
