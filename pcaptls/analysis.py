"""Run the layers over captures and hold the resulting tables.

``pcaptls.analyze(path)`` returns an :class:`Analysis`: its tables as DataFrames
(``.connections``, ``.messages``, ``.certificates``, ``.findings``, ``.sip``,
``.fleet``), plus what the summary and the reports need. The work itself is in
:mod:`pcaptls.pipeline`; this module is the result and the many-files driver.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pcaptls.errors import InputError
from pcaptls.report.spool import RowSpool
from pcaptls.report.table import SCHEMAS, Table

if TYPE_CHECKING:
    import pandas as pd

SEVERITY_RANK = {"error": 3, "warning": 2, "info": 1}
#: tables a run may leave empty when :attr:`Settings.tables` does not name them; the
#: others are always built (findings need the fleet, the fleet needs connections and
#: certificates)
OPTIONAL_TABLES = frozenset({"messages", "sip"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the user can set; the same for every file of a run."""

    ports: tuple[int, ...] = ()
    keylogs: tuple[str, ...] = ()
    ca_bundle: str | None = None
    system_trust: bool = False
    expect_host: str | None = None
    check_hostname: bool = True
    at: str | None = None
    expiry_days: tuple[int, ...] = (30, 14, 7)
    jobs: int | None = None
    dask: str | None = None
    #: the tables to build (None: all). Of :data:`OPTIONAL_TABLES`, one not named stays
    #: empty: the CLI names what a command prints, so ``analyze`` makes no messages rows.
    tables: frozenset[str] | None = None

    def builds(self, table: str) -> bool:
        """Whether the run fills ``table``."""
        return self.tables is None or table in self.tables or table not in OPTIONAL_TABLES


@dataclass(slots=True)
class Analysis:
    """The tables of one or more captures (DESIGN.md's data contract)."""

    files: list[str]
    tables: dict[str, Table]
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: DER of every certificate seen, by SHA-256, and each chain as sent (for --export)
    certificates_der: dict[str, bytes] = field(default_factory=dict)
    chains: list[tuple[int, str, tuple[str, ...]]] = field(default_factory=list)

    # --- DataFrames for notebooks -------------------------------------------------------
    @property
    def connections(self) -> pd.DataFrame:
        return self.tables["connections"].to_dataframe()

    @property
    def messages(self) -> pd.DataFrame:
        return self.tables["messages"].to_dataframe()

    @property
    def certificates(self) -> pd.DataFrame:
        return self.tables["certificates"].to_dataframe()

    @property
    def findings(self) -> pd.DataFrame:
        return self.tables["findings"].to_dataframe()

    @property
    def sip(self) -> pd.DataFrame:
        return self.tables["sip"].to_dataframe()

    @property
    def fleet(self) -> pd.DataFrame:
        return self.tables["fleet"].to_dataframe()

    # --- what the CLI asks ------------------------------------------------------------------
    def has_findings_at(self, severity: str) -> bool:
        floor = SEVERITY_RANK[severity]
        return any(SEVERITY_RANK[r["severity"]] >= floor for r in self.tables["findings"].rows)

    def write_csv_dir(self, directory: Path) -> None:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, table in self.tables.items():
                with (directory / f"{name}.csv").open("w", encoding="utf-8") as out:
                    table.write_csv(out)
        except OSError as e:
            raise InputError(f"{directory}: cannot write ({e.strerror})") from None

    def export_certificates(self, directory: Path) -> int:
        """Each distinct certificate as ``<sha256>.pem``, each chain as ``<conn>-<side>-chain.pem``."""
        import base64

        def pem(der: bytes) -> str:
            b64 = base64.encodebytes(der).decode().replace("\n", "")
            body = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
            return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"

        try:
            directory.mkdir(parents=True, exist_ok=True)
            n = 0
            for sha, der in self.certificates_der.items():
                (directory / f"{sha}.pem").write_text(pem(der))
                n += 1
            for conn_id, side, shas in self.chains:
                text = "".join(pem(self.certificates_der[s]) for s in shas if s in self.certificates_der)
                (directory / f"{conn_id}-{side}-chain.pem").write_text(text)
                n += 1
        except OSError as e:
            raise InputError(f"{directory}: cannot write ({e.strerror})") from None
        return n

    def __repr__(self) -> str:
        n = {k: len(t.rows) for k, t in self.tables.items()}
        return f"<pcaptls.Analysis files={self.files!r} tables={n}>"


def empty_tables() -> dict[str, Table]:
    """Every table, empty; rows go to disk past a threshold, so a large capture's tables
    do not grow memory (a small capture's stay a plain list in memory)."""
    return {name: Table(name, RowSpool()) for name in SCHEMAS}


CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".dmp")
COMPRESSION_SUFFIXES = ("", ".gz", ".xz", ".bz2", ".zst")


