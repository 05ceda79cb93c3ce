"""Write a large, realistic SIP-over-TLS capture (classic pcap), deterministic for a seed.

Realism comes from real handshakes: the TCP conversations of the fixture captures
(kamailio and a real TLS client, see :mod:`sources`) are replayed with new
addresses, ports, ISNs, client/server randoms and times; the successful ones then
go on carrying SIP-sized encrypted records (CRLF keep-alives, OPTIONS, REGISTER,
INVITE dialogs) for a long time. Many connections are interleaved; some are
already open when the capture starts (no handshake); a few percent of new
connections fail (replayed failing captures); about 0.5 % of data segments are
retransmitted; receivers send pure ACKs the way Linux does (delayed, or every
second full segment). The capture point is the server side (an SBC's interface).

Packets are built with :mod:`struct` from per-connection templates and written
with buffered I/O; checksums (IPv4 and TCP) are correct. No scapy per packet.

    python bench/generate.py --packets 1000000 --seed 1 [-o bench/out/sip-tls-1M.pcap]
"""

from __future__ import annotations

import argparse
import heapq
import random
import struct
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sources import ACK, CLIENT, FIN, RST, SERVER, SYN, Script, load_all

OUT = Path(__file__).resolve().parent / "out"
PSH = 0x08
MSS = 1448  # 1500 MTU, IPv4 + TCP with timestamps
M32 = 0xFFFFFFFF
MS = 1_000_000
SEC = 1_000_000_000
START_NS = 1_767_258_000 * SEC  # 2026-01-01T09:00:00Z

_PCAP_HDR = struct.Struct("<IHHiIII")
_REC = struct.Struct("<IIII")
_V4 = struct.Struct("!BBHHHBBH4s4s")
_V6 = struct.Struct("!IHBB16s16s")
_TCP_TS = struct.Struct("!HHIIBBHHHBBBBII")  # 32 bytes: NOP NOP TS
_TCP_SYN = struct.Struct("!HHIIBBHHHBBHBBBBIIBBBB")  # 40 bytes: MSS SACK_PERM TS NOP WS
_TCP_BARE = struct.Struct("!HHIIBBHHH")  # 20 bytes
_TLS_HDR = struct.Struct("!BHH")

#: SIP exchanges as (weight, name, messages); a message is (sender, plaintext bytes,
#: seconds the sender waits after the previous message was seen, or None for "at once")
EXCHANGES: tuple[tuple[int, str, tuple[tuple[int, int, float | None], ...]], ...] = (
    (40, "crlf", ((CLIENT, 4, None), (SERVER, 2, None))),
    (22, "options", ((CLIENT, 560, None), (SERVER, 480, None))),
    (10, "options_from_server", ((SERVER, 520, None), (CLIENT, 430, None))),
    (10, "register", ((CLIENT, 720, None), (SERVER, 560, None),
                      (CLIENT, 930, None), (SERVER, 640, None))),
    (5, "call_out", ((CLIENT, 1350, None), (SERVER, 360, None), (SERVER, 520, 0.3),
                     (SERVER, 1150, 6.0), (CLIENT, 460, None))),
    (5, "call_in", ((SERVER, 1420, None), (CLIENT, 380, None), (CLIENT, 540, 0.2),
                    (CLIENT, 1180, 5.0), (SERVER, 470, None))),
    (8, "notify", ((SERVER, 820, None), (CLIENT, 390, None))),
)
BYE = ((CLIENT, 480, None), (SERVER, 420, None))
_WEIGHTS = [w for w, _, _ in EXCHANGES]


def _csum_fold(total: int) -> int:
    """One's complement checksum from a sum of 16-bit words kept modulo 0xFFFF."""
    r = total % 0xFFFF
    return 0xFFFF - r if r else 0


def _word_sum(b: bytes) -> int:
    """Sum of the big-endian 16-bit words of ``b`` modulo 0xFFFF (2**16 ≡ 1 mod 0xFFFF)."""
    n = int.from_bytes(b, "big")
    return n << 8 if len(b) & 1 else n


