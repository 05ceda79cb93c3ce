"""Rules: one connection's evidence in, findings out.

Each rule is written from the protocol (who sent which alert after which message),
not from the byte patterns of one stack: stacks do not always send the textbook
alert, so the alert is combined with what was seen (our own certificate verdict,
what was offered).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pcaptls.diagnose.evidence import AlertSeen, CertJudgement, ConnectionEvidence
from pcaptls.diagnose.finding import Finding


@dataclass(frozen=True, slots=True)
class Options:
    """What the user told us, and the capture's extent."""

    capture_end_ns: int = 0
    expiry_days: tuple[int, ...] = (30, 14, 7)
    check_hostname: bool = True
    expect_host: str | None = None
    judged_at: str = "the capture"  # or the --at time, in words


Rule = Callable[[ConnectionEvidence, Options], Iterator[Finding]]
RULES: list[Rule] = []

CERT_ALERTS = frozenset({
    "bad_certificate", "unsupported_certificate", "certificate_revoked", "certificate_expired",
    "certificate_unknown", "unknown_ca", "access_denied", "decrypt_error",
    "bad_certificate_status_response", "certificate_required",
})
SERVER_CERT_FLIGHT = frozenset({
    "Certificate", "ServerKeyExchange", "ServerHelloDone", "CertificateRequest", "CertificateStatus",
    "CertificateVerify", "EncryptedExtensions", "Finished", "EncryptedHandshake", "CompressedCertificate",
})
DEPRECATED = frozenset({"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1"})


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


# --- helpers ---------------------------------------------------------------------------

def is_tls13(version: str | None) -> bool:
    """TLS 1.3 and its drafts (``TLS 1.3 (draft 23)``): no renegotiation, suites without kx."""
    return bool(version and version.startswith("TLS 1.3"))


def _where(ev: ConnectionEvidence) -> str:
    return f"{_addr(ev.server)}:{ev.server_port}"


def _addr(a: str) -> str:
    return f"[{a}]" if ":" in a else a


def _retest(ev: ConnectionEvidence, extra: str = "") -> str:
    name = ev.sni or ""
    cmd = f"openssl s_client -connect {_addr(ev.server)}:{ev.server_port}"
    if name:
        cmd += f" -servername {name}"
    cmd += " -showcerts"
    if extra:
        cmd += " " + extra
    return cmd


def _version_flag(version: str | None) -> str:
    return {"TLS 1.0": "-tls1", "TLS 1.1": "-tls1_1", "TLS 1.2": "-tls1_2", "TLS 1.3": "-tls1_3"}.get(
        version or "", ""
    )


def _accepted_cas(ev: ConnectionEvidence) -> str:
    if not ev.client_cert_cas:
        return ""
    return ("The server accepts client certificates issued by: "
            + "; ".join(ev.client_cert_cas) + f" (CertificateRequest, frame {ev.certificate_request_frame}).")


def fatal_alerts(ev: ConnectionEvidence) -> list[AlertSeen]:
    return [a for a in ev.alerts if a.level == "fatal" or a.description is None]


def first_fatal(ev: ConnectionEvidence) -> AlertSeen | None:
    """The first alert that ends the handshake: fatal, or encrypted before the handshake was done."""
    seen_midstream = ev.midstream and ev.client_hello_frame is None
    for a in ev.alerts:
        if a.level == "fatal":
            return a
        if a.description is None and a.frame in ev.snapped_frames:
            continue  # its body was cut by the snap length: nothing can be said of it
        if a.description is None and not ev.handshake_done and not seen_midstream:
            # An encrypted alert inside the handshake ends it; on a connection seen
            # mid-stream it is most likely the close_notify of a finished session.
            return a
        if a.level is None and a.description not in (
            None, "close_notify", "unrecognized_name", "no_renegotiation", "user_canceled"
        ):
            return a
    return None


def _last_before(ev: ConnectionEvidence, frame: int, *, sender: str | None = None) -> str | None:
    last = None
    for m in ev.messages:
        if m.frame > frame:
            break
        if m.type in ("Alert",):
            continue
        if sender is None or m.sender == sender:
            last = m.type
    return last


