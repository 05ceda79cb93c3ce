"""The connections, messages and certificates tables from tshark's dissection.

For encapsulations the native reader does not decode (tunnels, exotic link layers),
and as the second opinion of ``pcaptls crosscheck``. tshark does the decoding and the
reassembly; pyshark hands us its fields; this module only names what it saw the way
the tables do (IANA names through :mod:`pcaptls.tls.registry`, RFC 4514 names).
Columns tshark cannot know the same way (findings, fingerprints, verdicts) stay null.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pcaptls.errors import CaptureError, InputError
from pcaptls.report.table import Table
from pcaptls.tls.registry import alert_name, cipher_suite_name, is_grease, version_name

if TYPE_CHECKING:
    from pcaptls.analysis import Analysis

DEFAULT_PORTS: tuple[int, ...] = (5061,)
#: ServerHello.random of a HelloRetryRequest (RFC 8446, section 4.1.3)
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
ALERT_LEVELS = {1: "warning", 2: "fatal"}  # RFC 5246, section 7.2 (AlertLevel)
CONTENT_CHANGE_CIPHER_SPEC, CONTENT_ALERT, CONTENT_APPLICATION_DATA = 20, 21, 23

#: RFC 4514, section 3: the attribute type keywords a string representation uses;
#: tshark writes the X.520 names with an ``id-at-`` prefix.
RFC4514_KEYWORDS = {
    "commonName": "CN", "localityName": "L", "stateOrProvinceName": "ST",
    "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
    "streetAddress": "STREET", "domainComponent": "DC", "userId": "UID",
}
_RDN_SPLIT = re.compile(r",(?=[A-Za-z][\w.-]*=)")
_ESCAPE = re.compile(r'([,+"\\<>;])')


class TsharkError(CaptureError):
    """tshark is missing, or could not read the capture."""


def handshake_type_names() -> dict[int, str]:
    """Handshake type number → the class name the native messages table uses."""
    from pcaptls.tls import messages

    out: dict[int, str] = {}
    for obj in vars(messages).values():
        t = getattr(obj, "msg_type", None)
        if isinstance(obj, type) and isinstance(t, int):
            out[int(t)] = obj.__name__
    return out


def tshark_preferences(keylogs: Sequence[str] = ()) -> dict[str, str]:
    """The preferences that make tshark's view comparable with ours.

    Out-of-order segments are reassembled (off by default in tshark 4.0, which then
    misses messages); a key log decrypts what the native engine would decrypt.
    """
    prefs = {
        "tcp.reassemble_out_of_order": "TRUE",
        "tcp.desegment_tcp_streams": "TRUE",
        "tls.desegment_ssl_records": "TRUE",
        "tls.desegment_ssl_application_data": "TRUE",
    }
    if keylogs:
        prefs["tls.keylog_file"] = os.fspath(keylogs[0])
    return prefs


def rfc4514_from_tshark(text: str) -> str | None:
    """``rdnSequence: 2 items (id-at-commonName=a,id-at-organizationName=b)`` → ``CN=a,O=b``.

    tshark already lists the most specific RDN first, as RFC 4514 does; values are not
    escaped there, so a comma inside a value is told apart by what follows it.
    """
    start = text.find("(")
    if start < 0 or not text.endswith(")"):
        return None
    inner = text[start + 1 : -1]
    if not inner:
        return ""
    parts = []
    for item in _RDN_SPLIT.split(inner):
        key, _, value = item.partition("=")
        name = key.removeprefix("id-at-").removeprefix("id-")
        parts.append(f"{RFC4514_KEYWORDS.get(name, name)}={escape_rdn_value(value)}")
    return ",".join(parts)


def escape_rdn_value(value: str) -> str:
    out = _ESCAPE.sub(r"\\\1", value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" ") and len(out) > 1:
        out = out[:-1] + "\\ "
    return out


Endpoint = tuple[str, int]


@dataclass(slots=True)
class _Cert:
    frame: int
    sender: Endpoint
    position: int
    der: bytes
    subject: str | None
    issuer: str | None
    serial: str | None


@dataclass(slots=True)
class _Stream:
    """What one TCP stream showed; sides are endpoints until the client is known."""

    first_frame: int
    start: int
    first_src: Endpoint
    first_dst: Endpoint
    last_frame: int = 0
    end: int = 0
    syn_from: Endpoint | None = None
    client_hello_from: Endpoint | None = None
    tls: bool = False
    messages: list[tuple[int, int, Endpoint, str]] = field(default_factory=list)
    alerts: list[tuple[Endpoint, str]] = field(default_factory=list)
    sni: str | None = None
    client_versions: tuple[str, ...] | None = None
    ciphers_offered: tuple[str, ...] | None = None
    version: str | None = None
    cipher: str | None = None
    hello_retry: bool = False
    client_cert_requested: bool = False
    certs: list[_Cert] = field(default_factory=list)
    syn_ack: bool = False
    rst_from: set[Endpoint] = field(default_factory=set)
    payload: bool = False
    app_data_from: set[Endpoint] = field(default_factory=set)


def read_tables(
    path: str | os.PathLike[str],
    *,
    ports: Iterable[int] = DEFAULT_PORTS,
    keylogs: Sequence[str] = (),
) -> dict[str, Table]:
    """The connections, messages and certificates tables as tshark sees ``path``.

    ``ports`` are decoded as TLS whatever tshark would guess there (the ports where
    pcaptls found TLS); connections to them are listed even without any TLS.
    """
    import pyshark

    name = os.fspath(path)
    if shutil.which("tshark") is None:
        raise TsharkError("tshark is not installed: the tshark engine needs it")
    if not os.path.isfile(name):
        raise InputError(f"{name}: no such file")
    port_set = sorted(set(ports))
    with tempfile.TemporaryDirectory(prefix="pcaptls-tshark-") as tmp:
        readable = _readable_by_tshark(name, tmp)
        return _read(pyshark, readable, name, port_set, keylogs)


def _readable_by_tshark(name: str, tmp: str) -> str:
    """tshark 4.0 reads gzip but not xz, bzip2 or zstd: those are unpacked to ``tmp``."""
    with open(name, "rb") as f:
        head = f.read(6)
    opener: Any = None
    if head.startswith(b"\xfd7zXZ\x00"):
        import lzma

        opener = lzma.open
    elif head.startswith(b"BZh"):
        import bz2

        opener = bz2.open
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        import zstandard

        def opener(n: str, mode: str) -> Any:
            return zstandard.open(n, mode)
    if opener is None:
        return name
    out = os.path.join(tmp, "capture")
    try:
        with opener(name, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    except (OSError, EOFError, ValueError) as e:
        raise CaptureError(f"{name}: cannot decompress ({e})") from None
    return out


def _check_tshark_reads(path: str, name: str) -> None:
    proc = subprocess.run(["tshark", "-r", path, "-c", "1", "-T", "fields", "-e", "frame.number"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise TsharkError(f"{name}: tshark cannot read it ({last})")


def _read(
    pyshark: Any, path: str, name: str, port_set: list[int], keylogs: Sequence[str]
) -> dict[str, Table]:
    _check_tshark_reads(path, name)
    cap = pyshark.FileCapture(
        path,
        keep_packets=False,
        override_prefs=tshark_preferences(keylogs),
        decode_as={f"tcp.port=={p}": "tls" for p in port_set} or None,
    )
    streams: dict[int, _Stream] = {}
    names = handshake_type_names()
    try:
        for packet in cap:
            _packet(packet, streams, names)
    except InputError:
        raise
    except Exception as e:  # pyshark raises bare exceptions for tshark's failures
        raise TsharkError(f"{name}: tshark could not read it ({type(e).__name__}: {e})") from None
    finally:
        with contextlib.suppress(Exception):  # closing a dead tshark is no news
            cap.close()
    return _tables(streams, set(port_set))


def _time_ns(stamp: str) -> int:
    sec, _, frac = stamp.partition(".")
    return int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])


def _fields(layer: Any, name: str) -> list[Any]:
    f = layer.get_field(name)
    return list(f.all_fields) if f is not None else []


def _shows(layer: Any, name: str) -> list[str]:
    return [str(x.show) for x in _fields(layer, name)]


def _ints(layer: Any, name: str) -> list[int]:
    out = []
    for s in _shows(layer, name):
        try:
            out.append(int(s, 0))
        except ValueError:
            continue
    return out


def _bytes(f: Any) -> bytes:
    raw = getattr(f, "raw_value", None) or str(f.show).replace(":", "")
    try:
        return bytes.fromhex(str(raw))
    except ValueError:
        return b""


def _addr(packet: Any) -> tuple[str, str] | None:
    for proto in ("ipv6", "ip"):
        layers = packet.get_multiple_layers(proto)
        if layers:
            lay = layers[-1]
            return (str(ipaddress.ip_address(lay.src)), str(ipaddress.ip_address(lay.dst)))
    return None


def _packet(packet: Any, streams: dict[int, _Stream], names: dict[int, str]) -> None:
    tcps = packet.get_multiple_layers("tcp")
    addrs = _addr(packet)
    if not tcps or addrs is None:
        return
    tcp = tcps[-1]
    frame = int(packet.number)
    t = _time_ns(str(packet.sniff_timestamp))
    src: Endpoint = (addrs[0], int(tcp.srcport))
    dst: Endpoint = (addrs[1], int(tcp.dstport))
    idx = int(tcp.stream)
    s = streams.get(idx)
    if s is None:
        s = streams[idx] = _Stream(frame, t, src, dst)
    s.last_frame, s.end = frame, t
    syn = _ints(tcp, "tcp.flags.syn")
    ack = _ints(tcp, "tcp.flags.ack")
    if syn and syn[0] and not (ack and ack[0]) and s.syn_from is None:
        s.syn_from = src
    elif syn and syn[0] and ack and ack[0]:
        s.syn_ack = True
    if any(_ints(tcp, "tcp.flags.reset")):
        s.rst_from.add(src)
    if any(_ints(tcp, "tcp.len")):
        s.payload = True
    for layer in packet.get_multiple_layers("tls"):
        _tls_layer(layer, s, frame, t, src, names)


def _tls_layer(layer: Any, s: _Stream, frame: int, t: int, src: Endpoint, names: dict[int, str]) -> None:
    content = _ints(layer, "tls.record.content_type")
    htypes = _ints(layer, "tls.handshake.type")
    if content or htypes:
        s.tls = True
    for h in htypes:
        mtype = names.get(h, f"Handshake({h})")
        if h == 2 and any(_bytes(r) == HRR_RANDOM for r in _fields(layer, "tls.handshake.random")):
            mtype = "HelloRetryRequest"
        s.messages.append((frame, t, src, mtype))
    if CONTENT_APPLICATION_DATA in _ints(layer, "tls.record.opaque_type"):  # TLS 1.3 records
        s.app_data_from.add(src)
    for c in content:
        if c == CONTENT_APPLICATION_DATA:
            s.app_data_from.add(src)
        if c == CONTENT_CHANGE_CIPHER_SPEC:
            s.messages.append((frame, t, src, "ChangeCipherSpec"))
    levels = _ints(layer, "tls.alert_message.level")
    descs = _ints(layer, "tls.alert_message.desc")
    for i in range(sum(1 for c in content if c == CONTENT_ALERT)):
        if i < len(levels) and i < len(descs):
            level = ALERT_LEVELS.get(levels[i], f"0x{levels[i]:02x}")
            s.alerts.append((src, f"{level}:{alert_name(descs[i])}"))
        else:
            s.alerts.append((src, "encrypted"))
        s.messages.append((frame, t, src, "Alert"))
    if 1 in htypes and s.client_hello_from is None:
        s.client_hello_from = src
        s.sni = next(iter(_shows(layer, "tls.handshake.extensions_server_name")), None)
        sv = [v for v in _ints(layer, "tls.handshake.extensions.supported_version") if not is_grease(v)]
        legacy = _ints(layer, "tls.handshake.version")
        s.client_versions = tuple(version_name(v) for v in (sv or legacy[:1]))
        s.ciphers_offered = tuple(cipher_suite_name(c) for c in _ints(layer, "tls.handshake.ciphersuite"))
    elif 2 in htypes and src != s.client_hello_from:
        hrr = any(m[3] == "HelloRetryRequest" and m[0] == frame for m in s.messages)
        s.hello_retry = s.hello_retry or hrr
        sv = _ints(layer, "tls.handshake.extensions.supported_version")
        legacy = _ints(layer, "tls.handshake.version")
        chosen = sv[:1] or legacy[:1]
        if chosen:
            s.version = version_name(chosen[0])
        suites = _ints(layer, "tls.handshake.ciphersuite")
        if suites:
            s.cipher = cipher_suite_name(suites[0])
    if 13 in htypes:
        s.client_cert_requested = True
    if 11 in htypes:
        _certificates(layer, s, frame, src)


def _certificates(layer: Any, s: _Stream, frame: int, src: Endpoint) -> None:
    ders = [_bytes(f) for f in _fields(layer, "tls.handshake.certificate")]
    subjects = [rfc4514_from_tshark(str(f.showname)) for f in _fields(layer, "x509af.rdnSequence")]
    issuers = [rfc4514_from_tshark(str(f.showname)) for f in _fields(layer, "x509if.rdnSequence")]
    serials: list[str | None] = [_serial(str(f.show)) for f in _fields(layer, "x509af.serialNumber")]

    def pick(values: list[str | None], i: int) -> str | None:
        return values[i] if len(values) == len(ders) else None

    for i, der in enumerate(ders):
        s.certs.append(_Cert(frame, src, i, der, pick(subjects, i), pick(issuers, i), pick(serials, i)))


def _outcome(s: _Stream, client: Endpoint) -> str:
    """A coarse outcome from what tshark showed (the native engine's rules are finer)."""
    ccs = {m[2] for m in s.messages if m[3] == "ChangeCipherSpec"}
    if s.version == "TLS 1.3":
        done = client in s.app_data_from and len(s.app_data_from) == 2
    else:
        done = len(ccs) == 2
    if any(text.startswith("fatal:") for _, text in s.alerts):
        return "alert"
    if not done and any(text == "encrypted" for _, text in s.alerts):
        return "alert"
    if not s.tls:
        if s.syn_from is not None and not s.syn_ack:
            return "refused" if s.rst_from else "no_answer"
        return "not_tls" if s.payload else ("reset" if s.rst_from else "closed")
    if done:
        return "ok"
    if not any(m[3] == "ServerHello" for m in s.messages):
        return "server_silent"
    return "reset" if s.rst_from else "incomplete"


def _serial(show: str) -> str:
    """tshark's DER integer bytes as hex, without the sign byte that keeps it positive."""
    hexa = show.replace(":", "").lower()
    while len(hexa) > 2 and hexa.startswith("00"):
        hexa = hexa[2:]
    return hexa


def _tables(streams: dict[int, _Stream], ports: set[int]) -> dict[str, Table]:
    conns, msgs, certs = Table("connections"), Table("messages"), Table("certificates")
    keep = [s for s in streams.values() if s.tls or s.first_dst[1] in ports or s.first_src[1] in ports]
    for conn_id, s in enumerate(sorted(keep, key=lambda x: x.first_frame), 1):
        client = s.syn_from or s.client_hello_from or s.first_src
        server = s.first_dst if client == s.first_src else s.first_src

        def side(e: Endpoint, client: Endpoint = client) -> str:
            return "client" if e == client else "server"

        server_certs = [c for c in s.certs if side(c.sender) == "server"]
        first_chain = [c for c in server_certs if c.frame == server_certs[0].frame] if server_certs else []
        leaf = first_chain[0] if first_chain else None
        conns.rows.append({
            "conn_id": conn_id, "first_frame": s.first_frame, "last_frame": s.last_frame,
            "start": s.start, "end": s.end,
            "client": client[0], "client_port": client[1], "server": server[0], "server_port": server[1],
            "outcome": _outcome(s, client), "sni": s.sni, "alpn_offered": [], "alpn": None,
            "client_versions": _list(s.client_versions), "version": s.version, "cipher": s.cipher,
            "group": None, "ciphers_offered": _list(s.ciphers_offered), "resumed": None,
            "hello_retry": s.hello_retry, "client_cert_requested": s.client_cert_requested,
            "client_cert_sent": None,
            "cert_count": len(first_chain) if leaf is not None else None,
            "leaf_subject": leaf.subject if leaf else None, "leaf_sans": [],
            "leaf_issuer": leaf.issuer if leaf else None, "leaf_not_after": None,
            "leaf_sha256": hashlib.sha256(leaf.der).hexdigest() if leaf else None,
            "alerts": [f"{side(e)}:{text}" for e, text in s.alerts],
            "ja3": None, "ja4": None, "ja3s": None, "handshake_ms": None, "findings": [], "worst": None,
        })
        for frame, t, e, mtype in s.messages:
            msgs.rows.append({"conn_id": conn_id, "frame": frame, "time": t, "sender": side(e),
                              "record_version": None, "type": mtype, "detail": None})
        for c in s.certs:
            certs.rows.append({
                "conn_id": conn_id, "sender": side(c.sender), "frame": c.frame, "position": c.position,
                "subject": c.subject, "issuer": c.issuer, "sans": [], "serial": c.serial,
                "sha256": hashlib.sha256(c.der).hexdigest(), "eku": [],
            })
    return {"connections": conns, "messages": msgs, "certificates": certs}


def _list(v: tuple[str, ...] | None) -> list[str] | None:
    """A list cell, null where the message that carries it was never seen."""
    return list(v) if v is not None else None


def analyze_with_tshark(
    path: str | os.PathLike[str],
    *,
    ports: Iterable[int] = (),
    keylogs: Sequence[str] = (),
) -> Analysis:
    """``--engine tshark``: an Analysis whose connections, messages and certificates
    tables come from tshark; findings, SIP and fleet stay empty (no rules run on them)."""
    from pcaptls.analysis import Analysis, empty_tables

    tables = empty_tables()
    tables.update(read_tables(path, ports=sorted(set(DEFAULT_PORTS) | set(ports)), keylogs=keylogs))
    rows = tables["connections"].rows
    stats: dict[str, Any] = {
        "engine": "tshark",
        "start_ns": min((r["start"] for r in rows), default=None),
        "end_ns": max((r["end"] for r in rows), default=None),
    }
    return Analysis(files=[os.fspath(path)], tables=tables, stats=stats,
                    notes=["tables built from tshark's dissection: no findings were computed"])