class Conn:
    """One TCP connection's addresses, templates and sequence state."""

    __slots__ = (
        "bye_due",
        "client",
        "cport",
        "dst",
        "end_t",
        "eth",
        "ip_id",
        "isn",
        "nxt",
        "pseudo",
        "rtt",
        "sport",
        "src",
        "tls13",
        "ts_base",
        "v4sum",
        "v6",
    )

    def __init__(self, client: Client, server: tuple[bytes, bytes], sport: int, cport: int,
                 rng: random.Random, tls13: bool) -> None:
        self.client = client
        self.v6 = client.v6
        caddr, saddr = client.addr, server[0]
        self.src = (caddr, saddr)  # by side: CLIENT, SERVER
        self.dst = (saddr, caddr)
        self.sport = sport
        self.cport = cport
        et = b"\x86\xdd" if self.v6 else b"\x08\x00"
        router, smac = b"\x00\x1b\x21\x3a\x4f\x01", server[1]
        self.eth = (smac + router + et, router + smac + et)  # CLIENT→SERVER, SERVER→CLIENT
        ports = (cport + sport, sport + cport)
        base = _word_sum(caddr) + _word_sum(saddr) + 6
        self.pseudo = (base + ports[0], base + ports[1])
        self.v4sum = 0x4500 + 0x4000 + 0x4006 + _word_sum(caddr) + _word_sum(saddr)
        self.isn = [rng.getrandbits(32), rng.getrandbits(32)]
        self.nxt = [1, 1]
        self.ip_id = [rng.getrandbits(16), rng.getrandbits(16)]
        self.ts_base = [rng.getrandbits(32), rng.getrandbits(32)]
        self.rtt = client.rtt
        self.tls13 = tls13
        self.end_t = 0
        self.bye_due = 0


class Client:
    """A SIP user agent behind one address; it reconnects when its connection ends."""

    __slots__ = ("addr", "rtt", "server", "v6")

    def __init__(self, addr: bytes, v6: bool, server: int, rtt: int) -> None:
        self.addr = addr
        self.v6 = v6
        self.server = server
        self.rtt = rtt


