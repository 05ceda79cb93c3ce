"""``Table.to_json`` and ``Table.write_json`` build the JSON a row at a time; the text must be
exactly what the standard library's encoder makes of the whole table at once
(``json.dumps(rows, indent=2, ensure_ascii=False)``), on every table of real analyses."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pcaptls.analysis import Settings
from pcaptls.pipeline import analyze_file
from pcaptls.report.table import Table

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CAPTURES = ["captures/kamailio-mtls-tls12-ok.pcap", "captures/sip-tls-rtp-avp.pcap",
            "external/zeek/tls-expired-cert.pcap"]


def _reference(table: Table) -> str:
    return json.dumps(table.json_rows(), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("capture", CAPTURES)
def test_json_text_is_the_encoders(capture: str) -> None:
    keylog = FIXTURES / "keylogs" / (Path(capture).stem + ".keys")
    a = analyze_file(str(FIXTURES / capture),
                     Settings(keylogs=(str(keylog),) if keylog.exists() else ()))
    assert any(t.rows for t in a.tables.values())
    for table in a.tables.values():
        out = io.StringIO()
        table.write_json(out)
        assert table.to_json() == _reference(table), table.name
        assert out.getvalue() == _reference(table), table.name


def test_empty_and_non_ascii_tables() -> None:
    empty = Table("findings")
    out = io.StringIO()
    empty.write_json(out)
    assert empty.to_json() == out.getvalue() == _reference(empty) == "[]\n"
    t = Table("fleet", [{"name": "sip.exämple.test", "versions": ["TLS 1.3"],
                         "leaf_sha256": [], "verdicts": ["“ok”\nline"]}])
    out = io.StringIO()
    t.write_json(out)
    assert t.to_json() == out.getvalue() == _reference(t)
