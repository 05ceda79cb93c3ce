"""The shortcuts change nothing: every table, note and statistic is the same as the
straightforward path's, on every fixture capture and on generated SIP-over-TLS captures
like the benchmark's. The straightforward path is ``PCAPTLS_FAST=0`` *and* no cache (each
chain verified, each signature checked, each extension and cipher-suite list parsed, each
JA3/JA4 computed anew, no list cell shared between rows);
the compared path has the fast lane (pcaptls.fastpath) and those caches, filled by every
capture the test process read before. ``Settings.tables`` subsets give the same tables as a full run.

The reference here is the straightforward path itself (each layer is checked against
tshark by its own tests); what this file checks is that skipping work skips nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pcaptls import extract, fastpath
from pcaptls.analysis import Analysis, Settings
from pcaptls.capture import open_capture
from pcaptls.errors import CaptureError, InputError
from pcaptls.pipeline import Pipeline
from pcaptls.tls import extensions, messages
from pcaptls.x509 import signature, verify

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz", ".xz", ".zst", ".bz2")
CAPTURES = sorted(
    p for p in FIXTURES.rglob("*")
    if p.is_file() and p.name.endswith(SUFFIXES) and "expected" not in p.parts
)
KEYLOG_CASES = ["kamailio-tls13-register-v4", "kamailio-tls12-register-v6", "sip-tls-rtp-avp"]


class _NoMemory(dict[Any, Any]):
    """A cache that remembers nothing."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


#: every cache of remembered results, as (module, name): the straightforward path runs
#: without them
CACHES: list[tuple[Any, str]] = [
    (verify, "_VERDICTS"), (signature, "_ANSWERS"), (extensions, "_SEEN"),
    (messages, "_SUITES_SEEN"), (messages, "_DER_SEEN"), (messages, "_REPEATED"),
    (messages, "_HELLOS"),
    (extract, "_PRINTS"), (extract, "_SERVER_PRINTS"), (extract, "_LISTS"),
    (extract, "_TEMPLATES"), (extract, "_LEAVES"), (extract, "_CA_NAMES"),
    (extract, "_CLIENT_VERSIONS"), (extract, "_SUITES"), (extract, "_SSL2_SUITES"),
    (extract, "_SUITE_PROPS"),
]


def _run(path: Path, fast: bool, settings: Settings | None = None) -> tuple[Any, ...]:
    """Fast: the fast lane and the caches; not fast: neither."""
    p = Pipeline(str(path), settings or Settings(ca_bundle=str(FIXTURES / "trust")))
    p.fast = fast
    caches = [getattr(module, name) for module, name in CACHES]
    if not fast:
        for module, name in CACHES:
            setattr(module, name, _NoMemory())
    try:
        a: Analysis = p.run()
    except (CaptureError, InputError) as e:
        return ("error", type(e).__name__, str(e))
    finally:
        for (module, name), cache in zip(CACHES, caches, strict=True):
            setattr(module, name, cache)
    tables = {name: [_stable(r) for r in t.rows] for name, t in a.tables.items()}
    return (tables, a.stats, a.notes, a.certificates_der, a.chains)


