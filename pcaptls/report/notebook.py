"""What a notebook asks of an analysis: an HTML face and the drill-down helpers.

These are functions of an :class:`~pcaptls.analysis.Analysis` so the result class stays
a plain holder; it binds them as ``_repr_html_``, ``failed()``, ``connection()``,
``server()`` and ``plot``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pcaptls.report.summary import summary_facts, verdict_paragraph
from pcaptls.report.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from pcaptls.analysis import Analysis

FAILED_OUTCOMES = frozenset({"alert", "refused", "no_answer", "reset", "server_silent", "not_tls"})
FINDING_COLUMNS = ("conn_id", "severity", "code", "frame", "summary")


def table_html(table: Table, columns: Sequence[str] | None = None, *, limit: int | None = None) -> str:
    """A table as an escaped HTML ``<table>`` (cells as CSV writes them)."""
    names = table.names()
    keep = [names.index(c) for c in (columns or names) if c in names]
    head = "".join(f"<th>{html.escape(names[i])}</th>" for i in keep)
    body = []
    rows = table.text_rows()
    for cells in rows[:limit] if limit else rows:
        body.append("<tr>" + "".join(f"<td>{html.escape(cells[i])}</td>" for i in keep) + "</tr>")
    more = f"<p>… {len(rows) - limit} more row(s)</p>" if limit and len(rows) > limit else ""
    return (f'<table class="pcaptls"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{more}")


def summary_html(result: Analysis) -> str:
    """The summary facts as an HTML list, then the verdict paragraph."""
    f = summary_facts(result)
    items = [
        "Captures: " + ", ".join(f"<code>{html.escape(x)}</code>" for x in f["files"]),
        f"Frames: {f['frames']}; from {html.escape(f['start'] or '?')} to {html.escape(f['end'] or '?')}",
        f"Connections: {f['connections']} ("
        + html.escape(", ".join(f"{o}: {c}" for o, c in f["outcomes"])) + ")",
    ]
    if f["versions"]:
        items.append("Versions: " + html.escape(", ".join(f"{v} ({c})" for v, c in f["versions"])))
    if f["ciphers"]:
        items.append("Cipher suites: " + html.escape(", ".join(f"{v} ({c})" for v, c in f["ciphers"])))
    items += [f"Note: {html.escape(n)}" for n in f["notes"]]
    lis = "".join(f"<li>{i}</li>" for i in items)
    return f"<ul>{lis}</ul><p>{html.escape(verdict_paragraph(result))}</p>"


def analysis_html(result: Analysis) -> str:
    """``Analysis._repr_html_``: the summary and the findings table, worst first."""
    findings = result.tables["findings"]
    body = table_html(findings, FINDING_COLUMNS, limit=50) if findings.rows else "<p>No findings.</p>"
    return f"<div><h3>pcaptls</h3>{summary_html(result)}<h4>Findings</h4>{body}</div>"


def failed(result: Analysis) -> pd.DataFrame:
    """The connections that failed: a failing outcome or an error finding."""
    df = result.connections
    mask = df["outcome"].isin(sorted(FAILED_OUTCOMES)) | (df["worst"] == "error")
    return df[mask.fillna(False).astype(bool)].reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class ConnectionView:
    """One connection and everything seen on it, each as a DataFrame."""

    conn_id: int
    row: pd.Series
    messages: pd.DataFrame
    certificates: pd.DataFrame
    findings: pd.DataFrame
    sip: pd.DataFrame

    def _repr_html_(self) -> str:
        r = self.row
        head = (f"<h3>Connection {self.conn_id}: {html.escape(str(r['client']))}:{r['client_port']} → "
                f"{html.escape(str(r['server']))}:{r['server_port']} ({html.escape(str(r['outcome']))})</h3>")
        parts = [head]
        for name in ("findings", "messages", "certificates", "sip"):
            df: pd.DataFrame = getattr(self, name)
            if len(df):
                parts.append(f"<h4>{name}</h4>" + df.to_html(index=False))
        return "".join(parts)


def connection(result: Analysis, conn_id: int) -> ConnectionView:
    """Every message, certificate, finding and SIP message of one connection."""
    from pcaptls.errors import InputError

    conns = result.connections
    match = conns[conns["conn_id"] == conn_id]
    if match.empty:
        raise InputError(f"no connection {conn_id} (there are {len(conns)})")

    def of(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["conn_id"] == conn_id].reset_index(drop=True)

    return ConnectionView(conn_id, match.iloc[0], of(result.messages), of(result.certificates),
                          of(result.findings), of(result.sip))


def server(result: Analysis, address: str) -> pd.DataFrame:
    """Connections to one server: ``10.0.0.1``, ``10.0.0.1:5061``, ``[fd00::1]:5061`` or an SNI name."""
    df = result.connections
    host, port = _split(address)
    mask: Any = (df["server"] == host) | (df["sni"] == host)
    if port is not None:
        mask = mask & (df["server_port"] == port)
    out: pd.DataFrame = df[mask.fillna(False).astype(bool)].reset_index(drop=True)
    return out


def _split(address: str) -> tuple[str, int | None]:
    import ipaddress

    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return str(ipaddress.ip_address(host)), int(rest[1:]) if rest.startswith(":") else None
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        if port.isdigit():
            return host, int(port)
    try:
        return str(ipaddress.ip_address(address)), None
    except ValueError:
        return address, None


def attach(cls: type | None = None) -> None:
    """Bind the notebook face onto :class:`~pcaptls.analysis.Analysis` (idempotent).

    Class attributes only, so the slotted dataclass keeps its slots.
    """
    from pcaptls.report.plots import Plots

    if cls is None:
        from pcaptls.analysis import Analysis

        cls = Analysis
    hooks: dict[str, Any] = {
        "_repr_html_": analysis_html,
        "failed": failed,
        "connection": connection,
        "server": server,
        "plot": property(Plots),
    }
    for name, value in hooks.items():
        if name not in vars(cls):
            setattr(cls, name, value)
