"""The fleet view: per name, which server addresses answer and with what.

Calls that fail only sometimes often come from one name served by several
addresses that disagree (one expired certificate, one short chain, one on an
older TLS version). Grouping is by SNI, else by the leaf's names.
"""

from __future__ import annotations

from collections import defaultdict
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


def _groups(conns: list[Row]) -> dict[str, dict[tuple[str, int], list[Row]]]:
    groups: dict[str, dict[tuple[str, int], list[Row]]] = defaultdict(lambda: defaultdict(list))
    for c in conns:
        name = _name(c)
        if name is None or not c.get("version"):
            continue
        groups[name][(c["server"], c["server_port"])].append(c)
    return groups


def fleet_rows(conns: list[Row], certs: list[Row]) -> list[Row]:
    verdicts: dict[int, str] = {
        r["conn_id"]: r["verdict"] for r in certs if r.get("sender") == "server" and r.get("position") == 0
    }
    chain_len: dict[int, int] = defaultdict(int)
    for r in certs:
        if r.get("sender") == "server":
            chain_len[r["conn_id"]] += 1
    rows: list[Row] = []
    for name, servers in sorted(_groups(conns).items()):
        for (server, port), cs in sorted(servers.items()):
            cs = sorted(cs, key=lambda c: c["start"] or 0)
            leaves: list[str] = []
            changed_at = None
            for c in cs:
                sha = c.get("leaf_sha256")
                if sha and sha not in leaves:
                    if leaves:
                        changed_at = changed_at or c["start"]
                    leaves.append(sha)
            last = next((c for c in reversed(cs) if c.get("leaf_sha256")), cs[-1])
            rows.append({
                "name": name,
                "server": server,
                "server_port": port,
                "connections": len(cs),
                "versions": sorted({c["version"] for c in cs if c.get("version")}),
                "ciphers": sorted({c["cipher"] for c in cs if c.get("cipher")}),
                "leaf_sha256": leaves,
                "leaf_subject": last.get("leaf_subject"),
                "leaf_not_after": last.get("leaf_not_after"),
                "chain_length": chain_len.get(last["conn_id"]) or last.get("cert_count"),
                "verdicts": sorted({verdicts[c["conn_id"]] for c in cs if c["conn_id"] in verdicts}),
                "changed_at": changed_at,
                "findings": [],
            })
    return rows


def fleet_findings(rows: list[Row], conns: list[Row]) -> list[Finding]:
    """CERT_INCONSISTENT_ACROSS_SERVERS where the addresses behind one name disagree."""
    by_name: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_name[r["name"]].append(r)
    first_frame = {(c["server"], c["server_port"]): (c["first_frame"], c["start"]) for c in reversed(conns)}
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