def one_direction(ev: ConnectionEvidence) -> bool:
    """Only one side's packets are in the capture, though the connection was established.

    A client that sends payload after its SYN must have had a SYN-ACK: its absence
    is the capture's, not the network's.
    """
    if len(ev.sides_seen) != 1:
        return False
    # Only SYNs from the client: that is no answer, not a one-sided capture.
    only_syns = ev.sides_seen[0] == "client" and bool(ev.syn_frames) and not ev.tls_seen
    return not only_syns


# --- TCP ---------------------------------------------------------------------------------

@rule
def tcp_refused_or_silent(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.syn_frames and ev.synack_frame is None and not one_direction(ev):
        server_rst = [f for s, f in ev.rst if s == "server"]
        if server_rst:
            yield Finding.make(
                "TCP_CONNECTION_REFUSED", ev.conn_id, server_rst[0], None,
                f"{ev.client} could not connect to {_where(ev)}: its SYN (frame {ev.syn_frames[0]}) "
                f"was answered by RST (frame {server_rst[0]}).",
                retest=_retest(ev),
            )
        elif "server" not in ev.sides_seen:
            n = len(ev.syn_frames)
            yield Finding.make(
                "TCP_NO_ANSWER", ev.conn_id, ev.syn_frames[-1], None,
                f"{ev.client} sent {n} SYN{'s' if n > 1 else ''} to {_where(ev)} "
                f"(frames {', '.join(map(str, ev.syn_frames[:5]))}) and got no answer.",
                retest=_retest(ev),
            )


@rule
def tcp_reset(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.handshake_done or not ev.rst or (ev.synack_frame is None and ev.syn_frames):
        return
    if not ev.tls_seen or ev.not_tls:
        return
    if ev.alerts and first_fatal(ev) is not None:
        return  # the alert already says why; the RST only closes
    sender, frame = ev.rst[0]
    after = _last_before(ev, frame)
    after_txt = f" right after the {after}" if after else ""
    yield Finding.make(
        "TCP_RESET_IN_HANDSHAKE", ev.conn_id, frame, None,
        f"The {sender} ({ev.client if sender == 'client' else _where(ev)}) reset the connection "
        f"(frame {frame}){after_txt}, before the TLS handshake completed.",
        detail=("A server reset right after the ClientHello usually means it refused the offer "
                "(version, cipher suites, SNI) without sending an alert." if after == "ClientHello"
                and sender == "server" else ""),
        retest=_retest(ev),
    )


@rule
def not_tls(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.not_tls is None:
        return
    sender, frame, first = ev.not_tls
    yield Finding.make(
        "NOT_TLS_ON_TLS_PORT", ev.conn_id, frame, None,
        f"The {sender} sent {first!r} to {_where(ev)} (frame {frame}): that is not TLS.",
        retest=_retest(ev),
    )


@rule
def server_silent(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.client_hello_frame is None or ev.server_hello_frame is not None or ev.midstream:
        return
    if one_direction(ev):
        return  # the server's answer may be in the direction that was not captured
    if any(m.sender == "server" for m in ev.messages):
        return
    if any(s == "server" for s, _ in ev.rst):
        return  # reported as a reset
    closed = bool(ev.fin or ev.rst)
    waited = (opt.capture_end_ns - ev.start_ns) / 1e9 if opt.capture_end_ns else 0.0
    if not closed and waited < 5:
        yield Finding.make(
            "HANDSHAKE_INCOMPLETE", ev.conn_id, ev.client_hello_frame, None,
            f"The capture ends {waited:.1f} s after the ClientHello to {_where(ev)} "
            f"(frame {ev.client_hello_frame}), before any answer.",
        )
        return
    how = "the client gave up" if closed else "the capture ended"
    yield Finding.make(
        "TLS_SERVER_SILENT", ev.conn_id, ev.client_hello_frame, None,
        f"{_where(ev)} never answered the ClientHello of {ev.client} (frame "
        f"{ev.client_hello_frame}); {how} {((ev.end_ns - ev.start_ns) / 1e9):.1f} s later.",
        retest=_retest(ev),
    )


@rule
def incomplete(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.handshake_done or ev.server_hello_frame is None or ev.fin or ev.rst or ev.alerts:
        return
    if ev.resumed or ev.midstream or one_direction(ev):
        return
    yield Finding.make(
        "HANDSHAKE_INCOMPLETE", ev.conn_id, ev.last_frame, None,
        f"The capture ends (frame {ev.last_frame}) inside the handshake with {_where(ev)}.",
    )


# --- alerts and who rejected whom -------------------------------------------------------

@rule
def alerts(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    a = first_fatal(ev)
    if a is None:
        return
    desc = a.description
    after = a.after
    label = f"`{desc}`" if desc else "an encrypted alert"
    if desc == "protocol_version" or (
        ev.version and ev.client_versions and ev.version not in ev.client_versions
    ):
        offered = ", ".join(ev.client_versions) or "?"
        yield Finding.make(
            "PROTOCOL_VERSION_MISMATCH", ev.conn_id, a.frame, a.time_ns,
            f"The {a.sender} ended the handshake with {label} (frame {a.frame}): the client offered "
            f"{offered}" + (f", the server chose {ev.version}" if ev.version else "") + ".",
            retest=_retest(ev, _version_flag(ev.client_versions[0] if ev.client_versions else None)),
        )
        return
    if desc == "inappropriate_fallback":
        yield Finding.make(
            "INAPPROPRIATE_FALLBACK", ev.conn_id, a.frame, a.time_ns,
            f"{_where(ev)} refused the client's fallback to {', '.join(ev.client_versions) or '?'} "
            f"(TLS_FALLBACK_SCSV) with `inappropriate_fallback` (frame {a.frame}).",
            retest=_retest(ev),
        )
        return
    if desc == "unrecognized_name" and a.sender == "server":
        yield Finding.make(
            "SNI_UNRECOGNIZED", ev.conn_id, a.frame, a.time_ns,
            f"{_where(ev)} does not know the name {ev.sni!r} the client asked for "
            f"(`unrecognized_name`, frame {a.frame}).",
            retest=_retest(ev),
        )
        return
    if a.sender == "server" and after == "ClientHello" and ev.server_hello_frame is None and desc in (
        "handshake_failure", "insufficient_security"
    ):
        shown = ", ".join(ev.ciphers_offered[:8]) + (" …" if len(ev.ciphers_offered) > 8 else "")
        yield Finding.make(
            "NO_SHARED_CIPHER", ev.conn_id, a.frame, a.time_ns,
            f"{_where(ev)} refused the ClientHello (frame {ev.client_hello_frame}) with {label} "
            f"(frame {a.frame}): none of the {len(ev.ciphers_offered)} offered suites "
            f"({shown}) was acceptable.",
            retest=_retest(ev),
        )
        return
    # Client certificate: requested, then missing or rejected.
    if a.sender == "server" and ev.client_cert_requested:
        if ev.client_cert_sent is False or desc == "certificate_required":
            yield Finding.make(
                "CLIENT_CERT_MISSING", ev.conn_id, a.frame, a.time_ns,
                f"{_where(ev)} asked for a client certificate (frame {ev.certificate_request_frame}), "
                f"{ev.client} sent {'an empty Certificate' if ev.client_cert_frame else 'none'}"
                f"{f' (frame {ev.client_cert_frame})' if ev.client_cert_frame else ''}, and the server "
                f"aborted with {label} (frame {a.frame}).",
                remedy=_accepted_cas(ev),
                retest=_retest(ev, "-cert client.pem -key client.key"),
            )
            return
        if ev.client_cert_sent and (desc in CERT_ALERTS or desc == "handshake_failure" or desc is None):
            why = ""
            if ev.client_cert is not None and ev.client_cert.verdict != "ok":
                why = f" Our own check of the client certificate: {ev.client_cert.reason}."
            yield Finding.make(
                "CLIENT_CERT_REJECTED", ev.conn_id, a.frame, a.time_ns,
                f"{_where(ev)} rejected the client certificate of {ev.client} (frame "
                f"{ev.client_cert_frame}) with {label} (frame {a.frame}).{why}",
                remedy=_accepted_cas(ev),
                retest=_retest(ev, "-cert client.pem -key client.key"),
            )
            return
    if desc == "certificate_required" and a.sender == "server":
        yield Finding.make(
            "CLIENT_CERT_MISSING", ev.conn_id, a.frame, a.time_ns,
            f"{_where(ev)} required a client certificate and aborted with `certificate_required` "
            f"(frame {a.frame}).",
            retest=_retest(ev, "-cert client.pem -key client.key"),
        )
        return
    # The client rejects the server's certificate.
    if a.sender == "client" and ev.server_hello_frame is not None and not ev.handshake_done and (
        (after in SERVER_CERT_FLIGHT and a.after_sender == "server") or desc in CERT_ALERTS
    ) and (desc is None or desc in CERT_ALERTS or desc in ("handshake_failure", "illegal_parameter")):
        why = ""
        if ev.server_cert is not None:
            if ev.server_cert.verdict == "not_determined":
                why = f" The certificate could not be checked here: {ev.server_cert.reason}."
            elif ev.server_cert.verdict != "ok":
                why = f" Probable cause, from our own check of the chain: {ev.server_cert.reason}."
            elif desc == "bad_certificate":
                why = (" Our own check finds the chain valid against the trust store used: the "
                       "client may check another name than the SNI (re-run with --expect-host), "
                       "trust other CAs (--ca-bundle), or apply a stricter key or signature policy.")
            else:
                why = (" Our own check finds the chain valid against the trust store used; the "
                       "client probably trusts other CAs (re-run with --ca-bundle set to its store).")
        yield Finding.make(
            "CLIENT_REJECTED_SERVER_CERT", ev.conn_id, a.frame, a.time_ns,
            f"{ev.client} rejected the certificate of {_where(ev)} with {label} (frame {a.frame}), "
            f"right after the server's {after or 'handshake'}.{why}",
            retest=_retest(ev),
        )
        return
    if desc is None:
        other = "client" if a.sender == "server" else "server"
        hint = ""
        if a.sender == "server" and a.after_sender == "client" and is_tls13(ev.version):
            hint = (" In TLS 1.3 a server alert right after the client's Finished usually means "
                    "it rejected the client's certificate, or its absence (certificate_required).")
        yield Finding.make(
            "TLS_ENCRYPTED_ALERT", ev.conn_id, a.frame, a.time_ns or None,
            f"The {a.sender} ({_where(ev) if a.sender == 'server' else ev.client}) ended the handshake "
            f"with an encrypted alert (frame {a.frame}), right after the {other}'s "
            f"{a.after or 'handshake'}.{hint}",
            retest=_retest(ev),
        )


# --- what was negotiated ------------------------------------------------------------------

@rule
def negotiated(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    frame = ev.server_hello_frame
    if ev.ssl2_client_hello and ev.client_hello_frame is not None:
        yield Finding.make(
            "DEPRECATED_TLS_VERSION", ev.conn_id, ev.client_hello_frame, None,
            f"{ev.client} sent an SSLv2-format ClientHello (frame {ev.client_hello_frame}).",
            retest=_retest(ev),
        )
    elif ev.version in DEPRECATED and frame is not None:
        yield Finding.make(
            "DEPRECATED_TLS_VERSION", ev.conn_id, frame, None,
            f"{ev.version} was negotiated with {_where(ev)} (ServerHello, frame {frame}).",
            retest=_retest(ev, _version_flag(ev.version)),
        )
    if frame is None or ev.cipher is None:
        return
    p = ev.cipher_properties
    weak = [w for w, hit in (
        ("NULL encryption", p.get("bulk") == "NULL" or p.get("mode") == "NULL"),
        ("EXPORT", bool(p.get("export"))),
        ("anonymous key exchange", bool(p.get("anonymous"))),
        ("RC4", str(p.get("bulk", "")).startswith("RC4")),
        ("DES", p.get("bulk") in ("DES", "DES40", "DES_CBC", "DES40_CBC")),
        ("3DES", str(p.get("bulk", "")).startswith("3DES")),
    ) if hit]
    if weak:
        yield Finding.make(
            "WEAK_CIPHER", ev.conn_id, frame, None,
            f"{_where(ev)} chose {ev.cipher} ({', '.join(weak)}) in its ServerHello (frame {frame}).",
            retest=_retest(ev),
        )
    if p.get("mode") == "CBC" and not is_tls13(ev.version):
        yield Finding.make(
            "WEAK_CIPHER_CBC", ev.conn_id, frame, None,
            f"{_where(ev)} chose the CBC suite {ev.cipher} (frame {frame}).",
            retest=_retest(ev),
        )
    if p.get("key_exchange") == "RSA" and not is_tls13(ev.version):
        yield Finding.make(
            "NO_FORWARD_SECRECY", ev.conn_id, frame, None,
            f"{_where(ev)} chose {ev.cipher}, with RSA key exchange (frame {frame}).",
            retest=_retest(ev),
        )
    if ev.dh_prime_bits is not None and ev.dh_prime_bits < 2048:
        yield Finding.make(
            "WEAK_DH_PARAMS", ev.conn_id, ev.ske_frame or frame, None,
            f"{_where(ev)} used a {ev.dh_prime_bits}-bit DH prime in its ServerKeyExchange "
            f"(frame {ev.ske_frame}).",
            retest=_retest(ev),
        )
    if ev.compression:
        yield Finding.make(
            "TLS_COMPRESSION", ev.conn_id, frame, None,
            f"{_where(ev)} chose compression method {ev.compression} (frame {frame}).",
        )
    if (
        ev.version not in ("SSL 2.0", None) and not is_tls13(ev.version)
        and ev.client_hello_frame is not None
        and not (ev.client_reneg and ev.server_reneg)
    ):
        who = [s for s, ok in (("client", ev.client_reneg), ("server", ev.server_reneg)) if not ok]
        yield Finding.make(
            "NO_SECURE_RENEGOTIATION", ev.conn_id, frame if "server" in who else ev.client_hello_frame,
            None,
            f"The {' and the '.join(who)} did not signal secure renegotiation "
            f"(renegotiation_info / SCSV) in connection {ev.conn_id}.",
            retest=_retest(ev),
        )
    if ev.resumed:
        yield Finding.make(
            "SESSION_RESUMED", ev.conn_id, frame, None,
            f"The session with {_where(ev)} was resumed (frame {frame}): no certificate was sent.",
        )


#: server names seen lately: is each an IP address? (Asking ipaddress costs an exception
#: per host name, and a capture's clients ask for the same few names.)
_IP_LITERAL: dict[str, bool] = {}
_IP_LITERAL_MAX = 1024


def _is_ip_literal(name: str) -> bool:
    found = _IP_LITERAL.get(name)
    if found is None:
        try:
            ipaddress.ip_address(name)
            found = True
        except ValueError:
            found = False
        if len(_IP_LITERAL) >= _IP_LITERAL_MAX:
            _IP_LITERAL.clear()
        _IP_LITERAL[name] = found
    return found


@rule
def sni(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.client_hello_frame is None or ev.ssl2_client_hello:
        return
    if ev.sni is None:
        yield Finding.make(
            "NO_SNI", ev.conn_id, ev.client_hello_frame, None,
            f"{ev.client}'s ClientHello to {_where(ev)} carries no server_name (frame "
            f"{ev.client_hello_frame}).",
        )
        return
    if not _is_ip_literal(ev.sni):
        return
    yield Finding.make(
        "NO_SNI", ev.conn_id, ev.client_hello_frame, None,
        f"{ev.client}'s ClientHello names an IP address ({ev.sni}) as server_name (frame "
        f"{ev.client_hello_frame}); RFC 6066 allows only host names.",
    )


# --- certificates ---------------------------------------------------------------------------

CERT_VERDICT_CODES = {
    "expired": "CERT_EXPIRED",
    "not_yet_valid": "CERT_NOT_YET_VALID",
    "self_signed": "CERT_SELF_SIGNED",
    "incomplete_chain": "CERT_CHAIN_INCOMPLETE",
    "untrusted": "CERT_UNTRUSTED_ROOT",
    "hostname_mismatch": "CERT_HOSTNAME_MISMATCH",
    "eku_mismatch": "CERT_EKU_MISMATCH",
    "parse_error": "CERT_PARSE_ERROR",
    "revoked": "CERT_REVOKED",
}


def _cert_findings(ev: ConnectionEvidence, cj: CertJudgement, opt: Options) -> Iterator[Finding]:
    who = _where(ev) if cj.sender == "server" else ev.client
    whose = f"the {cj.sender} certificate of {who}"
    code = CERT_VERDICT_CODES.get(cj.verdict)
    if code == "CERT_HOSTNAME_MISMATCH" and not opt.check_hostname:
        code = None
    if code:
        yield Finding.make(
            code, ev.conn_id, cj.frame, None,
            f"{whose[0].upper()}{whose[1:]} (frame {cj.frame}): {cj.reason}.",
            retest=_retest(ev) if cj.sender == "server" else None,
        )
    if cj.verdict not in ("hostname_mismatch",) and cj.hostname_ok is False and opt.check_hostname:
        yield Finding.make(
            "CERT_HOSTNAME_MISMATCH", ev.conn_id, cj.frame, None,
            f"The leaf sent by {who} (frame {cj.frame}) does not match {cj.identity!r}: its names "
            f"are {', '.join(cj.leaf_sans) or cj.leaf_subject}.",
            retest=_retest(ev),
        )
    if cj.cn_only:
        yield Finding.make(
            "CERT_CN_ONLY", ev.conn_id, cj.frame, None,
            f"The leaf sent by {who} (frame {cj.frame}) has no subjectAltName; its name "
            f"({cj.leaf_subject}) is only in the CN.",
        )
    if cj.chain_order_problem:
        yield Finding.make(
            "CERT_CHAIN_ORDER", ev.conn_id, cj.frame, None,
            f"{whose[0].upper()}{whose[1:]} (frame {cj.frame}): {cj.chain_order_problem}.",
        )
    if cj.weak_keys:
        yield Finding.make(
            "CERT_WEAK_KEY", ev.conn_id, cj.frame, None,
            f"Weak key in {whose} (frame {cj.frame}): {'; '.join(cj.weak_keys)}.",
        )
    if cj.weak_signatures:
        yield Finding.make(
            "CERT_WEAK_SIGNATURE", ev.conn_id, cj.frame, None,
            f"Weak signature in {whose} (frame {cj.frame}): {'; '.join(cj.weak_signatures)}.",
        )
    if cj.eku_problem and cj.verdict != "eku_mismatch":
        yield Finding.make(
            "CERT_EKU_MISMATCH", ev.conn_id, cj.frame, None,
            f"{whose[0].upper()}{whose[1:]} (frame {cj.frame}): {cj.eku_problem}.",
        )
    if cj.ocsp_revoked:
        yield Finding.make("CERT_REVOKED", ev.conn_id, cj.frame, None, cj.ocsp_revoked)
    if cj.ocsp_problem:
        yield Finding.make("OCSP_STAPLE_INVALID", ev.conn_id, cj.frame, None, cj.ocsp_problem)
    if cj.days_left is not None and cj.verdict not in ("expired", "not_yet_valid"):
        limit = max(opt.expiry_days) if opt.expiry_days else 30
        if 0 <= cj.days_left < limit:
            tone = ""
            for d in sorted(opt.expiry_days):
                if cj.days_left < d:
                    tone = f" — less than {d} days"
                    break
            yield Finding.make(
                "CERT_EXPIRING_SOON", ev.conn_id, cj.frame, None,
                f"{cj.expiring_subject or 'A certificate'} in {whose} expires on {cj.not_after}, "
                f"{cj.days_left:.0f} days after {opt.judged_at}{tone}.",
            )


@rule
def certificates(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.server_cert is not None and ev.server_cert.verdict != "not_determined":
        yield from _cert_findings(ev, ev.server_cert, opt)
    if ev.client_cert is not None and ev.client_cert.verdict != "not_determined":
        yield from _cert_findings(ev, ev.client_cert, opt)
    if (
        is_tls13(ev.version) and not ev.resumed and not ev.decrypted
        and ev.server_hello_frame is not None
    ):
        yield Finding.make(
            "CERT_NOT_VISIBLE", ev.conn_id, ev.server_hello_frame, None,
            f"{ev.version} with {_where(ev)}: the certificate is encrypted and no key log matched, so "
            "chain, name and validity could not be checked.",
            retest=_retest(ev),
        )


# --- what the capture itself lacks ------------------------------------------------------------

@rule
def capture_evidence(ev: ConnectionEvidence, opt: Options) -> Iterator[Finding]:
    if ev.snapped_frames:
        yield Finding.make(
            "CAPTURE_TRUNCATED", ev.conn_id, ev.snapped_frames[0], None,
            f"{len(ev.snapped_frames)} frame(s) of connection {ev.conn_id} were cut by the snap "
            f"length (first: frame {ev.snapped_frames[0]}).",
        )
    hs_gaps = [g for g in ev.gaps if g.in_handshake]
    if hs_gaps:
        g = hs_gaps[0]
        yield Finding.make(
            "CAPTURE_MISSING_SEGMENTS", ev.conn_id, g.frame, None,
            f"{g.length} byte(s) of the {g.sender}'s stream are missing from the capture inside "
            f"the handshake (after frame {g.frame}).",
        )
    if one_direction(ev):
        only = ev.sides_seen[0]
        yield Finding.make(
            "CAPTURE_ONE_DIRECTION", ev.conn_id, ev.first_frame, None,
            f"Only the {only}'s packets of connection {ev.conn_id} ({ev.client}:{ev.client_port} "
            f"↔ {_where(ev)}) are in the capture.",
        )
    if ev.midstream and ev.client_hello_frame is None:
        yield Finding.make(
            "CAPTURE_STARTED_MIDSTREAM", ev.conn_id, ev.first_frame, None,
            f"Connection {ev.conn_id} ({ev.client} ↔ {_where(ev)}) was already open when the "
            f"capture started (first frame {ev.first_frame}); its handshake is not in the capture.",
        )
    for sender, frame, what in ev.malformed:
        if any(g.sender == sender for g in ev.gaps) or ev.snapped_frames:
            continue
        yield Finding.make(
            "TLS_MALFORMED", ev.conn_id, frame, None,
            f"The {sender}'s TLS bytes break the protocol at frame {frame}: {what}.",
        )
        break


def diagnose(ev: ConnectionEvidence, opt: Options) -> list[Finding]:
    """Every finding of one connection, in rule order."""
    out: list[Finding] = []
    for r in RULES:
        out.extend(r(ev, opt))
    return out


def outcome(ev: ConnectionEvidence) -> str:
    """The connection's outcome column (DESIGN.md)."""
    if ev.syn_frames and ev.synack_frame is None and not ev.tls_seen and not one_direction(ev):
        if any(s == "server" for s, _ in ev.rst):
            return "refused"
        if "server" not in ev.sides_seen:
            return "no_answer"
    if ev.not_tls is not None:
        return "not_tls"
    if ev.midstream and ev.client_hello_frame is None:
        return "midstream"
    if first_fatal(ev) is not None:
        return "alert"
    if ev.handshake_done:
        return "ok"
    if ev.client_hello_frame is not None and ev.server_hello_frame is None and not any(
        m.sender == "server" for m in ev.messages
    ) and not one_direction(ev):
        if any(s == "server" for s, _ in ev.rst):
            return "reset"
        return "server_silent" if (ev.fin or ev.rst) else "incomplete"
    if ev.snapped_frames or any(g.in_handshake for g in ev.gaps):
        return "incomplete"  # the handshake is not all in the capture: its end cannot be told
    if ev.rst:
        return "reset"
    if ev.fin:
        return "closed"
    return "incomplete"
