"""Chain verdicts: is the chain a peer sent valid, at the capture time, for the name asked?

The path-validation verdict comes from ``cryptography.x509.verification``.  Its errors
are strings, so *why* a chain fails is diagnosed here by walking the chain as sent
(issuer by name and signature among the sent certificates and the trust store), which
also tells what the library does not: which issuer is missing, in what order the
certificates came, which one expired.  Each chain is judged alone: only what it sent
plus the trust store, never intermediates seen on other connections.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, VerificationError

from pcaptls.x509.facts import CertificateFacts, certificate_facts, load_certificate
from pcaptls.x509.identity import IdentityMatch, match_identity
from pcaptls.x509.signature import issued_by, self_signed
from pcaptls.x509.trust import TrustStore

Role = Literal["server", "client"]
Verdict = Literal[
    "ok", "self_signed", "incomplete_chain", "untrusted", "bad_signature", "expired",
    "not_yet_valid", "weak_signature", "eku_mismatch", "hostname_mismatch", "weak_key",
    "policy_violation", "chain_order", "not_determined",
]

PRIORITY: tuple[Verdict, ...] = (
    "self_signed", "incomplete_chain", "untrusted", "bad_signature", "expired",
    "not_yet_valid", "weak_signature", "eku_mismatch", "hostname_mismatch", "weak_key",
    "policy_violation",
)
"""Which problem names the chain when several apply (the most fundamental first)."""

PATH_PROBLEMS = frozenset({"self_signed", "incomplete_chain", "untrusted", "bad_signature",
                           "expired", "not_yet_valid"})
"""Problems the library's path validation would have caught: dropped if it accepted."""

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_HASHES = ("md2", "md4", "md5", "sha1")
MAX_DEPTH = 10


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the chain: a verdict code, the culprit position, the words."""

    code: Verdict
    position: int | None
    text: str


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The judgement of one chain as sent (leaf first)."""

    verdict: Verdict
    reason: str
    position: int | None = None
    """Position (0 = leaf) of the certificate the verdict blames, as sent."""
    flags: tuple[str, ...] = ()
    """Every problem code that applies, the verdict first; then the informational ones:
    ``chain_order`` and ``cn_only`` (the leaf has no DNS/IP/URI subjectAltName)."""
    problems: tuple[Problem, ...] = ()
    missing_issuer: str | None = None
    """RFC 4514 name of the issuer neither sent nor trusted (incomplete_chain)."""
    aia_url: str | None = None
    """CA-issuers URL of the certificate whose issuer is missing."""
    not_before: datetime | None = None
    not_after: datetime | None = None
    """Validity of the blamed certificate (expired / not_yet_valid)."""
    identity: str | None = None
    identity_match: IdentityMatch | None = None
    path: tuple[int, ...] = ()
    """Positions of the sent certificates on the issuer path, leaf first."""
    anchor: str | None = None
    """Subject of the trust anchor the path reached (None if it reached none)."""
    at: datetime | None = None
    library_checked: bool = False
    """The library verifier ran on this chain (it cannot for a leaf without DNS/IP SANs)."""
    library_error: str | None = None
    """The library's message when it rejected the chain, or why it could not run."""

    def verdict_at(self, position: int) -> str:
        """The verdict for one certificate of the chain (the ``certificates`` table's column):
        the first problem blamed on that position, else ``ok``."""
        for problem in self.problems:
            if problem.position == position:
                return problem.code
        return "not_determined" if self.verdict == "not_determined" else "ok"


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


@dataclass(slots=True)
class _Walk:
    path: list[int]
    anchor: x509.Certificate | None
    problems: list[Problem]
    missing_issuer: str | None = None
    aia_url: str | None = None


