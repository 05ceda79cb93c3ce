"""Writing a table in the format the user asked for: terminal, CSV, JSON, Markdown."""

from __future__ import annotations

from typing import IO

from pcaptls.report.table import Table

FORMATS = ("table", "csv", "json", "markdown")

#: Columns shown on a terminal, where the full table is too wide to read.
TERMINAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "connections": (
        "conn_id", "first_frame", "client", "client_port", "server", "server_port", "outcome",
        "sni", "version", "cipher", "alerts", "worst",
    ),
    "messages": ("conn_id", "frame", "sender", "record_version", "type", "detail"),
    "certificates": (
        "conn_id", "sender", "position", "subject", "issuer", "not_after",
        "days_left_at_capture", "key_type", "key_bits", "verdict",
    ),
    "findings": ("conn_id", "severity", "code", "frame", "summary"),
    "sip": ("conn_id", "frame", "direction", "method_or_status", "call_id", "via_transport",
            "request_uri", "has_sdes_keys"),
    "fleet": ("name", "server", "server_port", "connections", "versions", "leaf_subject",
              "leaf_not_after", "chain_length", "verdicts", "changed_at", "findings"),
}

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def render(table: Table, fmt: str, out: IO[str], *, title: str | None = None) -> None:
    if fmt == "csv":
        out.write(table.to_csv())
    elif fmt == "json":
        table.write_json(out)
    elif fmt == "html":
        out.write(html_table(table, title=title))
    elif fmt == "markdown":
        if title:
            out.write(f"## {title}\n\n")
        out.write(table.to_markdown())
    else:
        print_rich(table, out, title=title)


def html_table(table: Table, *, title: str | None = None) -> str:
    """A bare HTML table (the full HTML report is ``pcaptls report --format html``)."""
    from html import escape

    head = "".join(f"<th>{escape(c)}</th>" for c in table.names())
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(v)}</td>" for v in cells) + "</tr>\n" for cells in table.text_rows()
    )
    caption = f"<caption>{escape(title)}</caption>" if title else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>\n"


def print_rich(table: Table, out: IO[str], *, title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console(file=out, soft_wrap=False)
    names = table.names()
    keep = [c for c in (("file",) if "file" in names else ()) + TERMINAL_COLUMNS.get(table.name, tuple(names)) if c in names]
    idx = [names.index(c) for c in keep]
    rt = RichTable(title=title, show_lines=False, header_style="bold")
    for c in keep:
        rt.add_column(c, overflow="fold")
    sev_col = names.index("severity") if "severity" in names else None
    worst_col = names.index("worst") if "worst" in names else None
    for cells in table.text_rows():
        style = None
        if sev_col is not None:
            style = SEVERITY_STYLE.get(cells[sev_col])
        elif worst_col is not None:
            style = SEVERITY_STYLE.get(cells[worst_col])
        rt.add_row(*(cells[i].replace("|", ", ") for i in idx), style=style)
    console.print(rt)
