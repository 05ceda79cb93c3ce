"""The command line: formats, exit codes, and bad input as one line with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from pcaptls.cli import main
from pcaptls.report.table import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "fixtures" / "captures"
TRUST = str(ROOT / "fixtures" / "trust")
FAILING = str(CAPTURES / "pki-expired.pcap")  # the client rejects an expired certificate
HEALTHY = str(CAPTURES / "kamailio-tls12-register-v4.pcap")
WARNING_ONLY = str(CAPTURES / "openssl-tls12-cbc.pcap")  # a CBC suite negotiated: a warning


def invoke(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


TABLE_COMMANDS = {"connections": "connections", "messages": "messages", "certs": "certificates",
                  "findings": "findings", "sip": "sip", "fleet": "fleet"}


@pytest.mark.parametrize("command", sorted(TABLE_COMMANDS))
def test_table_commands_write_csv_with_the_design_columns(command: str) -> None:
    code, out, _ = invoke(command, FAILING, "--ca-bundle", TRUST, "--format", "csv")
    assert code == 0
    header = next(csv.reader(io.StringIO(out)))
    assert header == [c for c, _ in SCHEMAS[TABLE_COMMANDS[command]]]


@pytest.mark.parametrize("command", sorted(TABLE_COMMANDS))
def test_table_commands_write_json_lists(command: str) -> None:
    code, out, _ = invoke(command, FAILING, "--ca-bundle", TRUST, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert isinstance(rows, list)
    for row in rows:
        assert list(row) == [c for c, _ in SCHEMAS[TABLE_COMMANDS[command]]]


@pytest.mark.parametrize("command", [*sorted(TABLE_COMMANDS), "analyze"])
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_every_command_writes_table_and_markdown(command: str, fmt: str) -> None:
    code, out, _ = invoke(command, FAILING, "--ca-bundle", TRUST, "--format", fmt)
    assert code == 0
    assert out.strip()
    if fmt == "markdown":
        tokens = MarkdownIt("commonmark").enable("table").parse(out)
        assert not [t for t in tokens if t.type in ("html_block", "html_inline")]


def test_analyze_json_and_csv_are_the_findings() -> None:
    code, out, _ = invoke("analyze", FAILING, "--ca-bundle", TRUST, "--format", "json")
    assert code == 0
    codes = {r["code"] for r in json.loads(out)}
    assert "CERT_EXPIRED" in codes
    code, out, _ = invoke("analyze", FAILING, "--ca-bundle", TRUST, "--format", "csv")
    assert code == 0 and "CERT_EXPIRED" in out


def test_connections_json_of_the_failing_capture() -> None:
    # The manifest records the client's alert: client:fatal:certificate_expired.
    code, out, _ = invoke("connections", FAILING, "--ca-bundle", TRUST, "--format", "json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["outcome"] == "alert"
    assert row["alerts"][0] == "client:fatal:certificate_expired"
    assert row["start"].endswith("Z") and "." in row["start"]


def test_fail_on_error() -> None:
    assert invoke("analyze", FAILING, "--ca-bundle", TRUST, "--fail-on", "error")[0] == 1
    assert invoke("analyze", HEALTHY, "--ca-bundle", TRUST, "--fail-on", "error")[0] == 0
    assert invoke("findings", FAILING, "--ca-bundle", TRUST, "--fail-on", "warning")[0] == 1


def test_fail_on_warning() -> None:
    assert invoke("analyze", WARNING_ONLY, "--ca-bundle", TRUST, "--fail-on", "error")[0] == 0
    assert invoke("analyze", WARNING_ONLY, "--ca-bundle", TRUST, "--fail-on", "warning")[0] == 1


def test_report_is_commonmark_with_findings_and_tables(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    code, _, _ = invoke("report", FAILING, "--ca-bundle", TRUST, "-o", str(out))
    assert code == 0
    text = out.read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    kinds = {t.type for t in tokens}
    assert {"heading_open", "table_open", "paragraph_open"} <= kinds
    assert not {"html_block", "html_inline"} & kinds
    assert "CERT_EXPIRED" in text and "## Certificates" in text


def test_csv_dir_writes_every_table(tmp_path: Path) -> None:
    code, _, _ = invoke("analyze", FAILING, "--ca-bundle", TRUST, "--csv-dir", str(tmp_path / "t"),
                        "--format", "csv")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == sorted(f"{n}.csv" for n in SCHEMAS)


def test_export_writes_pem_that_openssl_reads(tmp_path: Path) -> None:
    code, _, _ = invoke("certs", str(CAPTURES / "pki-leaf.pcap"), "--export", str(tmp_path), "--format", "csv")
    assert code == 0
    chain = tmp_path / "1-server-chain.pem"
    assert chain.exists()
    # the good chain verifies against the PKI root as the client did
    r = subprocess.run(["openssl", "verify", "-CAfile", str(ROOT / "fixtures/pki/root-ca.pem"),
                        "-untrusted", str(chain), "-attime", "1795000000", str(chain)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# --- bad input ------------------------------------------------------------------------------

def bad_inputs(tmp: Path) -> dict[str, str]:
    (tmp / "empty.pcap").write_bytes(b"")
    (tmp / "random.bin").write_bytes(os.urandom(4096))
    (tmp / "notes.txt").write_text("REGISTER sip:example.test SIP/2.0\r\n" * 20)
    (tmp / "dir").mkdir()
    # a classic pcap with link type 999 and one frame
    hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 999)
    rec = struct.pack("<IIII", 1, 0, 4, 4) + b"abcd"
    (tmp / "linktype999.pcap").write_bytes(hdr + rec)
    # a real capture cut inside its global header
    (tmp / "cut-header.pcap").write_bytes((CAPTURES / "pki-leaf.pcap").read_bytes()[:20])
    return {
        "empty": str(tmp / "empty.pcap"), "random": str(tmp / "random.bin"),
        "text": str(tmp / "notes.txt"), "directory": str(tmp / "dir"),
        "missing": str(tmp / "nope.pcap"), "linktype": str(tmp / "linktype999.pcap"),
        "cut-header": str(tmp / "cut-header.pcap"),
    }


@pytest.mark.parametrize("kind", ["empty", "random", "text", "directory", "missing", "linktype", "cut-header"])
def test_bad_input_is_one_line_and_exit_2(kind: str, tmp_path: Path) -> None:
    path = bad_inputs(tmp_path)[kind]
    r = subprocess.run([sys.executable, "-m", "pcaptls", "analyze", path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pcaptls: ")
    assert "Traceback" not in r.stderr


def test_cut_capture_yields_partial_results_and_a_finding(tmp_path: Path) -> None:
    data = (CAPTURES / "pki-expired.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 30])  # inside the last record
    code, out, _ = invoke("findings", str(cut), "--ca-bundle", TRUST, "--format", "json")
    assert code == 0
    codes = {r["code"] for r in json.loads(out)}
    assert "CAPTURE_TRUNCATED" in codes and "CERT_EXPIRED" in codes


def test_garbage_keylog_is_a_note_not_a_crash(tmp_path: Path) -> None:
    junk = tmp_path / "junk.keys"
    junk.write_bytes(os.urandom(2000))
    code, out, _ = invoke("connections", HEALTHY, "--keylog", str(junk), "--format", "json")
    assert code == 0
    assert json.loads(out)[0]["version"] == "TLS 1.2"


def test_missing_keylog_is_exit_2() -> None:
    code, _, err = invoke("analyze", HEALTHY, "--keylog", "/nonexistent/keys")
    assert code == 2 and err.count("\n") == 1


def test_stdin_is_read_with_dash() -> None:
    data = (CAPTURES / "pki-expired.pcap").read_bytes()
    r = subprocess.run([sys.executable, "-m", "pcaptls", "connections", "-", "--format", "csv"],
                       input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert b"certificate_expired" in r.stdout


def test_input_file_is_not_modified(tmp_path: Path) -> None:
    target = tmp_path / "c.pcap"
    target.write_bytes((CAPTURES / "pki-expired.pcap").read_bytes())
    before = (target.read_bytes(), target.stat().st_mtime_ns)
    invoke("report", str(target), "-o", str(tmp_path / "r.md"))
    assert (target.read_bytes(), target.stat().st_mtime_ns) == before


@pytest.mark.parametrize("kind", ["garbage", "other-session", "truncated"])
def test_bad_key_logs_give_a_note_and_the_undecrypted_analysis(kind: str, tmp_path: Path) -> None:
    capture = CAPTURES / "kamailio-tls13-register-v4.pcap"
    keys = ROOT / "fixtures" / "keylogs"
    log = tmp_path / "k.keys"
    if kind == "garbage":
        log.write_bytes(os.urandom(3000))
    elif kind == "other-session":
        log.write_bytes((keys / "kamailio-tls13-register-v6.keys").read_bytes())
    else:  # cut in the middle of a line
        log.write_bytes((keys / "kamailio-tls13-register-v4.keys").read_bytes()[:300])
    code, out, _ = invoke("analyze", str(capture), "--keylog", str(log), "--format", "markdown")
    assert code == 0
    assert "- Key log: " in out
    if kind == "garbage":
        assert "malformed line(s) ignored" in out
    if kind == "other-session":
        assert "KEYLOG_NO_MATCH" in out
    code, out, _ = invoke("connections", str(capture), "--keylog", str(log), "--format", "json")
    assert json.loads(out)[0]["version"] == "TLS 1.3"
