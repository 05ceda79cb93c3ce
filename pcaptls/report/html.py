"""``pcaptls report --format html``: one self-contained page for a ticket attachment.

Everything is inside the file: the CSS, and the plots as base64 PNG ``data:`` images,
so the page opens the same from a mail or a ticket with no network. Like the
Markdown report it holds no secret (no key-log line; SDES keys redacted upstream).
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from pcaptls.report import plots
from pcaptls.report.notebook import FINDING_COLUMNS, summary_html, table_html

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis

CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table.pcaptls { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }
table.pcaptls th, table.pcaptls td { border: 1px solid #bbb; padding: 0.2em 0.4em; text-align: left; }
table.pcaptls th { background: #eee; }
.error { color: #b00; } .warning { color: #a60; } .info { color: #555; }
img { max-width: 100%; }
"""
PLOT_SIZES = {"timeline": (9.0, 4.0), "outcomes": (6.0, 3.5), "versions": (9.0, 3.5),
              "cert_expiry": (9.0, 4.0)}
CONNECTION_COLUMNS = (
    "file", "conn_id", "first_frame", "client", "client_port", "server", "server_port", "outcome",
    "sni", "version", "cipher", "alerts", "findings",
)
CERTIFICATE_COLUMNS = (
    "conn_id", "sender", "position", "subject", "issuer", "not_after", "days_left_at_capture",
    "key_type", "key_bits", "signature_algorithm", "verdict",
)


def plot_png(result: Analysis, name: str) -> bytes:
    """One of :data:`pcaptls.report.plots.ALL` rendered to PNG, without pyplot's global state."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZES.get(name, (8.0, 4.0)), dpi=90)
    ax = fig.subplots()
    plots.ALL[name](result, ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def html_report(result: Analysis) -> str:
    """The whole report as one HTML5 document."""
    title = "pcaptls report — " + ", ".join(result.files)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        "<h1>pcaptls report</h1>",
        "<h2>Summary</h2>",
        summary_html(result),
        "<h2>Findings</h2>",
        _findings(result),
        "<h2>Plots</h2>",
    ]
    for name in plots.ALL:
        data = base64.b64encode(plot_png(result, name)).decode("ascii")
        parts.append(f'<figure><img alt="{name}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    parts += ["<h2>Connections</h2>", table_html(result.tables["connections"], CONNECTION_COLUMNS)]
    if result.tables["certificates"].rows:
        parts += ["<h2>Certificates</h2>", table_html(result.tables["certificates"], CERTIFICATE_COLUMNS)]
    parts += [
        "<hr><p>Made by pcaptls. Frame numbers count from 1, as in Wireshark (Go to packet).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _findings(result: Analysis) -> str:
    rows = result.tables["findings"].rows
    if not rows:
        return "<p>No findings.</p>"
    out = [table_html(result.tables["findings"], FINDING_COLUMNS)]
    for i, r in enumerate(rows, 1):
        where = f" — connection {r['conn_id']}" if r["conn_id"] is not None else ""
        frame = f"frame {r['frame']}" if r["frame"] is not None else "capture-wide"
        out.append(
            f'<h3 class="{html.escape(r["severity"])}">{i}. {html.escape(r["code"])} '
            f"({html.escape(r['severity'])}){html.escape(where)}</h3>"
            f"<p>{html.escape(r['summary'])}</p><p><b>Evidence:</b> {frame}</p>"
            f"<p><b>Why:</b> {html.escape(r['detail'] or '')}</p>"
            f"<p><b>What to do:</b> {html.escape(r['remedy'] or '')}</p>"
        )
    return "\n".join(out)