class Generator:
    """The event loop: connection events in one heap, built packets in another."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.rng = rng = random.Random(args.seed)
        self.ok, self.failed = load_all()
        self.n = args.packets
        self.link: str = getattr(args, "link", "ethernet")
        self.retx = args.retransmit
        self.fail_rate = args.failed
        self.interval = args.interval
        self.life = args.lifetime
        self.pool = rng.randbytes(1 << 20)
        self.pkts: list[tuple[int, int, bytes]] = []
        self.events: list[tuple[int, int, int, object]] = []
        self.count = 0
        #: what was started (the last ones may be cut by the end of the capture)
        self.stats: Counter[str] = Counter()
        self.used: set[tuple[bytes, int]] = set()
        self.servers4 = [(bytes([10, 20, 0, 10 + i]), bytes([0, 0x50, 0x56, 0xA1, 0, i]))
                         for i in range(2)]
        self.servers6 = [(bytes.fromhex("20010db8" + "00" * 11) + bytes([16 + i]),
                          bytes([0, 0x50, 0x56, 0xA1, 0, i])) for i in range(2)]
        conns = args.connections or max(10, min(50_000, self.n // 400))
        for _ in range(conns):
            v6 = rng.random() < args.ipv6
            if v6:
                addr = bytes.fromhex("20010db80001") + rng.randbytes(10)
            else:
                addr = bytes([100, 64 + rng.randrange(64), rng.randrange(256),
                              1 + rng.randrange(254)])
            client = Client(addr, v6, rng.randrange(2), int(rng.uniform(2, 120) * MS))
            if rng.random() < args.midstream:
                self._midstream(client)
                self.stats["connections open at start"] += 1
            else:
                self._push_event(int(rng.uniform(0, 30) * SEC), 0, client)

    # -- scheduling -------------------------------------------------------------------

    def _push_event(self, t: int, kind: int, obj: object) -> None:
        self.count += 1
        heapq.heappush(self.events, (t, self.count, kind, obj))

    def _new_conn(self, client: Client, t: int, tls13: bool, port: int = 5061) -> Conn:
        rng = self.rng
        while True:
            cport = rng.randrange(1024, 65536)
            if (client.addr, cport) not in self.used:
                self.used.add((client.addr, cport))
                break
        server = (self.servers6 if client.v6 else self.servers4)[client.server]
        c = Conn(client, server, port, cport, rng, tls13)
        c.end_t = t + int(rng.expovariate(1 / self.life) * SEC)
        return c

    def _midstream(self, client: Client) -> None:
        rng = self.rng
        c = self._new_conn(client, 0, rng.random() < 0.4)
        c.nxt = [rng.randrange(1, 1 << 20), rng.randrange(1, 1 << 20)]
        self._push_event(int(rng.uniform(0, self.interval) * SEC), 1, c)

    # -- packets ----------------------------------------------------------------------

    def _emit(self, c: Conn, side: int, t: int, flags: int, seq: int, ack: int,
              payload: bytes = b"") -> None:
        ms = t // MS
        tsval = (c.ts_base[side] + ms) & M32
        tsecr = (c.ts_base[1 - side] + ms - c.rtt // MS) & M32
        sp, dp = (c.cport, c.sport) if side == CLIENT else (c.sport, c.cport)
        plen = len(payload)
        if flags & SYN:
            hdr = _TCP_SYN.pack(sp, dp, seq, ack, 0xA0, flags, 64240 if side == CLIENT else 65160,
                                0, 0, 2, 4, 1460, 4, 2, 8, 10, tsval, 0 if side == CLIENT else tsecr,
                                1, 3, 3, 10)
        elif flags & RST:
            hdr = _TCP_BARE.pack(sp, dp, seq, ack, 0x50, flags, 0, 0, 0)
        else:
            hdr = None
        if hdr is None:
            win = 502 if side == CLIENT else 512
            tl = 32 + plen
            s = (c.pseudo[side] + tl + seq + ack + (0x8000 | flags) + win + 0x0101 + 0x080A
                 + tsval + tsecr)
            if plen:
                s += int.from_bytes(payload, "big") << 8 if plen & 1 else int.from_bytes(payload, "big")
            tcp = _TCP_TS.pack(sp, dp, seq, ack, 0x80, flags, win, _csum_fold(s), 0,
                               1, 1, 8, 10, tsval, tsecr)
        else:
            tl = len(hdr) + plen
            s = c.pseudo[side] - sp - dp + _word_sum(hdr) + tl
            if plen:
                s += _word_sum(payload)
            tcp = hdr[:16] + _csum_fold(s).to_bytes(2, "big") + hdr[18:]
        if c.v6:
            ip = _V6.pack(0x60000000, tl, 6, 64, c.src[side], c.dst[side])
        else:
            ipid = 0 if flags & RST else c.ip_id[side]
            c.ip_id[side] = (ipid + 1) & 0xFFFF
            total = 20 + tl
            ip = _V4.pack(0x45, 0, total, ipid, 0x4000, 64, 6, _csum_fold(c.v4sum + total + ipid),
                          c.src[side], c.dst[side])
        self.count += 1
        heapq.heappush(self.pkts, (t, self.count, c.eth[side] + ip + tcp + payload))

    def _seq(self, c: Conn, side: int) -> int:
        return (c.isn[side] + c.nxt[side]) & M32

    def _send(self, c: Conn, side: int, t: int, payload: bytes, gap: int = 12_000) -> int:
        """Send ``payload`` in MSS segments from ``t``; the peer ACKs every second one.

        Returns the time the last segment is seen.
        """
        other = 1 - side
        n = len(payload)
        rng = self.rng
        # the client's packets are seen one-way later than sent, the server's at once
        back = c.rtt if side == SERVER else 0  # receiver's answer seen after this
        for i, off in enumerate(range(0, n, MSS)):
            seg = payload[off:off + MSS]
            last = off + MSS >= n
            ack = self._seq(c, other)
            seq = self._seq(c, side)
            self._emit(c, side, t, ACK | (PSH if last else 0), seq, ack, seg)
            if rng.random() < self.retx:
                self.stats["retransmissions"] += 1
                self._emit(c, side, t + max(200 * MS, 2 * c.rtt) + rng.randrange(MS), ACK, seq,
                           ack, seg)
            c.nxt[side] += len(seg)
            if i & 1 and not last:
                self._emit(c, other, t + back + 30_000, ACK, self._seq(c, other),
                           self._seq(c, side))
            t += gap
        return t - gap

    def _record(self, c: Conn, plain: int, ctype: int = 23) -> bytes:
        n = plain + (17 if c.tls13 else 24)
        o = self.rng.randrange(len(self.pool) - n)
        return _TLS_HDR.pack(ctype, 0x0303, n) + self.pool[o:o + n]

    def _messages(self, c: Conn, t: int,
                  msgs: tuple[tuple[int, int, float | None], ...]) -> int:
        """Play a SIP exchange from ``t``; returns when its last packet is seen."""
        rng = self.rng
        prev_side = -1
        plan: list[tuple[int, int, int, int, int]] = []  # start, end, sender, seqs after
        for side, size, wait in msgs:
            if prev_side == -1:
                pass
            elif wait is not None:
                t += int(rng.expovariate(1 / wait) * SEC)
            elif side != prev_side:
                # server answers at once; the client's answer is seen a round trip later
                t += int(rng.uniform(0.1, 2.0) * MS) + (c.rtt if side == CLIENT else 0)
            t_end = self._send(c, side, t, self._record(c, int(size * rng.uniform(0.85, 1.15))))
            plan.append((t, t_end, side, self._seq(c, side), self._seq(c, 1 - side)))
            prev_side = side
            t = t_end
        # a pure ACK (delayed 40 ms) where the receiver sends nothing before it would go out
        for i, (_, te, side, seq_side, seq_other) in enumerate(plan):
            ta = te + 40 * MS + (c.rtt if side == SERVER else 0)
            answer = next((p for p in plan[i + 1:] if p[2] != side), None)
            if answer is None or answer[0] > ta:
                self._emit(c, 1 - side, ta, ACK, seq_other, seq_side)
                t = max(t, ta)
        return t

    # -- connection life --------------------------------------------------------------

    def _replay(self, c: Conn, script: Script, t: int) -> int:
        rng = self.rng
        prev = CLIENT
        high = [1, 1]
        last_server = end = t
        for st in script.steps:
            t += st.gap_ns
            side = st.side
            p = st.payload
            when = t
            if side == CLIENT and not p and st.flags == ACK:
                # a pure ACK does not hold the server back (its initial window is 10
                # segments): it is seen a round trip after what it acknowledges
                when = last_server + c.rtt + 20_000
            else:
                if side == CLIENT and prev == SERVER:
                    t += c.rtt
                    when = t
                prev = side
                if side == SERVER:
                    last_server = t
            if len(p) > 43 and p[0] == 0x16 and p[5] in (1, 2):  # new Client/ServerHello random
                p = p[:11] + rng.randbytes(32) + p[43:]
            seq = 0 if st.seq_absolute_zero else (c.isn[side] + st.rel_seq) & M32
            ack = 0 if st.rel_ack is None else (c.isn[1 - side] + st.rel_ack) & M32
            self._emit(c, side, when, st.flags, seq, ack, p)
            if p and rng.random() < self.retx:
                self.stats["retransmissions"] += 1
                self._emit(c, side, when + max(200 * MS, 2 * c.rtt), st.flags, seq, ack, p)
            span = len(p) + (1 if st.flags & (SYN | FIN) else 0)
            high[side] = max(high[side], st.rel_seq + span)
            end = max(end, when)
        c.nxt = high
        return end

    def _start(self, client: Client, t: int) -> None:
        """A client opens a connection: a full handshake (or a failing one)."""
        rng = self.rng
        if self.failed and rng.random() < self.fail_rate:
            script = rng.choice(self.failed)
            self.stats[f"failed: {script.name}"] += 1
            c = self._new_conn(client, t, script.tls13, script.server_port)
            t = self._replay(c, script, t)
            self._push_event(t + int(rng.uniform(20, 120) * SEC), 0, client)
            return
        script = self.ok[rng.randrange(len(self.ok))]
        self.stats[f"handshake: {script.name}"] += 1
        c = self._new_conn(client, t, script.tls13, script.server_port)
        t = self._replay(c, script, t)
        self._push_event(t + int(rng.expovariate(1 / self.interval) * SEC), 1, c)

    def _exchange(self, c: Conn, t: int) -> None:
        rng = self.rng
        if t >= c.end_t:
            self._close(c, t)
            self._push_event(t + int(rng.uniform(1, 30) * SEC), 0, c.client)
            return
        msgs: tuple[tuple[int, int, float | None], ...]
        if c.bye_due and t >= c.bye_due:
            c.bye_due = 0
            msgs = BYE if rng.random() < 0.5 else ((SERVER, 480, None), (CLIENT, 420, None))
            t = self._messages(c, t, msgs)
        else:
            _, name, msgs = rng.choices(EXCHANGES, _WEIGHTS)[0]
            self.stats[f"sip: {name}"] += 1
            t = self._messages(c, t, msgs)
            if name.startswith("call"):
                c.bye_due = t + int(rng.uniform(20, 300) * SEC)
        nxt = t + int(rng.expovariate(1 / self.interval) * SEC) + MS
        if c.bye_due:
            nxt = min(nxt, max(c.bye_due, t + MS))
        self._push_event(nxt, 1, c)

    def _close(self, c: Conn, t: int) -> None:
        """close_notify from the client, then the FIN handshake, as the sources show."""
        self.stats["closed (close_notify, FIN)"] += 1
        rec = self._record(c, 2, 23 if c.tls13 else 21)
        self._send(c, CLIENT, t, rec)
        t += int(0.2 * MS)
        self._emit(c, SERVER, t, ACK, self._seq(c, SERVER), self._seq(c, CLIENT))
        self._emit(c, SERVER, t + 100_000, FIN | ACK, self._seq(c, SERVER), self._seq(c, CLIENT))
        c.nxt[SERVER] += 1
        t += 100_000 + c.rtt
        self._emit(c, CLIENT, t, FIN | ACK, self._seq(c, CLIENT), self._seq(c, SERVER))
        c.nxt[CLIENT] += 1
        self._emit(c, SERVER, t + 30_000, ACK, self._seq(c, SERVER), self._seq(c, CLIENT))

    # -- output -----------------------------------------------------------------------

    def write(self, path: Path) -> int:
        rec = _REC.pack
        pop = heapq.heappop
        written = 0
        n = self.n
        with open(path, "wb", buffering=1 << 20) as f:
            link = LINK_TYPES[self.link]
            f.write(_PCAP_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, link))
            out: list[bytes] = []
            pkts, events = self.pkts, self.events
            while written < n:
                until = events[0][0] if events else 1 << 62
                while pkts and pkts[0][0] <= until and written < n:
                    t, _, frame = pop(pkts)
                    if link != 1:
                        frame = cooked(frame, link)
                    t += START_NS
                    out.append(rec(t // SEC, (t % SEC) // 1000, len(frame), len(frame)))
                    out.append(frame)
                    written += 1
                    if len(out) >= 8192:
                        f.write(b"".join(out))
                        out.clear()
                if written >= n or not events:
                    break
                t, _, kind, obj = pop(events)
                if kind == 0:
                    self._start(obj, t)  # type: ignore[arg-type]
                else:
                    self._exchange(obj, t)  # type: ignore[arg-type]
            f.write(b"".join(out))
        return written


#: --link: what the frames start with (Linux cooked headers are what ``tcpdump -i any`` writes)
LINK_TYPES = {"ethernet": 1, "sll": 113, "sll2": 276}


def cooked(frame: bytes, link: int) -> bytes:
    """An Ethernet frame with its header replaced by a Linux cooked one (v1, 16 bytes, or
    v2, 20 bytes), as captured on the way out of the server (packet type 4)."""
    mac, proto = frame[6:12], frame[12:14]
    if link == 113:
        return b"\x00\x04\x00\x01\x00\x06" + mac + b"\x00\x00" + proto + frame[14:]
    return proto + b"\x00\x00\x00\x00\x00\x02\x00\x01\x04\x06" + mac + b"\x00\x00" + frame[14:]


def default_name(packets: int, seed: int, link: str = "ethernet") -> Path:
    tail = "" if link == "ethernet" else f"-{link}"
    for div, suffix in ((1_000_000, "M"), (1000, "k")):
        if packets >= div and packets % div == 0:
            return OUT / f"sip-tls-{packets // div}{suffix}-s{seed}{tail}.pcap"
    return OUT / f"sip-tls-{packets}-s{seed}{tail}.pcap"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--packets", type=int, default=10_000, help="frames to write (exactly)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="default: bench/out/sip-tls-<size>-s<seed>.pcap")
    p.add_argument("--connections", type=int, default=0,
                   help="concurrent clients (default: packets / 400, at least 10)")
    p.add_argument("--ipv6", type=float, default=0.1, help="share of IPv6 clients")
    p.add_argument("--midstream", type=float, default=0.75,
                   help="share of connections already open when the capture starts")
    p.add_argument("--failed", type=float, default=0.04,
                   help="share of clients whose handshakes fail")
    p.add_argument("--retransmit", type=float, default=0.005,
                   help="share of data segments sent twice")
    p.add_argument("--interval", type=float, default=20.0,
                   help="mean seconds between SIP exchanges on a connection")
    p.add_argument("--stats", action="store_true", help="print what was generated")
    p.add_argument("--lifetime", type=float, default=900.0,
                   help="mean seconds a connection lives")
    p.add_argument("--link", choices=sorted(LINK_TYPES), default="ethernet",
                   help="link layer of the frames (sll, sll2: as tcpdump -i any writes them)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    path = args.output or default_name(args.packets, args.seed, args.link)
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    gen = Generator(args)
    n = gen.write(path)
    dt = time.perf_counter() - t0
    size = path.stat().st_size
    print(f"{path}: {n} packets, {size / 1e6:.1f} MB in {dt:.1f} s", file=sys.stderr)
    if args.stats:
        for k, v in sorted(gen.stats.items()):
            print(f"  {k}: {v}", file=sys.stderr)


if __name__ == "__main__":
    main()
