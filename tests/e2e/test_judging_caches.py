"""Judging a connection from remembered parts changes nothing: the chain templates (the
certificates table's cells and the judgement's words, per remembered chain verdict), the
leaf cells of the connections table, CA names, suite and version names give the tables
that judging everything anew gives, whatever the settings (judging time around the
certificates' validity boundaries, trust store, expected host, hostname check) and in
whatever order runs with different settings follow each other in one process.

The reference is the same pipeline with every one of those caches (and the chain-verdict
cache they rest on) emptied and kept empty.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pcaptls import extract
from pcaptls.analysis import Settings
from pcaptls.pipeline import Pipeline
from pcaptls.tls import messages
from pcaptls.x509 import verify

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
CAPTURES = [FIXTURES / "captures" / f"{name}.pcap" for name in (
    "pki-leaf", "pki-expired", "pki-not-yet-valid", "pki-no-intermediate", "pki-wrong-name",
    "pki-client-cert", "cert-rotation", "openssl-ocsp-stale", "two-servers-one-name",
    "kamailio-mtls-tls12-ok", "openssl-tls12-ecdhe-gcm",
)]
CACHES = [(verify, "_VERDICTS"), (messages, "_REPEATED"), (messages, "_HELLOS"),
          (extract, "_TEMPLATES"), (extract, "_LEAVES"), (extract, "_CA_NAMES"),
          (extract, "_CLIENT_VERSIONS"), (extract, "_SUITES"), (extract, "_SSL2_SUITES"),
          (extract, "_SUITE_PROPS"), (extract, "_LISTS"), (extract, "_AT_TEXT")]


class _NoMemory(dict[Any, Any]):
    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _tables(path: Path, settings: Settings, cached: bool) -> dict[str, Any]:
    saved = [getattr(m, n) for m, n in CACHES]
    if not cached:
        for m, n in CACHES:
            setattr(m, n, _NoMemory())
    try:
        a = Pipeline(str(path), settings).run()
    finally:
        for (m, n), cache in zip(CACHES, saved, strict=True):
            setattr(m, n, cache)
    out = {name: [{k: v for k, v in r.items() if k != "days_left_today"} for r in t.rows]
           for name, t in a.tables.items()}
    out["chains"] = a.chains
    out["certificates_der"] = a.certificates_der
    return out


def _boundaries() -> list[str]:
    """Judging times around the test PKI's validity boundaries (a microsecond and a second
    either side) and between them."""
    times = set()
    for pem in (FIXTURES / "pki").glob("*.pem"):
        from cryptography import x509

        for cert in x509.load_pem_x509_certificates(pem.read_bytes()):
            for b in (cert.not_valid_before_utc, cert.not_valid_after_utc):
                for d in (-timedelta(seconds=1), -timedelta(microseconds=1), timedelta(0),
                          timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=400)):
                    times.add(b + d)
    return [t.isoformat() for t in sorted(times)][::3]


def _settings() -> list[Settings]:
    trust = str(FIXTURES / "trust")
    out = [Settings(), Settings(ca_bundle=trust),
           Settings(ca_bundle=trust, expect_host="sip.example.test"),
           Settings(ca_bundle=trust, expect_host="other.example.test"),
           Settings(ca_bundle=trust, check_hostname=False)]
    out += [Settings(ca_bundle=trust, at=at) for at in _boundaries()]
    return out


def test_the_judging_times_cross_boundaries() -> None:
    assert len(_boundaries()) > 10


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_judged_from_remembered_parts_as_anew(path: Path) -> None:
    """Every setting in turn (the caches keep what earlier settings and captures left),
    then again in reverse order: each run's tables are the uncached run's."""
    settings = _settings()
    for s in [*settings, *reversed(settings)]:
        assert _tables(path, s, cached=True) == _tables(path, s, cached=False), s


def test_the_templates_are_used() -> None:
    """Not a vacuous comparison: judging the same chains again (a second run here, the next
    connections in a long capture) makes no new template."""
    extract._TEMPLATES.clear()
    verify._VERDICTS.clear()
    made = 0
    original = extract._template

    def counting(*args: Any) -> Any:
        nonlocal made
        made += 1
        return original(*args)

    extract._template = counting  # type: ignore[assignment]
    path = FIXTURES / "captures" / "cert-rotation.pcap"
    settings = Settings(ca_bundle=str(FIXTURES / "trust"))
    try:
        p1 = Pipeline(str(path), settings)
        first = p1.run()
        after_first = made
        p2 = Pipeline(str(path), settings)
        p2.trust = p1.trust  # the verdicts are remembered per trust store
        p2.run()
    finally:
        extract._template = original  # type: ignore[assignment]
    assert after_first == len(first.chains) >= 2
    assert made == after_first
