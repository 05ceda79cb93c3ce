"""Key log parsing and lookup: real logs (OpenSSL, the illustrated connections, a pcapng
DSB), damaged logs (garbage, truncated, other sessions), and secrets kept out of reprs.
Key derivation is checked against `openssl kdf` on the same inputs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tls.records_helper import connections, decrypt_connection, pcapng_decryption_secrets

from pcaptls.tls.keylog import KeyLog, KeyLogLabel, parse_keylog
from pcaptls.tls.keyschedule import hkdf_expand_label, prf_tls10, prf_tls12

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "fixtures" / "external"
OWN = ROOT / "fixtures" / "captures" / "keylog"
TLS13 = EXTERNAL / "illustrated-tls13"
CHROME = EXTERNAL / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"


def _data_lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]


@pytest.mark.parametrize("path", [TLS13 / "keylog.txt", EXTERNAL / "illustrated-tls12" / "keylog.txt",
                                  OWN / "tls13-keyupdate.keylog", OWN / "tls12-resumed.keylog"],
                         ids=lambda p: p.parent.name + "/" + p.name)
def test_real_logs_parse_completely(path: Path) -> None:
    """Every line of a real log is an entry with the label and random as written, or (for
    OpenSSL's CLIENT_TRAFFIC_SECRET_N after a KeyUpdate, which we derive ourselves) unsupported."""
    lines = _data_lines(path.read_text())
    known = [fields for fields in lines if fields[0] in set(KeyLogLabel)]
    parsed = parse_keylog(path.read_bytes(), str(path))
    assert parsed.stats.malformed == 0
    assert parsed.stats.unsupported == len(lines) - len(known)
    assert [(e.label.value, e.client_random.hex()) for e in parsed.entries] == [
        (fields[0], fields[1].lower()) for fields in known]


def test_pcapng_dsb_is_a_key_log() -> None:
    """The DSB holds TLS 1.3 secrets (the labels tshark uses to decrypt this file)."""
    (dsb,) = pcapng_decryption_secrets(CHROME.read_bytes())
    parsed = parse_keylog(dsb, "dsb")
    assert parsed.stats.malformed == 0
    labels = {e.label for e in parsed.entries}
    assert {KeyLogLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET, KeyLogLabel.SERVER_TRAFFIC_SECRET_0} <= labels
    assert len(_data_lines(dsb.decode())) == parsed.stats.entries + parsed.stats.unsupported


def test_comments_blank_lines_crlf_and_rsa() -> None:
    real = (TLS13 / "keylog.txt").read_bytes().splitlines()
    text = b"\r\n".join(
        [b"# a comment", b"", real[0], b"   ", b"RSA " + b"ab" * 8 + b" " + b"cd" * 48, real[1]]
    ) + b"\r\n"
    parsed = parse_keylog(text, "mixed")
    assert parsed.stats.entries == 2
    assert parsed.stats.unsupported == 1 and parsed.stats.first_unsupported_line == 5
    assert parsed.stats.malformed == 0


def test_malformed_lines_are_counted_with_first_line_number() -> None:
    real = (TLS13 / "keylog.txt").read_bytes().splitlines()
    bad = [
        b"CLIENT_RANDOM nothex zz",
        b"CLIENT_RANDOM " + b"00" * 32,  # two fields
        b"CLIENT_RANDOM " + b"00" * 31 + b" " + b"11" * 48,  # short random
        b"CLIENT_RANDOM " + b"00" * 32 + b" " + b"11" * 47,  # short master secret
        b"client_random lower case label",
    ]
    parsed = parse_keylog(b"\n".join([real[0], *bad, real[1]]), "bad")
    assert parsed.stats.entries == 2
    assert parsed.stats.malformed == len(bad)
    assert parsed.stats.first_malformed_line == 2


def test_binary_garbage_gives_no_entries() -> None:
    garbage = os.urandom(4096).replace(b"\n", b"\n\x00")  # several "lines", none valid
    parsed = parse_keylog(garbage, "garbage")
    assert parsed.stats.entries == 0
    assert parsed.stats.malformed >= 1
    keylog = KeyLog()
    keylog.add(garbage)
    assert len(keylog) == 0 and not keylog


def test_truncated_log_keeps_the_complete_lines() -> None:
    """A log cut mid-line (a client killed while writing) still decrypts the handshake."""
    data = (TLS13 / "keylog.txt").read_bytes()
    cut = data[: data.index(b"SERVER_TRAFFIC_SECRET_0") + 60]
    keylog = KeyLog()
    stats = keylog.add(cut, "cut")
    assert stats.malformed == 1 and stats.entries == 3 and stats.first_malformed_line == 4
    (conn,) = connections(TLS13 / "capture.pcap")
    session = keylog.session(conn.client_random, conn.server_random, conn.version,
                             conn.cipher_suite)
    assert session is not None
    assert session.decryptor("server", "handshake") is not None
    assert session.decryptor("server", "application") is None


def test_log_for_other_sessions_matches_nothing() -> None:
    keylog = KeyLog()
    keylog.add((OWN / "tls12-aes128gcm.keylog").read_bytes(), "other")
    (conn,) = connections(TLS13 / "capture.pcap")
    assert keylog.session(conn.client_random, conn.server_random, conn.version,
                          conn.cipher_suite) is None
    assert keylog.matched == frozenset()
    assert keylog.unmatched == {conn.client_random}


def test_sources_merge() -> None:
    """Handshake and traffic secrets from two sources combine into one session."""
    lines = (TLS13 / "keylog.txt").read_bytes().splitlines()
    handshake = b"\n".join(line for line in lines if b"HANDSHAKE" in line)
    traffic = b"\n".join(line for line in lines if b"HANDSHAKE" not in line)
    keylog = KeyLog.from_sources([("a", handshake), ("b", traffic)])
    assert [s.source for s in keylog.sources] == ["a", "b"]
    (conn,) = connections(TLS13 / "capture.pcap")
    _, failures = decrypt_connection(conn, keylog)
    assert failures == 0
    assert keylog.matched == {conn.client_random}
    assert keylog.labels(conn.client_random) >= {KeyLogLabel.SERVER_TRAFFIC_SECRET_0,
                                                 KeyLogLabel.CLIENT_HANDSHAKE_TRAFFIC_SECRET}


def test_unsupported_suite_is_recorded() -> None:
    keylog = KeyLog()
    keylog.add((EXTERNAL / "illustrated-tls12" / "keylog.txt").read_bytes())
    (conn,) = connections(EXTERNAL / "illustrated-tls12" / "capture.pcap")
    # TLS_RSA_WITH_ARIA_128_GCM_SHA256 (0xc050): cryptography has no ARIA.
    assert keylog.session(conn.client_random, conn.server_random, 0x0303, 0xC050) is None
    assert keylog.unsupported_suites == {conn.client_random: 0xC050}
    assert keylog.matched == {conn.client_random}


def test_secrets_never_in_repr() -> None:
    secrets = [fields[2] for fields in _data_lines((TLS13 / "keylog.txt").read_text())]
    keylog = KeyLog()
    keylog.add((TLS13 / "keylog.txt").read_bytes(), "k")
    parsed = parse_keylog((TLS13 / "keylog.txt").read_bytes())
    (conn,) = connections(TLS13 / "capture.pcap")
    session = keylog.session(conn.client_random, conn.server_random, conn.version,
                             conn.cipher_suite)
    assert session is not None
    decryptor = session.decryptor("client", "application")
    texts = [repr(keylog), str(keylog), repr(parsed), repr(parsed.entries), repr(session),
             str(session), repr(decryptor)]
    for text in texts:
        for secret in secrets:
            assert secret not in text.lower()
            assert secret[:16] not in text.lower()




def _openssl_kdf(*args: str) -> bytes:
    out = subprocess.run(["openssl", "kdf", *args], capture_output=True, text=True,
                         check=True).stdout
    return bytes.fromhex(out.strip().replace(":", ""))


@pytest.mark.parametrize("digest", ["sha256", "sha384"])
def test_prf_tls12_matches_openssl(digest: str) -> None:
    secret, seed = os.urandom(48), os.urandom(64)
    expected = _openssl_kdf("-keylen", "104", "-kdfopt", f"digest:{digest.upper()}",
                            "-kdfopt", f"hexsecret:{secret.hex()}",
                            "-kdfopt", f"hexseed:{(b'key expansion' + seed).hex()}", "TLS1-PRF")
    assert prf_tls12(digest, secret, b"key expansion", seed, 104) == expected


def test_prf_tls10_matches_openssl() -> None:
    secret, seed = os.urandom(48), os.urandom(64)
    expected = _openssl_kdf("-keylen", "72", "-kdfopt", "digest:MD5-SHA1",
                            "-kdfopt", f"hexsecret:{secret.hex()}",
                            "-kdfopt", f"hexseed:{(b'key expansion' + seed).hex()}", "TLS1-PRF")
    assert prf_tls10(secret, b"key expansion", seed, 72) == expected


@pytest.mark.parametrize(("digest", "label", "length"),
                         [("sha256", "key", 16), ("sha384", "iv", 12), ("sha384", "traffic upd", 48)])
def test_hkdf_expand_label_matches_openssl(digest: str, label: str, length: int) -> None:
    """OpenSSL's TLS13-KDF (EXPAND_ONLY) is HKDF-Expand-Label itself."""
    secret = os.urandom(32 if digest == "sha256" else 48)
    expected = _openssl_kdf("-keylen", str(length), "-kdfopt", f"digest:{digest.upper()}",
                            "-kdfopt", "mode:EXPAND_ONLY", "-kdfopt", f"hexkey:{secret.hex()}",
                            "-kdfopt", "prefix:tls13 ", "-kdfopt", f"label:{label}", "TLS13-KDF")
    assert hkdf_expand_label(digest, secret, label.encode(), b"", length) == expected
