"""The findings vocabulary: one entry per stable code.

Findings are data. This registry drives every output (tables, Markdown, the
generated reference page ``docs/findings.md``) so a code's meaning, tone and
remedy are written once. A code never changes meaning; new codes are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """``error``: the connection failed or cannot work; ``warning``: weak, deprecated,
    or will fail for some peers or soon; ``info``: context, including what the
    capture cannot show."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True)
class FindingKind:
    code: str
    severity: Severity
    title: str
    explanation: str
    remedy: str
    log_texts: tuple[str, ...] = ()
    alerts: tuple[str, ...] = ()
    rfc: str = ""


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

_KINDS = (
    FindingKind(
        "TCP_CONNECTION_REFUSED", E, "Connection refused",
        "The client's SYN was answered by a RST: nothing listens on that address and port, "
        "or a firewall rejects the connection. TLS never started.",
        "Check that the SIP server listens for TLS on this address and port (e.g. kamailio "
        "`listen=tls:ADDR:5061`, `ss -ltnp` on the server) and that no firewall rejects it.",
        ("connection refused", "ECONNREFUSED", "503 Service Unavailable (transport error)"),
        (), "RFC 9293",
    ),
    FindingKind(
        "TCP_NO_ANSWER", E, "No answer to the connection attempt",
        "The client sent SYN (and retransmissions) and nothing came back: the server is "
        "down, unreachable, or a firewall silently drops the packets.",
        "Check routing and firewalls between the two addresses for TCP to the TLS port; "
        "verify the server is up.",
        ("connection timed out", "ETIMEDOUT", "408 Request Timeout"),
        (), "RFC 9293",
    ),
    FindingKind(
        "TCP_RESET_IN_HANDSHAKE", E, "Connection reset during the TLS handshake",
        "A TCP RST ended the connection before the TLS handshake completed. The side that "
        "reset and the last message before it tell where the handshake broke: a server reset "
        "right after ClientHello usually means the offer was refused without an alert.",
        "Look at the resetting side's TLS log at that time; align versions and cipher suites; "
        "check for middleboxes that reset TLS.",
        ("connection reset by peer", "ECONNRESET", "SSL_ERROR_SYSCALL", "unexpected eof while reading"),
        (), "RFC 9293",
    ),
    FindingKind(
        "NOT_TLS_ON_TLS_PORT", E, "Not TLS on a TLS port",
        "The first bytes on a TLS port are not a TLS record (plain SIP sent to 5061 is the "
        "usual case), or TLS was sent to a plain SIP port. The two ends disagree on the transport.",
        "Make the client use `transport=tls` (or `sips:`) toward port 5061, or send plain SIP "
        "to the plain SIP port (5060).",
        ("wrong version number", "SSL routines::packet length too long", "http request"),
        (), "RFC 5630",
    ),
    FindingKind(
        "TLS_SERVER_SILENT", E, "Server never answered the ClientHello",
        "The client sent its ClientHello and no ServerHello came back before the connection "
        "closed, was reset or the capture ended. Typical of TLS sent to a plain TCP listener, "
        "an overloaded server, or a middlebox eating the handshake.",
        "Check that the server's port speaks TLS, and the server's TLS log at that time.",
        ("handshake timed out", "SSL_ERROR_SYSCALL", "unexpected eof while reading"),
        (), "RFC 8446",
    ),
    FindingKind(
        "HANDSHAKE_INCOMPLETE", W, "Capture ends inside the handshake",
        "The capture stops before the TLS handshake completed, so its outcome is not in the "
        "capture.",
        "Capture for longer, or start the capture before the failing call attempt.",
        (), (), "",
    ),
    FindingKind(
        "TLS_MALFORMED", E, "Malformed TLS",
        "Lengths or message order break the TLS protocol in a cleanly captured stream: one "
        "side's TLS stack (or a middlebox rewriting the stream) is broken.",
        "Capture on both sides of any middlebox; update the TLS stack that sent the bytes.",
        ("decode error", "unexpected message", "record layer failure"),
        ("decode_error", "unexpected_message", "illegal_parameter", "record_overflow"), "RFC 8446",
    ),
    FindingKind(
        "TLS_ENCRYPTED_ALERT", E, "Handshake ended by an encrypted alert",
        "One side ended the handshake with an alert that is encrypted (TLS 1.3 protects alerts "
        "once the handshake keys are in use), so its reason cannot be read from the capture. "
        "Which side sent it, and after which message, still narrows it down.",
        "Capture again with SSLKEYLOGFILE set on the client and pass it with --keylog to read "
        "the alert; look at the sending side's TLS log at that time.",
        (), (), "RFC 8446 §6",
    ),
    FindingKind(
        "PROTOCOL_VERSION_MISMATCH", E, "No common TLS version",
        "Client and server have no TLS version in common (a `protocol_version` alert, or the "
        "server picked a version the client did not offer).",
        "Enable TLS 1.2 (and 1.3) on both sides; old phones that only speak TLS 1.0 need a "
        "firmware upgrade rather than a weaker server.",
        ("unsupported protocol", "wrong version number", "no protocols available",
         "tlsv1 alert protocol version"),
        ("protocol_version",), "RFC 8446 §4.2.1",
    ),
    FindingKind(
        "INAPPROPRIATE_FALLBACK", E, "Inappropriate version fallback",
        "The client retried with a lower TLS version and signalled it with TLS_FALLBACK_SCSV; "
        "the server supports a higher version and refused the downgrade.",
        "Find why the first, higher-version attempt failed (often a middlebox); do not disable "
        "the SCSV check.",
        ("inappropriate fallback", "tlsv1 alert inappropriate fallback"),
        ("inappropriate_fallback",), "RFC 7507",
    ),
    FindingKind(
        "NO_SHARED_CIPHER", E, "No cipher suite in common",
        "The server aborted right after the ClientHello with `handshake_failure` or "
        "`insufficient_security`: none of the offered suites (or groups, or signature "
        "algorithms) is acceptable to it.",
        "Align the cipher suite lists: enable at least one ECDHE-…-AES-GCM suite on both sides "
        "(and TLS 1.3 suites where available).",
        ("no shared cipher", "sslv3 alert handshake failure", "handshake failure",
         "no ciphers available"),
        ("handshake_failure", "insufficient_security"), "RFC 8446 §4.1.1",
    ),
    FindingKind(
        "SNI_UNRECOGNIZED", E, "Server does not know the requested name",
        "The server answered the ClientHello's server_name with `unrecognized_name`: it has no "
        "certificate or virtual host for that name.",
        "Configure the server for this SIP domain (a TLS profile/certificate for the name), or "
        "make the client send the name the server expects.",
        ("unrecognized name", "tlsv1 unrecognized name"),
        ("unrecognized_name",), "RFC 6066 §3",
    ),
    FindingKind(
        "DEPRECATED_TLS_VERSION", W, "Deprecated TLS version",
        "SSL 3.0, TLS 1.0 or TLS 1.1 was negotiated (or an SSLv2-format ClientHello was sent). "
        "These versions are deprecated (RFC 8996) and refused by current stacks by default.",
        "Enable TLS 1.2 or 1.3 on both sides and disable the older versions.",
        ("unsupported protocol", "no protocols available"), (), "RFC 8996",
    ),
    FindingKind(
        "WEAK_CIPHER", W, "Weak cipher suite",
        "A NULL, EXPORT, anonymous, RC4, DES or 3DES cipher suite was negotiated: the calls' "
        "signalling can be read or altered.",
        "Remove these suites from the server's list; prefer ECDHE with AES-GCM or ChaCha20-Poly1305.",
        (), (), "RFC 7465, RFC 9325",
    ),
    FindingKind(
        "WEAK_CIPHER_CBC", W, "CBC-mode cipher suite",
        "A CBC-mode suite was negotiated: CBC with MAC-then-encrypt has a long history of "
        "padding-oracle attacks (Lucky13, POODLE) and is not recommended.",
        "Prefer AEAD suites (AES-GCM, ChaCha20-Poly1305); keep CBC only for old peers.",
        (), (), "RFC 9325 §4.2",
    ),
    FindingKind(
        "NO_FORWARD_SECRECY", W, "No forward secrecy (RSA key exchange)",
        "The key exchange is RSA: whoever gets the server's private key later can decrypt this "
        "recorded call signalling, including SDES media keys.",
        "Prefer ECDHE (or DHE) suites on the server.",
        (), (), "RFC 9325 §4.1",
    ),
    FindingKind(
        "WEAK_DH_PARAMS", W, "Weak Diffie-Hellman parameters",
        "The ServerKeyExchange uses a DH prime under 2048 bits (Logjam).",
        "Use 2048-bit or larger DH parameters, or prefer ECDHE.",
        ("dh key too small",), (), "RFC 7919",
    ),
    FindingKind(
        "TLS_COMPRESSION", W, "TLS compression enabled",
        "A compression method other than null was chosen (CRIME).",
        "Disable TLS compression on the server.",
        (), (), "RFC 7457 §2.6",
    ),
    FindingKind(
        "NO_SECURE_RENEGOTIATION", W, "No secure renegotiation",
        "Neither renegotiation_info nor its SCSV was sent by both sides (TLS ≤ 1.2): the "
        "connection is open to the renegotiation attack (CVE-2009-3555), and OpenSSL 3 clients "
        "refuse such servers by default.",
        "Update the TLS stack that omits renegotiation_info.",
        ("unsafe legacy renegotiation disabled",), (), "RFC 5746",
    ),
    FindingKind(
        "NO_SNI", W, "ClientHello without a server name",
        "The ClientHello carries no server_name (or an IP literal): a server hosting several "
        "SIP domains cannot pick the right certificate, and the hostname cannot be checked "
        "against what the client wanted.",
        "Configure the client (phone, trunk) to send the SIP domain as SNI.",
        (), (), "RFC 6066 §3",
    ),
    FindingKind(
        "SESSION_RESUMED", INFO, "Session resumed",
        "Abbreviated handshake: the session was resumed, so no certificate is sent in this "
        "connection and certificate checks cannot be made on it.",
        "None; look at the full handshake that created the session.",
        (), (), "RFC 8446 §2.2",
    ),
    FindingKind(
        "CERT_NOT_VISIBLE", INFO, "Certificate not visible",
        "The certificate was not readable in this capture (TLS 1.3 encrypts it; give a key "
        "log with --keylog to see it), so certificate checks could not be made.",
        "Capture with SSLKEYLOGFILE set on the client, or test the server live with openssl s_client.",
        (), (), "RFC 8446 §4.4.2",
    ),
    FindingKind(
        "CERT_EXPIRED", E, "Certificate expired",
        "A certificate of the chain had expired at the time of the capture.",
        "Renew the certificate and install it with its full chain.",
        ("certificate has expired", "x509: certificate has expired or is not yet valid",
         "sslv3 alert certificate expired", "X509_V_ERR_CERT_HAS_EXPIRED"),
        ("certificate_expired", "bad_certificate"), "RFC 5280 §4.1.2.5",
    ),
    FindingKind(
        "CERT_NOT_YET_VALID", E, "Certificate not yet valid",
        "A certificate of the chain was not yet valid at the time of the capture (a wrong "
        "clock on one side, or a certificate installed too early).",
        "Check both sides' clocks (NTP); reissue the certificate with a correct notBefore.",
        ("certificate is not yet valid", "X509_V_ERR_CERT_NOT_YET_VALID"),
        ("bad_certificate", "certificate_expired"), "RFC 5280 §4.1.2.5",
    ),
    FindingKind(
        "CERT_EXPIRING_SOON", W, "Certificate expires soon",
        "A certificate of the chain expires soon after the capture time.",
        "Renew it before it expires, with its full chain.",
        (), (), "RFC 5280 §4.1.2.5",
    ),
    FindingKind(
        "CERT_HOSTNAME_MISMATCH", E, "Certificate does not match the name",
        "The leaf's subjectAltNames (or its CN when there are none) do not match the name the "
        "client asked for (SNI), the SIP domain (RFC 5922) or the expected host.",
        "Issue a certificate whose SANs include the SIP domain / host name the clients use, or "
        "make the clients use the name the certificate has.",
        ("hostname mismatch", "certificate is not valid for", "x509: certificate is valid for",
         "X509_V_ERR_HOSTNAME_MISMATCH", "no alternative certificate subject name matches"),
        ("bad_certificate", "certificate_unknown"), "RFC 6125, RFC 5922",
    ),
    FindingKind(
        "CERT_CN_ONLY", W, "Certificate has no subjectAltName",
        "The leaf has no subjectAltName; its name is only in the CN, which modern stacks ignore "
        "(RFC 6125).",
        "Reissue the certificate with the names in subjectAltName.",
        ("no alternative certificate subject name matches",), (), "RFC 6125 §6.4.4",
    ),
    FindingKind(
        "CERT_SELF_SIGNED", E, "Self-signed certificate",
        "The leaf signs itself: no client can verify it unless it was installed as trusted.",
        "Use a certificate issued by a CA the clients trust, or install this certificate in "
        "the clients' trust store deliberately.",
        ("self signed certificate", "self-signed certificate", "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT"),
        ("bad_certificate", "unknown_ca"), "RFC 5280",
    ),
    FindingKind(
        "CERT_CHAIN_INCOMPLETE", E, "Incomplete certificate chain",
        "The issuer of a sent certificate is neither sent nor in the trust store. Browsers may "
        "fetch it from the AIA URL; SIP phones and SBCs usually do not.",
        "Configure the server to send the intermediate certificate(s) with its leaf "
        "(full chain file).",
        ("unable to get local issuer certificate", "certificate signed by unknown authority",
         "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unknown ca"),
        ("unknown_ca", "bad_certificate"), "RFC 8446 §4.4.2",
    ),
    FindingKind(
        "CERT_UNTRUSTED_ROOT", E, "Untrusted root",
        "The chain is complete but its root is not in the trust store used.",
        "Install the root in the clients' trust store (private PKI), or use a publicly "
        "trusted CA; re-run with --ca-bundle to judge against the right store.",
        ("self signed certificate in certificate chain", "certificate signed by unknown authority",
         "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN", "unknown ca"),
        ("unknown_ca",), "RFC 5280",
    ),
    FindingKind(
        "CERT_CHAIN_ORDER", INFO, "Certificates out of order",
        "The certificates were sent out of order or with unrelated extras. Most stacks cope; "
        "some embedded ones do not.",
        "Send the chain leaf first, each certificate followed by its issuer.",
        (), (), "RFC 8446 §4.4.2",
    ),
    FindingKind(
        "CERT_WEAK_KEY", W, "Weak certificate key",
        "A certificate key is too small (RSA under 2048 bits, EC under 256): current stacks "
        "refuse it (OpenSSL security level 2: 'ee key too small').",
        "Reissue with RSA 2048+ or ECDSA P-256.",
        ("ee key too small", "ca key too small", "X509_V_ERR_EE_KEY_TOO_SMALL"),
        ("bad_certificate", "insufficient_security"), "RFC 9325",
    ),
    FindingKind(
        "CERT_WEAK_SIGNATURE", W, "Weak certificate signature",
        "A certificate is signed with MD5 or SHA-1, which current stacks refuse.",
        "Reissue with a SHA-256 (or better) signature.",
        ("ca md too weak", "X509_V_ERR_CA_MD_TOO_WEAK"), ("bad_certificate",), "RFC 9155",
    ),
    FindingKind(
        "CERT_EKU_MISMATCH", E, "Certificate not for this purpose",
        "The server's certificate lacks the serverAuth extended key usage, or the client's "
        "lacks clientAuth (mutual TLS between SBCs/trunks needs both ways).",
        "Reissue the certificate with the right extendedKeyUsage (serverAuth for servers, "
        "clientAuth for clients; both for SBCs that do both).",
        ("unsupported certificate purpose", "X509_V_ERR_INVALID_PURPOSE"),
        ("unsupported_certificate", "bad_certificate"), "RFC 5280 §4.2.1.12",
    ),
    FindingKind(
        "CERT_REVOKED", E, "Certificate revoked",
        "The stapled OCSP response says the certificate is revoked.",
        "Install a new certificate.",
        ("certificate revoked",), ("certificate_revoked",), "RFC 6960",
    ),
    FindingKind(
        "OCSP_STAPLE_INVALID", E, "Stapled OCSP response unusable",
        "The stapled OCSP response is stale, unsuccessful, or not for this certificate.",
        "Fix the server's OCSP stapling (refresh the response; check the responder).",
        ("ocsp response status", "bad certificate status response"),
        ("bad_certificate_status_response",), "RFC 6066 §8",
    ),
    FindingKind(
        "CERT_PARSE_ERROR", E, "Certificate does not parse",
        "A certificate in a cleanly captured Certificate message is not valid DER.",
        "Reissue the certificate; check the server's certificate file.",
        ("bad certificate", "ASN1 parse error"), ("bad_certificate", "decode_error"), "RFC 5280",
    ),
    FindingKind(
        "CLIENT_CERT_MISSING", E, "Client certificate missing",
        "The server asked for a client certificate (CertificateRequest) and the client sent "
        "none, or an empty Certificate; the server aborted (`handshake_failure`, or "
        "`certificate_required` in TLS 1.3).",
        "Install the client certificate and key on the client (phone, trunk, SBC), issued by a "
        "CA the server accepts (see the CertificateRequest's CA list).",
        ("peer did not return a certificate", "certificate required",
         "sslv3 alert handshake failure"),
        ("handshake_failure", "certificate_required", "bad_certificate"), "RFC 8446 §4.3.2",
    ),
    FindingKind(
        "CLIENT_CERT_REJECTED", E, "Client certificate rejected",
        "The client sent a certificate and the server aborted with a certificate alert.",
        "Issue the client certificate from a CA the server trusts, with clientAuth, valid now.",
        ("certificate verify failed", "unknown ca", "bad certificate"),
        ("bad_certificate", "unknown_ca", "certificate_expired", "unsupported_certificate",
         "certificate_unknown", "access_denied", "decrypt_error"), "RFC 8446 §4.4.2",
    ),
    FindingKind(
        "CLIENT_REJECTED_SERVER_CERT", E, "Client rejected the server's certificate",
        "The client aborted right after the server's Certificate: it does not accept the "
        "server's certificate. Our own verdict on the chain gives the probable reason.",
        "Fix what the certificate verdict says (chain, name, validity, key); then test with "
        "the command below.",
        ("certificate verify failed", "tlsv1 alert unknown ca", "sslv3 alert bad certificate"),
        ("unknown_ca", "bad_certificate", "certificate_unknown", "certificate_expired",
         "unsupported_certificate", "decrypt_error", "access_denied"), "RFC 8446 §4.4.2",
    ),
    FindingKind(
        "CERT_INCONSISTENT_ACROSS_SERVERS", W, "Servers behind one name disagree",
        "Several server addresses answer for one name with different certificates (or one "
        "expired, one with a short chain): calls fail depending on which server DNS picks.",
        "Deploy the same certificate and full chain on every server of the name.",
        (), (), "",
    ),
    FindingKind(
        "CAPTURE_TRUNCATED", W, "Capture truncated",
        "Frames were cut by the snap length, or the file ends in the middle of a record: "
        "some bytes are missing from the capture, not from the network.",
        "Capture with `tcpdump -s 0` and stop it cleanly (SIGINT) so the file is complete.",
        (), (), "",
    ),
    FindingKind(
        "CAPTURE_MISSING_SEGMENTS", W, "Segments missing inside the handshake",
        "Bytes of a TCP stream are missing inside the handshake (not captured): what was in "
        "them cannot be judged.",
        "Capture on the host itself (not a busy span port) with a larger buffer (`tcpdump -B`).",
        (), (), "",
    ),
    FindingKind(
        "CAPTURE_ONE_DIRECTION", W, "Only one direction captured",
        "Only one direction of this connection is in the capture (asymmetric routing, or a "
        "filter on one address): the other side's messages cannot be seen.",
        "Capture on an interface that sees both directions, with a filter on the port only.",
        (), (), "",
    ),
    FindingKind(
        "CAPTURE_STARTED_MIDSTREAM", INFO, "Connection already open when the capture started",
        "The connection's handshake is not in the capture: it began before the capture did. "
        "Long-lived SIP/TLS connections often do.",
        "To see its handshake, capture while the phone re-registers or the trunk reconnects.",
        (), (), "",
    ),
    FindingKind(
        "NO_TLS_FOUND", INFO, "No TLS in the capture",
        "No TLS handshake was found on the ports examined.",
        "Check the capture filter and the port (--port); SIP over TLS is usually on 5061.",
        (), (), "",
    ),
    FindingKind(
        "KEYLOG_NO_MATCH", W, "Key log matches no connection",
        "A key log was given but none of its client randoms matches a captured ClientHello: "
        "it was written for other sessions.",
        "Give the key log written during this capture (SSLKEYLOGFILE on the client at the same time).",
        (), (), "",
    ),
    FindingKind(
        "SIP_SDES_KEYS_IN_PLAINTEXT", E, "SRTP keys sent in clear",
        "SDP `a=crypto` (SDES) keys were sent in SIP without TLS: anyone on the path can "
        "decrypt the calls' media. (Keys are redacted in every output of pcaptls.)",
        "Send SIP over TLS when using SDES-SRTP (or use DTLS-SRTP).",
        (), (), "RFC 4568 §8.3",
    ),
    FindingKind(
        "SIP_SIPS_OVER_INSECURE_TRANSPORT", W, "sips: or TLS Via over an insecure transport",
        "A `sips:` URI or a `Via: SIP/2.0/TLS` was seen in plaintext SIP: a hop that should be "
        "TLS is not.",
        "Find the hop that forwards without TLS (Via headers) and configure TLS on it.",
        (), (), "RFC 5630",
    ),
    FindingKind(
        "SIP_TLS_PATH_LEAVES_TLS", W, "Signalling path leaves TLS",
        "A request received over TLS carries Via/Record-Route/Contact entries with a non-TLS "
        "transport: replies or later requests will travel unencrypted.",
        "Configure the proxies on the path to use TLS (transport=tls / sips:).",
        (), (), "RFC 5630",
    ),
    FindingKind(
        "SIP_MEDIA_WITHOUT_SRTP", W, "Media offered without SRTP on a TLS path",
        "An SDP sent over TLS offers RTP/AVP media without SRTP keys or fingerprint: the "
        "signalling is encrypted but the voice is not.",
        "Enable SRTP (SDES over TLS, or DTLS-SRTP) on both ends.",
        (), (), "RFC 4568",
    ),
)

FINDINGS: dict[str, FindingKind] = {k.code: k for k in _KINDS}


def kind(code: str) -> FindingKind:
    """The registry entry of ``code`` (KeyError on an unknown code: codes are a contract)."""
    return FINDINGS[code]
