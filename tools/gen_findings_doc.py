"""Write docs/findings.md from the findings registry."""

from pathlib import Path

from pcaptls.report.findings_doc import findings_reference

if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs" / "findings.md"
    out.write_text(findings_reference(), encoding="utf-8")
    print(f"wrote {out}")
