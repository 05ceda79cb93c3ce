"""The Markdown report that goes into a support ticket.

Self-contained: what was captured, the verdict in one paragraph, the findings with
their evidence frames and remedies, and the per-connection and certificate tables.
It never contains a secret: no key-log line, and SDES keys are redacted upstream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pcaptls.report.summary import skipped_text, summary_facts, verdict_paragraph
from pcaptls.report.table import md_cell

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis


def markdown_summary(result: Analysis) -> str:
    f = summary_facts(result)
    lines = [
        "# pcaptls summary",
        "",
        f"- Captures: {', '.join(f'`{x}`' for x in f['files'])}",
        f"- Frames: {f['frames']}; from {f['start'] or '?'} to {f['end'] or '?'}",
        f"- Connections: {f['connections']} ("
        + ", ".join(f"{o}: {c}" for o, c in f["outcomes"]) + ")",
    ]
    if f["versions"]:
        lines.append("- Versions: " + ", ".join(f"{v} ({c})" for v, c in f["versions"]))
    if f["ciphers"]:
        lines.append("- Cipher suites: " + ", ".join(f"`{v}` ({c})" for v, c in f["ciphers"]))
    if f["skipped"]:
        lines.append(f"- Frames not decoded to TCP/UDP: {md_inline(skipped_text(f['skipped']))}")
    if f["keylog"]:
        lines.append(f"- Key log: {f['keylog']}")
    for note in f["notes"]:
        lines.append(f"- Note: {md_inline(note)}")
    lines += ["", "## Verdict", "", md_inline(verdict_paragraph(result)), ""]
    lines += _findings_section(result)
    return "\n".join(lines) + "\n"


def _findings_section(result: Analysis) -> list[str]:
    rows = result.tables["findings"].rows
    lines = ["## Findings", ""]
    if not rows:
        return [*lines, "No findings.", ""]
    lines += ["| # | severity | code | connection | frame | summary |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        lines.append(
            f"| {i} | {r['severity']} | `{r['code']}` | {r['conn_id'] if r['conn_id'] is not None else '—'} "
            f"| {r['frame'] if r['frame'] is not None else '—'} | {md_cell(r['summary'])} |"
        )
    lines.append("")
    for i, r in enumerate(rows, 1):
        lines += [
            f"### {i}. `{r['code']}` ({r['severity']})"
            + (f" — connection {r['conn_id']}" if r["conn_id"] is not None else ""),
            "",
            md_inline(r["summary"]),
            "",
            f"**Evidence:** frame {r['frame']}" if r["frame"] is not None else "**Evidence:** capture-wide",
            "",
            f"**Why:** {md_inline(r['detail'])}",
            "",
            f"**What to do:** {md_inline(r['remedy'], keep_code=True)}",
            "",
        ]
    return lines


def markdown_report(result: Analysis) -> str:
    parts = [markdown_summary(result)]
    conns = result.tables["connections"]
    parts.append("## Connections\n\n" + conns.to_markdown([
        *(["file"] if "file" in conns.names() else []),
        "conn_id", "first_frame", "client", "client_port", "server", "server_port", "outcome",
        "sni", "version", "cipher", "alerts", "findings",
    ]) + "\n")
    certs = result.tables["certificates"]
    if certs.rows:
        parts.append("## Certificates\n\n" + certs.to_markdown([
            "conn_id", "sender", "position", "subject", "issuer", "not_after",
            "days_left_at_capture", "key_type", "key_bits", "signature_algorithm", "verdict",
        ]) + "\n")
    parts.append(
        "---\n\nMade by pcaptls. Frame numbers count from 1, as in Wireshark "
        "(`Go to packet`).\n"
    )
    return "\n".join(parts)


def md_inline(text: str, *, keep_code: bool = False) -> str:
    """One paragraph's text that cannot open an HTML block or start a new block."""
    t = text.replace("\r", " ").replace("\n", " ")
    return t if keep_code else t.replace("<", "&lt;")