def _walk(certs: list[x509.Certificate | None], facts: list[CertificateFacts],
          trust: TrustStore) -> _Walk:
    """Follow issuers from the leaf: trust store first (shortest path), then what was sent."""
    walk = _Walk([0], None, [])
    pos = 0
    for _ in range(MAX_DEPTH):
        current = certs[pos]
        assert current is not None
        if trust.contains(current):
            walk.anchor = current
            return walk
        if self_signed(current):
            subject = current.subject.rfc4514_string()
            if pos == 0:
                walk.problems.append(Problem("self_signed", 0,
                                             f"the leaf {subject} is signed by itself"))
            else:
                walk.problems.append(Problem(
                    "untrusted", pos, f"the chain ends in the root {subject} (position {pos}), "
                    f"which is not in the trust store {trust.source}"))
            return walk
        named = trust.by_subject(current.issuer)
        trusted = [c for c in named if issued_by(current, c)]
        if trusted:
            walk.anchor = trusted[0]
            return walk
        sent = [i for i, c in enumerate(certs)
                if c is not None and i not in walk.path and c.subject == current.issuer]
        signers = [i for i in sent if issued_by(current, certs[i])]  # type: ignore[arg-type]
        if signers:
            pos = signers[0]
            walk.path.append(pos)
            continue
        issuer = current.issuer.rfc4514_string()
        if sent or named:
            walk.problems.append(Problem(
                "bad_signature", pos, f"certificate {pos} names {issuer} as issuer, but its "
                "signature does not verify with that certificate's key"))
            return walk
        walk.missing_issuer = issuer
        walk.aia_url = facts[pos].ca_issuers_urls[0] if facts[pos].ca_issuers_urls else None
        where = f"; its CA-issuers URL is {walk.aia_url}" if walk.aia_url else ""
        walk.problems.append(Problem(
            "incomplete_chain", pos, f"the issuer of certificate {pos}, {issuer}, was not sent "
            f"and is not in the trust store{where}"))
        return walk
    walk.problems.append(Problem("policy_violation", pos, f"chain longer than {MAX_DEPTH}"))
    return walk


def _validity(walk: _Walk, certs: list[x509.Certificate | None], at: datetime) -> list[Problem]:
    out: list[Problem] = []
    for pos in walk.path:
        cert = certs[pos]
        assert cert is not None
        subject = cert.subject.rfc4514_string()
        if cert.not_valid_after_utc < at:
            out.append(Problem("expired", pos, f"certificate {pos} ({subject}) expired "
                               f"{cert.not_valid_after_utc.isoformat()}, "
                               f"{(at - cert.not_valid_after_utc).days} days before {at.date()}"))
        elif cert.not_valid_before_utc > at:
            out.append(Problem("not_yet_valid", pos, f"certificate {pos} ({subject}) is valid "
                               f"only from {cert.not_valid_before_utc.isoformat()}"))
    return out


def _weakness(walk: _Walk, facts: list[CertificateFacts]) -> list[Problem]:
    out: list[Problem] = []
    for pos in walk.path:
        f = facts[pos]
        bits = f.key_bits or 0
        if (f.key_type in ("RSA", "DSA") and bits < MIN_RSA_BITS) or (
                f.key_type == "EC" and bits < MIN_EC_BITS):
            out.append(Problem("weak_key", pos, f"certificate {pos} has a {f.key_type}-{bits} "
                               "key"))
        if not f.self_signed and (f.signature_hash in WEAK_HASHES or any(
                h in (f.signature_algorithm or "").lower() for h in WEAK_HASHES)):
            out.append(Problem("weak_signature", pos, f"certificate {pos} is signed with "
                               f"{f.signature_algorithm}"))
    return out


def _chain_order(walk: _Walk, certs: list[x509.Certificate | None]) -> Problem | None:
    anchor_der = _der(walk.anchor) if walk.anchor is not None else None
    extras = [i for i, c in enumerate(certs) if i not in walk.path
              and not (c is not None and anchor_der is not None and _der(c) == anchor_der)]
    ordered = walk.path == list(range(len(walk.path)))
    if ordered and not extras:
        return None
    parts = []
    if not ordered:
        parts.append(f"issuer order is {walk.path}, not as sent")
    if extras:
        parts.append(f"positions {extras} are not on the path")
    return Problem("chain_order", None, "; ".join(parts))


def _library(certs: list[x509.Certificate | None], facts: CertificateFacts, role: Role,
             identity_match: IdentityMatch | None, at: datetime,
             trust: TrustStore) -> tuple[bool, str | None]:
    """Run the library verifier; (checked, error). Name checks are ours, so the server
    verifier is given a name the leaf carries: the identity when a DNS/IP SAN matched it."""
    leaf = certs[0]
    assert leaf is not None
    others = [c for c in certs[1:] if c is not None]
    builder = PolicyBuilder().store(trust.store).time(at)
    try:
        if role == "client":
            builder.build_client_verifier().verify(leaf, others)
            return True, None
        subject: x509.DNSName | x509.IPAddress
        via = identity_match.via if identity_match is not None else None
        if identity_match is not None and via is not None and via.startswith(("DNS:", "IP:")):
            subject = (x509.IPAddress(ipaddress.ip_address(identity_match.identity)) if identity_match.kind == "ip"
                       else x509.DNSName(identity_match.identity))
        elif facts.san_dns:
            subject = x509.DNSName(facts.san_dns[0].replace("*", "x", 1))
        elif facts.san_ip:
            subject = x509.IPAddress(ipaddress.ip_address(facts.san_ip[0]))
        else:
            return False, "the leaf has no dNSName or iPAddress SAN to validate a server path for"
        builder.build_server_verifier(subject).verify(leaf, others)
        return True, None
    except VerificationError as exc:
        return True, str(exc)
    except Exception as exc:  # the library chokes on some real certificates
        return True, f"{type(exc).__name__}: {exc}"


