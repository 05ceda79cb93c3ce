"""Rows on disk past a threshold give back exactly what went in, in the same order.

The references are hand-made rows, :func:`sorted`, the old in-memory fleet code (kept
here verbatim), and the same capture analysed with the default threshold (its tables
stay in memory): never the spilled output itself.
"""

from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pcaptls
from pcaptls.analysis import Settings, analyze_many
from pcaptls.diagnose.finding import worst_first
from pcaptls.diagnose.fleet import fleet_findings, fleet_rows
from pcaptls.report import spool
from pcaptls.report.spool import RowSpool, sorted_rows
from pcaptls.report.table import Table

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
TRUST = str(ROOT / "fixtures" / "trust")
KEYS = ROOT / "fixtures" / "keylogs"
#: fleet (rotation, two servers), SIP counts "(N messages in all)", UDP SIP, a cut file,
#: a failed handshake, a midstream start
FIXTURES = ["cert-rotation.pcap", "two-servers-one-name.pcap", "sip/sip-udp.pcap", "sip/sip-tcp.pcap",
            "kamailio-sip-tcp-sdes.pcap", "damaged/verylong-cut.pcap", "openssl-no-shared-cipher.pcap",
            "kamailio-midstream.pcap"]
MULTI = [str(CAPTURES / n) for n in ("cert-rotation.pcap", "sip/sip-udp.pcap", "pki-expired.pcap",
                                     "tcp-refused.pcap", "two-servers-one-name.pcap")]


def _rows(n: int) -> list[dict[str, Any]]:
    shared = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
    return [{"conn_id": i, "frame": i * 3, "time": 1_700_000_000_000_000_000 + i, "ciphers": shared,
             "ratio": i / 7, "ok": i % 2 == 0, "sni": None if i % 3 else f"h{i}.example"} for i in range(n)]


# --- the spool --------------------------------------------------------------------------------
def test_small_stays_in_memory() -> None:
    s = RowSpool(_rows(5), limit=10)
    assert s._file is None
    assert s == _rows(5)
    assert len(s) == 5


def test_spills_and_streams_back_equal_rows_twice() -> None:
    rows = _rows(23)
    s = RowSpool(limit=3, batch=2)
    for r in rows[:10]:
        s.append(r)
    s.extend(rows[10:])
    assert s._file is not None and s._spilled > 0
    assert len(s) == 23 and s
    assert list(s) == rows
    assert list(s) == rows  # again: the file is read from its start each time
    assert s == rows and rows == s
    assert s != rows[:-1]
    assert s != [*rows[:-1], {**rows[-1], "frame": -1}]
    assert list(reversed(s)) == rows[::-1]


def test_a_spilled_shared_list_cell_is_still_equal() -> None:
    rows = _rows(8)
    back = list(RowSpool(rows, limit=1, batch=3))
    assert [r["ciphers"] for r in back] == [r["ciphers"] for r in rows]


def test_indexing_and_slicing() -> None:
    rows = _rows(17)
    s = RowSpool(rows, limit=4, batch=3)
    assert [s[i] for i in range(17)] == rows
    assert s[-1] == rows[-1] and s[-17] == rows[0]
    for sl in (slice(None), slice(2, 9), slice(5, 2), slice(None, None, 3), slice(None, None, -2),
               slice(-4, None), slice(0, 100)):
        assert s[sl] == rows[sl], sl
    with pytest.raises(IndexError):
        s[17]
    with pytest.raises(IndexError):
        s[-18]
    assert rows[4] in s
    assert s.index(rows[11]) == 11


def test_empty() -> None:
    s = RowSpool(limit=0)
    assert not s and len(s) == 0 and list(s) == [] and s == []


def test_pickles_as_its_rows_and_comes_back_a_spool() -> None:
    rows = _rows(12)
    s = RowSpool(rows, limit=5, batch=2)
    for proto in (2, 4, 5):
        back = pickle.loads(pickle.dumps(s, protocol=proto))
        assert isinstance(back, RowSpool)
        assert back == rows and back.limit == 5
    t = pickle.loads(pickle.dumps(Table("messages", s)))
    assert t.rows == rows
    assert copy.copy(s) == rows and copy.deepcopy(s) == rows


def test_the_temporary_file_is_anonymous() -> None:
    before = set(os.listdir(tempfile.gettempdir()))
    s = RowSpool(_rows(50), limit=2)
    assert s._spilled == 50 - len(s._tail)
    assert not {n for n in set(os.listdir(tempfile.gettempdir())) - before if n.startswith("pcaptls-")}
    s.close()
    assert len(s) == 0