def _stable(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what depends on the wall clock (``days_left_today``)."""
    return {k: v for k, v in row.items() if k != "days_left_today"}


def _same(path: Path, settings: Settings | None = None) -> None:
    slow = _run(path, False, settings)
    fast = _run(path, True, settings)
    if slow[0] != "error":
        for name in slow[0]:
            assert fast[0][name] == slow[0][name], f"{path.name}: table {name} differs"
    assert fast == slow


def test_there_are_captures_to_compare() -> None:
    assert len(CAPTURES) > 150
    classic = 0
    for path in CAPTURES:
        try:
            with open_capture(path) as r:
                classic += r.raw_pcap() is not None
        except CaptureError:
            pass
    assert classic > 100  # the fast lane only reads classic pcap: most fixtures are


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_tables_are_the_same(path: Path) -> None:
    _same(path)


@pytest.mark.parametrize("case", KEYLOG_CASES)
def test_with_a_key_log_tables_are_the_same(case: str) -> None:
    settings = Settings(keylogs=(str(FIXTURES / "keylogs" / f"{case}.keys"),),
                        ca_bundle=str(FIXTURES / "trust"))
    _same(FIXTURES / "captures" / f"{case}.pcap", settings)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fast") / "sip-tls-10k.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "10000",
                    "--seed", "3", "-o", str(path)], check=True, capture_output=True)
    return path


def test_generated_capture_tables_are_the_same(generated: Path) -> None:
    _same(generated)


def test_the_verdict_cache_is_used(generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a long capture the same chains come back: nearly every verdict is remembered."""
    calls = 0
    original = verify._verify

    def counting(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args)

    verify._VERDICTS.clear()
    monkeypatch.setattr(verify, "_verify", counting)
    a = Pipeline(str(generated), Settings()).run()
    chains = len(a.chains)
    assert chains > 30
    assert calls < chains / 5


SUBSETS = [frozenset(), frozenset({"messages"}), frozenset({"sip"}), frozenset({"findings"}),
           frozenset({"connections", "certificates", "findings", "fleet"})]


@pytest.mark.parametrize("tables", SUBSETS, ids=lambda t: ",".join(sorted(t)) or "none")
def test_a_subset_of_tables_is_the_same_as_in_a_full_run(generated: Path,
                                                         tables: frozenset[str]) -> None:
    """What ``Settings.tables`` names (and what every run needs) equals the full run's
    tables; the optional tables it does not name stay empty."""
    full = _run(generated, True)
    part = _run(generated, True, Settings(ca_bundle=str(FIXTURES / "trust"), tables=tables))
    for name, rows in part[0].items():
        if Settings(tables=tables).builds(name):
            assert rows == full[0][name], name
        else:
            assert rows == [], name
    assert part[1:] == full[1:]


@pytest.mark.parametrize("name", ["sip-tls-rtp-avp", "kamailio-tls12-register-v4"])
def test_a_subset_of_tables_with_sip_rows(name: str) -> None:
    """With a key log the sip table has rows; leaving it out changes no other table."""
    keylogs = (str(FIXTURES / "keylogs" / f"{name}.keys"),)
    path = FIXTURES / "captures" / f"{name}.pcap"
    full = _run(path, True, Settings(keylogs=keylogs))
    part = _run(path, True, Settings(keylogs=keylogs, tables=frozenset({"findings"})))
    assert full[0]["sip"] or name != "sip-tls-rtp-avp"
    assert part[0]["sip"] == [] and part[0]["messages"] == []
    for table in ("connections", "certificates", "findings", "fleet"):
        assert part[0][table] == full[0][table], table


@pytest.mark.parametrize("options", [
    ("--retransmit", "0.2", "--ipv6", "0.5", "--seed", "5"),
    ("--midstream", "0.9", "--failed", "0.2", "--interval", "2", "--seed", "6"),
], ids=["retransmits-ipv6", "midstream-failures"])
def test_harder_generated_captures_tables_are_the_same(tmp_path: Path, options: tuple[str, ...]
                                                       ) -> None:
    path = tmp_path / "g.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "6000",
                    "-o", str(path), *options], check=True, capture_output=True)
    _same(path)


