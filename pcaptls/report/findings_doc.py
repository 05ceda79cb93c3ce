"""The findings reference page (docs/findings.md), made from the registry."""

from __future__ import annotations

from pcaptls.diagnose.registry import FINDINGS


def findings_reference() -> str:
    lines = [
        "# Findings reference",
        "",
        "Generated from `pcaptls/diagnose/registry.py` by `tools/gen_findings_doc.py`; do not edit.",
        "Codes are stable: a code never changes meaning.",
        "",
        "| code | severity | title |",
        "|---|---|---|",
    ]
    for k in FINDINGS.values():
        lines.append(f"| [`{k.code}`](#{k.code.lower()}) | {k.severity.value} | {k.title} |")
    lines.append("")
    for k in FINDINGS.values():
        lines += [f"## {k.code}", "", f"**{k.severity.value}** — {k.title}.", "", k.explanation, ""]
        lines += [f"**What to do:** {k.remedy}", ""]
        if k.log_texts:
            lines += ["**What logs say:** " + "; ".join(f"`{t}`" for t in k.log_texts), ""]
        if k.alerts:
            lines += ["**Related alerts:** " + ", ".join(f"`{a}`" for a in k.alerts), ""]
        if k.rfc:
            lines += [f"**Reference:** {k.rfc}", ""]
    return "\n".join(lines)