def test_reading_holds_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Iterating keeps the on-disk rows out of memory: only the batch being read is loaded."""
    s = RowSpool(_rows(40), limit=10, batch=5)
    loaded: list[int] = []
    real = RowSpool._batch

    def counting(self: RowSpool, b: int) -> list[dict[str, Any]]:
        out = real(self, b)
        loaded.append(len(out))
        return out

    monkeypatch.setattr(RowSpool, "_batch", counting)
    for i, _ in enumerate(s):
        if i == 7:
            break
    assert loaded == [5, 5]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from("abc"), st.one_of(st.none(), st.integers(), st.text(max_size=3),
                                                                   st.lists(st.integers(), max_size=2))),
                max_size=40),
       st.integers(0, 6), st.integers(1, 4))
def test_any_rows_come_back(rows: list[dict[str, Any]], limit: int, batch: int) -> None:
    s = RowSpool(rows, limit=limit, batch=batch)
    assert list(s) == rows and len(s) == len(rows) and s[:] == rows


# --- the external sort --------------------------------------------------------------------------
_keys = st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 2)), max_size=80)


@settings(max_examples=150, deadline=None)
@given(_keys, st.integers(0, 9), st.integers(2, 4))
def test_external_sort_equals_sorted_with_ties(keys: list[tuple[int, int]], limit: int, fanout: int) -> None:
    rows = [{"k": k, "j": j, "seq": i} for i, (k, j) in enumerate(keys)]  # few keys: many ties

    def key(r: dict[str, Any]) -> tuple[int, int]:
        return r["k"], r["j"]

    old = (spool.MERGE_FANOUT, spool.RUN_BATCH_ROWS)
    spool.MERGE_FANOUT, spool.RUN_BATCH_ROWS = fanout, 2  # several merge passes, small batches
    try:
        got = sorted_rows(iter(rows), key, limit=limit)
    finally:
        spool.MERGE_FANOUT, spool.RUN_BATCH_ROWS = old
    assert list(got) == sorted(rows, key=key)


def _old_worst_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``worst_first`` before the external sort, verbatim."""
    rank = {"error": 0, "warning": 1, "info": 2}

    def key(r: dict[str, object]) -> tuple[int, int, int]:
        conn = r.get("conn_id")
        frame = r.get("frame")
        return (
            rank.get(str(r.get("severity")), 3),
            conn if isinstance(conn, int) else -1,
            frame if isinstance(frame, int) else 0,
        )

    return sorted(rows, key=key)


_finding = st.fixed_dictionaries({
    "conn_id": st.one_of(st.none(), st.integers(0, 4)),
    "code": st.sampled_from(["A", "B", "C"]),
    "severity": st.sampled_from(["error", "warning", "info", "odd"]),
    "frame": st.one_of(st.none(), st.integers(0, 5)),
})


@settings(max_examples=100, deadline=None)
@given(st.lists(_finding, max_size=60), st.integers(1, 7))
def test_worst_first_order_is_unchanged(rows: list[dict[str, Any]], limit: int,
                                        ) -> None:
    rows = [{**r, "n": i} for i, r in enumerate(rows)]
    old = spool.SPOOL_ROWS
    spool.SPOOL_ROWS = limit
    try:
        got = worst_first(iter(rows))
    finally:
        spool.SPOOL_ROWS = old
    assert list(got) == _old_worst_first(rows)


