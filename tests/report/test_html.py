"""The HTML report is valid HTML5, embeds its plots, and cites tshark's frames."""

from __future__ import annotations

import base64
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import html5lib
import matplotlib
import pytest

matplotlib.use("Agg")

from pcaptls.analysis import Settings, analyze_many
from pcaptls.report.html import html_report

CAPTURE = Path("fixtures/captures/pki-no-intermediate.pcap")


@pytest.fixture(scope="module")
def page() -> str:
    return html_report(analyze_many([str(CAPTURE)], Settings(ca_bundle="fixtures/pki/root-ca.pem")))


def test_parses_as_strict_html5(page: str) -> None:
    parser = html5lib.HTMLParser(strict=True)
    doc = parser.parse(page)  # raises ParseError on any HTML5 parse error
    assert doc.find(".//{http://www.w3.org/1999/xhtml}title") is not None


def test_embeds_every_plot_as_png(page: str) -> None:
    class Images(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.srcs: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                self.srcs.append(dict(attrs)["src"] or "")

    p = Images()
    p.feed(page)
    assert len(p.srcs) == 4
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,")  # self-contained: nothing fetched
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)


def test_cites_the_frames_tshark_sees(page: str) -> None:
    def frames(flt: str) -> str:
        out = subprocess.run(["tshark", "-r", str(CAPTURE), "-Y", flt, "-T", "fields", "-e", "frame.number"],
                             capture_output=True, text=True, check=True).stdout.split()
        return out[0]

    alert = frames("tls.alert_message.desc == 48")  # the client's unknown_ca
    cert = frames("tls.handshake.type == 11")
    assert f"<b>Evidence:</b> frame {alert}" in page
    assert f"<b>Evidence:</b> frame {cert}" in page
    assert "client:fatal:unknown_ca" in page


def test_escapes_what_the_capture_says() -> None:
    from pcaptls.analysis import Analysis, empty_tables

    tables = empty_tables()
    tables["findings"].rows.append({
        "conn_id": 1, "code": "NOT_TLS_ON_TLS_PORT", "severity": "error", "frame": 4, "time": None,
        "summary": "first bytes <script>alert(1)</script>", "detail": "a & b", "remedy": "",
    })
    page = html_report(Analysis(files=["x<y>.pcap"], tables=tables))
    assert "<script>" not in page
    html5lib.HTMLParser(strict=True).parse(page)
