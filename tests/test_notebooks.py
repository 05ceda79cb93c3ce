"""The bundled notebooks run top to bottom, are committed clean, and the helpers they
use pick what the lab captures hold (MANIFEST outcomes, tshark's frames)."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import matplotlib
import nbformat
import pytest
from nbclient import NotebookClient

matplotlib.use("Agg")

from pcaptls.analysis import Settings, analyze_many
from pcaptls.errors import InputError
from pcaptls.report import notebook as nb

NOTEBOOKS = sorted(Path("notebooks").glob("*.ipynb"))
CAPTURES = Path("fixtures/captures")


def test_there_are_the_two_notebooks() -> None:
    assert {p.name for p in NOTEBOOKS} >= {"triage-failing-capture.ipynb", "certificate-audit.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_top_to_bottom(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    html = [o for c in book.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    assert html, "the analysis shows itself as HTML"


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    files = ["pki-leaf.pcap", "pki-expired.pcap", "tcp-refused.pcap", "pki-wildcard.pcap"]
    return analyze_many([str(CAPTURES / f) for f in files],
                        Settings(ca_bundle="fixtures/pki/root-ca.pem", jobs=1))


def test_failed_is_what_the_lab_saw_fail(result) -> None:  # type: ignore[no-untyped-def]
    with open(CAPTURES / "MANIFEST.tsv", encoding="utf-8") as f:
        manifest = {r["file"]: r["expected_outcome"] for r in csv.DictReader(f, delimiter="\t")}
    bad = {Path(f).name for f in nb.failed(result)["file"]}
    expected = {Path(f).name for f in result.files if not manifest[Path(f).name].startswith("ok")}
    assert bad == expected == {"pki-expired.pcap", "tcp-refused.pcap"}


def test_connection_holds_tsharks_messages(result) -> None:  # type: ignore[no-untyped-def]
    conns = result.connections
    conn_id = int(conns[conns["file"].str.endswith("pki-expired.pcap")]["conn_id"].iloc[0])
    view = nb.connection(result, conn_id)
    out = subprocess.run(["tshark", "-r", str(CAPTURES / "pki-expired.pcap"), "-Y",
                          "tls.handshake.type or tls.alert_message", "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert set(view.messages["frame"]) >= {int(x) for x in out}
    assert set(view.findings["conn_id"]) == {conn_id}
    assert len(view.certificates) and set(view.certificates["conn_id"]) == {conn_id}
    assert "<h3>Connection" in view._repr_html_()
    with pytest.raises(InputError):
        nb.connection(result, 999)


def test_server_by_address_port_or_name(result) -> None:  # type: ignore[no-untyped-def]
    n = len(result.connections)
    assert len(nb.server(result, "10.61.0.2")) == n
    assert len(nb.server(result, "10.61.0.2:5061")) == n
    assert len(nb.server(result, "10.61.0.2:5062")) == 0
    named = nb.server(result, "sip.example.test")
    assert set(named["sni"]) == {"sip.example.test"} and len(named) >= 3


def test_attach_binds_the_notebook_face() -> None:
    from pcaptls.analysis import Analysis

    nb.attach()
    a = analyze_many([str(CAPTURES / "pki-leaf.pcap")], Settings())
    assert a._repr_html_().startswith("<div><h3>pcaptls</h3>")  # type: ignore[attr-defined]
    assert a.plot.outcomes().get_title() == "Connection outcomes"  # type: ignore[attr-defined]
    assert isinstance(Analysis.__dict__["plot"], property)
