"""The fleet view: per name, which server addresses answer and with what.

Calls that fail only sometimes often come from one name served by several
addresses that disagree (one expired certificate, one short chain, one on an
older TLS version). Grouping is by SNI, else by the leaf's names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pcaptls.diagnose.finding import Finding

Row = dict[str, Any]


def _name(conn: Row) -> str | None:
    if conn.get("sni"):
        return str(conn["sni"])
    sans = conn.get("leaf_sans") or []
    if sans:
        return str(sans[0])
    return conn.get("leaf_subject") or None


@dataclass(slots=True)
class _Group:
    """What one (name, server, port) needs of its connections, gathered in one pass.

    The connections are taken in the order of their start (ties in table order), as
    if sorted; only the handful of facts the fleet row shows are kept, not the rows
    (a large capture's connection rows are read back from disk one batch at a time).
    """

    count: int = 0
    versions: set[str] = field(default_factory=set)
    ciphers: set[str] = field(default_factory=set)
    verdicts: set[str] = field(default_factory=set)
    #: each leaf's first connection: leaf -> (start or 0, position in the table, start)
    leaves: dict[str, tuple[int, int, Any]] = field(default_factory=dict)
    #: the last connection by start, and the last one with a leaf: (start or 0, position, row's facts)
    last: tuple[int, int, Row] | None = None
    last_leaf: tuple[int, int, Row] | None = None


_LAST_FACTS = ("conn_id", "leaf_subject", "leaf_not_after", "cert_count")


def _groups(conns: Iterable[Row], verdicts: dict[int, str]) -> dict[str, dict[tuple[str, int], _Group]]:
    groups: dict[str, dict[tuple[str, int], _Group]] = defaultdict(lambda: defaultdict(_Group))
    for pos, c in enumerate(conns):
        name = _name(c)
        if name is None or not c.get("version"):
            continue
        g = groups[name][(c["server"], c["server_port"])]
        g.count += 1
        g.versions.add(c["version"])
        if c.get("cipher"):
            g.ciphers.add(c["cipher"])
        if c["conn_id"] in verdicts:
            g.verdicts.add(verdicts[c["conn_id"]])
        start = c["start"]
        key = start or 0
        order = (key, pos)
        sha = c.get("leaf_sha256")
        latest = g.last is None or order > g.last[:2]
        latest_leaf = bool(sha) and (g.last_leaf is None or order > g.last_leaf[:2])
        if latest or latest_leaf:
            facts = {k: c.get(k) for k in _LAST_FACTS}
            if latest:
                g.last = (key, pos, facts)
            if latest_leaf:
                g.last_leaf = (key, pos, facts)
        if sha:
            seen = g.leaves.get(sha)
            if seen is None or order < seen[:2]:
                g.leaves[sha] = (key, pos, start)
    return groups


def fleet_rows(conns: Iterable[Row], certs: Iterable[Row]) -> list[Row]:
    """One row per name and server address (one pass over each table)."""
    verdicts: dict[int, str] = {
        r["conn_id"]: r["verdict"] for r in certs if r.get("sender") == "server" and r.get("position") == 0
    }
    groups = _groups(conns, verdicts)
    del verdicts
    lasts: dict[int, int] = {}
    for servers in groups.values():
        for g in servers.values():
            last = g.last_leaf or g.last
            assert last is not None
            lasts[last[2]["conn_id"]] = 0
    for r in certs:
        if r.get("sender") == "server" and r["conn_id"] in lasts:
            lasts[r["conn_id"]] += 1
    rows: list[Row] = []
    for name, servers in sorted(groups.items()):
        for (server, port), g in sorted(servers.items()):
            leaves = sorted(g.leaves, key=lambda sha: g.leaves[sha][:2])
            changed_at = None
            for sha in leaves[1:]:
                changed_at = changed_at or g.leaves[sha][2]
            last = g.last_leaf or g.last
            assert last is not None
            facts = last[2]
            rows.append({
                "name": name,
                "server": server,
                "server_port": port,
                "connections": g.count,
                "versions": sorted(g.versions),
                "ciphers": sorted(g.ciphers),
                "leaf_sha256": leaves,
                "leaf_subject": facts["leaf_subject"],
                "leaf_not_after": facts["leaf_not_after"],
                "chain_length": lasts.get(facts["conn_id"]) or facts["cert_count"],
                "verdicts": sorted(g.verdicts),
                "changed_at": changed_at,
                "findings": [],
            })
    return rows


def fleet_findings(rows: list[Row], conns: Iterable[Row]) -> list[Finding]:
    """CERT_INCONSISTENT_ACROSS_SERVERS where the addresses behind one name disagree."""
    by_name: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_name[r["name"]].append(r)
    first_frame: dict[tuple[str, int], tuple[int, Any]] = {}
    for c in conns:  # each address's first connection in the table
        first_frame.setdefault((c["server"], c["server_port"]), (c["first_frame"], c["start"]))
    out: list[Finding] = []
    for name, rs in by_name.items():
        if len(rs) < 2:
            continue
        diffs = []
        leaves = {tuple(r["leaf_sha256"][-1:]) for r in rs if r["leaf_sha256"]}
        if len(leaves) > 1:
            diffs.append("different certificates")
        if len({tuple(r["verdicts"]) for r in rs if r["verdicts"]}) > 1:
            diffs.append("different certificate verdicts (" + "; ".join(
                f"{r['server']}: {', '.join(r['verdicts'])}" for r in rs if r["verdicts"]) + ")")
        if len({r["chain_length"] for r in rs if r["chain_length"]}) > 1:
            diffs.append("chains of different length (" + "; ".join(
                f"{r['server']}: {r['chain_length']}" for r in rs if r["chain_length"]) + ")")
        if len({tuple(r["versions"]) for r in rs}) > 1:
            diffs.append("different TLS versions (" + "; ".join(
                f"{r['server']}: {', '.join(r['versions'])}" for r in rs) + ")")
        if not diffs:
            continue
        servers = ", ".join(f"{r['server']}:{r['server_port']}" for r in rs)
        frame, t = first_frame.get((rs[-1]["server"], rs[-1]["server_port"]), (None, None))
        f = Finding.make(
            "CERT_INCONSISTENT_ACROSS_SERVERS", None, frame, t,
            f"{name} is served by {servers} with " + "; ".join(diffs) + ".",
        )
        out.append(f)
        for r in rs:
            r["findings"] = [*r["findings"], f.code]
    return out