def _cn_only(leaf: CertificateFacts) -> bool:
    """No DNS/IP/URI name in a SAN (known extensions): only the CN names the peer."""
    return leaf.extension_error is None and not (leaf.san_dns or leaf.san_ip or leaf.san_uri)


#: how many chain verdicts :func:`verify_chain` remembers
VERDICT_CACHE_SIZE = 4096
_VerdictKey = tuple[tuple[bytes, ...], str, "str | None", bool, TrustStore]
_VERDICTS: dict[_VerdictKey, tuple[datetime, datetime, ChainVerdict]] = {}


def verify_chain(chain: Sequence[bytes], *, role: Role, identity: str | None, at: datetime,
                 trust: TrustStore, check_hostname: bool = True,
                 cache: bool = True) -> ChainVerdict:
    """Judge a chain as sent (DER, leaf first) for ``role`` at time ``at`` (aware UTC).

    ``cache``: the same chain judged again for the same role, identity and trust store
    gets the earlier verdict (with this ``at``) while no certificate it may rest on (sent,
    or trusted and named as an issuer) starts or ends its validity between the two
    times: then every check comes out the same. Verdicts that name the time (expired
    certificates: "N days before") are not remembered."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if not chain:
        return ChainVerdict("not_determined", "no certificate was sent or visible", at=at,
                            identity=identity)
    if not cache:
        return _verify(chain, role, identity, at, trust, check_hostname)[0]
    verdict, hit, _ = _remembered(chain, role, identity, at, trust, check_hostname)
    return replace(verdict, at=at) if hit else verdict


def remembered_verdict(chain: Sequence[bytes], *, role: Role, identity: str | None,
                       at: datetime, trust: TrustStore, check_hostname: bool = True
                       ) -> tuple[ChainVerdict, bool]:
    """:func:`verify_chain` (with its cache) for a non-empty chain and an aware ``at``, but
    a remembered verdict comes back as it was remembered: its ``at`` is the time it was
    first judged (every other field is what judging at ``at`` gives). The flag says
    whether the verdict is remembered: then the same chain judged the same way while the
    verdict holds gets the same object, on which a caller may key work of its own."""
    verdict, hit, kept = _remembered(chain, role, identity, at, trust, check_hostname)
    return verdict, hit or kept


def _remembered(chain: Sequence[bytes], role: Role, identity: str | None, at: datetime,
                trust: TrustStore, check_hostname: bool) -> tuple[ChainVerdict, bool, bool]:
    """The verdict, from the cache or judged (and remembered when it may be); whether it
    came from the cache; whether the cache holds it now."""
    key: _VerdictKey = (tuple(bytes(d) for d in chain), role, identity, check_hostname, trust)
    hit = _VERDICTS.get(key)
    if hit is not None and hit[0] < at < hit[1]:
        return hit[2], True, True
    verdict, window = _verify(chain, role, identity, at, trust, check_hostname)
    if window is None or any(p.code == "expired" for p in verdict.problems):
        return verdict, False, False
    _VERDICTS[key] = (window[0], window[1], verdict)
    if len(_VERDICTS) > VERDICT_CACHE_SIZE:
        _VERDICTS.pop(next(iter(_VERDICTS)), None)  # the oldest
    kept = _VERDICTS.get(key)
    return verdict, False, kept is not None and kept[2] is verdict


_NEVER = datetime.min.replace(tzinfo=UTC)
_ALWAYS = datetime.max.replace(tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _time_window(certs: list[x509.Certificate | None], trust: TrustStore,
                 at: datetime) -> tuple[datetime, datetime] | None:
    """The open interval around ``at`` in which no certificate the verdict may rest on (sent
    and parsed, or trusted and named as the issuer of one of those) starts or stops being
    valid; None when ``at`` is such a moment itself."""
    used = [c for c in certs if c is not None]
    used += [a for c in used for a in trust.by_subject(c.issuer)]
    lo, hi = _NEVER, _ALWAYS
    try:
        for c in used:
            # The library compares whole seconds (a certificate is still valid during the
            # second of its notAfter), this module exact times: both moments count.
            start, end = c.not_valid_before_utc, c.not_valid_after_utc
            for b in (start, start + _SECOND, end, end + _SECOND):
                if b == at:
                    return None
                if b < at:
                    lo = max(lo, b)
                else:
                    hi = min(hi, b)
    except Exception:  # a date the library cannot give: do not remember this verdict
        return None
    return lo, hi


def _verify(chain: Sequence[bytes], role: Role, identity: str | None, at: datetime,
            trust: TrustStore, check_hostname: bool,
            ) -> tuple[ChainVerdict, tuple[datetime, datetime] | None]:
    """:func:`verify_chain` uncached; with the window in which the verdict holds as is."""
    at_ns = int(at.timestamp()) * 10**9
    facts = [certificate_facts(der, at_ns=at_ns) for der in chain]
    certs = [load_certificate(der) if f.parse_error is None else None
             for der, f in zip(chain, facts, strict=True)]
    if certs[0] is None:
        return ChainVerdict("not_determined", f"the leaf does not parse: {facts[0].parse_error}",
                            position=0, flags=("not_determined",), at=at,
                            identity=identity), None
    walk = _walk(certs, facts, trust)
    notes = [f"certificate {i} does not parse" for i, f in enumerate(facts)
             if f.parse_error is not None]
    problems = walk.problems + _validity(walk, certs, at)
    leaf = facts[0]
    needed = "serverAuth" if role == "server" else "clientAuth"
    if leaf.eku and needed not in leaf.eku and "anyExtendedKeyUsage" not in leaf.eku:
        problems.append(Problem("eku_mismatch", 0, f"the leaf is presented as a {role} but its "
                                f"extended key usage is {', '.join(leaf.eku)} (no {needed})"))
    match = match_identity(leaf, identity) if identity and leaf.extension_error is None else None
    if identity and leaf.extension_error is not None:
        notes.append(f"the leaf's names cannot be checked: {leaf.extension_error}")
    if check_hostname and match is not None and not match.matched:
        tried = ", ".join(match.presented) or "no names"
        problems.append(Problem("hostname_mismatch", 0,
                                f"{match.identity} is not among the leaf's names ({tried})"))
    problems += _weakness(walk, facts)
    checked, error = _library(certs, leaf, role, match, at, trust)
    if checked and error is None:
        problems = [p for p in problems if p.code not in PATH_PROBLEMS]
    elif checked and not any(p.code in PATH_PROBLEMS or p.code in ("weak_signature",
                                                                   "eku_mismatch")
                             for p in problems):
        problems.append(Problem("policy_violation", None,
                                f"the library verifier rejects the chain: {error}"))
    problems.sort(key=lambda p: PRIORITY.index(p.code))
    order = _chain_order(walk, certs)
    flags = tuple(dict.fromkeys([p.code for p in problems]
                                + (["chain_order"] if order is not None else [])
                                + (["cn_only"] if _cn_only(leaf) else [])))
    all_problems = tuple(problems) + ((order,) if order is not None else ())
    first = problems[0] if problems else None
    reason = first.text if first is not None else "the chain is valid" + (
        f" for {match.identity}" if match is not None and match.matched else "")
    if order is not None:
        reason += f" (order: {order.text})"
    if notes:
        reason += f" ({'; '.join(notes)})"
    blamed = certs[first.position] if first is not None and first.position is not None else None
    return ChainVerdict(
        verdict=first.code if first is not None else "ok",
        reason=reason,
        position=first.position if first is not None else None,
        flags=flags,
        problems=all_problems,
        missing_issuer=walk.missing_issuer,
        aia_url=walk.aia_url,
        not_before=blamed.not_valid_before_utc if blamed is not None else None,
        not_after=blamed.not_valid_after_utc if blamed is not None else None,
        identity=match.identity if match is not None else identity,
        identity_match=match,
        path=tuple(walk.path),
        anchor=walk.anchor.subject.rfc4514_string() if walk.anchor is not None else None,
        at=at,
        library_checked=checked,
        library_error=error,
    ), _time_window(certs, trust, at)
