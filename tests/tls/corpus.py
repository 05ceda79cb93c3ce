"""Test-only: our parser's view of a corpus capture in the shape of expected/*.tsv rows.

The expected rows are tshark's (fixtures/external/make_expected.sh documents the
columns); this module only feeds the capture through :class:`TlsConnection` and
writes our events in the same columns so the two can be compared row by row.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from tls.tls_streams import Stream, tcp_streams

from pcaptls.tls.connection import TlsConnection
from pcaptls.tls.events import AlertEvent, EncryptedHandshakeEvent, HandshakeEvent, Ssl2Event
from pcaptls.tls.extensions import SelectedVersion
from pcaptls.tls.keys import KeyProvider
from pcaptls.tls.messages import Certificate, ClientHello, ServerHello
from pcaptls.tls.sslv2 import Ssl2ClientHello, Ssl2ClientMasterKey, Ssl2ServerHello

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT / "fixtures" / "external"
EXPECTED = EXTERNAL / "expected"
COLUMNS = ("frame", "record_version", "handshake_type", "handshake_version", "sni",
           "ciphersuites_offered", "ciphersuite_chosen", "supported_versions",
           "alert_level", "alert_description", "cert_count")

Row = tuple[str, ...]


def expected_rows(capture: str) -> dict[int, list[Row]]:
    """tshark's rows per tcp_stream; cert_subjects reduced to a count."""
    out: dict[int, list[Row]] = {}
    with (EXPECTED / f"{capture}.tsv").open(newline="") as fh:
        for rec in csv.DictReader(fh, delimiter="\t"):
            certs = rec["cert_subjects"]
            # tshark also prints the subjects of certificates inside a stapled OCSP
            # response (CertificateStatus); only Certificate messages are compared.
            htype = rec["handshake_type"]
            if htype == "11" or (htype == "4" and rec["record_version"] == "0x0002"):
                count = str(len(certs.split(" | "))) if certs else "0"
            else:
                count = ""
            row = (*tuple(rec[c] for c in COLUMNS[:-1]), count)
            out.setdefault(int(rec["tcp_stream"]), []).append(row)
    return out


def _h4(v: int) -> str:
    return f"0x{v:04x}"


def event_row(ev: object, decrypted: bool = False) -> Row | None:
    """One of our events as a tshark row (None for what tshark's table leaves out).

    ``decrypted``: include what a key log revealed (compare with *.keylog.tsv)."""
    blank = [""] * len(COLUMNS)
    if isinstance(ev, HandshakeEvent) and (decrypted or not ev.decrypted):
        m = ev.message
        row = blank.copy()
        row[0], row[1], row[2] = str(ev.frame), _h4(ev.record_version), str(int(m.msg_type))
        if isinstance(m, ClientHello):
            row[3] = _h4(m.legacy_version)
            row[4] = m.server_name or ""
            row[5] = ",".join(_h4(s) for s in m.cipher_suites)
            row[7] = ",".join(_h4(v) for v in m.supported_versions or ())
        elif isinstance(m, ServerHello):
            row[3] = _h4(m.legacy_version)
            row[6] = _h4(m.cipher_suite)
            sv = m.ext(0x002B)
            row[7] = _h4(sv.version) if isinstance(sv, SelectedVersion) else ""
        elif isinstance(m, Certificate):
            row[10] = str(len(m.certificate_list))
        return tuple(row)
    if isinstance(ev, EncryptedHandshakeEvent) and not ev.inferred:
        row = blank.copy()
        row[0], row[1], row[2] = str(ev.frame), _h4(ev.record_version), "encrypted"
        return tuple(row)
    if isinstance(ev, AlertEvent) and (decrypted or not ev.decrypted):
        row = blank.copy()
        row[0], row[1] = str(ev.frame), _h4(ev.record_version)
        if ev.encrypted and not ev.decrypted:
            row[9] = "encrypted"
        else:
            row[8], row[9] = str(ev.level), str(ev.description)
        return tuple(row)
    if isinstance(ev, Ssl2Event) and not ev.encrypted:
        m2 = ev.message
        row = blank.copy()
        row[0], row[1] = str(ev.frame), "0x0002"
        if isinstance(m2, Ssl2ClientHello | Ssl2ServerHello):
            row[2] = "1" if isinstance(m2, Ssl2ClientHello) else "4"
            row[3] = _h4(m2.version)
            row[5] = ",".join(f"0x{s:06x}" for s in m2.cipher_specs)
            if isinstance(m2, Ssl2ServerHello):
                row[10] = "1" if m2.certificate else "0"
        elif isinstance(m2, Ssl2ClientMasterKey):
            row[2], row[6] = "2", f"0x{m2.cipher_kind:06x}"
        else:
            return None
        return tuple(row)
    return None


def run_with_keys(capture: str, key_provider: KeyProvider) -> dict[int, TlsConnection]:
    """Like :func:`run_capture`, with a key provider (not cached)."""
    return {i: conn for i, (_st, conn) in _run(capture, key_provider).items()}


def run_capture(capture: str) -> dict[int, TlsConnection]:
    """Each TCP stream of the capture through a TlsConnection."""
    return {i: conn for i, (_st, conn) in run_streams(capture).items()}


@functools.cache
def run_streams(capture: str) -> dict[int, tuple[Stream, TlsConnection]]:
    """Each TCP stream of the capture (with its endpoints) and its TlsConnection."""
    return _run(capture, None)


def _run(capture: str, keys: KeyProvider | None) -> dict[int, tuple[Stream, TlsConnection]]:
    out: dict[int, tuple[Stream, TlsConnection]] = {}
    for st in tcp_streams(EXTERNAL / capture):
        conn = TlsConnection(keys)
        last_frame, last_time = 0, 0
        for kind, side, data, frame, t in st.chunks:
            if kind == "data":
                conn.feed(side, data, frame, t)
                last_frame, last_time = frame, t
            else:
                conn.gap(side, t, frame)
        for side in ("client", "server"):
            conn.eof(side, last_frame, last_time)  # type: ignore[arg-type]
        out[st.index] = (st, conn)
    return out


def our_rows(conn: TlsConnection, decrypted: bool = False) -> list[Row]:
    return [row for ev in conn.events if (row := event_row(ev, decrypted)) is not None]
