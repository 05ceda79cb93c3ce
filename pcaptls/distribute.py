"""Many captures beyond one process: a Dask cluster, and Parquet datasets.

The unit of work stays one file (``pipeline.analyze_file``); Dask only decides
where it runs. Results come back as plain tables and are merged exactly as the
local pool merges them, so a cluster run equals a single-process run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pcaptls.errors import InputError

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis, Settings


def analyze_on_dask(files: Sequence[str], settings: Settings, address: str) -> list[Analysis]:
    """Run one task per file on the cluster at ``address`` (``local``: a LocalCluster here)."""
    try:
        import distributed
    except ImportError:
        raise InputError("--dask needs the 'distributed' package: pip install 'pcaptls[cluster]'") from None
    from pcaptls.pipeline import analyze_file

    dist: Any = distributed  # untyped library
    cluster = None
    try:
        if address == "local":
            cluster = dist.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = dist.Client(cluster)
        else:
            client = dist.Client(address, timeout=10)
    except OSError as e:
        raise InputError(f"--dask {address}: cannot reach the scheduler ({e})") from None
    try:
        futures = client.map(analyze_file, list(files), [settings] * len(files), pure=False)
        return list(client.gather(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_parquet(result: Analysis, directory: Path) -> None:
    """Each table as a Parquet dataset ``DIR/<table>/part-0.parquet`` (pandas, Dask, Spark, DuckDB read it)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise InputError("--parquet needs pyarrow: pip install 'pcaptls[cluster]'") from None
    try:
        for name, table in result.tables.items():
            d = directory / name
            d.mkdir(parents=True, exist_ok=True)
            table.to_dataframe().to_parquet(d / "part-0.parquet", index=False)
    except OSError as e:
        raise InputError(f"{directory}: cannot write ({e.strerror})") from None
