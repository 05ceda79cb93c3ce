"""Many captures at once: a file column, unique connection ids, the same tables everywhere."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import pcaptls
from pcaptls.analysis import Settings, analyze_many

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "fixtures" / "captures"
FILES = [str(CAPTURES / n) for n in (
    "pki-expired.pcap", "openssl-tls12-resumption.pcap", "tcp-refused.pcap", "pki-leaf.pcap",
)]
TRUST = str(ROOT / "fixtures" / "trust")


VOLATILE = {"days_left_today"}  # measured against the clock while the test runs


def rows(a: pcaptls.Analysis, table: str) -> list[dict[str, object]]:
    stable = [{k: v for k, v in r.items() if k not in VOLATILE} for r in a.tables[table].rows]
    return sorted(stable, key=lambda r: (str(r.get("file")), str(r.get("conn_id")), str(r.get("frame")), str(r.get("code")), str(r.get("position"))))


def single_files() -> dict[str, pcaptls.Analysis]:
    return {f: pcaptls.analyze(f, ca_bundle=TRUST) for f in FILES}


def test_files_get_a_file_column_and_unique_ids() -> None:
    a = analyze_many(FILES, Settings(ca_bundle=TRUST, jobs=1))
    conns = a.tables["connections"].rows
    ids = [r["conn_id"] for r in conns]
    assert len(ids) == len(set(ids)) == sum(len(s.tables["connections"].rows) for s in single_files().values())
    assert {r["file"] for r in conns} == set(FILES)
    assert "file" in a.connections.columns


def test_parallel_pool_equals_one_process() -> None:
    one = analyze_many(FILES, Settings(ca_bundle=TRUST, jobs=1))
    pool = analyze_many(FILES, Settings(ca_bundle=TRUST, jobs=2))
    for t in ("connections", "messages", "certificates", "findings"):
        assert rows(one, t) == rows(pool, t)


def test_dask_local_cluster_equals_one_process() -> None:
    one = analyze_many(FILES, Settings(ca_bundle=TRUST, jobs=1))
    dask = analyze_many(FILES, Settings(ca_bundle=TRUST, dask="local"))
    for t in ("connections", "messages", "certificates", "findings", "fleet"):
        assert rows(one, t) == rows(dask, t)


def test_directory_input_and_parquet(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pcaptls.cli import main

    d = tmp_path / "caps"
    d.mkdir()
    for f in FILES[:2]:
        (d / Path(f).name).write_bytes(Path(f).read_bytes())
    r = CliRunner().invoke(main, ["connections", str(d), "--ca-bundle", TRUST, "--format", "csv",
                                  "--parquet", str(tmp_path / "pq"), "--jobs", "1"])
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(tmp_path / "pq" / "connections")
    assert len(df) == 3 and set(df["file"].str.rsplit("/", n=1).str[-1]) == {Path(f).name for f in FILES[:2]}
    assert str(df["start"].dtype) == "datetime64[ns, UTC]"
