"""The tables of DESIGN.md as plain rows, and their conversions.

Tables stay lists of dicts until someone asks for a DataFrame, so the command line
does not pay for importing pandas. Column kinds fix how each cell is written:
times are int nanoseconds inside, ISO 8601 UTC with microseconds in CSV/JSON and
``datetime64[ns, UTC]`` in DataFrames; list cells are joined with ``|`` in CSV.
Rows are never changed in place once made: equal list cells may be one shared list
(thousands of connections offer the same suites), so copy a row before editing it.
A table's rows are a list or, for the tables a capture makes, a
:class:`~pcaptls.report.spool.RowSpool` (on disk past a threshold): read them by
iterating, once or several times, never by holding them all.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Literal

from pcaptls.report.spool import RowSpool

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["int", "str", "bool", "list", "time", "float"]
#: a table's rows: a list, or a spool that keeps them on disk past a threshold
Rows = list[dict[str, Any]] | RowSpool

CONNECTIONS: tuple[tuple[str, Kind], ...] = (
    ("conn_id", "int"), ("first_frame", "int"), ("last_frame", "int"),
    ("start", "time"), ("end", "time"),
    ("client", "str"), ("client_port", "int"), ("server", "str"), ("server_port", "int"),
    ("outcome", "str"), ("sni", "str"), ("alpn_offered", "list"), ("alpn", "str"),
    ("client_versions", "list"), ("version", "str"), ("cipher", "str"), ("group", "str"),
    ("ciphers_offered", "list"), ("resumed", "bool"), ("hello_retry", "bool"),
    ("client_cert_requested", "bool"), ("client_cert_sent", "bool"),
    ("cert_count", "int"), ("leaf_subject", "str"), ("leaf_sans", "list"),
    ("leaf_issuer", "str"), ("leaf_not_after", "time"), ("leaf_sha256", "str"),
    ("alerts", "list"), ("ja3", "str"), ("ja4", "str"), ("ja3s", "str"),
    ("handshake_ms", "float"), ("findings", "list"), ("worst", "str"),
)
MESSAGES: tuple[tuple[str, Kind], ...] = (
    ("conn_id", "int"), ("frame", "int"), ("time", "time"), ("sender", "str"),
    ("record_version", "str"), ("type", "str"), ("detail", "str"),
)
CERTIFICATES: tuple[tuple[str, Kind], ...] = (
    ("conn_id", "int"), ("sender", "str"), ("frame", "int"), ("position", "int"),
    ("subject", "str"), ("issuer", "str"), ("sans", "list"), ("serial", "str"),
    ("not_before", "time"), ("not_after", "time"), ("days_left_at_capture", "float"),
    ("days_left_today", "float"), ("key_type", "str"), ("key_bits", "int"),
    ("signature_algorithm", "str"), ("eku", "list"), ("self_signed", "bool"), ("is_ca", "bool"),
    ("sha256", "str"), ("verdict", "str"), ("reason", "str"),
)
FINDINGS: tuple[tuple[str, Kind], ...] = (
    ("conn_id", "int"), ("code", "str"), ("severity", "str"), ("frame", "int"), ("time", "time"),
    ("summary", "str"), ("detail", "str"), ("remedy", "str"),
)
SIP: tuple[tuple[str, Kind], ...] = (
    ("conn_id", "int"), ("frame", "int"), ("time", "time"), ("direction", "str"),
    ("method_or_status", "str"), ("call_id", "str"), ("via_transport", "str"),
    ("request_uri", "str"), ("record_route", "list"), ("has_sdes_keys", "bool"),
)
FLEET: tuple[tuple[str, Kind], ...] = (
    ("name", "str"), ("server", "str"), ("server_port", "int"), ("connections", "int"),
    ("versions", "list"), ("ciphers", "list"), ("leaf_sha256", "list"), ("leaf_subject", "str"),
    ("leaf_not_after", "time"), ("chain_length", "int"), ("verdicts", "list"),
    ("changed_at", "time"), ("findings", "list"),
)

SCHEMAS: dict[str, tuple[tuple[str, Kind], ...]] = {
    "connections": CONNECTIONS, "messages": MESSAGES, "certificates": CERTIFICATES,
    "findings": FINDINGS, "sip": SIP, "fleet": FLEET,
}


def iso(ns: int | None) -> str | None:
    """ISO 8601 UTC with microseconds, as DESIGN.md fixes for CSV and JSON."""
    if ns is None:
        return None
    sec, rem = divmod(int(ns), 1_000_000_000)
    return datetime.fromtimestamp(sec, UTC).replace(microsecond=rem // 1000).isoformat(
        timespec="microseconds"
    ).replace("+00:00", "Z")


@dataclass(slots=True)
class Table:
    name: str
    rows: Rows = field(default_factory=list)
    extra: tuple[tuple[str, Kind], ...] = ()  # e.g. ("file", "str") for several captures

    @property
    def columns(self) -> tuple[tuple[str, Kind], ...]:
        return self.extra + SCHEMAS[self.name]

    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def json_rows(self) -> list[dict[str, Any]]:
        return list(self._json_rows())

    def _json_rows(self) -> Iterator[dict[str, Any]]:
        columns = self.columns
        for r in self.rows:
            row: dict[str, Any] = {}
            for c, k in columns:
                v = r.get(c)
                if k == "time":
                    v = iso(v)
                elif k == "list":
                    v = list(v) if v is not None else []
                elif k == "float" and v is not None:
                    v = round(float(v), 3)
                row[c] = v
            yield row

    def text_rows(self) -> list[list[str]]:
        """Every cell as text: what CSV, Markdown and the terminal show."""
        return list(self._text_rows())

    def _text_rows(self) -> Iterator[list[str]]:
        for r in self._json_rows():
            cells = []
            for c, k in self.columns:
                v = r[c]
                if v is None:
                    cells.append("")
                elif k == "list":
                    cells.append("|".join(str(x) for x in v))
                elif k == "bool":
                    cells.append("true" if v else "false")
                else:
                    cells.append(str(v))
            yield cells

    def to_csv(self) -> str:
        buf = io.StringIO()
        self.write_csv(buf)
        return buf.getvalue()

    def write_csv(self, out: IO[str]) -> None:
        """:meth:`to_csv`, written a row at a time (never the whole text in memory)."""
        w = csv.writer(out, lineterminator="\n")
        w.writerow(self.names())
        w.writerows(self._text_rows())

    def to_json(self) -> str:
        """``json.dumps(rows, indent=2)``, made a row at a time: a large table's converted
        rows and the encoder's pieces are never all in memory at once."""
        if not self.rows:
            return "[]\n"
        parts = [json.dumps(r, indent=2, ensure_ascii=False).replace("\n", "\n  ")
                 for r in self._json_rows()]
        return "[\n  " + ",\n  ".join(parts) + "\n]\n"

    def write_json(self, out: IO[str]) -> None:
        """:meth:`to_json`, written a row at a time (never the whole text in memory)."""
        if not self.rows:
            out.write("[]\n")
            return
        sep = "[\n  "
        for r in self._json_rows():
            out.write(sep)
            out.write(json.dumps(r, indent=2, ensure_ascii=False).replace("\n", "\n  "))
            sep = ",\n  "
        out.write("\n]\n")

    def to_markdown(self, columns: Sequence[str] | None = None) -> str:
        names = self.names()
        keep = [names.index(c) for c in (columns or names)]
        head = [names[i] for i in keep]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for cells in self._text_rows():
            lines.append("| " + " | ".join(md_cell(cells[i]) for i in keep) + " |")
        return "\n".join(lines) + "\n"

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        # One pass over the rows (a spooled table is read back from disk once).
        columns = self.columns
        cols: list[list[Any]] = [[] for _ in columns]
        for r in self.rows:
            for (c, _k), vals in zip(columns, cols, strict=True):
                vals.append(r.get(c))
        data: dict[str, Any] = {}
        for (c, k), vals in zip(columns, cols, strict=True):
            if k == "time":
                data[c] = pd.to_datetime(pd.Series(vals, dtype="Int64"), unit="ns", utc=True)
            elif k == "int":
                data[c] = pd.Series(vals, dtype="Int64")
            elif k == "bool":
                data[c] = pd.Series(vals, dtype="boolean")
            elif k == "float":
                data[c] = pd.Series(vals, dtype="Float64")
            elif k == "list":
                data[c] = pd.Series([list(v) if v is not None else [] for v in vals], dtype=object)
            else:
                data[c] = pd.Series(vals, dtype="string")
        return pd.DataFrame(data, columns=self.names())


def md_cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def concat(name: str, tables: Iterable[Table]) -> Table:
    ts = list(tables)
    out = Table(name, RowSpool(), extra=ts[0].extra if ts else ())
    for t in ts:
        out.rows.extend(t.rows)
    return out
