"""From one parsed TLS connection to evidence, table rows and certificate verdicts.

The TLS layer reports events and negotiated facts; this module names them the way
the tables do (IANA names, ``TLS 1.2``), asks the x509 layer for its verdicts at
the capture time, and fills the evidence the diagnose rules read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pcaptls.diagnose.evidence import AlertSeen, CertJudgement, Gap, Message
from pcaptls.diagnose.finding import Finding
from pcaptls.tls import events as tev
from pcaptls.tls.messages import Certificate, CertificateStatus, CompressedCertificate
from pcaptls.tls.registry import (
    ExtensionType,
    alert_name,
    cipher_suite_info,
    cipher_suite_name,
    group_name,
    ssl2_cipher_kind_name,
    version_name,
)

if TYPE_CHECKING:
    from pcaptls.pipeline import Pipeline, _Conn
    from pcaptls.x509.facts import CertificateFacts
    from pcaptls.x509.verify import ChainVerdict

K = TypeVar("K")
V = TypeVar("V")
LEVELS = {1: "warning", 2: "fatal"}
#: list cells seen lately, one list per distinct content: thousands of rows offer the same
#: suites and versions and name the same SANs, and the rows are never changed in place
_LISTS: dict[tuple[Any, ...], list[Any]] = {}
_LISTS_MAX = 4096


def remember(cache: dict[K, V], key: K, make: Callable[[], V], limit: int) -> V:
    """``cache[key]``, made by ``make()`` the first time; a full cache starts over (these
    hold what repeats across the connections of one capture: a few distinct values)."""
    found = cache.get(key)
    if found is None:
        found = make()
        if len(cache) >= limit:
            cache.clear()
        cache[key] = found
    return found


def shared_list(items: Iterable[Any]) -> list[Any]:
    """A list cell equal to ``list(items)``, the same object for the same content."""
    key = tuple(items)
    return remember(_LISTS, key, lambda: list(key), _LISTS_MAX)

ALERT_RECORD_LENGTHS = (19, 11)  # AEAD alert: 2 + 1 + tag (16, or 8 for CCM_8)


def message_type(msg: Any) -> str:
    name = type(msg).__name__
    if name == "ServerHello" and msg.is_hello_retry_request:
        return "HelloRetryRequest"
    if name == "UnknownHandshake":
        return f"Handshake({msg.handshake_type})"
    return str(name)


def _client_hello_detail(msg: Any) -> str:
    parts = []
    if msg.server_name:
        parts.append(f"SNI {msg.server_name}")
    versions = msg.supported_versions or (msg.legacy_version,)
    parts.append("versions " + ",".join(version_name(v) for v in versions))
    parts.append(f"{len(msg.cipher_suites)} suites")
    if msg.alpn_protocols:
        parts.append("ALPN " + ",".join(msg.alpn_protocols))
    return "; ".join(parts)


def _server_hello_detail(msg: Any) -> str:
    if msg.is_hello_retry_request:
        g = msg.key_share_group
        return f"retry with {group_name(g)}" if g is not None else "retry"
    return f"{version_name(msg.selected_version)}; {cipher_suite_name(msg.cipher_suite)}"


def _compressed_certificate_detail(msg: Any) -> str:
    n = len(msg.certificate.certificate_list) if msg.certificate else "?"
    return f"{n} certificate(s), compressed (algorithm {msg.algorithm})"


def _server_key_exchange_detail(msg: Any) -> str:
    if msg.named_group is not None:
        return f"{msg.kind} {group_name(msg.named_group)}"
    if msg.dh_p_bits:
        return f"{msg.kind} {msg.dh_p_bits}-bit prime"
    return str(msg.kind)


def _certificate_request_detail(msg: Any) -> str:
    names = ca_names(msg)
    return f"{len(names)} CA name(s)" + (": " + "; ".join(names) if names else "")


_DETAILS: dict[str, Callable[[Any], str]] = {
    "ClientHello": _client_hello_detail,
    "ServerHello": _server_hello_detail,
    "Certificate": lambda msg: f"{len(msg.certificate_list)} certificate(s)",
    "CompressedCertificate": _compressed_certificate_detail,
    "ServerKeyExchange": _server_key_exchange_detail,
    "CertificateRequest": _certificate_request_detail,
    "NewSessionTicket": lambda msg: f"lifetime {msg.ticket_lifetime} s",
}


def message_detail(msg: Any) -> str:
    detail = _DETAILS.get(type(msg).__name__)
    return detail(msg) if detail is not None else ""


#: certificate_authorities lists seen lately, as names: a server asks every client for the
#: same ones (and decoding a name is slow)
_CA_NAMES: dict[tuple[bytes, ...], tuple[str, ...]] = {}
_CA_NAMES_MAX = 256


def ca_names(msg: Any) -> tuple[str, ...]:
    """A CertificateRequest's certificate_authorities as RFC 4514 names (TLS 1.2 list, or the
    TLS 1.3 certificate_authorities extension when the parser filled it)."""
    ders = tuple(getattr(msg, "certificate_authorities", ()) or ())
    return remember(_CA_NAMES, ders, lambda: _ca_names(ders), _CA_NAMES_MAX)


def _ca_names(ders: tuple[bytes, ...]) -> tuple[str, ...]:
    from pcaptls.x509.names import NameDecodeError, name_from_der

    out = []
    for der in ders:
        try:
            out.append(name_from_der(der))
        except NameDecodeError:
            out.append(f"(undecodable name, {len(der)} bytes)")
    return tuple(out)


def _ssl2_type(msg: Any) -> str:
    return "SSLv2 " + type(msg).__name__.removeprefix("Ssl2")


_VERSION_NAMES: dict[int, str] = {}


def _version_name(value: int) -> str:
    """:func:`version_name`, remembered (16-bit values only: the dict stays small)."""
    name = _VERSION_NAMES.get(value)
    if name is None:
        name = _VERSION_NAMES[value] = version_name(value)
    return name


_HANDSHAKE = tev.HandshakeEvent
_CCS = tev.ChangeCipherSpecEvent
_ENCRYPTED_HANDSHAKE = tev.EncryptedHandshakeEvent


def messages_and_alerts(c: _Conn) -> tuple[list[Message], list[AlertSeen], dict[str, Any]]:
    """The messages table rows and the alerts, each alert with the message it followed."""
    msgs: list[Message] = []
    alerts: list[AlertSeen] = []
    facts: dict[str, Any] = {"malformed": [], "gaps": [], "not_tls": None, "ssl2": False,
                             "frames": {}, "decrypted": False}
    frames: dict[str, int] = facts["frames"]
    last: tuple[str, str] | None = None
    tls = c.tls
    vname = _version_name
    add = msgs.append
    for e in c.events:
        t = type(e)
        if t is _HANDSHAKE:
            m = e.message
            mtype = message_type(m)
            add(Message(e.frame, e.time_ns, e.side, vname(e.record_version), mtype, message_detail(m)))
            frames.setdefault(f"{e.side}:{mtype}", e.frame)
            if e.decrypted:
                facts["decrypted"] = True
            last = (mtype, e.side)
        elif t is _CCS:
            add(Message(e.frame, e.time_ns, e.side, vname(e.record_version), "ChangeCipherSpec", ""))
        elif t is _ENCRYPTED_HANDSHAKE:
            if (
                e.inferred and e.length in ALERT_RECORD_LENGTHS
                and not _later_traffic(tls, e.side, e.frame)
            ):
                # TLS 1.3 hides the record type: a record of alert size that ends the
                # sender's traffic is an alert (a Finished is at least 32 bytes longer).
                a = AlertSeen(e.frame, e.time_ns, e.side, None, None,
                              last[0] if last else None, last[1] if last else None)
                alerts.append(a)
                add(Message(e.frame, e.time_ns, e.side, vname(e.record_version),
                            "Alert", f"encrypted ({e.length}-byte record: alert size)"))
                continue
            add(Message(e.frame, e.time_ns, e.side, vname(e.record_version),
                        "EncryptedHandshake", f"{e.length} bytes"))
            frames.setdefault(f"{e.side}:EncryptedHandshake", e.frame)
            last = ("EncryptedHandshake", e.side)
        elif t is tev.Ssl2Event:
            mtype = _ssl2_type(e.message)
            add(Message(e.frame, e.time_ns, e.side, "SSL 2.0", mtype, ""))
            frames.setdefault(f"{e.side}:{mtype}", e.frame)
            last = (mtype, e.side)
        elif t is tev.AlertEvent:
            if e.description is None:
                level, desc = None, None
                detail = "encrypted"
            else:
                level = LEVELS.get(e.level or 0, f"0x{(e.level or 0):02x}")
                desc = alert_name(e.description)
                detail = f"{level}:{desc}" + (" (decrypted)" if e.decrypted else "")
            alerts.append(AlertSeen(e.frame, e.time_ns, e.side, level, desc,
                                    last[0] if last else None, last[1] if last else None))
            add(Message(e.frame, e.time_ns, e.side, vname(e.record_version), "Alert", detail))
        elif t is tev.DamagedRecordEvent and e.content_type == 21:
            # An alert record cut by the capture: who sent it is known, what it says is not.
            alerts.append(AlertSeen(e.frame, e.time_ns, e.side, None, None,
                                    last[0] if last else None, last[1] if last else None))
            add(Message(e.frame, e.time_ns, e.side, "", "Alert",
                        "unreadable (record cut by the capture)"))
        elif t is tev.NotTlsEvent:
            if facts["not_tls"] is None:
                text = e.first_bytes[:40].decode("latin-1").split("\r")[0].split("\n")[0]
                facts["not_tls"] = (e.side, e.frame, text)
        elif t is tev.MalformedEvent:
            facts["malformed"].append((e.side, e.frame, e.reason))
        elif t is tev.GapEvent:
            facts["gaps"].append((e.side, e.frame, e.length))
    # Server's encrypted alert after the client's flight (TLS 1.3 certificate_required):
    # the server's only application-data record, of alert size, then the end.
    ad = tls.app_data.get("server")
    if (
        ad is not None and ad.records == 1 and ad.last_length in ALERT_RECORD_LENGTHS
        and tls.version is not None and version_name(tls.version).startswith("TLS 1.3")
        and not facts["decrypted"]
    ):
        alerts.append(AlertSeen(ad.last_frame, 0, "server", None, None,
                                last[0] if last else None, last[1] if last else None))
        msgs.append(Message(ad.last_frame, 0, "server", "TLS 1.2", "Alert",
                            "encrypted (alert-size record ending the server's traffic)"))
    return msgs, alerts, facts


def _later_traffic(tls: Any, side: str, frame: int) -> bool:
    """Did ``side`` send anything protected after ``frame``?"""
    ad = tls.app_data.get(side)
    return bool(ad is not None and ad.last_frame is not None and ad.last_frame > frame)


def _handshake_done(tls: Any, msgs: list[Message]) -> tuple[bool, int | None]:
    v = tls.version
    if v is None:
        return False, None
    vname = version_name(v)
    if vname == "SSL 2.0":
        # After ClientMasterKey everything is encrypted: both sides sending means it went on.
        cmk = next((m.frame for m in msgs if m.type == "SSLv2 ClientMasterKey"), None)
        sides = {m.sender for m in msgs if m.type == "SSLv2 Other" and cmk is not None and m.frame > cmk}
        return sides == {"client", "server"}, tls.last_handshake_frame
    if vname.startswith("TLS 1.3"):
        client_fin = [m.frame for m in msgs if m.sender == "client" and m.type in ("Finished", "EncryptedHandshake")]
        if client_fin:
            return True, client_fin[-1]
        return False, None
    # TLS <= 1.2 (and SSL 3.0): each side sent ChangeCipherSpec and then its Finished.
    ccs = {m.sender: m.frame for m in msgs if m.type == "ChangeCipherSpec"}
    if "client" in ccs and "server" in ccs:
        after = [m.frame for m in msgs if m.type in ("EncryptedHandshake", "Finished")
                 and m.frame >= ccs[m.sender]]
        return True, max(after) if after else max(ccs.values())
    return False, None


def tls_evidence(p: Pipeline, c: _Conn, base: dict[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    tls = c.tls
    msgs, alerts, facts = messages_and_alerts(c)
    c.messages = msgs
    frames = facts["frames"]
    done, end_frame = _handshake_done(tls, msgs)
    ch = tls.client_hello
    v = tls.version
    vname = _version_name(v) if v is not None else None
    tls13 = vname is not None and vname.startswith("TLS 1.3")
    suite = tls.cipher_suite
    ssl2 = tls.ssl2_client_hello is not None and ch is None
    group = tls.group
    resumed = bool(tls.resumed)
    cert_request = tls.certificate_request
    app_data = tls.app_data
    if tls13:
        hs_done = done and not any(a.level == "fatal" or (a.description is None and a.after_sender != a.sender)
                                   for a in alerts)
    else:
        hs_done = done and not any(a.level == "fatal" for a in alerts)
    out: dict[str, Any] = {
        "tls_seen": bool(msgs) or facts["not_tls"] is not None,
        "not_tls": facts["not_tls"],
        "ssl2_client_hello": ssl2,
        "messages": tuple(msgs),
        "alerts": tuple(alerts),
        "malformed": tuple(facts["malformed"]),
        "client_hello_frame": frames.get("client:ClientHello") or frames.get("client:SSLv2 ClientHello"),
        "server_hello_frame": frames.get("server:ServerHello") or frames.get("server:SSLv2 ServerHello"),
        "sni": tls.sni,
        "client_versions": _client_versions(tls.client_versions),
        "version": vname,
        "version_code": v,
        "cipher": _suite_name(suite, ssl2=v == 0x0002) if suite is not None else None,
        "cipher_code": suite,
        "cipher_properties": _suite_props(suite) if suite is not None and v != 0x0002 else {},
        "ciphers_offered": _suite_names(tls.ciphers_offered, ssl2=ssl2),
        "group": group_name(group) if group is not None else None,
        "alpn_offered": tuple(tls.alpn_offered),
        "alpn": tls.alpn,
        "resumed": resumed,
        "hello_retry": tls.hello_retry,
        "client_cert_requested": bool(tls.client_cert_requested),
        "certificate_request_frame": frames.get("server:CertificateRequest"),
        "client_cert_cas": ca_names(cert_request) if cert_request else (),
        "client_cert_sent": tls.client_cert_sent,
        "client_cert_frame": frames.get("client:Certificate") or frames.get("client:CompressedCertificate"),
        "server_cert_frame": frames.get("server:Certificate") or frames.get("server:CompressedCertificate"),
        "handshake_done": hs_done,
        "handshake_end_frame": end_frame,
        "compression": tls.compression or 0,
        "client_reneg": _reneg(tls, "client"),
        "server_reneg": _reneg(tls, "server"),
        "fallback_scsv": tls.fallback_scsv,
        "dh_prime_bits": tls.dh_prime_bits,
        "ske_frame": frames.get("server:ServerKeyExchange"),
        "decrypted": facts["decrypted"],
        "app_data_frames": app_data["client"].records + app_data["server"].records,
    }
    if facts["gaps"]:
        hs_end = end_frame or (10**12 if not done else 0)
        out["gaps"] = tuple(
            Gap(s, f, n, in_handshake=(f <= hs_end and not done) or (done and end_frame is not None and f <= end_frame))
            for s, f, n in facts["gaps"]
        )
    else:
        out["gaps"] = ()
    extra: list[Finding] = []
    out["server_cert"], more = _judge_chain(p, c, "server", base, out)
    extra.extend(more)
    out["client_cert"], more = _judge_chain(p, c, "client", base, out)
    extra.extend(more)
    if out["server_cert"] is None and v is not None and not resumed and tls13 and not facts["decrypted"]:
        out["server_cert"] = CertJudgement("server", out["server_hello_frame"] or 0, "not_determined",
                                           "TLS 1.3 encrypts the certificate and no key log matched")
    return out, extra


#: the names of version and suite lists by the values (a capture's clients offer the same
#: few lists), for the client's versions, its suites, and an SSLv2 hello's cipher kinds
_CLIENT_VERSIONS: dict[tuple[int, ...], tuple[str, ...]] = {}
_SUITES: dict[tuple[int, ...], tuple[str, ...]] = {}
_SSL2_SUITES: dict[tuple[int, ...], tuple[str, ...]] = {}
_NAMES_MAX = 1024


def _client_versions(values: tuple[int, ...]) -> tuple[str, ...]:
    return remember(_CLIENT_VERSIONS, values,
                    lambda: tuple(version_name(x) for x in values if not _grease(x)), _NAMES_MAX)


def _suite_names(values: tuple[int, ...], *, ssl2: bool) -> tuple[str, ...]:
    return remember(_SSL2_SUITES if ssl2 else _SUITES, values,
                    lambda: tuple(_suite_name(s, ssl2=ssl2) for s in values), _NAMES_MAX)


def _grease(v: int) -> bool:
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def _suite_name(value: int, *, ssl2: bool = False) -> str:
    if ssl2 or value > 0xFFFF:
        return ssl2_cipher_kind_name(value)
    return cipher_suite_name(value)


_SUITE_PROPS: dict[int, dict[str, object]] = {}


def _suite_props(value: int) -> dict[str, object]:
    props = remember(_SUITE_PROPS, value, lambda: _suite_props_of(value), _NAMES_MAX)
    return dict(props)  # each connection's own: the evidence's dict is not shared


def _suite_props_of(value: int) -> dict[str, object]:
    info = cipher_suite_info(value)
    if info is None:
        return {}
    bulk = info.cipher or ""
    return {
        "key_exchange": info.key_exchange,
        "bulk": "NULL" if info.mode == "NULL" else bulk,
        "mode": info.mode,
        "export": info.export,
        "anonymous": info.anonymous,
        "forward_secrecy": info.forward_secrecy,
    }


_RENEGOTIATION_INFO = int(ExtensionType.renegotiation_info)


def _reneg(tls: Any, side: str) -> bool:
    ch, sh = tls.client_hello, tls.server_hello
    if side == "client":
        return bool(ch is not None and (0x00FF in ch.cipher_suites or ch.has_ext(_RENEGOTIATION_INFO)))
    return bool(sh is not None and sh.has_ext(_RENEGOTIATION_INFO))


_AT_TEXT: dict[str, datetime | None] = {}


def _at(p: Pipeline, frame_time_ns: int) -> datetime:
    text = p.settings.at
    if text:
        at = _AT_TEXT.get(text)
        if at is None:
            from pcaptls.pipeline import parse_at

            at = parse_at(text)
            if len(_AT_TEXT) >= 64:
                _AT_TEXT.clear()
            _AT_TEXT[text] = at
        if at is not None:
            return at
    sec, rem = divmod(frame_time_ns, 1_000_000_000)
    return datetime.fromtimestamp(sec, UTC).replace(microsecond=rem // 1000)


def _chain_of(events: list[Any], side: str) -> tuple[tuple[bytes, ...], int | None, int]:
    """The last non-empty Certificate of ``side``: (DER tuple, frame, time)."""
    for e in reversed(events):
        if type(e) is tev.HandshakeEvent and e.side == side:
            m = e.message
            if isinstance(m, CompressedCertificate):
                m = m.certificate  # type: ignore[assignment]
            if isinstance(m, Certificate) and m.certificate_list:
                return tuple(m.certificate_list), e.frame, e.time_ns
    return (), None, 0


@dataclass(frozen=True, slots=True)
class _ChainTemplate:
    """What judging one chain gives that does not depend on the connection or the time: the
    certificates table's cells but the connection's and the days left, and the judgement's
    words. Made once per remembered verdict (see :func:`_template`)."""

    verdict: ChainVerdict  # the remembered verdict it was made from (and is keyed on)
    facts: tuple[CertificateFacts, ...]
    #: per position: the cells before ``days_left_at_capture`` (but conn_id, sender,
    #: frame, position) and those after ``days_left_today``
    cells: tuple[tuple[dict[str, Any], dict[str, Any]], ...]
    shas: tuple[str, ...]
    #: the CertJudgement's fields but sender, frame, the soonest expiry and the staple's
    judgement: dict[str, Any]


#: chain templates by the remembered verdict's id (the template keeps the verdict alive, so
#: the id is not reused while the entry exists; a hit is checked with ``is``)
_TEMPLATES: dict[int, _ChainTemplate] = {}
_TEMPLATES_MAX = 1024


def _template(chain: tuple[bytes, ...], side: str, identity: str | None, verdict: ChainVerdict
              ) -> _ChainTemplate:
    from pcaptls.x509.facts import parsed_facts

    facts = tuple(parsed_facts(der) for der in chain)
    cells = []
    for pos, f in enumerate(facts):
        cells.append((
            {"subject": f.subject, "issuer": f.issuer, "sans": shared_list(f.sans), "serial": f.serial,
             "not_before": _ns(f.not_before), "not_after": _ns(f.not_after)},
            {"key_type": f.key_type + (f" {f.key_curve}" if f.key_curve else "") if f.key_type else None,
             "key_bits": f.key_bits, "signature_algorithm": f.signature_algorithm,
             "eku": shared_list(f.eku), "self_signed": f.self_signed, "is_ca": f.is_ca, "sha256": f.sha256,
             "verdict": verdict.verdict_at(pos) if verdict.verdict != "not_determined" else "not_determined",
             "reason": verdict.reason if verdict.position == pos or (pos == 0 and verdict.position is None)
             else ""},
        ))
    leaf = facts[0]
    flags = set(verdict.flags)
    parse_errors = tuple(f"position {i}: {f.parse_error}" for i, f in enumerate(facts) if f.parse_error)
    main_code: str = verdict.verdict
    if main_code in ("weak_key", "weak_signature"):
        main_code = "ok"  # reported as their own warnings, not as the chain's verdict
    hostname_ok = None
    if verdict.identity_match is not None:
        hostname_ok = bool(verdict.identity_match.matched)
    judgement = {
        "verdict": main_code if not parse_errors else "parse_error",
        "reason": verdict.reason if not parse_errors else "; ".join(parse_errors),
        "position": verdict.position, "subject": leaf.subject, "leaf_subject": leaf.subject,
        "leaf_sans": leaf.sans, "leaf_issuer": leaf.issuer, "identity": identity,
        "hostname_ok": hostname_ok, "cn_only": "cn_only" in flags and side == "server",
        "missing_issuer": verdict.missing_issuer, "aia_url": verdict.aia_url,
        "chain_order_problem": next((pr.text for pr in verdict.problems if pr.code == "chain_order"), None)
        if "chain_order" in flags else None,
        "weak_keys": tuple(pr.text for pr in verdict.problems if pr.code == "weak_key"),
        "weak_signatures": tuple(pr.text for pr in verdict.problems if pr.code == "weak_signature"),
        "eku_problem": next((pr.text for pr in verdict.problems if pr.code == "eku_mismatch"), None),
        "parse_errors": parse_errors,
    }
    return _ChainTemplate(verdict, facts, tuple(cells), tuple(f.sha256 for f in facts), judgement)


def _judge_chain(p: Pipeline, c: _Conn, side: str, base: dict[str, Any], out: dict[str, Any]
                 ) -> tuple[CertJudgement | None, list[Finding]]:
    from pcaptls.x509.facts import ns_to_datetime
    from pcaptls.x509.verify import remembered_verdict

    chain, frame, t_ns = _chain_of(c.events, side)
    if not chain or frame is None:
        return None, []
    at = _at(p, t_ns)
    identity = None
    if side == "server":
        identity = p.settings.expect_host or out["sni"]
    verdict, remembered = remembered_verdict(
        chain, role=side, identity=identity, at=at, trust=p._trust(),  # type: ignore[arg-type]
        check_hostname=p.settings.check_hostname and identity is not None)
    tpl = _TEMPLATES.get(id(verdict)) if remembered else None
    if tpl is None or tpl.verdict is not verdict:
        tpl = _template(chain, side, identity, verdict)
        if remembered:
            if len(_TEMPLATES) >= _TEMPLATES_MAX:
                _TEMPLATES.clear()
            _TEMPLATES[id(verdict)] = tpl
    # The days left, at the capture time (as certificate_facts counts them) and today.
    at_capture = ns_to_datetime(int(at.timestamp() * 1e9))
    now = datetime.now(UTC)
    conn_id = base["conn_id"]
    rows = p.tables["certificates"].rows
    der_of = p.certificates_der
    soonest: CertificateFacts | None = None
    soonest_days = 0.0
    for pos, f in enumerate(tpl.facts):
        na = f.not_after
        days = today = None
        if na is not None:
            days = (na - at_capture).total_seconds() / 86_400
            today = (na - now).total_seconds() / 86_400
            if soonest is None or days < soonest_days:
                soonest, soonest_days = f, days
        der_of.setdefault(f.sha256, f.der)
        head, tail = tpl.cells[pos]
        rows.append({"conn_id": conn_id, "sender": side, "frame": frame, "position": pos, **head,
                     "days_left_at_capture": days, "days_left_today": today, **tail})
    p.chains.append((conn_id, side, tpl.shas))
    ocsp_revoked, ocsp_problem = (None, None)
    if side == "server":
        ocsp_revoked, ocsp_problem = _judge_staple(c.events, chain, at)
    cj = CertJudgement(
        sender=side, frame=frame, **tpl.judgement,
        days_left=soonest_days if soonest is not None else None,
        expiring_subject=soonest.subject if soonest is not None else None,
        not_after=soonest.not_after.date().isoformat() if soonest is not None and soonest.not_after else None,
        ocsp_revoked=ocsp_revoked, ocsp_problem=ocsp_problem,
    )
    return cj, []


def _judge_staple(events: list[Any], chain: tuple[bytes, ...], at: datetime) -> tuple[str | None, str | None]:
    """The stapled OCSP response (CertificateStatus), judged at the capture time."""
    from cryptography import x509 as cx509

    from pcaptls.x509 import decode_ocsp, judge_ocsp

    status = next((e for e in events if type(e) is tev.HandshakeEvent and e.side == "server"
                   and isinstance(e.message, CertificateStatus)), None)
    if status is None or not isinstance(status.message, CertificateStatus):
        return None, None
    try:
        leaf = cx509.load_der_x509_certificate(chain[0])
        issuer = cx509.load_der_x509_certificate(chain[1]) if len(chain) > 1 else None
    except ValueError:
        return None, None
    verdict = judge_ocsp(decode_ocsp(status.message.response), leaf=leaf, at=at, issuer=issuer)
    where = f"the stapled OCSP response (frame {status.frame})"
    if verdict.verdict == "revoked":
        return f"{where} says the server's certificate is revoked: {verdict.reason}.", None
    if verdict.verdict in ("good", "unknown"):
        return None, None
    return None, f"{where} is unusable ({verdict.verdict}): {verdict.reason}."


def _ns(d: datetime | None) -> int | None:
    if d is None:
        return None
    return int(d.timestamp()) * 1_000_000_000 + d.microsecond * 1000


#: JA3 and JA4 by what they are computed from (a ClientHello but its random, session id,
#: compression methods and fresh key material), and JA3S likewise
_PRINTS: dict[tuple[Any, ...], tuple[str, str]] = {}
_SERVER_PRINTS: dict[tuple[Any, ...], str] = {}
_PRINTS_MAX = 4096


def _client_prints(ch: Any) -> tuple[str, str]:
    """(JA3, JA4) of a ClientHello, each distinct hello computed once."""
    from pcaptls.tls.extensions import FRESH_EACH_TIME
    from pcaptls.tls.fingerprint import ja3, ja4

    key = (ch.legacy_version, ch.cipher_suites,
           tuple(e.type if e.type in FRESH_EACH_TIME else (e.type, e.data) for e in ch.extensions))
    return remember(_PRINTS, key, lambda: (ja3(ch), ja4(ch)), _PRINTS_MAX)


def _server_print(sh: Any) -> str:
    """JA3S of a ServerHello, each distinct answer computed once."""
    from pcaptls.tls.fingerprint import ja3s

    key = (sh.legacy_version, sh.cipher_suite, tuple(e.type for e in sh.extensions))
    return remember(_SERVER_PRINTS, key, lambda: ja3s(sh), _PRINTS_MAX)


_LeafCells = tuple[str | None, list[str], str | None, int | None, str | None]
_NO_LEAF: _LeafCells = (None, [], None, None, None)
#: the connections table's leaf cells by the leaf's DER (subject, SANs, issuer, notAfter,
#: SHA-256): nothing in them depends on the connection or the time
_LEAVES: dict[bytes, _LeafCells] = {}
_LEAVES_MAX = 1024


def _leaf_cells(der: bytes) -> _LeafCells:
    found = _LEAVES.get(der)
    if found is None:
        from pcaptls.x509.facts import parsed_facts

        leaf = parsed_facts(der)
        found = (leaf.subject, shared_list(leaf.sans), leaf.issuer, _ns(leaf.not_after), leaf.sha256)
        if len(_LEAVES) >= _LEAVES_MAX:
            _LEAVES.clear()
        _LEAVES[der] = found
    return found


def tls_row(c: _Conn, ev: Any) -> dict[str, Any]:
    """The TLS columns of the connections table."""
    tls = c.tls
    ch, sh = tls.client_hello, tls.server_hello
    prints = _client_prints(ch) if ch else None
    chain, _frame, _t = _chain_of(c.events, "server")
    leaf = _leaf_cells(chain[0]) if chain else _NO_LEAF
    hs_ms = None
    if ev.client_hello_frame is not None:
        t0 = next((m.time_ns for m in ev.messages if m.frame == ev.client_hello_frame), None)
        t1 = max((m.time_ns for m in ev.messages if m.type != "Alert" and m.time_ns), default=None)
        if t0 is not None and t1 is not None:
            hs_ms = (t1 - t0) / 1e6
    return {
        "sni": ev.sni, "alpn_offered": shared_list(ev.alpn_offered), "alpn": ev.alpn,
        "client_versions": shared_list(ev.client_versions), "version": ev.version,
        "cipher": ev.cipher, "group": ev.group, "ciphers_offered": shared_list(ev.ciphers_offered),
        "resumed": ev.resumed,
        "hello_retry": ev.hello_retry, "client_cert_requested": ev.client_cert_requested,
        "client_cert_sent": ev.client_cert_sent,
        "cert_count": len(chain) if chain else None,
        "leaf_subject": leaf[0], "leaf_sans": leaf[1], "leaf_issuer": leaf[2],
        "leaf_not_after": leaf[3], "leaf_sha256": leaf[4],
        "ja3": prints[0] if prints else None, "ja4": prints[1] if prints else None,
        "ja3s": _server_print(sh) if sh and not sh.is_hello_retry_request else None,
        "handshake_ms": hs_ms,
    }
