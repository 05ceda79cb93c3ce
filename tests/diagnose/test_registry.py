"""The findings vocabulary is a contract: DESIGN.md's codes exist, with its severities."""

import re
from pathlib import Path

from pcaptls.diagnose.registry import FINDINGS
from pcaptls.report.findings_doc import findings_reference

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT.parent / "shared" / "DESIGN.md"


def design_codes() -> dict[str, str]:
    """code -> severity from DESIGN.md's findings table (`A` / `B` rows share one)."""
    out = {}
    for line in DESIGN.read_text().splitlines():
        m = re.match(r"\| (`[A-Z_]+`(?: / `[A-Z_]+`)*) \| (error|warning|info) \|", line)
        if m:
            for code in re.findall(r"`([A-Z_]+)`", m.group(1)):
                out[code] = m.group(2)
    return out


def test_every_design_code_is_registered_with_its_severity() -> None:
    codes = design_codes()
    assert len(codes) > 40
    for code, severity in codes.items():
        assert code in FINDINGS, code
        assert FINDINGS[code].severity.value == severity, code


def test_every_finding_has_words_for_the_ticket() -> None:
    for k in FINDINGS.values():
        assert k.title and k.explanation and k.remedy, k.code


def test_reference_page_is_up_to_date() -> None:
    assert (ROOT / "docs" / "findings.md").read_text() == findings_reference()
