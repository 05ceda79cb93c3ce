"""The benchmark generator writes valid, deterministic captures that tshark dissects as TLS."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "bench" / "generate.py"
PACKETS = 2000


def _generate(path: Path, seed: int, *extra: str) -> None:
    subprocess.run([sys.executable, str(GENERATE), "--packets", str(PACKETS), "--seed", str(seed),
                    "-o", str(path), *extra], check=True, capture_output=True)


def _tshark(path: Path, *args: str) -> str:
    return subprocess.run(["tshark", "-n", "-r", str(path), *args], check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "g.pcap"
    _generate(path, 7, "--connections", "40")
    return path


def test_packet_count_by_capinfos(capture: Path) -> None:
    if shutil.which("capinfos") is None:  # tshark's count below is the fallback
        count = len(_tshark(capture, "-T", "fields", "-e", "frame.number").split())
    else:
        out = subprocess.run(["capinfos", "-M", "-c", "-t", str(capture)], check=True,
                             capture_output=True, text=True).stdout
        assert "File type:           pcap\n" in out
        count = int(next(line for line in out.splitlines()
                         if line.startswith("Number of packets")).split(":")[1])
    assert count == PACKETS


def test_every_frame_is_in_a_tcp_conversation(capture: Path) -> None:
    out = _tshark(capture, "-q", "-z", "conv,tcp")
    rows = [line.split() for line in out.splitlines() if "<->" in line]
    assert len(rows) >= 40  # at least one connection per client
    # columns: a <-> b, frames/bytes <-, frames/bytes ->, total frames; bytes carry a unit
    totals = []
    for r in rows:
        i = r.index("<->") + 2
        nums = [tok for tok in r[i:] if tok.replace(".", "").isdigit()]
        totals.append(int(nums[4]))  # frames <-, bytes <-, frames ->, bytes ->, total frames
    assert sum(totals) == PACKETS


def test_checksums_are_valid_and_nothing_is_malformed(capture: Path) -> None:
    out = _tshark(capture, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                  "-T", "fields", "-e", "tcp.checksum.status", "-e", "_ws.expert.severity")
    statuses = [line.split("\t") for line in out.splitlines()]
    assert len(statuses) == PACKETS
    assert all(s[0] == "1" for s in statuses)  # 1 = Good in tshark's checksum status
    # no expert info of severity error (0x00800000) such as malformed packets
    assert not [s for s in statuses if "8388608" in s[1].split(",")]


def test_handshakes_dissect_as_tls(capture: Path) -> None:
    out = _tshark(capture, "-Y", "tls.handshake.type in {1,2,11} or tls.alert_message",
                  "-T", "fields", "-e", "tls.handshake.type", "-e", "tls.handshake.version")
    types = [t for line in out.splitlines() for t in line.split("\t")[0].split(",") if t]
    assert types.count("1") >= 5  # ClientHello
    assert types.count("2") >= 5  # ServerHello
    assert "11" in types  # a TLS 1.2 Certificate in clear


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.pcap", tmp_path / "b.pcap", tmp_path / "c.pcap"
    _generate(a, 3)
    _generate(b, 3)
    _generate(c, 4)

    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    assert digest(a) == digest(b)
    assert digest(a) != digest(c)


@pytest.mark.parametrize("link, encap", [("sll", "Linux cooked-mode capture v1"),
                                         ("sll2", "Linux cooked-mode capture v2")])
def test_cooked_link_types_carry_the_same_packets(capture: Path, tmp_path: Path, link: str,
                                                  encap: str) -> None:
    """``--link sll|sll2`` writes what ``tcpdump -i any`` would have: tshark names the
    encapsulation and reads the same IP packets as from the Ethernet capture."""
    cooked = tmp_path / f"g-{link}.pcap"
    _generate(cooked, 7, "--connections", "40", "--link", link)
    info = subprocess.run(["capinfos", "-E", str(cooked)], check=True, capture_output=True,
                          text=True).stdout
    assert encap in info
    fields = ("-T", "fields", "-e", "frame.number", "-e", "ip.src", "-e", "ipv6.src",
              "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tls.record.content_type")
    want = _tshark(capture, *fields)
    assert want.count("\n") == PACKETS
    assert _tshark(cooked, *fields) == want
