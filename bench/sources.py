"""Real TCP conversations taken from the fixture captures, ready to replay.

Each source capture holds one TLS (or failing) connection recorded from kamailio
and a real client. We keep its segments in order (retransmissions dropped), with
sequence and acknowledgement numbers made relative to each side's ISN, so the
generator can replay them with new addresses, ports, ISNs and times.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from scapy.utils import RawPcapReader

CAPTURES = Path(__file__).resolve().parent.parent / "fixtures" / "captures"

#: connections that complete and then carry SIP (continued by the generator)
OK_SOURCES = (
    "kamailio-tls12-register-v4.pcap",
    "kamailio-tls13-register-v4.pcap",
    "kamailio-mtls-tls12-ok.pcap",
    "kamailio-mtls-tls13-ok.pcap",
    "kamailio-tls12-no-sni.pcap",
)
#: connections that fail (replayed whole)
FAILED_SOURCES = (
    "kamailio-mtls-tls12-no-client-cert.pcap",
    "kamailio-mtls-tls13-no-client-cert.pcap",
    "kamailio-mtls-tls12-client-cert-other-ca.pcap",
    "kamailio-plain-sip-to-tls-port.pcap",
    "kamailio-clienthello-to-sip-tcp-port.pcap",
    "tcp-refused.pcap",
    "tcp-no-answer.pcap",
)

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
CLIENT, SERVER = 0, 1


@dataclass(frozen=True, slots=True)
class Step:
    """One segment of the source: who sent it, when (after the previous step), what."""

    side: int
    gap_ns: int
    flags: int
    rel_seq: int
    rel_ack: int | None  # None when the ACK flag is off
    payload: bytes
    seq_absolute_zero: bool  # an RST with seq 0 (answer to a SYN): keep it 0


@dataclass(frozen=True, slots=True)
class Script:
    """A source conversation: its steps, the server port, the TLS version of its records."""

    name: str
    server_port: int
    tls13: bool
    steps: tuple[Step, ...]


def _tcp_segments(path: Path) -> list[tuple[int, tuple[bytes, int, bytes, int], bytes]]:
    """(time_ns, (src, sport, dst, dport), tcp header + payload) for every Ethernet TCP frame."""
    out = []
    reader = RawPcapReader(str(path))  # classic pcap only: the sources are .pcap files
    frac = 1 if getattr(reader, "nano", False) else 1000
    for data, meta in reader:
        t = meta.sec * 1_000_000_000 + meta.usec * frac
        et = struct.unpack_from("!H", data, 12)[0]
        off = 14
        if et == 0x8100:
            et = struct.unpack_from("!H", data, 16)[0]
            off = 18
        if et == 0x0800:
            ihl = (data[off] & 0x0F) * 4
            if data[off + 9] != 6:
                continue
            total = struct.unpack_from("!H", data, off + 2)[0]
            src, dst = data[off + 12:off + 16], data[off + 16:off + 20]
            tcp = data[off + ihl:off + total]
        elif et == 0x86DD:
            if data[off + 6] != 6:
                continue
            plen = struct.unpack_from("!H", data, off + 4)[0]
            src, dst = data[off + 8:off + 24], data[off + 24:off + 40]
            tcp = data[off + 40:off + 40 + plen]
        else:
            continue
        sport, dport = struct.unpack_from("!HH", tcp, 0)
        out.append((t, (src, sport, dst, dport), tcp))
    reader.close()
    return out


def load(name: str) -> Script | None:
    """Read one source capture (its first TCP connection); None when the file is absent."""
    path = CAPTURES / name
    if not path.exists():
        return None
    segs = _tcp_segments(path)
    if not segs:
        return None
    key0 = segs[0][1]
    client_key = key0
    if segs[0][2][13] & SYN and segs[0][2][13] & ACK:  # first seen is a SYN-ACK
        client_key = (key0[2], key0[3], key0[0], key0[1])
    rev = (client_key[2], client_key[3], client_key[0], client_key[1])
    isn: list[int | None] = [None, None]
    nxt: list[int] = [0, 0]
    steps: list[Step] = []
    last_t = None
    tls13 = False
    for t, key, tcp in segs:
        if key == client_key:
            side = CLIENT
        elif key == rev:
            side = SERVER
        else:
            continue
        seq, ack = struct.unpack_from("!II", tcp, 4)
        off = (tcp[12] >> 4) * 4
        flags = tcp[13]
        payload = bytes(tcp[off:])
        zero = False
        if isn[side] is None:
            if flags & SYN:
                isn[side] = seq
            elif flags & RST and seq == 0:
                zero = True
                isn[side] = 0
            else:
                isn[side] = seq - 1  # no SYN seen: count as if one had been
            nxt[side] = 1
        base = isn[side]
        assert base is not None
        rel = (seq - base) & 0xFFFFFFFF
        span = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if span and rel + span <= nxt[side] and not flags & SYN:
            continue  # a retransmission in the source: the generator makes its own
        nxt[side] = max(nxt[side], rel + span)
        other = isn[1 - side]
        rel_ack = ((ack - other) & 0xFFFFFFFF) if flags & ACK and other is not None else None
        if side == SERVER and payload[:1] == b"\x16" and len(payload) > 10 and payload[5] == 2:
            tls13 = b"\x00\x2b\x00\x02\x03\x04" in payload[:200]
        gap = 0 if last_t is None else t - last_t
        last_t = t
        steps.append(Step(side, gap, flags, rel, rel_ack, payload, zero))
    sport = client_key[3]
    return Script(name, sport, tls13, tuple(steps))


def cut_before_close(script: Script) -> Script:
    """Drop the closing close_notify and FINs of a successful source, so SIP can go on."""
    steps = list(script.steps)
    for i, s in enumerate(steps):
        if s.flags & (FIN | RST):
            steps = steps[:i]
            break
    for i in range(len(steps) - 1, -1, -1):
        if steps[i].payload:
            if len(steps[i].payload) <= 40:
                steps = steps[:i]
            break
    return Script(script.name, script.server_port, script.tls13, tuple(steps))


def load_all() -> tuple[list[Script], list[Script]]:
    """The successful (cut before their close) and failing scripts found on disk."""
    ok = [cut_before_close(s) for s in map(load, OK_SOURCES) if s is not None]
    failed = [s for s in map(load, FAILED_SOURCES) if s is not None]
    if not ok:
        raise SystemExit(f"no source capture found in {CAPTURES} (need {OK_SOURCES[0]})")
    return ok, failed
