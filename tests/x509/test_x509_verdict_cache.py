"""The chain-verdict cache gives what verifying anew gives, at every time around every
validity boundary of the chains of the test PKI and of real captures (certificates read
by tshark). The reference is ``verify_chain(..., cache=False)``, itself checked against
`openssl verify` and Zeek by the other tests of this directory.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import tshark
from pki_helper import EXTERNAL, PKI, sent_chain

from pcaptls.x509 import verify
from pcaptls.x509.facts import load_certificate
from pcaptls.x509.trust import TrustStore
from pcaptls.x509.verify import verify_chain

PKI_CASES = sorted(p.name.removesuffix(".pem") for p in PKI.glob("*.pem")
                   if not p.name.endswith((".chain.pem", ".key.pem")) and "root" not in p.name)
CAPTURES = ["zeek/missing-intermediate.pcap", "zeek/tls-expired-cert.pcap", "zeek/tls1.2.pcap",
            "zeek/ecdsa-cert.pcap", "zeek/client-certificate.pcap", "zeek/cert-no-cn.pcap"]
MICRO = timedelta(microseconds=1)
SECOND = timedelta(seconds=1)


def _times(chain: list[bytes], trust: TrustStore) -> list[datetime]:
    """Every validity boundary of the chain's certificates and of the trusted ones named as
    their issuers, each a microsecond before and after, a day before and after, the same a
    second later, and the midpoints between boundaries."""
    certs = [c for c in (load_certificate(d) for d in chain) if c is not None]
    certs += [a for c in certs for a in trust.by_subject(c.issuer)]
    bounds = sorted({b for c in certs for b in (c.not_valid_before_utc, c.not_valid_after_utc)})
    out = {datetime(2026, 12, 1, tzinfo=UTC)}
    for b in bounds:
        out |= {b - timedelta(days=1), b - MICRO, b, b + MICRO, b + timedelta(days=1)}
        out |= {b + SECOND - MICRO, b + SECOND, b + SECOND + MICRO}  # the library's whole seconds
    out |= {a + (b - a) / 2 for a, b in itertools.pairwise(bounds)}
    return sorted(t for t in out if datetime(1970, 1, 2, tzinfo=UTC) < t
                  < datetime(9000, 1, 1, tzinfo=UTC))


def _compare(chain: list[bytes], role: str, identity: str | None, trust: TrustStore) -> int:
    """Cached and uncached verdicts at every time of :func:`_times`, in time order and then
    backwards (so hits come from both sides); the number of cache hits."""
    verify._VERDICTS.clear()
    times = _times(chain, trust)
    hits = 0
    for at in [*times, *reversed(times)]:
        before = dict(verify._VERDICTS)
        cached = verify_chain(chain, role=role, identity=identity, at=at,  # type: ignore[arg-type]
                              trust=trust)
        fresh = verify_chain(chain, role=role, identity=identity, at=at,  # type: ignore[arg-type]
                             trust=trust, cache=False)
        assert cached == fresh, (at, cached, fresh)
        hits += before == verify._VERDICTS and bool(before)
    return hits


@pytest.mark.parametrize("name", PKI_CASES)
def test_pki_chains_cached_as_verified(name: str, pki_trust: TrustStore) -> None:
    chain = sent_chain(name)
    role = "client" if name.startswith("client") else "server"
    for identity in ((None,) if role == "client" else (None, "sip.example.test", "10.61.0.2")):
        _compare(chain, role, identity, pki_trust)


@pytest.mark.parametrize("cap", CAPTURES)
def test_captured_chains_cached_as_verified(cap: str) -> None:
    rows = tshark.fields(str(EXTERNAL / cap), "tls.handshake.certificate",
                         "tls.handshake.extensions_server_name",
                         extra=("-Y", "tls.handshake.certificate or tls.handshake.type == 1"))
    chains = [[bytes.fromhex(h) for h in r[0].split(",")] for r in rows if r[0]]
    names = [r[1] for r in rows if r[1]]
    assert chains
    for chain in chains:
        for role in ("server", "client"):
            _compare(chain, role, names[0] if names and role == "server" else None,
                     TrustStore.default())


def test_the_cache_is_hit_inside_a_window(pki_trust: TrustStore) -> None:
    """Not a vacuous comparison: between two boundaries the second call is a hit."""
    assert _compare(sent_chain("leaf"), "server", "sip.example.test", pki_trust) > 5


@pytest.mark.parametrize("name", ["leaf", "expired", "not-yet-valid", "no-intermediate", "wildcard"])
def test_remembered_verdicts_are_verify_chains(name: str, pki_trust: TrustStore) -> None:
    """:func:`remembered_verdict` gives what verifying anew gives (but ``at``, which is the
    time a remembered verdict was first judged), at every time of :func:`_times`, in time
    order and back; a remembered one comes back as the same object at the same time."""
    from dataclasses import replace

    from pcaptls.x509.verify import remembered_verdict

    chain = sent_chain(name)
    verify._VERDICTS.clear()
    times = _times(chain, pki_trust)
    remembered_count = 0
    for at in [*times, *reversed(times)]:
        verdict, remembered = remembered_verdict(chain, role="server", identity="sip.example.test",
                                                 at=at, trust=pki_trust)
        fresh = verify_chain(chain, role="server", identity="sip.example.test", at=at,
                             trust=pki_trust, cache=False)
        assert replace(verdict, at=at) == fresh, at
        again, _ = remembered_verdict(chain, role="server", identity="sip.example.test", at=at,
                                      trust=pki_trust)
        assert (again is verdict) == remembered, at
        remembered_count += remembered
    assert remembered_count > len(times) / 2


def test_a_remembered_verdict_is_one_object_until_a_boundary(pki_trust: TrustStore) -> None:
    from pcaptls.x509.verify import remembered_verdict

    chain = sent_chain("leaf")
    leaf = load_certificate(chain[0])
    assert leaf is not None
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    verify._VERDICTS.clear()
    a, kept_a = remembered_verdict(chain, role="server", identity="sip.example.test",
                                   at=start + timedelta(days=1), trust=pki_trust)
    b, kept_b = remembered_verdict(chain, role="server", identity="sip.example.test",
                                   at=start + timedelta(days=2), trust=pki_trust)
    assert kept_a and kept_b and a is b
    # another identity, another hostname setting: another verdict
    c, _ = remembered_verdict(chain, role="server", identity="other.example.test",
                              at=start + timedelta(days=2), trust=pki_trust)
    d, _ = remembered_verdict(chain, role="server", identity="sip.example.test",
                              at=start + timedelta(days=2), trust=pki_trust, check_hostname=False)
    assert c is not a and d is not a
    # after notAfter: expired verdicts name the time and are never remembered
    e, kept_e = remembered_verdict(chain, role="server", identity="sip.example.test",
                                   at=end + timedelta(days=3), trust=pki_trust)
    f, kept_f = remembered_verdict(chain, role="server", identity="sip.example.test",
                                   at=end + timedelta(days=3), trust=pki_trust)
    assert e.verdict == "expired" and not kept_e and not kept_f and e is not f


def test_parsed_facts_are_the_facts_without_the_days() -> None:
    """The DER-keyed memory in front of the facts cache gives the facts a fresh parse gives."""
    from pcaptls.x509 import facts

    for name in ("leaf", "expired", "ecdsa", "cn-only", "sha1"):
        for der in sent_chain(name):
            facts._CACHE.clear()
            fresh = facts.parsed_facts(der)
            again = facts.parsed_facts(bytes(bytearray(der)))  # equal bytes, another object
            assert again is fresh
            dated = facts.certificate_facts(der, at_ns=1_800_000_000 * 10**9)
            assert facts.dataclasses.replace(dated, days_left_at_capture=None,
                                             days_left_today=None) == fresh