# --- the fleet, now read in one pass -------------------------------------------------------------
def _old_fleet_rows(conns: list[dict[str, Any]], certs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``fleet_rows`` before it streamed, verbatim (with its helpers)."""

    def _name(conn: dict[str, Any]) -> str | None:
        if conn.get("sni"):
            return str(conn["sni"])
        sans = conn.get("leaf_sans") or []
        if sans:
            return str(sans[0])
        return conn.get("leaf_subject") or None

    groups: dict[str, dict[tuple[str, int], list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for c in conns:
        name = _name(c)
        if name is None or not c.get("version"):
            continue
        groups[name][(c["server"], c["server_port"])].append(c)
    verdicts = {r["conn_id"]: r["verdict"] for r in certs if r.get("sender") == "server" and r.get("position") == 0}
    chain_len: dict[int, int] = defaultdict(int)
    for r in certs:
        if r.get("sender") == "server":
            chain_len[r["conn_id"]] += 1
    rows = []
    for name, servers in sorted(groups.items()):
        for (server, port), cs in sorted(servers.items()):
            cs = sorted(cs, key=lambda c: c["start"] or 0)
            leaves: list[str] = []
            changed_at = None
            for c in cs:
                sha = c.get("leaf_sha256")
                if sha and sha not in leaves:
                    if leaves:
                        changed_at = changed_at or c["start"]
                    leaves.append(sha)
            last = next((c for c in reversed(cs) if c.get("leaf_sha256")), cs[-1])
            rows.append({
                "name": name, "server": server, "server_port": port, "connections": len(cs),
                "versions": sorted({c["version"] for c in cs if c.get("version")}),
                "ciphers": sorted({c["cipher"] for c in cs if c.get("cipher")}),
                "leaf_sha256": leaves, "leaf_subject": last.get("leaf_subject"),
                "leaf_not_after": last.get("leaf_not_after"),
                "chain_length": chain_len.get(last["conn_id"]) or last.get("cert_count"),
                "verdicts": sorted({verdicts[c["conn_id"]] for c in cs if c["conn_id"] in verdicts}),
                "changed_at": changed_at, "findings": [],
            })
    return rows


@st.composite
def _conns_and_certs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    n = draw(st.integers(0, 14))
    conns = []
    for i in range(n):
        conns.append({
            "conn_id": i + 1, "first_frame": draw(st.integers(1, 50)),
            "start": draw(st.one_of(st.none(), st.integers(0, 4))),  # 0, None and ties
            "sni": draw(st.sampled_from([None, "", "a.example", "b.example"])),
            "leaf_sans": draw(st.sampled_from([None, [], ["a.example"], ["c.example", "a.example"]])),
            "leaf_subject": draw(st.sampled_from([None, "", "CN=a", "CN=d"])),
            "version": draw(st.sampled_from([None, "", "TLS 1.2", "TLS 1.3"])),
            "cipher": draw(st.sampled_from([None, "X", "Y"])),
            "server": draw(st.sampled_from(["10.0.0.1", "10.0.0.2"])),
            "server_port": draw(st.sampled_from([5061, 5062])),
            "leaf_sha256": draw(st.sampled_from([None, "", "s1", "s2", "s3"])),
            "leaf_not_after": draw(st.one_of(st.none(), st.integers(0, 9))),
            "cert_count": draw(st.one_of(st.none(), st.integers(0, 3))),
        })
    certs = []
    for _ in range(draw(st.integers(0, 20))):
        certs.append({"conn_id": draw(st.integers(1, max(1, n))),
                      "sender": draw(st.sampled_from(["server", "client"])),
                      "position": draw(st.integers(0, 2)),
                      "verdict": draw(st.sampled_from(["ok", "expired", "untrusted_root"]))})
    return conns, certs


@settings(max_examples=200, deadline=None)
@given(_conns_and_certs())
def test_fleet_rows_equal_the_in_memory_code(data: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    conns, certs = data
    expected = _old_fleet_rows(conns, certs)
    assert fleet_rows(RowSpool(conns, limit=2, batch=3), RowSpool(certs, limit=2, batch=3)) == expected
    assert fleet_rows(conns, certs) == expected


def test_fleet_rows_order_leaves_by_start_not_by_table_order() -> None:
    base = {"sni": "a.example", "version": "TLS 1.2", "server": "10.0.0.1", "server_port": 5061}
    conns = [{**base, "conn_id": 1, "start": 5, "leaf_sha256": "s1", "leaf_subject": "CN=1"},
             {**base, "conn_id": 2, "start": 1, "leaf_sha256": "s2", "leaf_subject": "CN=2"},
             {**base, "conn_id": 3, "start": 3, "leaf_sha256": "s1", "leaf_subject": "CN=3"},
             {**base, "conn_id": 4, "start": 5, "leaf_sha256": None, "leaf_subject": "CN=4"}]
    (row,) = fleet_rows(RowSpool(conns, limit=1), [])
    assert (row["leaf_sha256"], row["changed_at"], row["leaf_subject"]) == (["s2", "s1"], 3, "CN=1")
    assert [row] == _old_fleet_rows(conns, [])


def test_fleet_findings_read_the_connections_once_in_order() -> None:
    conns = [{"conn_id": 1, "server": "10.0.0.1", "server_port": 5061, "first_frame": 4, "start": 10,
              "sni": "a.example", "version": "TLS 1.2", "leaf_sha256": "s1"},
             {"conn_id": 2, "server": "10.0.0.2", "server_port": 5061, "first_frame": 9, "start": 11,
              "sni": "a.example", "version": "TLS 1.3", "leaf_sha256": "s2"},
             {"conn_id": 3, "server": "10.0.0.2", "server_port": 5061, "first_frame": 20, "start": 12,
              "sni": "a.example", "version": "TLS 1.3", "leaf_sha256": "s2"}]
    rows = fleet_rows(conns, [])
    (f,) = fleet_findings(rows, RowSpool(conns, limit=1))
    assert (f.code, f.frame, f.time_ns) == ("CERT_INCONSISTENT_ACROSS_SERVERS", 9, 11)


# --- whole captures: a tiny threshold changes nothing ---------------------------------------------
def _stable(a: pcaptls.Analysis) -> dict[str, list[dict[str, Any]]]:
    return {name: [{k: v for k, v in r.items() if k != "days_left_today"} for r in t.rows]
            for name, t in a.tables.items()}


def _spilled(a: pcaptls.Analysis) -> set[str]:
    return {name for name, t in a.tables.items() if isinstance(t.rows, RowSpool) and t.rows._spilled}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spool") / "sip-tls-3k.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--packets", "3000",
                    "--seed", "3", "-o", str(path)], check=True, capture_output=True)
    return path


@pytest.mark.parametrize("name", FIXTURES)
def test_a_tiny_threshold_gives_the_same_tables(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = CAPTURES / name
    expected = _stable(pcaptls.analyze(path, ca_bundle=TRUST))
    monkeypatch.setattr(spool, "SPOOL_ROWS", 3)
    a = pcaptls.analyze(path, ca_bundle=TRUST)
    assert _stable(a) == expected
    assert a.tables["findings"].to_csv() == Table("findings", expected["findings"]).to_csv()


def test_a_generated_capture_spills_every_table_and_is_the_same(
        generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = pcaptls.analyze(generated)
    assert not _spilled(expected)  # the reference stays in memory
    monkeypatch.setattr(spool, "SPOOL_ROWS", 3)
    a = pcaptls.analyze(generated)
    assert _spilled(a) >= {"connections", "messages", "certificates", "findings"}
    assert _stable(a) == _stable(expected)
    for name, t in a.tables.items():
        if name != "certificates":  # days_left_today moves with the clock
            assert t.to_json() == expected.tables[name].to_json(), name


def test_a_key_log_capture_with_sip_findings_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    opts: dict[str, Any] = {"keylogs": (str(KEYS / "sip-tls-rtp-avp.keys"),), "ca_bundle": TRUST}
    path = CAPTURES / "sip-tls-rtp-avp.pcap"
    expected = _stable(pcaptls.analyze(path, **opts))
    assert expected["sip"] and expected["findings"]
    monkeypatch.setattr(spool, "SPOOL_ROWS", 2)
    assert _stable(pcaptls.analyze(path, **opts)) == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_many_files_with_a_tiny_threshold_are_the_same(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The merge, and (two jobs) tables pickled back from worker processes."""
    expected = _stable(analyze_many(MULTI, Settings(ca_bundle=TRUST, jobs=1)))
    monkeypatch.setattr(spool, "SPOOL_ROWS", 3)  # the workers are forked: they see it too
    a = analyze_many(MULTI, Settings(ca_bundle=TRUST, jobs=jobs))
    assert _spilled(a) >= {"connections", "findings"}
    assert _stable(a) == expected


def test_csv_dir_is_the_same(generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pcaptls.analyze(generated).write_csv_dir(tmp_path / "memory")
    monkeypatch.setattr(spool, "SPOOL_ROWS", 3)
    pcaptls.analyze(generated).write_csv_dir(tmp_path / "disk")
    for p in sorted((tmp_path / "memory").iterdir()):
        if p.name != "certificates.csv":
            assert (tmp_path / "disk" / p.name).read_bytes() == p.read_bytes(), p.name


def test_the_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pcaptls.report import spool

    monkeypatch.setenv("PCAPTLS_SPOOL_ROWS", "7")
    assert spool._spool_rows() == 7
    monkeypatch.setenv("PCAPTLS_SPOOL_ROWS", "lots")
    assert spool._spool_rows() == 2000
