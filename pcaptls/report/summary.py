"""The main command's output: a short summary, then the findings worst first."""

from __future__ import annotations

from collections import Counter
from typing import IO, TYPE_CHECKING, Any

from pcaptls.report.render import print_rich, render
from pcaptls.report.table import iso

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis


def summary_facts(result: Analysis) -> dict[str, Any]:
    """The numbers every summary shows, in one place."""
    conns = result.tables["connections"].rows
    findings = result.tables["findings"].rows
    return {
        "files": result.files,
        "frames": result.stats.get("frames", 0),
        "start": iso(result.stats.get("start_ns")),
        "end": iso(result.stats.get("end_ns")),
        "connections": len(conns),
        "outcomes": Counter(r["outcome"] for r in conns).most_common(),
        "versions": Counter(r["version"] for r in conns if r.get("version")).most_common(),
        "ciphers": Counter(r["cipher"] for r in conns if r.get("cipher")).most_common(),
        "servers": Counter(
            f"{_addr(r['server'])}:{r['server_port']}" + (f" ({r['sni']})" if r.get("sni") else "")
            for r in conns
        ).most_common(),
        "severities": Counter(r["severity"] for r in findings),
        "notes": result.notes,
        "keylog": result.stats.get("keylog"),
        "skipped": result.stats.get("skipped") or {},
    }


def skipped_text(skipped: dict[str, int]) -> str:
    """Frames the decoder passed over, by reason (non-IP, fragments, …)."""
    return ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items(), key=lambda x: -x[1]))


def _addr(a: str) -> str:
    return f"[{a}]" if ":" in a else a


def verdict_paragraph(result: Analysis) -> str:
    """One paragraph: what failed and why, worst first, in words for a ticket."""
    f = summary_facts(result)
    findings = result.tables["findings"].rows
    errors = [r for r in findings if r["severity"] == "error"]
    warnings = [r for r in findings if r["severity"] == "warning"]
    n = f["connections"]
    if n == 0:
        return "No TLS connection was found in the capture."
    outcomes = ", ".join(f"{c} {o}" for o, c in f["outcomes"])
    text = f"{n} connection(s) seen ({outcomes})."
    if errors:
        codes = Counter(r["code"] for r in errors).most_common()
        text += " Errors: " + ", ".join(f"{c} × {code}" for code, c in codes) + "."
        text += f" First: {errors[0]['summary']}"
    elif warnings:
        codes = Counter(r["code"] for r in warnings).most_common()
        text += " No handshake error; warnings: " + ", ".join(f"{c} × {code}" for code, c in codes) + "."
    else:
        text += " No error and no warning."
    return text


def write_summary(result: Analysis, fmt: str, out: IO[str]) -> None:
    if fmt in ("csv", "json"):
        render(result.tables["findings"], fmt, out)
        return
    if fmt == "html":
        from pcaptls.report.html import html_report

        out.write(html_report(result))
        return
    if fmt == "markdown":
        from pcaptls.report.markdown import markdown_summary

        out.write(markdown_summary(result))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(file=out)
    f = summary_facts(result)
    console.print(f"[bold]pcaptls[/bold] — {', '.join(f['files'])}")
    console.print(f"{f['frames']} frames, {f['start'] or '?'} → {f['end'] or '?'}")
    if f["skipped"]:
        console.print("not TCP/UDP or not decodable: " + skipped_text(f["skipped"]), highlight=False)
    for note in f["notes"]:
        console.print(f"[yellow]note:[/yellow] {note}")
    if f["keylog"]:
        console.print(f"key log: {f['keylog']}")
    console.print(f"connections: {f['connections']} — " + ", ".join(f"{o} {c}" for o, c in f["outcomes"]))
    if f["versions"]:
        console.print("versions: " + ", ".join(f"{v} ({c})" for v, c in f["versions"]))
    if f["ciphers"]:
        console.print("suites: " + ", ".join(f"{v} ({c})" for v, c in f["ciphers"][:6]))
    if f["servers"]:
        console.print("servers: " + ", ".join(f"{v} ({c})" for v, c in f["servers"][:8]))
    console.print()
    console.print(verdict_paragraph(result))
    console.print()
    print_rich(result.tables["findings"], out, title="Findings (worst first)")
    seen: set[str] = set()
    todo = []
    for r in result.tables["findings"].rows:
        if r["severity"] != "info" and r["code"] not in seen:
            seen.add(r["code"])
            todo.append(r)
    if todo:
        console.print("\n[bold]What to do[/bold]")
        for r in todo:
            console.print(f"• [bold]{r['code']}[/bold] (frame {r['frame']}): {escape(r['remedy'])}",
                          highlight=False)