def test_generated_capture_takes_the_fast_lane(generated: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Most packets of a long SIP-over-TLS capture never reach the slow path."""
    assert _slow_frames(generated, monkeypatch) < 3000  # of 10,000: handshakes, flags, retransmissions


def _slow_frames(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many frames of ``path`` take the slow path (the fast lane on)."""
    slow_frames = 0
    original = Pipeline._slow_frame

    def counting(self: Pipeline, frame: Any, reader: Any, refresh: bool = True) -> Any:
        nonlocal slow_frames
        slow_frames += 1
        return original(self, frame, reader, refresh)

    monkeypatch.setattr(Pipeline, "_slow_frame", counting)
    p = Pipeline(str(path), Settings())
    assert p.fast
    p.run()
    return slow_frames


def _cooked(src: Path, dst: Path, link: int) -> None:
    """``src`` (Ethernet, little-endian classic pcap) as ``tcpdump -i any`` would have
    written it: each frame's Ethernet header replaced by a Linux cooked header (v1: 16
    bytes, protocol last; v2: 20 bytes, protocol first)."""
    data = src.read_bytes()
    out = bytearray(data[:20] + link.to_bytes(4, "little"))
    for pos in _records(data):
        incl = int.from_bytes(data[pos + 8:pos + 12], "little")
        orig = int.from_bytes(data[pos + 12:pos + 16], "little")
        frame = data[pos + 16:pos + 16 + incl]
        mac, proto, rest = frame[6:12], frame[12:14], frame[14:]
        if link == 113:
            head = (4).to_bytes(2, "big") + (1).to_bytes(2, "big") + (6).to_bytes(2, "big") \
                + mac + b"\0\0" + proto
        else:
            head = proto + b"\0\0" + (2).to_bytes(4, "big") + (1).to_bytes(2, "big") + b"\x04\x06" \
                + mac + b"\0\0"
        grow = len(head) - 14
        out += data[pos:pos + 8] + (incl + grow).to_bytes(4, "little") \
            + (orig + grow).to_bytes(4, "little") + head + rest
    dst.write_bytes(bytes(out))


@pytest.mark.parametrize("link", [113, 276], ids=["sll", "sll2"])
def test_cooked_captures_take_the_lane_with_the_same_tables(generated: Path, tmp_path: Path,
                                                            link: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """``tcpdump -i any`` captures (Linux cooked headers) take the fast lane as Ethernet ones
    do, and give the Ethernet capture's tables."""
    path = tmp_path / f"cooked-{link}.pcap"
    _cooked(generated, path, link)
    _same(path)
    assert _run(path, True)[0] == _run(generated, True)[0]
    assert _slow_frames(path, monkeypatch) < 3000


def _records(data: bytes) -> list[int]:
    """Offsets of the records of a little-endian microsecond classic pcap file."""
    offsets, pos = [], 24
    while pos + 16 <= len(data):
        offsets.append(pos)
        pos += 16 + int.from_bytes(data[pos + 8:pos + 12], "little")
    return offsets


@pytest.mark.parametrize("damage", ["cut", "corrupt-length", "corrupt-first"])
def test_damaged_files_give_the_same_notes(tmp_path: Path, damage: str) -> None:
    """A file cut mid-record, or a record header claiming too much: the same note and the
    same frames either way (the fast lane walks the records itself)."""
    data = (FIXTURES / "captures" / "kamailio-tls12-register-v4.pcap").read_bytes()
    assert data[:4] == bytes.fromhex("d4c3b2a1")
    offsets = _records(data)
    if damage == "cut":
        data = data[:offsets[20] + 30]
    else:
        at = offsets[0 if damage == "corrupt-first" else 20]
        data = data[:at + 8] + (1 << 30).to_bytes(4, "little") + data[at + 12:]
    path = tmp_path / "damaged.pcap"
    path.write_bytes(data)
    _same(path)
    result = _run(path, True)
    if damage == "corrupt-first":
        assert result[0] == "error"
    else:
        assert result[1]["frames"] == 20
        assert any(("cut" if damage == "cut" else "corrupt") in n for n in result[2])


def test_the_environment_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PCAPTLS_FAST", "0")
    assert not fastpath.enabled()
    assert not Pipeline("x", Settings()).fast
    monkeypatch.setenv("PCAPTLS_FAST", "1")
    assert fastpath.enabled()
