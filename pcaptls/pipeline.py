"""Run every layer over one capture: frames → TCP → TLS → x509 → findings → tables.

One pass over the file. Each connection's state lives only while the connection
is open; when it ends its rows and findings are made and the state is dropped,
so memory follows the number of open connections, not the capture size.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pcaptls import fastpath, freezer
from pcaptls.analysis import Analysis, Settings, empty_tables
from pcaptls.capture import open_capture
from pcaptls.capture.decode import Decoder, TcpSegment, UdpDatagram
from pcaptls.diagnose.evidence import ConnectionEvidence, Gap
from pcaptls.diagnose.finding import Finding, worst_first
from pcaptls.diagnose.fleet import fleet_findings, fleet_rows
from pcaptls.diagnose.rules import Options, diagnose, outcome
from pcaptls.errors import InputError
from pcaptls.report.spool import RowSpool
from pcaptls.tcp import ConnectionEnd, ConnectionStart, Data, Flag, Overlap, TcpTracker
from pcaptls.tcp import Gap as TcpGap
from pcaptls.tcp.connection import Connection
from pcaptls.tls.events import ApplicationDataEvent

DEFAULT_TLS_PORTS = frozenset({5061})
SIP_PORTS = frozenset({5060})
SIP_STARTS = (
    b"REGISTER ", b"INVITE ", b"OPTIONS ", b"ACK ", b"BYE ", b"CANCEL ", b"SUBSCRIBE ",
    b"NOTIFY ", b"PUBLISH ", b"INFO ", b"MESSAGE ", b"REFER ", b"PRACK ", b"UPDATE ", b"SIP/2.0 ",
)
#: the young-generation GC threshold during a pass (Python's default is 700)
GC_YOUNG_THRESHOLD = 50_000
#: An AEAD-protected alert: 2 bytes + inner type + 16-byte tag (TLS 1.3 hides the type).
TLS13_ALERT_RECORD_LENGTH = 19


def _looks_tls(data: bytes) -> bool:
    if len(data) >= 3 and data[0] in (0x14, 0x15, 0x16, 0x17) and data[1] == 0x03 and data[2] <= 0x04:
        return True
    # SSLv2-format ClientHello: 2-byte length with the high bit, then msg type 1, then version.
    return len(data) >= 5 and data[0] & 0x80 != 0 and data[2] == 0x01 and data[3] in (0x00, 0x03)


def _looks_sip(data: bytes) -> bool:
    return data.startswith(SIP_STARTS)


@dataclass(slots=True)
class _Conn:
    """What the pipeline keeps for one open connection."""

    tcp: Connection
    kind: str | None = None  # "tls" | "sip" | "ignore"
    tls: Any = None  # TlsConnection
    label_of: dict[int, str] = field(default_factory=dict)  # direction index -> label fed to TLS
    gaps: list[tuple[str, int, int]] = field(default_factory=list)  # (side, frame, length)
    overlaps: list[int] = field(default_factory=list)
    snapped: list[int] = field(default_factory=list)
    sip: dict[str, Any] = field(default_factory=dict)  # side -> SipStream
    sip_messages: list[tuple[str, Any]] = field(default_factory=list)
    cert_frames: dict[str, int] = field(default_factory=dict)
    messages: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)  # TLS events but application data
    lane_keys: list[bytes] | None = None  # the fast lane's flow key per direction index


class Pipeline:
    """The single pass over one capture (see the module docstring)."""

    def __init__(self, name: str, settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.tls_ports = DEFAULT_TLS_PORTS | set(settings.ports)
        self.tables = empty_tables()
        #: findings as rows, in the order made (on disk past a threshold); sorted at the end
        self.findings = RowSpool()
        self.conns: dict[int, _Conn] = {}
        self.tracker = TcpTracker(forget_ended=True)  # rows are made at ConnectionEnd
        self.decoder = Decoder()
        self.keylog: Any = None
        self._keylog_dsb_seen = 0
        self.trust: Any = None
        self.certificates_der: dict[str, bytes] = {}
        self.chains: list[tuple[int, str, tuple[str, ...]]] = []
        self.notes: list[str] = []
        self.capture_end_ns = 0
        self._sip_seen: dict[tuple[int | None, str], int] = {}
        self._snapped_frames: set[int] = set()
        #: use the fast lane (pcaptls.fastpath) where it applies; the tables are the same
        self.fast = fastpath.enabled()
        #: flow key (raw address and port bytes) -> what the fast lane may do with it
        self.lanes: dict[bytes, fastpath.Lane] = {}
        #: settled connections frozen while many are open (see pcaptls.freezer)
        self.freezer = freezer.Freezer()
        self.hot_connections = freezer.HOT_CONNECTIONS
        self.progress: Callable[[int], None] | None = None
        self._tick = 0
        self._truncated_at: int | None = None
        self._snapped_total = 0
        self._messages_rows = settings.builds("messages")
        self._sip_rows = settings.builds("sip")
        self._load_keylogs()

    # --- inputs -------------------------------------------------------------------------
    def _load_keylogs(self) -> None:
        if not self.settings.keylogs:
            return
        from pcaptls.tls.keylog import KeyLog

        sources = []
        for path in self.settings.keylogs:
            try:
                with open(path, "rb") as f:
                    sources.append((path, f.read()))
            except OSError as e:
                raise InputError(f"{path}: cannot read key log ({e.strerror})") from None
        self.keylog = KeyLog.from_sources(sources)

    def _secrets_from_capture(self, reader: Any) -> None:
        secrets = reader.decryption_secrets
        if len(secrets) == self._keylog_dsb_seen:
            return
        from pcaptls.tls.keylog import KeyLog

        if self.keylog is None:
            self.keylog = KeyLog()
        for data in secrets[self._keylog_dsb_seen:]:
            self.keylog.add(data, f"{self.name} (Decryption Secrets Block)")
        self._keylog_dsb_seen = len(secrets)

    def _trust(self) -> Any:
        if self.trust is None:
            from pcaptls.x509 import TrustStore

            if self.settings.ca_bundle:
                self.trust = TrustStore.from_path(self.settings.ca_bundle)
            elif self.settings.system_trust:
                self.trust = TrustStore.system()
            else:
                self.trust = TrustStore.default()
        return self.trust

    # --- the pass ---------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> Analysis:
        self.progress = progress
        # The pass makes many short-lived objects and few cycles: collecting the young
        # generation every 700 allocations costs ~10 % of a long capture's time.
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], GC_YOUNG_THRESHOLD), *threshold[1:])
        try:
            frames, start_ns, end_ns = self._pass()
        finally:
            gc.set_threshold(*threshold)
        return self._result(frames, start_ns, end_ns)

    def _pass(self) -> tuple[int, int | None, int | None]:
        """Read every frame through the layers; (frames, first time, last time)."""
        start_ns: int | None = None
        end_ns: int | None = None
        frames = 0
        with open_capture(self.name if self.name != "-" else sys.stdin.buffer) as reader:
            handle = self._handle
            if self.fast and reader.raw_pcap() is not None:
                frames, start_ns, end_ns = fastpath.run_pcap(self, reader)
            else:
                slow = self._slow_frame
                for frame in reader:
                    frames += 1
                    t = frame.time_ns
                    if start_ns is None:
                        start_ns = t
                    end_ns = t
                    slow(frame, reader)
            frozen = {}
            for lane in self.lanes.values():
                if lane.frozen is None:
                    fastpath.sync(lane)
                else:
                    frozen[lane.frozen.conn_id] = lane.frozen
            self.lanes.clear()
            self.capture_end_ns = end_ns or 0
            if frozen:
                self._finish_with_frozen(frozen, reader)
            else:
                for ev in self.tracker.finish():
                    handle(ev, reader)
            self.freezer.close()
            self.decoder.check_decodable(self.name, frames)
            self.notes.extend(reader.notes)
            self._truncated_at = getattr(reader, "truncated_at_frame", None)
            self._snapped_total = reader.stats.snapped
        return frames, start_ns, end_ns

    def _result(self, frames: int, start_ns: int | None, end_ns: int | None) -> Analysis:
        self._capture_findings(frames, self._truncated_at, self._snapped_total)
        result = Analysis(
            files=[self.name], tables=self.tables,
            stats={"frames": frames, "start_ns": start_ns, "end_ns": end_ns,
                   "skipped": dict(self.decoder.skipped), "keylog": self._keylog_summary()},
            notes=self.notes, certificates_der=self.certificates_der, chains=self.chains,
        )
        self.tables["fleet"].rows = fleet_rows(self.tables["connections"].rows, self.tables["certificates"].rows)
        fleet = fleet_findings(self.tables["fleet"].rows, self.tables["connections"].rows)
        self.tables["findings"].rows = worst_first(self._final_findings(fleet))
        self.findings.close()
        return result

    def _final_findings(self, fleet: list[Finding]) -> Iterator[dict[str, Any]]:
        """The findings rows as made, then the fleet's; a SIP finding's summary says how
        many messages had it (the count is known only now: rewritten while streaming)."""
        seen = self._sip_seen
        for r in self.findings:
            code = r["code"]
            n = seen.get((r["conn_id"], code), 0) if code.startswith("SIP_") else 0
            yield {**r, "summary": f"{r['summary']} ({n} messages in all)"} if n > 1 else r
        for f in fleet:
            yield _finding_row(f)

    def _slow_frame(self, frame: Any, reader: Any, refresh: bool = True) -> TcpSegment | None:
        """One frame through every layer (the straightforward path); its TCP segment.

        ``refresh``: look up whether the segment's connection may now take the fast lane
        (the fast loop says False when it does so itself, see :meth:`_register`)."""
        seg = self.decoder.decode(frame)
        if seg is None:
            return None
        if type(seg) is TcpSegment:
            if self.freezer.count:
                self._thaw_flow(seg)
            if seg.missing_tail:
                # Which connection: looked up at the Data event; remember by frame here.
                self._snapped_frames.add(seg.frame)
            handle = self._handle
            for ev in self.tracker.feed(seg):
                handle(ev, reader)
            if refresh and self.lanes:
                entry = self.tracker._flows.get((seg.src, seg.sport, seg.dst, seg.dport))
                if entry is not None:
                    c = self.conns.get(entry[0].id)
                    if c is not None and c.lane_keys is not None:
                        self._refresh_lanes(c)
        elif type(seg) is UdpDatagram:
            self._udp(seg)
        if self.progress is not None:
            self._tick += 1
            if self._tick & 0x3FFF == 0:
                self.progress(reader.bytes_read)
        return seg if type(seg) is TcpSegment else None

    # --- the fast lane's bookkeeping (see pcaptls.fastpath) ------------------------------------
    def _register(self, seg: TcpSegment, key: bytes, buf: bytes, ip: int, et: int) -> None:
        """After a segment took the slow path: may its flow's packets take the fast lane?
        (``ip``: where the segment's IP header starts in ``buf``)"""
        entry = self.tracker._flows.get((seg.src, seg.sport, seg.dst, seg.dport))
        if entry is None:
            self.lanes.pop(key, None)
            return
        conn, idx = entry
        c = self.conns.get(conn.id)
        if c is None or conn.ended:
            self.lanes.pop(key, None)
            return
        if c.lane_keys is None:
            if et == 0x0800:  # the reverse flow: addresses and ports swapped
                rkey = buf[ip + 16:ip + 20] + buf[ip + 12:ip + 16] + buf[ip + 22:ip + 24] + buf[ip + 20:ip + 22]
            else:
                rkey = buf[ip + 24:ip + 40] + buf[ip + 8:ip + 24] + buf[ip + 42:ip + 44] + buf[ip + 40:ip + 42]
            c.lane_keys = [key, rkey] if idx == 0 else [rkey, key]
        self._refresh_lanes(c)

    # --- frozen connections (see pcaptls.freezer) ------------------------------------------------
    def _maybe_freeze(self, c: _Conn) -> None:
        """Freeze ``c`` if it is settled: both directions in the lane as whole records."""
        keys = c.lane_keys
        if keys is None or c.kind != "tls":
            return
        conn = c.tcp
        lanes = (self.lanes.get(keys[0]), self.lanes.get(keys[1]))
        for lane in lanes:
            if lane is None or lane.kind < fastpath.TLS_SKIP or lane.conn is not conn:
                return
        if conn.ended or c.gaps or c.overlaps or c.snapped:
            return
        for d in conn.dirs:
            if d.fin_frames or d.rst_frames or d.pending or d.fin_off is not None or d.stopped:
                return
        for lane in lanes:
            fastpath.sync(lane)  # type: ignore[arg-type]
        if self.freezer.freeze(c, lanes) is None:  # type: ignore[arg-type]
            return  # could not be pickled or written: stays as it is
        (a, sport), (b, dport) = conn.endpoints
        flows = self.tracker._flows
        del flows[(a, sport, b, dport)]
        del flows[(b, dport, a, sport)]
        del self.tracker._open[conn.id]
        del self.conns[conn.id]

    def _thaw(self, fz: freezer.Frozen) -> _Conn:
        """Bring a frozen connection back where it was, its lanes made anew."""
        c = self._thawed(fz)
        self._refresh_lanes(c, freeze=False)  # the packet that thawed it comes next
        return c

    def _thawed(self, fz: freezer.Frozen) -> _Conn:
        c = self.freezer.thaw(fz)
        conn = c.tcp
        (a, sport), (b, dport) = conn.endpoints
        flows = self.tracker._flows
        flows[(a, sport, b, dport)] = (conn, 0)
        flows[(b, dport, a, sport)] = (conn, 1)
        self.tracker._open[conn.id] = conn
        self.conns[conn.id] = c
        return c

    def _thaw_flow(self, seg: TcpSegment) -> None:
        """A segment that did not come through the fast loop: thaw its connection if frozen."""
        import socket

        fam = socket.AF_INET6 if ":" in seg.src else socket.AF_INET
        try:
            key = (socket.inet_pton(fam, seg.src) + socket.inet_pton(fam, seg.dst)
                   + seg.sport.to_bytes(2, "big") + seg.dport.to_bytes(2, "big"))
        except OSError:
            return
        lane = self.lanes.get(key)
        if lane is not None and lane.frozen is not None:
            self._thaw(lane.frozen)

    def _after_sweep(self) -> None:
        """Every so often (when the tracker sweeps): freeze what has settled meanwhile. (Not
        as soon as a connection settles: a packet that thaws one would refreeze it at once.)"""
        if len(self.conns) > self.hot_connections:
            for c in list(self.conns.values()):
                self._maybe_freeze(c)

    def _finish_with_frozen(self, frozen: dict[int, freezer.Frozen], reader: Any) -> None:
        """``tracker.finish()`` with the frozen connections thawed one at a time, in order."""
        tracker = self.tracker
        handle = self._handle
        ids = sorted([*tracker._open, *frozen])
        for conn_id in ids:
            fz = frozen.get(conn_id)
            conn = self._thawed(fz).tcp if fz is not None else tracker._open.get(conn_id)
            if conn is None or conn.ended:
                continue
            out: list[Any] = []
            tracker._end(conn, conn.last_frame, out)
            for ev in out:
                handle(ev, reader)
        tracker._flows.clear()

    def _sync_lanes(self, c: _Conn) -> None:
        """Before the TLS layer sees more of ``c``: what its lanes deferred is written back."""
        assert c.lane_keys is not None
        for key in c.lane_keys:
            lane = self.lanes.get(key)
            if lane is not None and lane.mark_frame and lane.conn is c.tcp:
                fastpath.sync(lane)

    def _refresh_lanes(self, c: _Conn, *, freeze: bool = True) -> None:
        keys = c.lane_keys
        assert keys is not None
        lanes = self.lanes
        self._sync_lanes(c)
        for i in (0, 1):
            lane = fastpath.lane_for(c, i)
            if lane is None:
                lanes.pop(keys[i], None)
            else:
                lanes[keys[i]] = lane
        if freeze and self.hot_connections == 0:
            self._maybe_freeze(c)  # eager (tests): every settled connection, at once

    def _handle(self, ev: Any, reader: Any) -> None:
        t = type(ev)
        if t is Data:
            c = self.conns.get(ev.conn.id)
            if c is None or c.kind == "ignore":
                return
            if c.lane_keys is not None:
                self._sync_lanes(c)
            if ev.frame in self._snapped_frames:
                c.snapped.append(ev.frame)
                self._snapped_frames.discard(ev.frame)
            if c.kind is None:
                self._classify(c, ev, reader)
            if c.kind == "tls":
                label = c.label_of[ev.conn.index_of(ev.side)]
                for tev in c.tls.feed(label, ev.data, ev.frame, ev.time_ns):
                    if type(tev) is ApplicationDataEvent:
                        self._sip_feed(c, tev.side, tev.data, tev.frame, tev.time_ns)
                    else:
                        c.events.append(tev)
            elif c.kind == "sip":
                self._sip_feed(c, ev.side, ev.data, ev.frame, ev.time_ns)
        elif t is ConnectionStart:
            conn = ev.conn
            self.conns[conn.id] = _Conn(conn)
        elif t is Flag:
            pass  # kept on the Connection by the tracker
        elif t is TcpGap:
            c = self.conns.get(ev.conn.id)
            if c is None or c.kind == "ignore":
                return
            if c.lane_keys is not None:
                self._sync_lanes(c)
            c.gaps.append((ev.side, ev.frame, ev.length))
            if c.kind == "tls":
                c.events.extend(c.tls.gap(c.label_of[ev.conn.index_of(ev.side)], ev.length, ev.frame))
        elif t is Overlap:
            c = self.conns.get(ev.conn.id)
            if c is not None:
                c.overlaps.append(ev.frame)
        elif t is ConnectionEnd:
            c = self.conns.pop(ev.conn.id, None)
            if c is not None:
                if c.lane_keys is not None:
                    self._sync_lanes(c)
                    for key in c.lane_keys:
                        lane = self.lanes.get(key)
                        if lane is not None and lane.conn is ev.conn:
                            del self.lanes[key]
                self._finish(c, reader)

    def _classify(self, c: _Conn, ev: Any, reader: Any) -> None:
        conn = c.tcp
        ports = {conn.endpoints[0][1], conn.endpoints[1][1]}
        if ports & self.tls_ports or _looks_tls(ev.data):
            from pcaptls.tls.connection import TlsConnection

            self._secrets_from_capture(reader)
            c.kind = "tls"
            # Events are kept here, without the decrypted application data (that goes
            # to the SIP layer at once), so a long-lived connection does not grow.
            c.tls = TlsConnection(self.keylog, keep_events=False)
            # Labels are fixed per direction now; the TLS layer finds the real roles.
            c.label_of = {i: conn.side_of(i) for i in (0, 1)}
        elif ports & SIP_PORTS or _looks_sip(ev.data):
            c.kind = "sip"
        else:
            c.kind = "ignore"
            for side in ("client", "server"):
                self.tracker.stop(conn, side)

    # --- plaintext SIP --------------------------------------------------------------------------
    def _sip_feed(self, c: _Conn, side: str, data: bytes, frame: int, time_ns: int) -> None:
        try:
            from pcaptls.sip import SipStream
        except ImportError:  # pragma: no cover - the sip layer is optional during development
            return
        stream = c.sip.get(side)
        if stream is None:
            stream = c.sip[side] = SipStream()
        for msg in stream.feed(data, frame, time_ns):
            c.sip_messages.append((side, msg))

    def _udp(self, dg: UdpDatagram) -> None:
        if not (dg.sport in SIP_PORTS or dg.dport in SIP_PORTS or _looks_sip(dg.payload)):
            return
        try:
            from pcaptls.sip import parse_datagram, sip_row
        except ImportError:  # pragma: no cover
            return
        msg = parse_datagram(dg.payload, dg.frame, dg.time_ns)
        if msg is None:
            return
        if self._sip_rows:
            row = sip_row(msg)
            row.update(conn_id=None, direction=f"{dg.src}:{dg.sport} → {dg.dst}:{dg.dport}")
            self.tables["sip"].rows.append(row)
        self._sip_findings(None, msg, over_tls=False, frame=dg.frame)

    def _sip_findings(self, conn_id: int | None, msg: Any, *, over_tls: bool, frame: int,
                      out: list[Finding] | None = None) -> None:
        """A message's SIP findings, the first of each code per connection: to ``out``,
        else to the pipeline's findings."""
        from pcaptls.diagnose.sip_rules import sip_findings

        for f in sip_findings(conn_id, msg, over_tls=over_tls):
            key = (conn_id, f.code)
            if key in self._sip_seen:
                self._sip_seen[key] += 1  # one finding per connection and code; count the rest
            else:
                self._sip_seen[key] = 1
                if out is None:
                    self.findings.append(_finding_row(f))
                else:
                    out.append(f)

    # --- a connection is over: judge it -------------------------------------------------------------
    def _finish(self, c: _Conn, reader: Any) -> None:
        conn = c.tcp
        if c.kind == "sip":
            for side, msg in c.sip_messages:
                if self._sip_rows:
                    self.tables["sip"].rows.append(self._sip_row(conn, side, msg))
                self._sip_findings(conn.id, msg, over_tls=False, frame=msg.frame)
            return
        aimed = {conn.endpoints[0][1], conn.endpoints[1][1]} & self.tls_ports
        if c.kind != "tls" and not aimed:
            return
        if c.kind == "tls":
            for label in ("client", "server"):
                c.events.extend(c.tls.eof(label, conn.last_frame, conn.last_time_ns))
            if c.tls.hello_sender is not None:
                # The ClientHello sender is the client (unless a SYN already said who is).
                idx = next(i for i, lab in c.label_of.items() if lab == c.tls.hello_sender)
                conn.set_client(conn.side_of(idx))
        ev, extra = self._evidence(c)
        findings = diagnose(ev, Options(
            capture_end_ns=self.capture_end_ns, expiry_days=self.settings.expiry_days,
            check_hostname=self.settings.check_hostname, expect_host=self.settings.expect_host,
            judged_at=f"--at {self.settings.at}" if self.settings.at else "the capture",
        ))
        if self._sip_rows:
            for side, msg in c.sip_messages:
                self.tables["sip"].rows.append(self._sip_row(conn, side, msg))
        sip: list[Finding] = []
        for _side, msg in c.sip_messages:
            self._sip_findings(conn.id, msg, over_tls=True, frame=msg.frame, out=sip)
        findings = [*extra, *findings, *sip]
        self.findings.extend(_finding_row(f) for f in findings)
        self.tables["connections"].rows.append(self._connection_row(c, ev, findings))
        if self._messages_rows:
            self.tables["messages"].rows.extend(
                {"conn_id": conn.id, "frame": m.frame, "time": m.time_ns or None, "sender": m.sender,
                 "record_version": m.record_version, "type": m.type, "detail": m.detail}
                for m in ev.messages
            )

    def _sip_row(self, conn: Connection, side: str, msg: Any) -> dict[str, Any]:
        from pcaptls.sip import sip_row

        row = sip_row(msg)
        row.update(conn_id=conn.id, direction=f"{side}→{'server' if side == 'client' else 'client'}")
        return row

    # --- evidence ------------------------------------------------------------------------------
    def _evidence(self, c: _Conn) -> tuple[ConnectionEvidence, list[Finding]]:
        from pcaptls.extract import tls_evidence

        conn = c.tcp
        sides = tuple(s for s in ("client", "server") if conn.packets(s))
        rst = tuple(sorted(((s, f) for s in ("client", "server") for f in conn.rst_frames(s)),
                           key=lambda x: x[1]))
        fin = tuple(sorted(((s, f) for s in ("client", "server") for f in conn.fin_frames(s)),
                           key=lambda x: x[1]))
        base: dict[str, Any] = {
            "conn_id": conn.id, "client": conn.client, "client_port": conn.client_port,
            "server": conn.server, "server_port": conn.server_port,
            "first_frame": conn.first_frame, "last_frame": conn.last_frame,
            "start_ns": conn.first_time_ns, "end_ns": conn.last_time_ns,
            "syn_frames": tuple(conn.syn_frames), "synack_frame": conn.synack_frames[0] if conn.synack_frames else None,
            "rst": rst, "fin": fin, "midstream": conn.midstream, "sides_seen": sides,
            "snapped_frames": tuple(c.snapped), "overlaps_differ": tuple(c.overlaps),
        }
        extra: list[Finding] = []
        if c.kind == "tls":
            tls_part, extra = tls_evidence(self, c, base)
            base.update(tls_part)
        else:
            base["gaps"] = tuple(Gap(s, f, n, False) for s, f, n in c.gaps)
        return ConnectionEvidence(**base), extra

    def _connection_row(self, c: _Conn, ev: ConnectionEvidence, findings: list[Finding]) -> dict[str, Any]:
        from pcaptls.extract import shared_list, tls_row

        worst = None
        for sev in ("error", "warning", "info"):
            if any(f.severity.value == sev for f in findings):
                worst = sev
                break
        row: dict[str, Any] = {
            "conn_id": ev.conn_id, "first_frame": ev.first_frame, "last_frame": ev.last_frame,
            "start": ev.start_ns, "end": ev.end_ns, "client": ev.client, "client_port": ev.client_port,
            "server": ev.server, "server_port": ev.server_port, "outcome": outcome(ev),
            "findings": shared_list(sorted({f.code for f in findings})), "worst": worst,
            "alerts": shared_list(a.label for a in ev.alerts),
        }
        if c.kind == "tls":
            row.update(tls_row(c, ev))
        return row

    # --- capture-wide ---------------------------------------------------------------------------
    def _capture_findings(self, frames: int, truncated_at: int | None, snapped: int) -> None:
        if truncated_at is not None or any("cut" in n or "truncat" in n for n in self.notes):
            self.findings.append(_finding_row(Finding.make(
                "CAPTURE_TRUNCATED", None, truncated_at, None,
                "The capture file ends in the middle of a record"
                + (f" after frame {truncated_at}" if truncated_at else "") + ".",
            )))
        if not self.tables["connections"].rows:
            ports = ", ".join(str(p) for p in sorted(self.tls_ports))
            self.findings.append(_finding_row(Finding.make(
                "NO_TLS_FOUND", None, None, None,
                f"No TLS connection in {frames} frames (looked on port(s) {ports} and for TLS on any port).",
            )))
        if self.keylog is not None and self.keylog and not self.keylog.matched and self.keylog.unmatched:
            self.findings.append(_finding_row(Finding.make(
                "KEYLOG_NO_MATCH", None, None, None,
                f"The key log(s) hold secrets for {len(self.keylog)} session(s), none of them in this capture.",
            )))

    def _keylog_summary(self) -> str | None:
        if self.keylog is None:
            return None
        bad = sum(s.malformed for s in self.keylog.sources) if self.keylog.sources else 0
        text = (f"{len(self.keylog)} session(s) in the key log, {len(self.keylog.matched)} matched "
                f"a connection of this capture")
        if bad:
            text += f"; {bad} malformed line(s) ignored"
        return text


def _finding_row(f: Finding) -> dict[str, Any]:
    return {
        "conn_id": f.conn_id, "code": f.code, "severity": f.severity.value, "frame": f.frame,
        "time": f.time_ns, "summary": f.summary, "detail": f.detail, "remedy": f.remedy,
    }


def analyze_file(name: str, settings: Settings, *, progress: bool = False) -> Analysis:
    """Analyse one capture file (or ``-`` for standard input)."""
    if name != "-":
        if os.path.isdir(name):
            raise InputError(f"{name}: is a directory")
        if not os.path.exists(name):
            raise InputError(f"{name}: no such file")
    p = Pipeline(name, settings)
    bar = _progress_bar(name) if progress else None
    try:
        return p.run(bar)
    finally:
        if bar is not None:
            bar(-1)


def _progress_bar(name: str) -> Callable[[int], None] | None:
    """A rich progress bar on stderr, shown only for reads that take a while."""
    try:
        size = os.path.getsize(name) if name != "-" else 0
    except OSError:
        size = 0
    if size < 50_000_000:
        return None
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), transient=True)
    task = prog.add_task(os.path.basename(name), total=size)
    prog.start()

    def update(done: int) -> None:
        if done < 0:
            prog.stop()
        else:
            prog.update(task, completed=done)

    return update


def parse_at(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--at: not an ISO 8601 time: {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
