"""Certificate facts, chain verdicts, identity checks and stapled OCSP, at the capture time.

Pure functions over DER bytes (no packets, no files except the trust store the user
names): :func:`certificate_facts`, :func:`verify_chain`, :func:`match_identity`,
:func:`decode_ocsp` / :func:`judge_ocsp`, and :class:`TrustStore`.
"""

from pcaptls.x509.facts import CertificateFacts, certificate_facts, ns_to_datetime
from pcaptls.x509.identity import (
    ExpectedIdentity,
    IdentityMatch,
    expected_identity,
    match_identity,
)
from pcaptls.x509.ocsp import OcspFacts, OcspVerdict, decode_ocsp, judge_ocsp
from pcaptls.x509.trust import TrustStore
from pcaptls.x509.verify import ChainVerdict, Problem, verify_chain

__all__ = [
    "CertificateFacts",
    "ChainVerdict",
    "ExpectedIdentity",
    "IdentityMatch",
    "OcspFacts",
    "OcspVerdict",
    "Problem",
    "TrustStore",
    "certificate_facts",
    "decode_ocsp",
    "expected_identity",
    "judge_ocsp",
    "match_identity",
    "ns_to_datetime",
    "verify_chain",
]