def is_capture_name(name: str) -> bool:
    """A file a directory scan picks up: a capture name, maybe compressed."""
    return any(name.endswith(c + z) for c in CAPTURE_SUFFIXES for z in COMPRESSION_SUFFIXES)


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files, directories (every capture inside) and globs, in a stable order."""
    out: list[str] = []
    for item in inputs:
        if item == "-":
            out.append(item)
            continue
        if os.path.isdir(item):
            found = sorted(str(p) for p in Path(item).rglob("*") if p.is_file() and is_capture_name(p.name))
            if not found:
                raise InputError(f"{item}: is a directory with no capture files in it")
            out.extend(found)
        elif any(ch in item for ch in "*?[") and not os.path.exists(item):
            found = sorted(glob.glob(item, recursive=True))
            if not found:
                raise InputError(f"{item}: no file matches")
            out.extend(found)
        else:
            out.append(item)
    return out


def analyze(path: str | os.PathLike[str], **options: Any) -> Analysis:
    """Analyse one capture (or a directory or glob of them) with default settings.

    Keyword options are the fields of :class:`Settings` (``keylogs``, ``ca_bundle``, …).
    """
    return analyze_many([os.fspath(path)], Settings(**options))


def analyze_many(inputs: Sequence[str], settings: Settings, *, progress: bool = False) -> Analysis:
    from pcaptls.pipeline import analyze_file

    files = expand_inputs(inputs)
    if settings.dask:
        from pcaptls.distribute import analyze_on_dask

        return merge(analyze_on_dask(files, settings, settings.dask))
    if len(files) == 1:
        return analyze_file(files[0], settings, progress=progress)
    results = _run_parallel(files, settings, progress=progress)
    return merge(results)


def _run_parallel(files: list[str], settings: Settings, *, progress: bool) -> list[Analysis]:
    from pcaptls.pipeline import analyze_file

    jobs = settings.jobs or os.cpu_count() or 1
    overall = _OverallProgress(files) if progress else None
    try:
        if jobs <= 1 or len(files) == 1:
            out = []
            for f in files:
                out.append(analyze_file(f, settings, progress=progress))
                if overall:
                    overall.done(f)
            return out
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as ex:
            futures = {ex.submit(analyze_file, f, settings): i for i, f in enumerate(files)}
            results: list[Analysis | None] = [None] * len(files)
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if overall:
                    overall.done(files[i])
            return [r for r in results if r is not None]
    finally:
        if overall:
            overall.close()


class _OverallProgress:
    """Files and bytes done of all, on stderr (rich), for runs over many captures."""

    def __init__(self, files: list[str]) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        sizes = {f: (os.path.getsize(f) if f != "-" and os.path.exists(f) else 0) for f in files}
        self.sizes = sizes
        self.count = 0
        self.progress = Progress("[progress.description]{task.description}", BarColumn(),
                                 DownloadColumn(), TimeRemainingColumn(), transient=True)
        self.task = self.progress.add_task(f"0/{len(files)} captures", total=sum(sizes.values()) or 1)
        self.total = len(files)
        self.progress.start()

    def done(self, f: str) -> None:
        self.count += 1
        self.progress.update(self.task, advance=self.sizes.get(f, 0),
                             description=f"{self.count}/{self.total} captures")

    def close(self) -> None:
        self.progress.stop()


def merge(results: Sequence[Analysis]) -> Analysis:
    """One Analysis of several files: a ``file`` column, connection ids kept unique."""
    tables = empty_tables()
    for t in tables.values():
        t.extra = (("file", "str"),)
    out = Analysis(files=[], tables=tables)
    offset = 0
    for r in results:
        out.files.extend(r.files)
        name = r.files[0] if r.files else ""
        top = 0
        for tname, table in r.tables.items():
            for row in table.rows:
                new = dict(row)
                new["file"] = row.get("file", name)
                if new.get("conn_id") is not None and tname != "fleet":
                    new["conn_id"] = new["conn_id"] + offset
                    top = max(top, row["conn_id"])
                out.tables[tname].rows.append(new)
        offset += top
        out.notes.extend(f"{name}: {n}" for n in r.notes)
        out.certificates_der.update(r.certificates_der)
        out.chains.extend(r.chains)
        out.stats["frames"] = out.stats.get("frames", 0) + r.stats.get("frames", 0)
        for reason, n in (r.stats.get("skipped") or {}).items():
            out.stats.setdefault("skipped", {})[reason] = out.stats.get("skipped", {}).get(reason, 0) + n
        for k, pick in (("start_ns", min), ("end_ns", max)):
            if r.stats.get(k) is not None:
                out.stats[k] = pick(v for v in (out.stats.get(k), r.stats[k]) if v is not None)
    from pcaptls.diagnose.finding import worst_first
    from pcaptls.diagnose.fleet import fleet_rows

    out.tables["fleet"].rows = fleet_rows(out.tables["connections"].rows, out.tables["certificates"].rows)
    out.tables["findings"].rows = worst_first(out.tables["findings"].rows)
    return out


def _attach_notebook_helpers() -> None:
    """``_repr_html_``, ``.plot``, ``failed()``, ``connection()``, ``server()`` for notebooks."""
    from pcaptls.report.notebook import attach

    attach(Analysis)


_attach_notebook_helpers()
