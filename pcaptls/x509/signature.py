"""Did this issuer's key make that certificate's signature?

``Certificate.verify_directly_issued_by`` answers for modern algorithms but refuses
MD5/SHA-1 signatures ("Unsupported signature algorithm"); a passive analyzer still
needs to know whether the key signed (self-signed SHA-1 roots, SHA-1 intermediates), so
those are checked with the public-key primitives.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa

#: how many (certificate, issuer) answers :func:`issued_by` remembers (a signature check
#: costs ~40 µs; the same chains come back on every connection of a capture)
CACHE_SIZE = 8192
_ANSWERS: dict[tuple[x509.Certificate, x509.Certificate], bool] = {}


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """``issuer`` is named as ``cert``'s issuer and its key verifies ``cert``'s signature."""
    if cert.issuer != issuer.subject:
        return False
    key = (cert, issuer)  # certificates hash and compare by their DER
    answer = _ANSWERS.get(key)
    if answer is None:
        answer = _ANSWERS[key] = _signed_by(cert, issuer)
        if len(_ANSWERS) > CACHE_SIZE:
            _ANSWERS.pop(next(iter(_ANSWERS)), None)  # the oldest
    return answer


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """The signature check itself, uncached."""
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except InvalidSignature:
        return False
    except Exception:  # unsupported algorithm, odd key or extension: try the primitives
        pass
    try:
        algorithm = cert.signature_hash_algorithm
        key = issuer.public_key()
        data = cert.tbs_certificate_bytes
        if algorithm is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, data, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            key.verify(cert.signature, data, algorithm)
        else:
            return False
    except Exception:  # untrusted input: any failure means "not shown to be signed"
        return False
    return True


def self_signed(cert: x509.Certificate) -> bool:
    """Issuer equals subject and the certificate's own key verifies its signature."""
    return issued_by(cert, cert)
