"""Each plot renders to a titled, labelled PNG, and draws what the captures hold.

Expected values come from outside pcaptls: the outcomes from the fixtures' MANIFEST
(what the lab run saw), the certificate validity from ``openssl x509``.
"""

from __future__ import annotations

import csv
import struct
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from matplotlib.dates import num2date

from pcaptls.analysis import Settings, analyze_many
from pcaptls.report import plots
from pcaptls.report.html import plot_png

CAPTURES = Path("fixtures/captures")
FILES = ("pki-leaf.pcap", "pki-expired.pcap", "openssl-tls12-resumption.pcap", "tcp-refused.pcap",
         "kamailio-plain-sip-to-tls-port.pcap")


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, str]]:
    with open(CAPTURES / "MANIFEST.tsv", encoding="utf-8") as f:
        return {r["file"]: r for r in csv.DictReader(f, delimiter="\t")}


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return analyze_many([str(CAPTURES / f) for f in FILES],
                        Settings(ca_bundle="fixtures/pki/root-ca.pem", jobs=1))


@pytest.mark.parametrize("name", sorted(plots.ALL))
def test_each_plot_is_a_titled_labelled_png(result, name: str) -> None:  # type: ignore[no-untyped-def]
    png = plot_png(result, name)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert width > 100 and height > 100
    import matplotlib.pyplot as plt

    ax = getattr(plots.Plots(result), name)()
    try:
        assert ax.get_title()
        assert ax.get_xlabel() and ax.get_ylabel()
        assert ax.has_data()
    finally:
        plt.close(ax.figure)


def test_outcome_bars_count_what_the_lab_saw(result, manifest) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    expected: Counter[str] = Counter()
    for f in FILES:
        for outcome in manifest[f]["expected_outcome"].split(";"):
            expected[outcome.split(" ")[0]] += 1
    ax = plots.outcomes(result)
    got = {t.get_text(): int(p.get_height()) for t, p in zip(ax.get_xticklabels(), ax.patches, strict=True)}
    plt.close(ax.figure)
    assert got == dict(expected)


def _openssl_dates(pem: str) -> tuple[datetime, datetime]:
    out = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-startdate", "-enddate"],
                         capture_output=True, text=True, check=True).stdout
    vals = dict(line.split("=", 1) for line in out.splitlines())
    fmt = "%b %d %H:%M:%S %Y GMT"

    def parse(v: str) -> datetime:
        return datetime.strptime(" ".join(v.split()), fmt).replace(tzinfo=UTC)

    return parse(vals["notBefore"]), parse(vals["notAfter"])


def test_cert_expiry_bar_spans_openssls_validity() -> None:
    import matplotlib.pyplot as plt

    r = analyze_many([str(CAPTURES / "pki-leaf.pcap")], Settings(ca_bundle="fixtures/pki/root-ca.pem"))
    ax = plots.cert_expiry(r)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    leaf = next(i for i, t in enumerate(labels) if t.startswith("CN=sip.example.test"))
    bar = next(p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - leaf) < 1e-6)
    start, end = num2date(bar.get_x()), num2date(bar.get_x() + bar.get_width())
    plt.close(ax.figure)
    nb, na = _openssl_dates("fixtures/pki/leaf.pem")
    assert abs((start - nb).total_seconds()) < 1
    assert abs((end - na).total_seconds()) < 1


def test_timeline_has_one_bar_per_tcp_connection_tshark_sees() -> None:
    import matplotlib.pyplot as plt

    path = CAPTURES / "openssl-tls12-resumption.pcap"
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "tcp.flags.syn==1 && tcp.flags.ack==0",
                          "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True, check=True)
    streams = set(out.stdout.split())
    ax = plots.timeline(analyze_many([str(path)], Settings()))
    assert len(ax.patches) == len(streams) == 2
    plt.close(ax.figure)
