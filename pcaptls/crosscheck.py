"""Both engines over one capture, and every place where they disagree.

The native reader and tshark decode the same bytes independently; where they name a
connection's facts differently one of them is wrong. Only the facts both can know
are compared: the 4-tuple and who is the client, SNI, version, suite, the offered
suites, alerts, the server's chain length and leaf subject, and the handshake
messages by (frame, sender, type).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from pcaptls.engines.tshark import DEFAULT_PORTS, read_tables
from pcaptls.report.table import Table

#: the connection columns both engines can know, compared as they are
FIELDS: tuple[str, ...] = (
    "sni", "version", "cipher", "ciphers_offered", "alerts", "cert_count", "leaf_subject",
)
#: message types tshark cannot name without keys the way we do: the native reader
#: infers a TLS 1.3 encrypted handshake record from its place, tshark shows it as
#: application data; a TLS 1.2 Finished is "Encrypted Handshake Message" to both
SKIPPED_MESSAGE_TYPES: frozenset[str] = frozenset({"EncryptedHandshake"})
_RDN_PART = re.compile(r"((?:[^,\\]|\\.)+)")


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One fact the two engines see differently (``None`` = that engine has no value)."""

    file: str
    connection: str
    field: str
    native: str | None
    tshark: str | None

    def line(self) -> str:
        return (f"{self.file}: {self.connection}: {self.field}: "
                f"native={_show(self.native)} tshark={_show(self.tshark)}")


def _show(v: str | None) -> str:
    return "—" if v is None else repr(v)


def normalize_dn(text: str | None) -> tuple[tuple[str, str], ...] | None:
    """An RFC 4514 name as (TYPE, value) pairs, escapes undone, types upper-cased."""
    if text is None:
        return None
    out = []
    for part in _RDN_PART.findall(text):
        key, _, value = part.partition("=")
        value = re.sub(r"\\(.)", r"\1", value)
        out.append((key.strip().upper(), value))
    return tuple(out)


def _endpoint(addr: Any, port: Any) -> tuple[str, int]:
    return (str(addr), int(port))


def _label(row: dict[str, Any]) -> str:
    def ep(a: str, p: int) -> str:
        return f"[{a}]:{p}" if ":" in a else f"{a}:{p}"

    return f"{ep(row['client'], row['client_port'])} -> {ep(row['server'], row['server_port'])}"


def _pair_key(row: dict[str, Any]) -> frozenset[tuple[str, int]]:
    return frozenset({_endpoint(row["client"], row["client_port"]),
                      _endpoint(row["server"], row["server_port"])})


def _value(row: dict[str, Any], name: str) -> Any:
    v = row.get(name)
    if name == "leaf_subject":
        return normalize_dn(v)
    if isinstance(v, (list, tuple)):
        return tuple(v) or None  # "none offered" and "no ClientHello seen" read alike
    return v


def _text(row: dict[str, Any], name: str) -> str | None:
    v = row.get(name)
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return "|".join(str(x) for x in v)
    return str(v)


def compare(
    native: dict[str, Table], tshark: dict[str, Table], *, file: str = ""
) -> list[Disagreement]:
    """Every disagreement between two sets of tables of the same capture."""
    out: list[Disagreement] = []
    pending: dict[frozenset[tuple[str, int]], list[dict[str, Any]]] = {}
    for row in tshark["connections"].rows:
        pending.setdefault(_pair_key(row), []).append(row)
    t_msgs = _messages_by_conn(tshark["messages"].rows)
    n_msgs = _messages_by_conn(native["messages"].rows)
    for n in native["connections"].rows:
        label = _label(n)
        candidates = pending.get(_pair_key(n))
        if not candidates:
            out.append(Disagreement(file, label, "connection", "present", None))
            continue
        t = candidates.pop(0)
        if (_endpoint(n["client"], n["client_port"]) != _endpoint(t["client"], t["client_port"])):
            out.append(Disagreement(file, label, "client", _label(n), _label(t)))
        for name in FIELDS:
            if _value(n, name) != _value(t, name):
                out.append(Disagreement(file, label, name, _text(n, name), _text(t, name)))
        mine = n_msgs.get(n["conn_id"], Counter())
        theirs = t_msgs.get(t["conn_id"], Counter())
        for key in sorted((mine - theirs) | (theirs - mine)):
            frame, sender, mtype = key
            what = f"frame {frame} {sender} {mtype}"
            have_n, have_t = mine.get(key, 0), theirs.get(key, 0)
            out.append(Disagreement(file, label, "message", what if have_n > have_t else None,
                                    what if have_t > have_n else None))
    for rows in pending.values():
        for t in rows:
            out.append(Disagreement(file, _label(t), "connection", None, "present"))
    return out


def _messages_by_conn(rows: Iterable[dict[str, Any]]) -> dict[int, Counter[tuple[int, str, str]]]:
    out: dict[int, Counter[tuple[int, str, str]]] = {}
    for r in rows:
        if r["type"] in SKIPPED_MESSAGE_TYPES:
            continue
        out.setdefault(r["conn_id"], Counter())[(int(r["frame"]), str(r["sender"]), str(r["type"]))] += 1
    return out


def tls_ports(native: dict[str, Table], extra: Iterable[int] = ()) -> tuple[int, ...]:
    """The ports tshark must decode as TLS: the defaults, the user's, and where we saw TLS."""
    found = {int(r["server_port"]) for r in native["connections"].rows if r.get("outcome") != "not_tls"}
    return tuple(sorted(set(DEFAULT_PORTS) | set(extra) | found))


def crosscheck_file(
    path: str, *, ports: Sequence[int] = (), keylogs: Sequence[str] = ()
) -> list[Disagreement]:
    """Run both engines over one capture and compare them."""
    from pcaptls.analysis import Settings, analyze_many

    native = analyze_many([path], Settings(ports=tuple(ports), keylogs=tuple(keylogs)))
    theirs = read_tables(path, ports=tls_ports(native.tables, ports), keylogs=keylogs)
    return compare(native.tables, theirs, file=path)


def crosscheck(
    paths: Sequence[str], out: IO[str], *, ports: Sequence[int] = (), keylogs: Sequence[str] = ()
) -> int:
    """What ``pcaptls crosscheck`` does: print each disagreement; 1 if there is any, else 0."""
    from pcaptls.analysis import expand_inputs

    total = 0
    files = expand_inputs(paths)
    for path in files:
        found = crosscheck_file(path, ports=ports, keylogs=keylogs)
        for d in found:
            out.write(d.line() + "\n")
        total += len(found)
    out.write(f"{total} disagreement(s) in {len(files)} capture(s)\n")
    return 1 if total else 0
